//! The producers' side: claim a slot, fill it, commit it (or drop it to abort).
#![deny(unsafe_op_in_unsafe_fn)]

use core::mem::ManuallyDrop;

use super::header::{self, HEADER_LEN, MAX_KIND, PADDING};
use super::{Ring, WriteError};
use crate::sync::Ordering;

/// A handle for writing records into a [`Ring`]. `Copy`, `Send` and `Sync`: use it from any
/// number of threads at once.
#[derive(Debug, Clone, Copy)]
pub struct Producer<'r> {
    ring: &'r Ring,
}

impl<'r> Producer<'r> {
    pub(super) fn new(ring: &'r Ring) -> Producer<'r> {
        Producer { ring }
    }

    /// The ring this producer writes to.
    #[inline]
    pub fn ring(&self) -> &'r Ring {
        self.ring
    }

    /// Claims room for a record of `len` payload bytes tagged `kind`. Fill
    /// [`Claim::payload_mut`], then [`Claim::commit`]; dropping the claim aborts it.
    ///
    /// Never blocks: a full ring is [`WriteError::Full`] at once, counted in
    /// [`RingStats::rejected_full`](super::RingStats::rejected_full).
    ///
    /// # Errors
    /// [`WriteError::Full`], [`WriteError::TooLarge`] (`len > max_record_len()`, counted),
    /// [`WriteError::InvalidKind`] (`kind > MAX_KIND`).
    #[inline]
    pub fn try_claim(&self, kind: u32, len: usize) -> Result<Claim<'r>, WriteError> {
        match self.claim_uncounted(kind, len) {
            Err(WriteError::Full) => {
                self.ring.rejections.full.fetch_add(1, Ordering::Relaxed);
                Err(WriteError::Full)
            }
            other => other,
        }
    }

    /// Copies `payload` into a new record tagged `kind` and commits it.
    ///
    /// # Errors
    /// As [`Producer::try_claim`].
    #[inline]
    pub fn try_write(&self, kind: u32, payload: &[u8]) -> Result<(), WriteError> {
        let mut claim = self.try_claim(kind, payload.len())?;
        claim.payload_mut().copy_from_slice(payload);
        claim.commit();
        Ok(())
    }

    /// The claim itself; `Full` is not counted here so that retrying callers (the blocking
    /// wait) count one rejection per record, not one per attempt.
    #[inline]
    pub(super) fn claim_uncounted(&self, kind: u32, len: usize) -> Result<Claim<'r>, WriteError> {
        let ring = self.ring;
        if kind > MAX_KIND {
            return Err(WriteError::InvalidKind);
        }
        if len > ring.max_record_len() {
            ring.rejections.too_large.fetch_add(1, Ordering::Relaxed);
            return Err(WriteError::TooLarge);
        }
        // `len <= capacity / 8 - 8` (checked above), so these fit an i32 and cannot overflow.
        let total = (len + HEADER_LEN) as u64;
        let index = ring.claim_space(header::align(total))?;
        // Not yet committed: the consumer stops here until the commit store below.
        ring.storage
            .header(index)
            .store(header::in_progress(total as u32), Ordering::Relaxed);
        Ok(Claim {
            ring,
            index,
            len,
            kind,
        })
    }
}

