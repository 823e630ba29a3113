//! Ring throughput and cost against peer queues, in one run.
//!
//! - `single_thread`: one 256-byte record written and read back on one thread, against a
//!   memcpy floor (copy in + copy out of a ring-sized buffer) and `ArrayQueue` push + pop.
//! - `mpsc/{1,2}p`: 256-byte records from 1 or 2 producer threads to 1 consumer thread; each
//!   peer is used the way it is meant to be (non-blocking try + yield for the ring and
//!   `ArrayQueue`, blocking send/recv for the channels).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_arrow::ring::Ring;

const RECORD: usize = 256;
/// Ring bytes for about 1000 records of 256 bytes, the same as the queues' 1024 slots.
const RING_BYTES: usize = 1 << 18;
const QUEUE_SLOTS: usize = 1024;

fn single_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("single_thread");
    g.throughput(Throughput::Elements(1));
    let record = [0x5Au8; RECORD];

    let ring = Ring::with_capacity(RING_BYTES).unwrap();
    let producer = ring.producer();
    let mut consumer = ring.consumer().unwrap();
    g.bench_function("0-otlp-arrow-claim-commit-read", |b| {
        b.iter(|| {
            let mut claim = producer.try_claim(1, RECORD).unwrap();
            claim.payload_mut().copy_from_slice(black_box(&record));
            claim.commit();
            consumer.read(1, |kind, payload| {
                black_box((kind, payload));
            })
        })
    });

    let mut floor = vec![0u8; RING_BYTES];
    let mut out = [0u8; RECORD];
    let mut at = 0usize;
    g.bench_function("1-memcpy-floor", |b| {
        b.iter(|| {
            floor[at..at + RECORD].copy_from_slice(black_box(&record));
            out.copy_from_slice(&floor[at..at + RECORD]);
            black_box(&out);
            at = (at + RECORD + 8) % (RING_BYTES - RECORD - 8);
        })
    });

    let queue = crossbeam_queue::ArrayQueue::<[u8; RECORD]>::new(QUEUE_SLOTS);
    g.bench_function("2-crossbeam-array-queue", |b| {
        b.iter(|| {
            queue.push(*black_box(&record)).unwrap();
            black_box(queue.pop().unwrap());
        })
    });
    g.finish();
}

/// Spawns `producers` threads that each send their share of `iters` records through `send`,
/// while this thread receives all of them through `recv`; times from the common start to the
/// last record received.
fn time_mpsc<S, R>(iters: u64, producers: u64, send: S, mut recv: R) -> Duration
where
    S: Fn(u64) + Sync,
    R: FnMut() -> u64,
{
    let barrier = Barrier::new(producers as usize + 1);
    std::thread::scope(|s| {
        for p in 0..producers {
            let share = iters / producers + if p == 0 { iters % producers } else { 0 };
            let (send, barrier) = (&send, &barrier);
            s.spawn(move || {
                barrier.wait();
                send(share);
            });
        }
        barrier.wait();
        let start = Instant::now();
        let mut received = 0;
        while received < iters {
            received += recv();
        }
        start.elapsed()
    })
}

fn mpsc(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpsc");
    g.throughput(Throughput::Elements(1));
    let record = [0x5Au8; RECORD];
    for producers in [1u64, 2] {
        let id = |name: &str| BenchmarkId::new(name, format!("{producers}p"));

        g.bench_function(id("0-otlp-arrow"), |b| {
            b.iter_custom(|iters| {
                let ring = Ring::with_capacity(RING_BYTES).unwrap();
                let mut consumer = ring.consumer().unwrap();
                time_mpsc(
                    iters,
                    producers,
                    |n| {
                        let p = ring.producer();
                        for _ in 0..n {
                            while p.try_write(1, &record).is_err() {
                                std::thread::yield_now();
                            }
                        }
                    },
                    || {
                        let n = consumer.read(256, |_, payload| {
                            black_box(payload);
                        });
                        if n == 0 {
                            std::thread::yield_now();
                        }
                        n as u64
                    },
                )
            })
        });

        g.bench_function(id("1-crossbeam-array-queue"), |b| {
            b.iter_custom(|iters| {
                let q = crossbeam_queue::ArrayQueue::<[u8; RECORD]>::new(QUEUE_SLOTS);
                time_mpsc(
                    iters,
                    producers,
                    |n| {
                        for _ in 0..n {
                            while q.push(record).is_err() {
                                std::thread::yield_now();
                            }
                        }
                    },
                    || match q.pop() {
                        Some(v) => {
                            black_box(&v);
                            1
                        }
                        None => {
                            std::thread::yield_now();
                            0
                        }
                    },
                )
            })
        });

        g.bench_function(id("2-crossbeam-channel"), |b| {
            b.iter_custom(|iters| {
                let (tx, rx) = crossbeam_channel::bounded::<[u8; RECORD]>(QUEUE_SLOTS);
                time_mpsc(
                    iters,
                    producers,
                    |n| {
                        for _ in 0..n {
                            tx.send(record).unwrap();
                        }
                    },
                    || {
                        black_box(rx.recv().unwrap());
                        1
                    },
                )
            })
        });

        g.bench_function(id("3-std-sync-channel"), |b| {
            b.iter_custom(|iters| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<[u8; RECORD]>(QUEUE_SLOTS);
                let tx = std::sync::Mutex::new(tx);
                time_mpsc(
                    iters,
                    producers,
                    |n| {
                        let tx = tx.lock().unwrap().clone();
                        for _ in 0..n {
                            tx.send(record).unwrap();
                        }
                    },
                    || {
                        black_box(rx.recv().unwrap());
                        1
                    },
                )
            })
        });

        g.bench_function(id("4-tokio-mpsc"), |b| {
            b.iter_custom(|iters| {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<[u8; RECORD]>(QUEUE_SLOTS);
                time_mpsc(
                    iters,
                    producers,
                    |n| {
                        for _ in 0..n {
                            tx.blocking_send(record).unwrap();
                        }
                    },
                    || {
                        black_box(rx.blocking_recv().unwrap());
                        1
                    },
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, single_thread, mpsc);
criterion_main!(benches);
