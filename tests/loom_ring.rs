//! Loom models of the ring's atomic protocol.
//!
//! Run with:
//! `RUSTFLAGS="--cfg otlp_arrow_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --no-default-features --test loom_ring`
//!
//! Models use a 128-byte ring (largest record 16 bytes: an 8-byte header and up to 8 payload
//! bytes) so that two or three records reach the wrap. The logic is the production logic
//! unchanged; only the storage is loom's (atomics for header words, tracked cells for payload
//! slots), so loom checks both the orderings and that no payload byte is raced.
#![cfg(otlp_arrow_loom)]

use loom::thread;
use otlp_arrow::ring::{Ring, WriteError};

/// Fills and drains the ring so that head = tail = 120: a 16-byte record no longer fits before
/// the end, so the next claim writes an 8-byte padding record and goes to offset 0.
fn ring_near_wrap() -> std::sync::Arc<Ring> {
    let ring = Ring::with_capacity(128).unwrap();
    {
        let p = ring.producer();
        for _ in 0..7 {
            p.try_write(9, &[0; 8]).unwrap();
        }
        p.try_write(9, b"").unwrap();
        let mut c = ring.consumer().unwrap();
        assert_eq!(c.drain(16, |_, _| {}), 8);
    }
    std::sync::Arc::new(ring)
}

fn write_retrying(ring: &Ring, kind: u32, payload: &[u8]) {
    loop {
        match ring.producer().try_write(kind, payload) {
            Ok(()) => return,
            Err(WriteError::Full) => thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn two_producers_and_consumer_across_the_wrap() {
    loom::model(|| {
        let ring = ring_near_wrap();
        let producers: Vec<_> = (1..=2u32)
            .map(|k| {
                let ring = ring.clone();
                thread::spawn(move || write_retrying(&ring, k, &[k as u8; 8]))
            })
            .collect();
        let mut got = Vec::new();
        let mut c = ring.consumer().unwrap();
        while got.len() < 2 {
            if c.read(4, |k, p| got.push((k, p.to_vec()))) == 0 {
                thread::yield_now();
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        got.sort();
        assert_eq!(got, vec![(1, vec![1; 8]), (2, vec![2; 8])]);
        assert_eq!(ring.stats().records_read, 8 + 2);
    });
}

#[test]
fn full_ring_refuses_then_accepts_after_release() {
    loom::model(|| {
        let ring = std::sync::Arc::new(Ring::with_capacity(64).unwrap());
        // 64 bytes, 8-byte records: 8 fill it.
        for _ in 0..8 {
            ring.producer().try_write(1, b"").unwrap();
        }
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || {
                let first = ring.producer().try_write(2, b"");
                if first.is_err() {
                    assert_eq!(first, Err(WriteError::Full));
                    write_retrying(&ring, 2, b"");
                }
            })
        };
        let mut c = ring.consumer().unwrap();
        let mut kinds = Vec::new();
        while kinds.len() < 9 {
            if c.read(2, |k, _| kinds.push(k)) == 0 {
                thread::yield_now();
            }
        }
        writer.join().unwrap();
        assert_eq!(kinds, [1, 1, 1, 1, 1, 1, 1, 1, 2]);
    });
}

#[test]
fn aborted_claim_is_skipped() {
    loom::model(|| {
        let ring = ring_near_wrap();
        let aborter = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut claim = ring.producer().try_claim(1, 8).unwrap();
                claim.payload_mut().fill(0xEE);
                drop(claim);
            })
        };
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || write_retrying(&ring, 2, &[2; 8]))
        };
        let mut got = Vec::new();
        let mut c = ring.consumer().unwrap();
        while got.is_empty() {
            if c.read(4, |k, p| got.push((k, p.to_vec()))) == 0 {
                thread::yield_now();
            }
        }
        aborter.join().unwrap();
        writer.join().unwrap();
        // Nothing else may follow: the aborted record is padding.
        c.drain(4, |k, p| got.push((k, p.to_vec())));
        assert_eq!(got, vec![(2, vec![2; 8])]);
        assert_eq!(ring.stats().aborted, 1);
    });
}

#[test]
fn producer_reuses_space_the_consumer_just_released() {
    loom::model(|| {
        // head = 0, tail = 120: eight unread records. A 16-byte record must wrap to offset 0,
        // which is free only once the consumer has read and zeroed the first record there.
        let ring = Ring::with_capacity(128).unwrap();
        let p = ring.producer();
        for i in 0..7u8 {
            p.try_write(1, &[i; 8]).unwrap();
        }
        p.try_write(1, b"").unwrap();
        let ring = std::sync::Arc::new(ring);
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || write_retrying(&ring, 2, &[0xAB; 8]))
        };
        let mut c = ring.consumer().unwrap();
        let mut got = Vec::new();
        while got.len() < 9 {
            if c.read(1, |k, p| got.push((k, p.to_vec()))) == 0 {
                thread::yield_now();
            }
        }
        writer.join().unwrap();
        assert_eq!(got[0], (1, vec![0; 8]));
        assert_eq!(got[8], (2, vec![0xAB; 8]));
    });
}