impl Ring {
    /// Reserves `required` (8-aligned) bytes, plus padding if they do not fit before the end of
    /// the buffer, and returns the byte offset of the record's header. Lock-free: the loop
    /// repeats only when another producer's CAS moved `tail` since this one read it.
    #[inline]
    fn claim_space(&self, required: u64) -> Result<usize, WriteError> {
        let capacity = self.capacity() as i64;
        let required_i = required as i64;
        // Possibly stale; refreshed from the real head only when it says "no room".
        let mut head = self.head_cache.load(Ordering::Relaxed);
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            // Signed: a stale `tail` may be behind a fresh `head`; then "available" is large,
            // the CAS fails, and the loop retries with the current tail.
            if required_i > capacity - (tail.wrapping_sub(head) as i64) {
                head = self.consumer_side.head.load(Ordering::Acquire);
                if required_i > capacity - (tail.wrapping_sub(head) as i64) {
                    // Maybe `tail` is stale and a retry would find room? No: `head` was loaded
                    // after `tail`, and the real tail is only ever larger, so there is less
                    // room than computed. Full it is.
                    return Err(WriteError::Full);
                }
                self.head_cache.store(head, Ordering::Relaxed);
            }
            let tail_index = tail & self.mask;
            let to_end = self.capacity() as u64 - tail_index;
            let mut padding = 0;
            if required > to_end {
                // The record goes to offset 0, which must be clear of unread data at `head`.
                if required > head & self.mask {
                    head = self.consumer_side.head.load(Ordering::Acquire);
                    if required > head & self.mask {
                        // A fresh `head` may already be past a stale `tail` (and its offset
                        // wrapped to near 0): only a pair where `tail` did not move while
                        // `head` was read proves the ring full. Found by the loom model.
                        let current = self.tail.load(Ordering::Relaxed);
                        if current != tail {
                            tail = current;
                            continue;
                        }
                        return Err(WriteError::Full);
                    }
                    self.head_cache.store(head, Ordering::Relaxed);
                }
                padding = to_end;
            }
            match self.tail.compare_exchange_weak(
                tail,
                tail + required + padding,
                // Acquire pairs with nothing shared but keeps the header stores below after the
                // claim; Relaxed would also be correct since only the consumer reads headers,
                // through Acquire loads of Release stores.
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if padding == 0 {
                        return Ok(tail_index as usize);
                    }
                    self.storage.header(tail_index as usize).store(
                        header::committed(PADDING, padding as u32),
                        Ordering::Release,
                    );
                    return Ok(0);
                }
                Err(current) => {
                    tail = current;
                    crate::sync::spin_hint();
                }
            }
        }
    }
}

/// Room for one record, claimed and not yet committed. Fill [`payload_mut`](Claim::payload_mut)
/// and call [`commit`](Claim::commit). Dropping it instead aborts the record: the space becomes
/// padding the consumer skips. Keep a claim short-lived: the consumer cannot read past it.
#[must_use = "a claim that is dropped aborts the record"]
#[derive(Debug)]
pub struct Claim<'r> {
    ring: &'r Ring,
    index: usize,
    len: usize,
    kind: u32,
}

impl Claim<'_> {
    /// The record's payload, exactly the length that was claimed. Initially zeroed.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        // SAFETY: this claim owns `[index, index + aligned total)` from its successful CAS on
        // `tail` until its commit/abort store; `&mut self` makes the slice unique.
        unsafe {
            self.ring
                .storage
                .bytes_mut(self.index + HEADER_LEN, self.len)
        }
    }

    /// Payload length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the payload is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The kind tag the record will carry.
    #[inline]
    pub fn kind(&self) -> u32 {
        self.kind
    }

    /// Publishes the record to the consumer.
    #[inline]
    pub fn commit(self) {
        let this = ManuallyDrop::new(self);
        let total = (this.len + HEADER_LEN) as u32;
        // Release: the payload writes above happen-before the consumer's Acquire of this word.
        // Nothing else: no counter is bumped here, because an atomic add per record costs
        // as much as the rest of the commit (the consumer counts what it reads instead).
        this.ring
            .storage
            .header(this.index)
            .store(header::committed(this.kind, total), Ordering::Release);
    }

    /// Gives the space back as padding (same as dropping the claim).
    #[inline]
    pub fn abort(self) {
        drop(self);
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let total = (self.len + HEADER_LEN) as u32;
        self.ring
            .storage
            .header(self.index)
            .store(header::committed(PADDING, total), Ordering::Release);
        self.ring.rejections.aborted.fetch_add(1, Ordering::Relaxed);
    }
}
