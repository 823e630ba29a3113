//! The ring's bytes: one 8-byte-aligned, power-of-two buffer, owned or borrowed `'static`.
//!
//! This is the only place in the ring that touches memory through raw pointers. It promises:
//! header words are accessed only atomically while shared; payload bytes are handed out only
//! for ranges the caller owns under the ring protocol (a live claim, or a committed record the
//! consumer has not released). Under `--cfg otlp_arrow_loom` the same interface is backed by loom
//! atomics for the header words plus loom cells that track every 8-byte slot a payload or a
//! zeroing touches, so loom checks both the protocol and the absence of data races on payloads.
#![allow(unsafe_code)]

#[cfg(not(otlp_arrow_loom))]
pub(crate) use self::plain::Storage;

#[cfg(otlp_arrow_loom)]
pub(crate) use self::model::Storage;

#[cfg(not(otlp_arrow_loom))]
mod plain {
    use core::ptr::NonNull;

    use crate::sync::AtomicU64;

    /// Raw ring memory. Never turned back into a reference to the whole buffer after
    /// construction: producers and the consumer each hold disjoint parts of it at once.
    #[derive(Debug)]
    pub(crate) struct Storage {
        ptr: NonNull<u64>,
        words: usize,
        owned: bool,
    }

    // SAFETY: Storage is a pointer to memory that the ring protocol partitions between threads;
    // every access goes through the methods below, whose contracts keep accesses disjoint or
    // atomic. It owns (or exclusively borrows for 'static) that memory, so moving it is fine.
    unsafe impl Send for Storage {}
    // SAFETY: see Send; shared access is exactly what the protocol coordinates.
    unsafe impl Sync for Storage {}

    impl Storage {
        /// Allocates and zeroes `capacity` bytes (a multiple of 8) once.
        #[cfg(feature = "std")]
        pub(crate) fn allocate(capacity: usize) -> Storage {
            let words = capacity / 8;
            let boxed: std::boxed::Box<[u64]> = std::vec![0u64; words].into_boxed_slice();
            let ptr = NonNull::from(std::boxed::Box::leak(boxed)).cast::<u64>();
            Storage {
                ptr,
                words,
                owned: true,
            }
        }

        /// Takes a caller's buffer for good and zeroes it (zero means "never written").
        pub(crate) fn borrow_static(buffer: &'static mut [u64]) -> Storage {
            buffer.fill(0);
            let words = buffer.len();
            let ptr = NonNull::from(buffer).cast::<u64>();
            Storage {
                ptr,
                words,
                owned: false,
            }
        }

        #[inline]
        pub(crate) fn capacity(&self) -> usize {
            self.words * 8
        }

        /// The header word at byte offset `at`.
        #[inline]
        pub(crate) fn header(&self, at: usize) -> &AtomicU64 {
            debug_assert!(
                at.is_multiple_of(8) && at < self.capacity(),
                "header offset {at}"
            );
            // SAFETY: `at` is 8-aligned and inside the buffer (ring arithmetic masks every
            // offset and keeps it a multiple of 8), the buffer is u64-aligned so the word is
            // aligned for AtomicU64 (same size and alignment as u64 on every target that has
            // 64-bit atomics), and while the word is shared it is only accessed atomically.
            unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(at / 8)) }
        }

        /// The `len` bytes at byte offset `at`, writable.
        ///
        /// # Safety
        /// The caller owns `[at, at + len)` under the ring protocol (a live claim) and creates no
        /// other reference to it while the returned slice lives.
        #[inline]
        #[allow(clippy::mut_from_ref)]
        pub(crate) unsafe fn bytes_mut(&self, at: usize, len: usize) -> &mut [u8] {
            debug_assert!(at + len <= self.capacity(), "range {at}+{len}");
            // SAFETY: in bounds (debug-asserted, guaranteed by the claim arithmetic) and
            // exclusively owned by the caller per this function's contract.
            unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr().cast::<u8>().add(at), len) }
        }

        /// The `len` bytes at byte offset `at`, read-only.
        ///
        /// # Safety
        /// `[at, at + len)` is a committed record the consumer has not released: no producer
        /// writes it until the consumer's `head` store passes it.
        #[inline]
        pub(crate) unsafe fn bytes(&self, at: usize, len: usize) -> &[u8] {
            debug_assert!(at + len <= self.capacity(), "range {at}+{len}");
            // SAFETY: in bounds, and not written by anyone while the slice lives (contract).
            unsafe { core::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>().add(at), len) }
        }

        /// Zeroes `[at, at + len)` so that its header words read "never written" again.
        ///
        /// # Safety
        /// Only the consumer calls this, on bytes it consumed and has not yet released.
        #[inline]
        pub(crate) unsafe fn zero(&self, at: usize, len: usize) {
            debug_assert!(
                at.is_multiple_of(8) && len.is_multiple_of(8) && at + len <= self.capacity()
            );
            // SAFETY: in bounds; no other thread accesses these bytes until the consumer's
            // Release store of `head` that follows, which orders this write before any
            // producer's later (Acquire-ordered) reuse of the space.
            unsafe { core::ptr::write_bytes(self.ptr.as_ptr().add(at / 8), 0, len / 8) }
        }
    }

    impl Drop for Storage {
        fn drop(&mut self) {
            #[cfg(feature = "std")]
            if self.owned {
                let slice = core::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.words);
                // SAFETY: `owned` storage came from Box::leak of exactly this slice in
                // `allocate`, and nothing uses it after the ring is dropped.
                drop(unsafe { std::boxed::Box::from_raw(slice) });
            }
            let _ = self.owned;
        }
    }
}

