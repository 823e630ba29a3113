//! Ring operations against a sequential model.
//!
//! The model is the ring's specification written without atomics: byte positions, a list of
//! slots (record or padding) in claim order, and the same free-space rules (a record that does
//! not fit before the end is preceded by padding and placed at offset 0, which must be clear of
//! unread data). Every operation's result (Ok / Full / TooLarge), every record read (kind and
//! payload) and the counters must agree with the real ring.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::vec::Vec;

use arbitrary::{Arbitrary, Unstructured};

use crate::ring::{Claim, Ring, WriteError};

/// One step of a generated scenario.
#[derive(Debug, Clone, Arbitrary)]
pub enum Op {
    /// `try_write` of `len` bytes (modulo a bit over the max record) tagged `kind`.
    Write { kind: u8, len: u8 },
    /// `try_claim`, held open until a later `Commit`/`Abort`.
    Claim { kind: u8, len: u8 },
    /// Commit the oldest (or newest) held claim.
    Commit { newest: bool },
    /// Drop the oldest (or newest) held claim.
    Abort { newest: bool },
    /// `read(limit)`.
    Read { limit: u8 },
}

/// A scenario: a ring capacity (64..=1024 bytes) and up to 256 operations.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Ring capacity in bytes.
    pub capacity: usize,
    /// Operations in order.
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let capacity = 64usize << u.int_in_range(0..=4u32)?;
        let n = u.int_in_range(0..=256usize)?;
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            if u.is_empty() {
                break;
            }
            ops.push(Op::arbitrary(u)?);
        }
        Ok(Scenario { capacity, ops })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum SlotState {
    InProgress,
    Committed,
    Padding,
}

#[derive(Debug, Clone)]
struct Slot {
    size: u64,
    kind: u32,
    payload: Vec<u8>,
    state: SlotState,
    id: u64,
}

/// The sequential model of the ring.
#[derive(Debug)]
struct Model {
    capacity: u64,
    head: u64,
    tail: u64,
    slots: VecDeque<Slot>,
    next_id: u64,
}

impl Model {
    fn claim(&mut self, kind: u32, payload: Vec<u8>) -> Result<u64, WriteError> {
        let len = payload.len() as u64;
        if len + 8 > self.capacity / 8 {
            return Err(WriteError::TooLarge);
        }
        let required = (len + 8).div_ceil(8) * 8;
        if required > self.capacity - (self.tail - self.head) {
            return Err(WriteError::Full);
        }
        let tail_index = self.tail % self.capacity;
        let to_end = self.capacity - tail_index;
        if required > to_end {
            if required > self.head % self.capacity {
                return Err(WriteError::Full);
            }
            self.slots.push_back(Slot {
                size: to_end,
                kind: u32::MAX,
                payload: Vec::new(),
                state: SlotState::Padding,
                id: u64::MAX,
            });
            self.tail += to_end;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.slots.push_back(Slot {
            size: required,
            kind,
            payload,
            state: SlotState::InProgress,
            id,
        });
        self.tail += required;
        Ok(id)
    }

    fn finish(&mut self, id: u64, commit: bool) {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.id == id)
            .expect("held claim");
        slot.state = if commit {
            SlotState::Committed
        } else {
            SlotState::Padding
        };
    }

    /// What `read(limit)` must return: records in order up to the first one in progress, at
    /// most `limit`, in at most two contiguous passes (the second starts at offset 0).
    fn read(&mut self, limit: usize) -> Vec<(u32, Vec<u8>)> {
        let mut out = self.read_pass(limit);
        if self.head.is_multiple_of(self.capacity) && out.len() < limit {
            let more = self.read_pass(limit - out.len());
            out.extend(more);
        }
        out
    }

    fn read_pass(&mut self, limit: usize) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        let start_lap_end = (self.head / self.capacity + 1) * self.capacity;
        while out.len() < limit && self.head < start_lap_end {
            match self.slots.front() {
                Some(s) if s.state != SlotState::InProgress => {
                    let s = self.slots.pop_front().expect("front");
                    self.head += s.size;
                    if s.state == SlotState::Committed {
                        out.push((s.kind, s.payload));
                    }
                }
                _ => break,
            }
        }
        out
    }
}

/// Runs a scenario decoded from `data`; panics on any disagreement with the model.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(scenario) = Scenario::arbitrary(&mut u) {
        run_scenario(&scenario);
    }
}

