//! The consumer's side: read committed records in order, then give their space back.
#![deny(unsafe_op_in_unsafe_fn)]

use core::cell::Cell;
use core::marker::PhantomData;

use super::Ring;
use super::header::{self, HEADER_LEN, PADDING};
use crate::sync::Ordering;

/// The one reader of a [`Ring`] (see [`Ring::consumer`]). `Send` but not `Sync`: it may move
/// to the drain thread, but only one thread reads at a time. Dropping it lets another
/// consumer be taken.
#[derive(Debug)]
pub struct Consumer<'r> {
    ring: &'r Ring,
    /// Our own copy of `head`: only this consumer writes the shared one.
    head: u64,
    _not_sync: PhantomData<Cell<()>>,
}

impl<'r> Consumer<'r> {
    pub(super) fn new(ring: &'r Ring) -> Consumer<'r> {
        let head = ring.consumer_side.head.load(Ordering::Acquire);
        Consumer {
            ring,
            head,
            _not_sync: PhantomData,
        }
    }

    /// The ring this consumer reads.
    #[inline]
    pub fn ring(&self) -> &'r Ring {
        self.ring
    }

    /// Hands up to `limit` committed records, in claim order, to `f(kind, payload)`, releasing
    /// their space to producers as it goes (once per contiguous run, at most twice a call).
    /// Returns how many records were read; 0 when nothing is ready.
    ///
    /// Stops at the first record not yet committed (a producer between claim and commit). A
    /// call that reaches the end of the buffer continues at offset 0, so a record behind the
    /// wrap padding is never left for a later call. If `f` panics, the records of the current
    /// run are not released and are read again by the next call.
    #[inline]
    pub fn read<F: FnMut(u32, &[u8])>(&mut self, limit: usize, mut f: F) -> usize {
        let (first, wrapped) = self.read_contiguous(limit, &mut f);
        if wrapped && first < limit {
            first + self.read_contiguous(limit - first, &mut f).0
        } else {
            first
        }
    }

    /// One pass from `head` to at most the end of the buffer. Returns the records read and
    /// whether the pass consumed everything up to the end (so the next record is at offset 0).
    #[inline]
    fn read_contiguous<F: FnMut(u32, &[u8])>(&mut self, limit: usize, f: &mut F) -> (usize, bool) {
        let ring = self.ring;
        let head_index = (self.head & ring.mask) as usize;
        let contiguous = ring.capacity() - head_index;
        let mut consumed = 0usize;
        let mut records = 0usize;
        let mut payload_bytes = 0usize;
        while consumed < contiguous && records < limit {
            let at = head_index + consumed;
            let word = ring.storage.header(at).load(Ordering::Acquire);
            let length = header::length(word);
            if length <= 0 {
                break;
            }
            consumed += header::align(length as u64) as usize;
            let kind = header::kind(word);
            if kind == PADDING {
                continue;
            }
            // SAFETY: the Acquire load saw a committed length, so the producer's payload
            // writes are visible, and no producer reuses this space before our head store.
            let payload = unsafe {
                ring.storage
                    .bytes(at + HEADER_LEN, length as usize - HEADER_LEN)
            };
            f(kind, payload);
            records += 1;
            payload_bytes += payload.len();
        }
        if consumed > 0 {
            // SAFETY: `[head_index, head_index + consumed)` holds records this consumer has
            // just read and not yet released; only the consumer writes it until the store below.
            unsafe { ring.storage.zero(head_index, consumed) };
            self.head += consumed as u64;
            ring.consumer_side.head.store(self.head, Ordering::Release);
            // Only this consumer writes the counters: load + store, no read-modify-write.
            let side = &ring.consumer_side;
            let read = side.records_read.load(Ordering::Relaxed);
            side.records_read
                .store(read + records as u64, Ordering::Relaxed);
            let bytes = side.bytes_read.load(Ordering::Relaxed);
            side.bytes_read
                .store(bytes + payload_bytes as u64, Ordering::Relaxed);
        }
        (records, consumed == contiguous)
    }

    /// Reads everything committed so far, in calls of at most `limit` records.
    pub fn drain<F: FnMut(u32, &[u8])>(&mut self, limit: usize, mut f: F) -> usize {
        let mut total = 0;
        loop {
            let n = self.read(limit.max(1), &mut f);
            total += n;
            if n == 0 {
                return total;
            }
        }
    }

    /// How far this consumer has read: a byte position in the same space as
    /// [`Ring::claimed_position`](super::Ring::claimed_position). Every record claimed before
    /// the claim position was `p` has been read (or skipped as aborted) once this is `>= p`.
    pub fn position(&self) -> u64 {
        self.head
    }

    /// Whether no committed record is ready at the head right now.
    pub fn is_empty(&self) -> bool {
        let ring = self.ring;
        let at = (self.head & ring.mask) as usize;
        header::length(ring.storage.header(at).load(Ordering::Acquire)) <= 0
    }
}

impl Drop for Consumer<'_> {
    fn drop(&mut self) {
        self.ring.consumer_taken.store(false, Ordering::Release);
    }
}
