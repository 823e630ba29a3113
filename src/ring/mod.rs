//! A many-producer / one-consumer ring of variable-length, typed records.
//!
//! This is the hot path of otlp-arrow: application threads encode a span, metric point or log
//! record straight into a slot claimed here, and one drain thread reads committed records in
//! order. Claim, commit and read never allocate, never lock and never make a syscall.
//!
//! The algorithm is Aeron's many-to-one ring buffer (real-logic/aeron,
//! `aeron-client/src/main/c/concurrent/aeron_mpsc_rb.c`), adapted to a single 64-bit header
//! word so a commit is one `Release` store.
//!
//! # Layout
//!
//! The buffer is a power-of-two number of bytes, 8-byte aligned. Positions (`head`, `tail`) are
//! 64-bit byte counters that only grow; `position & (capacity - 1)` is the offset in the buffer.
//! Every record starts on an 8-byte boundary with one header word:
//!
//! ```text
//!  0                   31 32                  63   (bits of the little-endian u64 header word)
//! +----------------------+----------------------+-----------------------------------+--------+
//! | length: i32          | kind: u32            | payload: length - 8 bytes         | pad to |
//! | (header + payload)   | (user tag or PADDING)|                                   | 8 bytes|
//! +----------------------+----------------------+-----------------------------------+--------+
//!   length == 0  never written (the consumer zeroes everything it consumed)
//!   length <  0  claimed, payload being written (not yet committed)
//!   length >  0  committed: the consumer may read it
//! ```
//!
//! A record that does not fit before the end of the buffer is preceded by a *padding record*
//! covering the rest of the buffer, and the record itself goes to offset 0. The largest record
//! (header included, rounded up to 8) is `capacity / 8`, so padding never wastes more than an
//! eighth of the ring and a record always fits once the ring drains.
//!
//! # Protocol
//!
//! - **Claim** (any producer): CAS `tail` forward by the aligned record size (plus padding at the
//!   wrap), after checking free space against a cached `head` that may be stale; only when the
//!   cache says "full" is the real `head` loaded. Then the header is stored as `-length` (not yet
//!   committed). Full -> [`Full`](WriteError::Full) at once; the CAS loop retries only when
//!   another producer moved `tail` meanwhile (lock-free: some producer always succeeds).
//! - **Commit**: one `Release` store of `(kind, +length)`, nothing else. Dropping a [`Claim`] without
//!   committing turns it into padding, so the consumer skips it.
//! - **Read** (the one consumer): `Acquire` load of each header from `head` on; stop at the first
//!   header that is not committed or at the end of the buffer; hand committed payloads to the
//!   callback; zero the consumed bytes; `Release` store of the new `head`, which is what gives
//!   producers the space back.
//!
//! # Progress guarantees, honestly
//!
//! Producers are lock-free among themselves, and a claim never waits for the consumer. But
//! records are read in claim order: **a producer stalled between claim and commit (descheduled,
//! or stopped in a debugger) holds up the consumer at that record**, and the ring fills behind it
//! until it commits or drops its claim. A producer that dies mid-claim (its thread killed without
//! unwinding) wedges the ring for good. Keep the work between claim and commit short and
//! infallible: compute the length first, then claim, copy or encode, commit.
//!
//! # Memory and embedding
//!
//! The ring never allocates after construction. [`Ring::with_capacity`] (feature `std`)
//! allocates its buffer once; [`Ring::from_static`] runs on a caller-provided `&'static mut [u64]`
//! with no allocator at all. Head and tail live on separate cache lines; each side caches the
//! other's position and treats that cache as possibly stale.
#![deny(unsafe_op_in_unsafe_fn)]

mod consumer;
mod header;
mod producer;
mod storage;
#[cfg(all(feature = "std", not(otlp_arrow_loom)))]
mod wait;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicBool, AtomicU64, Ordering};

pub use consumer::Consumer;
pub use header::{HEADER_LEN, MAX_KIND, RECORD_ALIGN};
pub use producer::{Claim, Producer};
use storage::Storage;