/// Runs one scenario; panics on any disagreement with the model.
pub fn run_scenario(scenario: &Scenario) {
    let ring = Ring::with_capacity(scenario.capacity).expect("valid capacity");
    let producer = ring.producer();
    let mut consumer = ring.consumer().expect("first consumer");
    let mut model = Model {
        capacity: scenario.capacity as u64,
        head: 0,
        tail: 0,
        slots: VecDeque::new(),
        next_id: 0,
    };
    let max = ring.max_record_len();
    let mut held: VecDeque<(Claim<'_>, u64)> = VecDeque::new();
    let (mut full, mut too_large, mut aborted, mut read, mut read_bytes) = (0, 0, 0, 0, 0);
    for (step, op) in scenario.ops.iter().enumerate() {
        match *op {
            Op::Write { kind, len } | Op::Claim { kind, len } => {
                let len = usize::from(len) % (max + 3);
                let payload: Vec<u8> = (0..len).map(|i| (i as u8) ^ kind ^ (step as u8)).collect();
                let expected = model.claim(u32::from(kind), payload.clone());
                let hold = matches!(op, Op::Claim { .. });
                let actual = producer.try_claim(u32::from(kind), len);
                match (expected, actual) {
                    (Ok(id), Ok(mut claim)) => {
                        claim.payload_mut().copy_from_slice(&payload);
                        if hold {
                            held.push_back((claim, id));
                        } else {
                            claim.commit();
                            model.finish(id, true);
                        }
                    }
                    (Err(e), Err(a)) => {
                        assert_eq!(e, a, "step {step}: {op:?}");
                        match e {
                            WriteError::Full => full += 1,
                            WriteError::TooLarge => too_large += 1,
                            _ => {}
                        }
                    }
                    (e, a) => panic!("step {step}: {op:?}: model {e:?}, ring {:?}", a.map(|_| ())),
                }
            }
            Op::Commit { newest } | Op::Abort { newest } => {
                let entry = if newest {
                    held.pop_back()
                } else {
                    held.pop_front()
                };
                if let Some((claim, id)) = entry {
                    let commit = matches!(op, Op::Commit { .. });
                    if commit {
                        claim.commit();
                    } else {
                        drop(claim);
                        aborted += 1;
                    }
                    model.finish(id, commit);
                }
            }
            Op::Read { limit } => {
                let limit = usize::from(limit % 8) + 1;
                let expected = model.read(limit);
                let mut actual = Vec::new();
                let n = consumer.read(limit, |k, p| actual.push((k, p.to_vec())));
                assert_eq!(n, actual.len());
                assert_eq!(actual, expected, "step {step}: read({limit})");
                read += n as u64;
                read_bytes += actual.iter().map(|(_, p)| p.len() as u64).sum::<u64>();
            }
        }
        let s = ring.stats();
        assert_eq!(
            (
                s.records_read,
                s.bytes_read,
                s.rejected_full,
                s.rejected_too_large,
                s.aborted,
                s.claimed_bytes
            ),
            (read, read_bytes, full, too_large, aborted, model.tail),
            "step {step}: counters"
        );
        assert_eq!(
            s.in_use_bytes,
            model.tail - model.head,
            "step {step}: in use"
        );
    }
    // Finish every held claim, then everything committed must come out, in order.
    while let Some((claim, id)) = held.pop_front() {
        claim.commit();
        model.finish(id, true);
    }
    let mut expected = Vec::new();
    loop {
        let batch = model.read(usize::MAX);
        if batch.is_empty() && model.slots.is_empty() {
            break;
        }
        expected.extend(batch);
    }
    let mut actual = Vec::new();
    consumer.drain(usize::MAX, |k, p| actual.push((k, p.to_vec())));
    assert_eq!(actual, expected, "final drain");
    assert_eq!(ring.in_use_bytes(), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_scenarios_agree_with_model() {
        run_scenario(&Scenario {
            capacity: 64,
            ops: vec![
                Op::Claim { kind: 1, len: 0 },
                Op::Write { kind: 2, len: 0 },
                Op::Read { limit: 7 },
                Op::Commit { newest: false },
                Op::Read { limit: 7 },
                Op::Write { kind: 3, len: 200 },
                Op::Abort { newest: true },
            ],
        });
        run(&[0u8; 64]);
        run(&[0xFF; 300]);
        run(b"");
    }
}
