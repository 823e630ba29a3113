//! The ring against its sequential model (`otlp_arrow::fuzzing::ring`), with tiny capacities
//! so that almost every scenario wraps around, fills up and holds claims open across reads.

use otlp_arrow::fuzzing::ring::{Op, Scenario, run, run_scenario};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<u8>()).prop_map(|(kind, len)| Op::Write { kind, len }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(kind, len)| Op::Claim { kind, len }),
        1 => any::<bool>().prop_map(|newest| Op::Commit { newest }),
        1 => any::<bool>().prop_map(|newest| Op::Abort { newest }),
        3 => any::<u8>().prop_map(|limit| Op::Read { limit }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ring_matches_model(shift in 0u32..4, ops in prop::collection::vec(op(), 0..400)) {
        run_scenario(&Scenario { capacity: 64 << shift, ops });
    }

    #[test]
    fn ring_matches_model_from_fuzz_bytes(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        run(&data);
    }
}
