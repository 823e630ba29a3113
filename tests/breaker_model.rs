//! The breaker against its sequential reference model (`otlp_arrow::fuzzing::breaker`).
//!
//! proptest builds random scenarios (policy, start time, events: allow at a possibly skewed
//! time, report success/failure on an outstanding permit, drop or leak a permit, advance time)
//! and `run_scenario` applies each to a real breaker and to the model, checking decisions,
//! returned transitions, state, word fields and counters after every event. The same runner
//! backs the cargo-fuzz target; its committed seed corpus is replayed here too.
//!
//! Regenerate the seed corpus (deterministic) with
//! `cargo test --features fuzzing --test breaker_model -- --ignored write_seed_corpus`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use otlp_arrow::fuzzing::breaker::{
    Event, MAX_EVENTS, OPEN_DURATIONS, Scenario, Summary, run, run_scenario,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// A skew selector: mostly "now", sometimes a stale clock (see `Event`).
fn skew() -> impl Strategy<Value = u8> {
    prop_oneof![4 => Just(0u8), 1 => 224u8..=255]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => skew().prop_map(|skew| Event::Allow { skew }),
        2 => (any::<u8>(), skew()).prop_map(|(permit, skew)| Event::Success { permit, skew }),
        3 => (any::<u8>(), skew()).prop_map(|(permit, skew)| Event::Failure { permit, skew }),
        1 => any::<u8>().prop_map(|permit| Event::Drop { permit }),
        1 => any::<u8>().prop_map(|permit| Event::Forget { permit }),
        // Mostly under one open duration (16 sixteenths), sometimes far beyond.
        3 => prop_oneof![4 => 0u8..=20, 1 => any::<u8>()].prop_map(|step| Event::Advance { step }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    prop::sample::select(OPEN_DURATIONS.to_vec()).prop_flat_map(|open_duration_ns| {
        let start = prop_oneof![
            any::<u64>(),
            0u64..1_000_000_000_000,
            // Just before a wrap of the 36-bit time field, so the scenario crosses it.
            (1u64..=4, 0..64 * open_duration_ns).prop_map(move |(k, before)| {
                Scenario::start_before_wrap(open_duration_ns, k, before).unwrap_or(before)
            }),
        ];
        (
            1u32..=5,
            1u32..=3,
            1u32..=3,
            start,
            prop::collection::vec(event(), 0..=MAX_EVENTS),
        )
            .prop_map(
                move |(failure_threshold, half_open_probes, success_threshold, start, events)| {
                    Scenario {
                        failure_threshold,
                        open_duration_ns,
                        half_open_probes,
                        success_threshold,
                        start,
                        events,
                    }
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn breaker_agrees_with_the_reference_model(s in scenario()) {
        let _ = run_scenario(&s);
    }

    #[test]
    fn arbitrary_bytes_never_break_the_runner(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        run(&data);
    }
}

/// The properties this file exists to exercise must actually occur in generated scenarios.
#[test]
fn generated_scenarios_reach_every_transition() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut total = Summary::default();
    for _ in 0..300 {
        let s = scenario().new_tree(&mut runner).unwrap().current();
        let got = run_scenario(&s);
        total.counters.closed_to_open += got.counters.closed_to_open;
        total.counters.open_to_half_open += got.counters.open_to_half_open;
        total.counters.half_open_to_closed += got.counters.half_open_to_closed;
        total.counters.half_open_to_open += got.counters.half_open_to_open;
        total.counters.half_open_expired += got.counters.half_open_expired;
        total.counters.rejected += got.counters.rejected;
        total.stale_reports += got.stale_reports;
        total.probe_slots_freed += got.probe_slots_freed;
        total.forgotten += got.forgotten;
    }
    assert!(features(&total).len() == FEATURES.len(), "{total:?}");
}

#[test]
fn invalid_policies_are_refused_not_run() {
    let base = Scenario {
        failure_threshold: 1,
        open_duration_ns: 1,
        half_open_probes: 1,
        success_threshold: 1,
        start: 0,
        events: vec![Event::Allow { skew: 0 }],
    };
    for bad in [
        Scenario {
            failure_threshold: 0,
            ..base.clone()
        },
        Scenario {
            open_duration_ns: 0,
            ..base.clone()
        },
        Scenario {
            half_open_probes: 64,
            ..base.clone()
        },
        Scenario {
            success_threshold: 4096,
            ..base.clone()
        },
    ] {
        assert_eq!(run_scenario(&bad), Summary::default());
    }
}

const FEATURES: [&str; 9] = [
    "closed_to_open",
    "open_to_half_open",
    "half_open_to_closed",
    "half_open_to_open",
    "half_open_expired",
    "rejected",
    "stale_reports",
    "probe_slots_freed",
    "forgotten",
];

fn features(s: &Summary) -> BTreeSet<&'static str> {
    let c = &s.counters;
    let values = [
        c.closed_to_open,
        c.open_to_half_open,
        c.half_open_to_closed,
        c.half_open_to_open,
        c.half_open_expired,
        c.rejected,
        s.stale_reports,
        s.probe_slots_freed,
        s.forgotten,
    ];
    FEATURES
        .iter()
        .zip(values)
        .filter(|(_, v)| *v > 0)
        .map(|(f, _)| *f)
        .collect()
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/breaker")
}

fn summarize(data: &[u8]) -> Summary {
    match Scenario::arbitrary(&mut Unstructured::new(data)) {
        Ok(s) => run_scenario(&s),
        Err(_) => Summary::default(),
    }
}

#[test]
fn seed_corpus_replays_and_covers_every_feature() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus/breaker exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 24, "seed corpus has {} files", files.len());
    let mut covered = BTreeSet::new();
    for path in files {
        let data = std::fs::read(&path).unwrap();
        run(&data);
        covered.extend(features(&summarize(&data)));
    }
    assert_eq!(
        covered.len(),
        FEATURES.len(),
        "corpus covers only {covered:?}"
    );
}

/// Writes `fuzz/corpus/breaker/seed-NN`: deterministic pseudo-random inputs, kept greedily
/// when they reach a feature fewer than 4 kept seeds reach, or a new combination of features.
#[test]
#[ignore = "regenerates the committed seed corpus"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let mut state = 0x5eed_b7ea_4e70_0001u64;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut reach = std::collections::BTreeMap::<&str, usize>::new();
    let mut combos = BTreeSet::new();
    let mut kept = 0;
    for _ in 0..20_000 {
        if kept == 36 {
            break;
        }
        let len = 24 + (next() % 360) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let got = features(&summarize(&data));
        let rare = got.iter().any(|f| reach.get(f).copied().unwrap_or(0) < 4);
        if rare || combos.insert(got.clone()) {
            for f in &got {
                *reach.entry(f).or_default() += 1;
            }
            std::fs::write(dir.join(format!("seed-{kept:02}")), &data).unwrap();
            kept += 1;
        }
    }
    assert!(kept >= 24, "kept {kept} seeds, reach {reach:?}");
    assert_eq!(reach.len(), FEATURES.len(), "reach {reach:?}");
}
