//! Exactly-once, in-order-per-producer delivery from several producer threads through tiny
//! rings (so the run wraps thousands of times), with held claims and aborts mixed in.

use std::sync::atomic::{AtomicBool, Ordering};

use otlp_arrow::ring::{Ring, WriteError};

const PRODUCERS: u64 = 3;

/// Producer `p` writes records `(p, seq, filler...)` of varying lengths, retrying on `Full`,
/// and aborts every 7th claim (the consumer must never see it). The consumer checks that each
/// producer's sequence arrives complete, in order, exactly once, with intact payloads.
fn run(capacity: usize, per_producer: u64) {
    let ring = Ring::with_capacity(capacity).unwrap();
    let max = ring.max_record_len();
    let done = AtomicBool::new(false);
    let mut next = [0u64; PRODUCERS as usize];
    std::thread::scope(|s| {
        for p in 0..PRODUCERS {
            let producer = ring.producer();
            s.spawn(move || {
                let mut seq = 0;
                let mut attempt = 0u64;
                while seq < per_producer {
                    attempt += 1;
                    let len = 16 + (attempt as usize * 7 + p as usize) % (max - 15);
                    match producer.try_claim(p as u32, len) {
                        Ok(mut claim) => {
                            if attempt.is_multiple_of(7) {
                                claim.payload_mut().fill(0xEE);
                                drop(claim);
                                continue;
                            }
                            let buf = claim.payload_mut();
                            buf[..8].copy_from_slice(&p.to_le_bytes());
                            buf[8..16].copy_from_slice(&seq.to_le_bytes());
                            for (i, b) in buf[16..].iter_mut().enumerate() {
                                *b = (i as u64 ^ seq) as u8;
                            }
                            claim.commit();
                            seq += 1;
                        }
                        Err(WriteError::Full) => std::thread::yield_now(),
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            });
        }
        let mut consumer = ring.consumer().unwrap();
        let total = PRODUCERS * per_producer;
        let mut seen = 0;
        while seen < total {
            let n = consumer.read(64, |kind, payload| {
                let p = u64::from_le_bytes(payload[..8].try_into().unwrap());
                let seq = u64::from_le_bytes(payload[8..16].try_into().unwrap());
                assert_eq!(u64::from(kind), p);
                assert_eq!(
                    seq, next[p as usize],
                    "producer {p}: out of order or duplicated"
                );
                for (i, b) in payload[16..].iter().enumerate() {
                    assert_eq!(*b, (i as u64 ^ seq) as u8, "payload corrupted");
                }
                next[p as usize] += 1;
            });
            seen += n as u64;
            if n == 0 {
                std::thread::yield_now();
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    assert!(done.load(Ordering::Relaxed));
    assert_eq!(next, [per_producer; PRODUCERS as usize]);
    let stats = ring.stats();
    assert_eq!(stats.records_read, PRODUCERS * per_producer);
    assert_eq!(stats.in_use_bytes, 0);
    assert!(stats.aborted > 0);
}

#[test]
fn exactly_once_tiny_ring() {
    run(512, 20_000);
}

#[test]
fn exactly_once_larger_ring() {
    run(1 << 14, 50_000);
}