#[cfg(otlp_arrow_loom)]
mod model {
    use core::cell::UnsafeCell;

    use crate::sync::{AtomicU64, Ordering};

    /// Loom stand-in with the same contract: header words are loom atomics, payload bytes sit
    /// in a plain buffer, and one loom cell per 8-byte slot records each payload access so loom
    /// reports any access that the protocol does not order.
    pub(crate) struct Storage {
        headers: std::boxed::Box<[AtomicU64]>,
        bytes: std::boxed::Box<[UnsafeCell<u8>]>,
        slots: std::boxed::Box<[loom::cell::UnsafeCell<()>]>,
    }

    impl core::fmt::Debug for Storage {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("Storage")
                .field("capacity", &self.capacity())
                .finish()
        }
    }

    // SAFETY: as for the plain storage; loom checks the claim.
    unsafe impl Send for Storage {}
    // SAFETY: as for the plain storage; loom checks the claim.
    unsafe impl Sync for Storage {}

    impl Storage {
        pub(crate) fn allocate(capacity: usize) -> Storage {
            let words = capacity / 8;
            Storage {
                headers: (0..words).map(|_| AtomicU64::new(0)).collect(),
                bytes: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
                slots: (0..words)
                    .map(|_| loom::cell::UnsafeCell::new(()))
                    .collect(),
            }
        }

        pub(crate) fn borrow_static(buffer: &'static mut [u64]) -> Storage {
            Storage::allocate(buffer.len() * 8)
        }

        pub(crate) fn capacity(&self) -> usize {
            self.bytes.len()
        }

        pub(crate) fn header(&self, at: usize) -> &AtomicU64 {
            &self.headers[at / 8]
        }

        fn touch_mut(&self, at: usize, len: usize) {
            for slot in &self.slots[at / 8..(at + len).div_ceil(8)] {
                slot.with_mut(|_| ());
            }
        }

        /// # Safety
        /// As for the plain storage.
        #[allow(clippy::mut_from_ref)]
        pub(crate) unsafe fn bytes_mut(&self, at: usize, len: usize) -> &mut [u8] {
            self.touch_mut(at, len);
            let base = self.bytes[at..at + len].as_ptr() as *mut u8;
            // SAFETY: UnsafeCell<u8> has u8's layout; exclusive per the contract (loom checks).
            unsafe { core::slice::from_raw_parts_mut(base, len) }
        }

        /// # Safety
        /// As for the plain storage.
        pub(crate) unsafe fn bytes(&self, at: usize, len: usize) -> &[u8] {
            for slot in &self.slots[at / 8..(at + len).div_ceil(8)] {
                slot.with(|_| ());
            }
            let base = self.bytes[at..at + len].as_ptr() as *const u8;
            // SAFETY: UnsafeCell<u8> has u8's layout; not written concurrently (loom checks).
            unsafe { core::slice::from_raw_parts(base, len) }
        }

        /// # Safety
        /// As for the plain storage.
        pub(crate) unsafe fn zero(&self, at: usize, len: usize) {
            for word in &self.headers[at / 8..(at + len) / 8] {
                word.store(0, Ordering::Relaxed);
            }
            // SAFETY: consumer-owned range per the contract (loom checks via touch_mut).
            unsafe { self.bytes_mut(at, len) }.fill(0);
        }
    }
}