/// Why a record could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// Not enough free space right now. Nothing was written; retry later or drop the record.
    Full,
    /// The record (header included) is larger than [`Ring::max_record_len`] allows, ever.
    TooLarge,
    /// The kind tag is above [`MAX_KIND`] (the top values are reserved for padding).
    InvalidKind,
    /// A blocking write gave up at its deadline with the ring still full.
    TimedOut,
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WriteError::Full => "ring full",
            WriteError::TooLarge => "record larger than the ring's maximum record size",
            WriteError::InvalidKind => "record kind out of range",
            WriteError::TimedOut => "ring still full at the deadline",
        })
    }
}

impl core::error::Error for WriteError {}

/// Why a ring could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// The capacity is not a power of two, or is below [`Ring::MIN_CAPACITY`] or above
    /// [`Ring::MAX_CAPACITY`] bytes.
    InvalidCapacity,
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "ring capacity must be a power of two between {} and {} bytes",
            Ring::MIN_CAPACITY,
            Ring::MAX_CAPACITY
        )
    }
}

impl core::error::Error for RingError {}

/// A point-in-time copy of a ring's counters. Each counter is exact; the set is not a single
/// atomic snapshot (counters are read one after another while producers keep going).
///
/// Records are counted where they leave the ring, by the consumer, not where they enter it:
/// an exact producer-side count needs an atomic add per record, which costs as much as the
/// rest of a claim and commit. Every committed record is either counted in `records_read` or
/// still in the ring (`in_use_bytes > 0`), so once the consumer has drained the ring,
/// `records_read` is exactly the number of records accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Buffer size in bytes.
    pub capacity: u64,
    /// Bytes claimed but not yet released by the consumer (records, headers, padding).
    pub in_use_bytes: u64,
    /// Bytes ever claimed (records, headers, padding): the producers' position.
    pub claimed_bytes: u64,
    /// Records handed to the consumer.
    pub records_read: u64,
    /// Payload bytes handed to the consumer (headers and padding excluded).
    pub bytes_read: u64,
    /// Writes refused because the ring was full at that moment.
    pub rejected_full: u64,
    /// Writes refused because the record can never fit.
    pub rejected_too_large: u64,
    /// Claims dropped without commit (turned into padding).
    pub aborted: u64,
}

/// Counters that only move on slow paths.
#[derive(Debug)]
struct Rejections {
    full: AtomicU64,
    too_large: AtomicU64,
    aborted: AtomicU64,
}

/// The consumer's side: `head` (stored with `Release` after zeroing) and its read counters,
/// which only the consumer writes (plain load + store, no atomic read-modify-write).
#[derive(Debug)]
struct HeadLine {
    head: AtomicU64,
    records_read: AtomicU64,
    bytes_read: AtomicU64,
}

/// A many-producer / one-consumer ring of typed, variable-length records. See the module docs.
///
/// `Ring` is `Sync`: share it (`&Ring`, `Arc<Ring>`, a `static`) and take [`Producer`]s from
/// any thread with [`Ring::producer`]; exactly one [`Consumer`] at a time with
/// [`Ring::consumer`].
#[derive(Debug)]
pub struct Ring {
    /// The producers' position; only claims (CAS) move it.
    tail: CachePadded<AtomicU64>,
    /// Producers' shared, possibly stale copy of `head`; refreshed only when it says "full".
    head_cache: CachePadded<AtomicU64>,
    consumer_side: CachePadded<HeadLine>,
    rejections: CachePadded<Rejections>,
    consumer_taken: AtomicBool,
    storage: Storage,
    mask: u64,
    max_record: u64,
}

impl Ring {
    /// Smallest capacity accepted, in bytes.
    pub const MIN_CAPACITY: usize = 64;
    /// Largest capacity accepted, in bytes (record lengths are `i32` in the header).
    pub const MAX_CAPACITY: usize = 1 << 30;

    /// A ring with its own buffer of `capacity` bytes, allocated (and zeroed) once, here.
    ///
    /// # Errors
    /// [`RingError::InvalidCapacity`] unless `capacity` is a power of two in
    /// [`MIN_CAPACITY`](Self::MIN_CAPACITY)..=[`MAX_CAPACITY`](Self::MAX_CAPACITY).
    #[cfg(any(feature = "std", otlp_arrow_loom))]
    pub fn with_capacity(capacity: usize) -> Result<Ring, RingError> {
        check_capacity(capacity)?;
        Ok(Ring::build(Storage::allocate(capacity)))
    }

