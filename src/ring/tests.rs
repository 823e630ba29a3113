//! Unit tests of the ring's edges; the model-based and multi-threaded tests live in `tests/`.
#![forbid(unsafe_code)]

use super::*;

fn read_all(c: &mut Consumer<'_>) -> std::vec::Vec<(u32, std::vec::Vec<u8>)> {
    let mut out = std::vec::Vec::new();
    c.drain(usize::MAX, |k, p| out.push((k, p.to_vec())));
    out
}

#[test]
fn rejects_bad_capacities() {
    for cap in [0, 1, 32, 100, 1000, Ring::MAX_CAPACITY * 2] {
        assert_eq!(
            Ring::with_capacity(cap).unwrap_err(),
            RingError::InvalidCapacity,
            "{cap}"
        );
    }
    assert!(Ring::with_capacity(64).is_ok());
    assert!(
        RingError::InvalidCapacity
            .to_string()
            .contains("power of two")
    );
}

#[test]
fn write_then_read_in_order_with_kinds() {
    let ring = Ring::with_capacity(1024).unwrap();
    let p = ring.producer();
    p.try_write(1, b"hello").unwrap();
    p.try_write(2, b"").unwrap();
    p.try_write(3, &[7u8; 100]).unwrap();
    let mut c = ring.consumer().unwrap();
    let got = read_all(&mut c);
    assert_eq!(
        got,
        vec![(1, b"hello".to_vec()), (2, vec![]), (3, vec![7u8; 100])]
    );
    let s = ring.stats();
    assert_eq!(s.bytes_read, 105);
    assert_eq!(s.claimed_bytes, 16 + 8 + 112);
    assert_eq!(s.records_read, 3);
    assert_eq!(s.in_use_bytes, 0);
    assert!(c.is_empty());
}

#[test]
fn max_record_and_too_large() {
    let ring = Ring::with_capacity(256).unwrap();
    assert_eq!(ring.max_record_len(), 24);
    let p = ring.producer();
    assert_eq!(p.try_write(0, &[0; 25]), Err(WriteError::TooLarge));
    assert_eq!(ring.stats().rejected_too_large, 1);
    p.try_write(0, &[1; 24]).unwrap();
    assert_eq!(
        p.try_claim(MAX_KIND + 1, 1).unwrap_err(),
        WriteError::InvalidKind
    );
}

#[test]
fn full_ring_refuses_at_once_and_recovers_after_read() {
    let ring = Ring::with_capacity(64).unwrap(); // max record 8 bytes total: empty payloads
    let p = ring.producer();
    for _ in 0..8 {
        p.try_write(5, b"").unwrap();
    }
    assert_eq!(p.try_write(5, b""), Err(WriteError::Full));
    assert_eq!(ring.stats().rejected_full, 1);
    assert_eq!(ring.in_use_bytes(), 64);
    let mut c = ring.consumer().unwrap();
    assert_eq!(c.read(3, |_, _| {}), 3);
    p.try_write(5, b"").unwrap();
    assert_eq!(c.drain(100, |_, _| {}), 6);
}

#[test]
fn wrap_inserts_padding_and_record_goes_to_offset_zero() {
    let ring = Ring::with_capacity(128).unwrap(); // max record 16 total: payload <= 8
    let p = ring.producer();
    let mut c = ring.consumer().unwrap();
    // 7 records of 16 bytes = 112; read them, tail at 112, 16 bytes to the end.
    for i in 0..7u8 {
        p.try_write(1, &[i; 8]).unwrap();
    }
    assert_eq!(c.drain(100, |_, _| {}), 7);
    // An 8-byte record (header only) fits before the end: tail -> 120.
    p.try_write(2, b"").unwrap();
    // A 16-byte record does not fit in the last 8 bytes: padding, then offset 0.
    p.try_write(3, &[9; 8]).unwrap();
    let got = read_all(&mut c);
    assert_eq!(got, vec![(2, vec![]), (3, vec![9; 8])]);
    assert_eq!(ring.stats().in_use_bytes, 0);
}

#[test]
fn wrap_refused_while_offset_zero_is_unread() {
    let ring = Ring::with_capacity(64).unwrap();
    let p = ring.producer();
    let mut c = ring.consumer().unwrap();
    for _ in 0..7 {
        p.try_write(1, b"").unwrap();
    }
    // Read one record at offset 0: head at 8; tail at 56.
    assert_eq!(c.read(1, |_, _| {}), 1);
    // Offset 56 has 8 bytes to the end: this 8-byte record fits without wrapping.
    p.try_write(1, b"").unwrap();
    // Now tail is 64 (offset 0); 8 free bytes at offset 0 (head at 8).
    p.try_write(1, b"").unwrap();
    assert_eq!(p.try_write(1, b""), Err(WriteError::Full));
    assert_eq!(c.drain(100, |_, _| {}), 8);
}

#[test]
fn dropped_claim_is_skipped_and_counted() {
    let ring = Ring::with_capacity(1024).unwrap();
    let p = ring.producer();
    let mut claim = p.try_claim(4, 10).unwrap();
    claim.payload_mut().copy_from_slice(b"0123456789");
    assert_eq!(
        (claim.len(), claim.kind(), claim.is_empty()),
        (10, 4, false)
    );
    claim.abort();
    p.try_write(6, b"after").unwrap();
    let mut c = ring.consumer().unwrap();
    assert_eq!(read_all(&mut c), vec![(6, b"after".to_vec())]);
    assert_eq!(ring.stats().aborted, 1);
    assert_eq!(ring.stats().records_read, 1);
}

#[test]
fn uncommitted_claim_holds_up_the_consumer() {
    let ring = Ring::with_capacity(1024).unwrap();
    let p = ring.producer();
    let claim = p.try_claim(1, 4).unwrap();
    p.try_write(2, b"later").unwrap();
    let mut c = ring.consumer().unwrap();
    assert_eq!(
        c.read(10, |_, _| {}),
        0,
        "must stop at the uncommitted record"
    );
    assert!(c.is_empty());
    claim.commit();
    assert_eq!(read_all(&mut c).len(), 2);
}

#[test]
fn claimed_payload_starts_zeroed_even_after_reuse() {
    let ring = Ring::with_capacity(64).unwrap();
    let p = ring.producer();
    let mut c = ring.consumer().unwrap();
    for round in 0..20u8 {
        let mut claim = p.try_claim(1, 0).unwrap();
        assert!(claim.payload_mut().is_empty());
        claim.commit();
        c.drain(10, |_, _| {});
        let _ = round;
    }
    let ring = Ring::with_capacity(256).unwrap();
    let p = ring.producer();
    let mut c = ring.consumer().unwrap();
    for round in 0..40u8 {
        let mut claim = p.try_claim(1, 24).unwrap();
        assert!(claim.payload_mut().iter().all(|&b| b == 0), "round {round}");
        claim.payload_mut().fill(0xAB);
        claim.commit();
        c.drain(10, |_, _| {});
    }
}

#[test]
fn only_one_consumer_at_a_time() {
    let ring = Ring::with_capacity(64).unwrap();
    let c = ring.consumer().unwrap();
    assert!(ring.consumer().is_none());
    drop(c);
    assert!(ring.consumer().is_some());
}

#[test]
fn consumer_resumes_where_previous_one_stopped() {
    let ring = Ring::with_capacity(256).unwrap();
    let p = ring.producer();
    for i in 0..4u8 {
        p.try_write(1, &[i]).unwrap();
    }
    {
        let mut c = ring.consumer().unwrap();
        assert_eq!(c.read(2, |_, _| {}), 2);
    }
    let mut c = ring.consumer().unwrap();
    let got = read_all(&mut c);
    assert_eq!(got, vec![(1, vec![2]), (1, vec![3])]);
}

#[test]
fn from_static_buffer() {
    let buf: &'static mut [u64] = std::boxed::Box::leak(std::vec![u64::MAX; 64].into_boxed_slice());
    let ring = Ring::from_static(buf).unwrap();
    assert_eq!(ring.capacity(), 512);
    ring.producer().try_write(9, b"static").unwrap();
    let mut c = ring.consumer().unwrap();
    assert_eq!(read_all(&mut c), vec![(9, b"static".to_vec())]);
    let odd: &'static mut [u64] = std::boxed::Box::leak(std::vec![0u64; 12].into_boxed_slice());
    assert!(Ring::from_static(odd).is_err());
}

#[test]
fn timeout_write_waits_then_times_out() {
    let ring = Ring::with_capacity(64).unwrap();
    let p = ring.producer();
    for _ in 0..8 {
        p.try_write(1, b"").unwrap();
    }
    let err = p
        .write_timeout(1, b"", std::time::Duration::from_millis(5))
        .unwrap_err();
    assert_eq!(err, WriteError::TimedOut);
    assert_eq!(
        ring.stats().rejected_full,
        1,
        "one rejection per record, not per attempt"
    );
    assert_eq!(
        p.write_timeout(1, &[0; 100], std::time::Duration::from_millis(5)),
        Err(WriteError::TooLarge)
    );
}

#[test]
fn timeout_write_succeeds_when_consumer_frees_room() {
    let ring = Ring::with_capacity(64).unwrap();
    let p = ring.producer();
    for _ in 0..8 {
        p.try_write(1, b"").unwrap();
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut c = ring.consumer().unwrap();
            while c.read(1, |_, _| {}) == 0 {}
        });
        p.write_timeout(2, b"", std::time::Duration::from_secs(30))
            .unwrap();
    });
    assert_eq!(ring.stats().records_read, 1);
    assert_eq!(ring.stats().in_use_bytes, 64, "the ninth record went in");
}

#[test]
fn error_messages_say_what_happened() {
    for (e, needle) in [
        (WriteError::Full, "full"),
        (WriteError::TooLarge, "larger"),
        (WriteError::InvalidKind, "kind"),
        (WriteError::TimedOut, "deadline"),
    ] {
        assert!(e.to_string().contains(needle), "{e}");
    }
}

#[test]
fn read_of_one_reaches_past_the_wrap_padding() {
    // Single-threaded write-one/read-one for many laps must never fall behind.
    let ring = Ring::with_capacity(256).unwrap();
    let p = ring.producer();
    let mut c = ring.consumer().unwrap();
    for i in 0..1000u32 {
        p.try_write(i % 7, &[i as u8; 20]).unwrap();
        let mut got = None;
        assert_eq!(
            c.read(1, |k, payload| got = Some((k, payload[0]))),
            1,
            "lap {i}"
        );
        assert_eq!(got, Some((i % 7, i as u8)));
        assert_eq!(ring.in_use_bytes(), 0);
    }
}