    /// A ring over a caller-provided buffer, for hosts without an allocator. The buffer's size
    /// in bytes (`8 * buffer.len()`) is the capacity; it is zeroed here.
    ///
    /// ```
    /// use otlp_arrow::ring::Ring;
    /// static mut BUF: [u64; 512] = [0; 512]; // 4 KiB
    /// // SAFETY: BUF is borrowed mutably exactly once, here, for the rest of the program.
    /// let ring = Ring::from_static(unsafe { &mut *&raw mut BUF }).unwrap();
    /// assert_eq!(ring.capacity(), 4096);
    /// ```
    ///
    /// # Errors
    /// [`RingError::InvalidCapacity`] as for [`Ring::with_capacity`].
    pub fn from_static(buffer: &'static mut [u64]) -> Result<Ring, RingError> {
        check_capacity(buffer.len().saturating_mul(8))?;
        Ok(Ring::build(Storage::borrow_static(buffer)))
    }

    fn build(storage: Storage) -> Ring {
        let capacity = storage.capacity() as u64;
        Ring {
            tail: CachePadded::new(AtomicU64::new(0)),
            head_cache: CachePadded::new(AtomicU64::new(0)),
            consumer_side: CachePadded::new(HeadLine {
                head: AtomicU64::new(0),
                records_read: AtomicU64::new(0),
                bytes_read: AtomicU64::new(0),
            }),
            rejections: CachePadded::new(Rejections {
                full: AtomicU64::new(0),
                too_large: AtomicU64::new(0),
                aborted: AtomicU64::new(0),
            }),
            consumer_taken: AtomicBool::new(false),
            storage,
            mask: capacity - 1,
            max_record: capacity / 8,
        }
    }

    /// Buffer size in bytes.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.storage.capacity()
    }

    /// Largest payload a single record can carry: `capacity / 8` minus the header.
    #[inline]
    pub fn max_record_len(&self) -> usize {
        (self.max_record as usize) - HEADER_LEN
    }

    /// A handle for writing records. Cheap (`Copy`); take as many as you like, on any thread.
    #[inline]
    pub fn producer(&self) -> Producer<'_> {
        Producer::new(self)
    }

    /// The ring's one consumer, or `None` while another [`Consumer`] is alive.
    pub fn consumer(&self) -> Option<Consumer<'_>> {
        self.consumer_taken
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Consumer::new(self))
    }

    /// The producers' claim position: bytes ever claimed (records, padding and aborted claims).
    /// A record committed before this call was claimed before it, so it lies below the value
    /// returned; a consumer whose [`position`](Consumer::position) reaches it has read that
    /// record. Not on any hot path (one load).
    pub fn claimed_position(&self) -> u64 {
        self.tail.load(Ordering::Acquire)
    }

    /// Bytes claimed and not yet released (a racy but bounded estimate: `0..=capacity`).
    pub fn in_use_bytes(&self) -> u64 {
        let head = self.consumer_side.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.saturating_sub(head).min(self.capacity() as u64)
    }

    /// A copy of the counters. Readable from any thread at any time; costs a few loads.
    pub fn stats(&self) -> RingStats {
        RingStats {
            capacity: self.capacity() as u64,
            in_use_bytes: self.in_use_bytes(),
            claimed_bytes: self.tail.load(Ordering::Relaxed),
            records_read: self.consumer_side.records_read.load(Ordering::Relaxed),
            bytes_read: self.consumer_side.bytes_read.load(Ordering::Relaxed),
            rejected_full: self.rejections.full.load(Ordering::Relaxed),
            rejected_too_large: self.rejections.too_large.load(Ordering::Relaxed),
            aborted: self.rejections.aborted.load(Ordering::Relaxed),
        }
    }
}

fn check_capacity(capacity: usize) -> Result<(), RingError> {
    if capacity.is_power_of_two() && (Ring::MIN_CAPACITY..=Ring::MAX_CAPACITY).contains(&capacity) {
        Ok(())
    } else {
        Err(RingError::InvalidCapacity)
    }
}

#[cfg(all(test, not(otlp_arrow_loom)))]
mod tests;
