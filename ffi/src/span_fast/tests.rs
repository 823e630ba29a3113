//! The hot path against the general path: bytes and errors at every boundary, proptests.

use super::*;
use crate::check::{Budget, Utf8};
use crate::record::{Strict, check_span, span_view};
use crate::types::{
    otlp_arrow_array, otlp_arrow_bytes, otlp_arrow_kvlist, otlp_arrow_value,
    otlp_arrow_value_data as D,
};
use core_crate::wire::encode::{Encode, Part, PreEncoded, ResourceSpans};
use proptest::prelude::*;

/// The hot path's outcome: not taken, the record's bytes, or the field with invalid UTF-8.
fn fast(
    s: &otlp_arrow_span,
    max: usize,
    r: &Registry,
    sc: &Registry,
) -> Option<Result<Vec<u8>, &'static str>> {
    let mut scratch = MaybeUninit::uninit();
    // SAFETY: the test's views are valid for the call.
    let p = unsafe { plan(s, max, r, sc, &mut scratch) }?;
    if p.bits & HIGH_BITS != 0
        && let Err(field) = first_invalid_utf8(p.entries)
    {
        return Some(Err(field));
    }
    let mut out = vec![0u8; p.total];
    assert!(encode(&p, &mut out));
    assert!(!encode(&p, &mut vec![0u8; p.total + 1]));
    Some(Ok(out))
}

/// The general path's outcome for the same span (`check_span`, then the crate's encoder
/// over the strict views): the record's bytes or the error's message.
fn general(
    s: &otlp_arrow_span,
    max: usize,
    r: &Registry,
    sc: &Registry,
) -> Result<Vec<u8>, String> {
    let mut b = Budget::new(max, Utf8::Reject);
    // SAFETY: the test's views are valid for the call.
    unsafe { check_span(s, &mut b) }.map_err(|e| e.to_string())?;
    let resource = r.get(s.resource_id).map_err(|e| e.to_string())?;
    let scope = sc.get(s.scope_id).map_err(|e| e.to_string())?;
    let span = span_view(s, &mut Strict).map_err(|e| e.to_string())?;
    let record = ResourceSpans {
        resource: Part::Encoded(PreEncoded::from_bytes(&resource.bytes)),
        resource_schema_url: &resource.schema_url,
        scope: Part::Encoded(PreEncoded::from_bytes(&scope.bytes)),
        scope_schema_url: &scope.schema_url,
        spans: core::slice::from_ref(&span),
    };
    let mut out = vec![0u8; record.encoded_len()];
    record.encode_exact(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn registry(bytes: &[u8], schema_url: &str) -> Registry {
    let r = Registry::new(1, "unknown id");
    r.add(Entry::new(bytes.into(), schema_url.into())).unwrap();
    r
}

fn raw(b: &[u8]) -> otlp_arrow_str {
    otlp_arrow_str {
        ptr: b.as_ptr().cast(),
        len: b.len(),
    }
}

fn value(type_: u32, data: D) -> otlp_arrow_value {
    otlp_arrow_value { type_, data }
}

fn span(attrs: &[otlp_arrow_attribute]) -> otlp_arrow_span {
    otlp_arrow_span {
        resource_id: 0,
        scope_id: 0,
        trace_id: [1; 16],
        span_id: [2; 8],
        parent_span_id: [5; 8],
        trace_state: otlp_arrow_str::of(""),
        name: otlp_arrow_str::of("GET /x"),
        kind: 2,
        flags: 0x101,
        start_time_unix_nano: 3,
        end_time_unix_nano: 4,
        attributes: attrs.as_ptr(),
        attributes_len: attrs.len(),
        dropped_attributes_count: 1,
        dropped_events_count: 0,
        events: ptr::null(),
        events_len: 0,
        links: ptr::null(),
        links_len: 0,
        dropped_links_count: 2,
        status_code: 2,
        status_message: otlp_arrow_str::of("bad"),
    }
}

/// The two paths agree; `taken` says the hot path must have taken the span.
fn agree(s: &otlp_arrow_span, max: usize, r: &Registry, sc: &Registry, taken: bool) {
    let g = general(s, max, r, sc);
    match fast(s, max, r, sc) {
        None => assert!(!taken, "not taken; general: {:?}", g.map(|b| b.len())),
        Some(Ok(bytes)) => assert_eq!(Ok(bytes), g),
        Some(Err(field)) => assert_eq!(Err(Error::InvalidUtf8(field).to_string()), g),
    }
}

/// Every value type the hot path takes, at every length class of the copies and around
/// the one-byte-length limits (an entry of 127 and of 128 bytes), with empty and long
/// keys, and the types it leaves to the general path; record lengths across the varint
/// boundaries of the scope and record lengths.
#[test]
fn writes_the_general_paths_bytes_at_every_boundary() {
    let x = "x".repeat(20_000);
    let blob = [7u8; 20];
    let inner = [value(3, D { int_value: -5 })];
    let mut values = vec![
        value(3, D { int_value: 0 }),
        value(3, D { int_value: 127 }),
        value(3, D { int_value: 128 }),
        value(3, D { int_value: -1 }),
        value(
            3,
            D {
                int_value: i64::MIN,
            },
        ),
        value(4, D { double_value: 0.25 }),
        value(4, D { double_value: -0.0 }),
        value(2, D { bool_value: 1 }),
        value(2, D { bool_value: 0 }),
        value(2, D { bool_value: 7 }),
    ];
    for n in [
        0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 48, 64, 110, 111, 119, 120, 121, 122, 123,
        124, 125, 126, 127, 128, 129, 300,
    ] {
        values.push(value(
            1,
            D {
                string_value: otlp_arrow_str::of(&x[..n]),
            },
        ));
    }
    // Encoded by the crate's encoder into the buffer.
    let nested_kv = [otlp_arrow_attribute {
        key: otlp_arrow_str::of("n"),
        value: value(2, D { bool_value: 1 }),
    }];
    let others = [
        value(
            6,
            D {
                kvlist_value: otlp_arrow_kvlist {
                    attributes: nested_kv.as_ptr(),
                    len: 1,
                },
            },
        ),
        value(0, D { int_value: 0 }),
        value(
            7,
            D {
                bytes_value: otlp_arrow_bytes {
                    ptr: blob.as_ptr(),
                    len: blob.len(),
                },
            },
        ),
        value(
            5,
            D {
                array_value: otlp_arrow_array {
                    values: inner.as_ptr(),
                    len: 1,
                },
            },
        ),
    ];
    let r = registry(b"\x0a\x05\x0a\x01k\x12\x00", "https://r");
    let sc = registry(b"\x0a\x03lib", "");
    for key in [0, 1, 3, 11, 16, 17, 33, 100, 120, 126, 127, 128, 200] {
        for v in values.iter().chain(&others) {
            let attrs = [otlp_arrow_attribute {
                key: otlp_arrow_str::of(&x[..key]),
                value: *v,
            }];
            agree(&span(&attrs), 1 << 20, &r, &sc, true);
        }
    }
    // Record, scope and span lengths of one, two and three varint bytes; resource and
    // scope bodies around the copies' size classes.
    for name in [0, 1, 60, 80, 100, 127, 128, 16_300, 16_400, 20_000] {
        for body in [0usize, 1, 32, 33, 64, 65, 127, 128, 300] {
            let bytes = vec![0x55u8; body];
            let (r, sc) = (registry(&bytes, ""), registry(&bytes, &x[..body % 7]));
            let attrs = [otlp_arrow_attribute {
                key: otlp_arrow_str::of("k"),
                value: values[0],
            }];
            let mut s = span(&attrs);
            s.name = otlp_arrow_str::of(&x[..name]);
            agree(&s, 1 << 20, &r, &sc, true);
        }
    }
    // Many entries: up to the buffer's size, then past it (the general path).
    let attrs: Vec<_> = (0..500)
        .map(|_| otlp_arrow_attribute {
            key: otlp_arrow_str::of("k"),
            value: values[11],
        })
        .collect();
    // Each entry takes 10 bytes: tag and length, key field (3), value field (2 + 3).
    for n in [0, 1, 8, 100, 409, 410, 500] {
        let taken = n * 10 <= SCRATCH_BYTES;
        agree(&span(&attrs[..n]), 1 << 20, &r, &sc, taken);
    }
}

/// Every malformed input the hot path meets is left to the general path (which names the
/// error), and invalid UTF-8 found while copying names the same field the general path
/// names.
#[test]
fn leaves_errors_to_the_general_path_and_names_invalid_utf8_alike() {
    let r = registry(b"", "");
    let sc = registry(b"", "");
    let ok = otlp_arrow_attribute {
        key: otlp_arrow_str::of("k"),
        value: value(3, D { int_value: 1 }),
    };
    let null = otlp_arrow_str {
        ptr: ptr::null(),
        len: 3,
    };
    type Edit = fn(&mut otlp_arrow_span);
    let cases: Vec<(Vec<otlp_arrow_attribute>, Edit)> = vec![
        (vec![ok], |s| s.kind = 6),
        (vec![ok], |s| s.status_code = 3),
        (vec![ok], |s| {
            s.name = otlp_arrow_str {
                ptr: ptr::null(),
                len: 1,
            }
        }),
        (vec![ok], |s| s.name = raw(b"\xff")),
        (vec![ok], |s| s.trace_state = raw(b"a\xc3")),
        (vec![ok], |s| s.status_message = raw(b"\x80")),
        (vec![ok], |s| s.resource_id = 1),
        (vec![ok], |s| s.scope_id = 9),
        (vec![ok], |s| s.attributes = ptr::null()),
        (
            vec![
                ok,
                otlp_arrow_attribute {
                    key: null,
                    value: ok.value,
                },
            ],
            |_| {},
        ),
        (
            vec![otlp_arrow_attribute {
                key: otlp_arrow_str::of("k"),
                value: value(1, D { string_value: null }),
            }],
            |_| {},
        ),
        (
            vec![otlp_arrow_attribute {
                key: otlp_arrow_str::of("k"),
                value: value(9, D { int_value: 0 }),
            }],
            |_| {},
        ),
        (
            vec![otlp_arrow_attribute {
                key: raw(b"k\xff"),
                value: ok.value,
            }],
            |_| {},
        ),
        (
            vec![
                ok,
                otlp_arrow_attribute {
                    key: raw(b"ok"),
                    value: value(
                        1,
                        D {
                            string_value: raw(b"\xe2\x82"),
                        },
                    ),
                },
            ],
            |_| {},
        ),
        (
            vec![otlp_arrow_attribute {
                key: raw(&[b'k'; 200]),
                value: value(
                    1,
                    D {
                        string_value: raw(b"\xed\xa0\x80"),
                    },
                ),
            }],
            |_| {},
        ),
        (
            vec![otlp_arrow_attribute {
                key: otlp_arrow_str::of("caf\u{e9}"),
                value: value(
                    1,
                    D {
                        string_value: raw(b"ok\xc3"),
                    },
                ),
            }],
            |_| {},
        ),
        (
            vec![otlp_arrow_attribute {
                key: otlp_arrow_str::of("\u{1F600}"),
                value: value(
                    1,
                    D {
                        string_value: otlp_arrow_str::of("cr\u{e8}me"),
                    },
                ),
            }],
            |_| {},
        ),
    ];
    for (attrs, edit) in &cases {
        let mut s = span(attrs);
        edit(&mut s);
        let g = general(&s, 1 << 20, &r, &sc);
        match fast(&s, 1 << 20, &r, &sc) {
            None => assert!(g.is_err(), "{g:?}"),
            Some(Ok(bytes)) => assert_eq!(Ok(bytes), g),
            Some(Err(field)) => assert_eq!(Err(Error::InvalidUtf8(field).to_string()), g),
        }
    }
    // Over the budget: left to the general path, which refuses it as too large.
    let attrs = [ok];
    let s = span(&attrs);
    assert!(fast(&s, 5, &r, &sc).is_none());
    assert!(general(&s, 5, &r, &sc).unwrap_err().contains("larger"));
    assert!(fast(&s, 30, &r, &sc).is_some());
}

/// An attribute value for the proptest.
#[derive(Debug, Clone)]
enum V {
    Str(Vec<u8>),
    Int(i64),
    Double(f64),
    Bool(u8),
    Empty,
    Bytes(Vec<u8>),
    Array(Vec<otlp_arrow_value>),
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(0x20u8..0x7f, 0..40),
        1 => proptest::collection::vec(0x20u8..0x7f, 100..140),
        1 => proptest::collection::vec(0x20u8..0x7f, 200..300),
        1 => ".{0,30}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..20),
    ]
}

fn attr_value() -> impl Strategy<Value = V> {
    prop_oneof![
        4 => text().prop_map(V::Str),
        2 => any::<i64>().prop_map(V::Int),
        1 => any::<f64>().prop_map(V::Double),
        1 => any::<u8>().prop_map(V::Bool),
        1 => Just(V::Empty),
        1 => proptest::collection::vec(any::<i64>(), 0..4)
            .prop_map(|v| V::Array(v.into_iter().map(|i| value(3, D { int_value: i })).collect())),
        1 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(V::Bytes),
    ]
}

fn zero_or<T: Arbitrary + Default + Clone + 'static>() -> impl Strategy<Value = T> {
    prop_oneof![Just(T::default()), any::<T>()]
}

proptest! {
    /// On random spans the hot path, when it takes one, writes the general path's bytes
    /// or names the general path's UTF-8 error; and it takes every valid span whose
    /// attributes it handles and that fits its buffer.
    #[test]
    fn agrees_with_the_general_path(
        attrs in proptest::collection::vec((text(), attr_value()), 0..12),
        name in text(),
        trace_state in prop_oneof![Just(vec![]), text()],
        status_message in prop_oneof![Just(vec![]), text()],
        kind in 0u32..7,
        status_code in 0u32..4,
        flags in zero_or::<u32>(),
        counts in (zero_or::<u32>(), zero_or::<u32>(), zero_or::<u32>()),
        ids in (any::<[u8; 16]>(), any::<[u8; 8]>(), zero_or::<[u8; 8]>()),
        times in (zero_or::<u64>(), zero_or::<u64>()),
        resource in (proptest::collection::vec(any::<u8>(), 0..200), "[a-z:/.]{0,150}"),
        scope in (proptest::collection::vec(any::<u8>(), 0..200), "[a-z:/.]{0,150}"),
        ids_known in prop_oneof![9 => Just(true), 1 => Just(false)],
        max in prop_oneof![9 => Just(1usize << 20), 1 => 0usize..600],
    ) {
        let c_attrs: Vec<otlp_arrow_attribute> = attrs
            .iter()
            .map(|(k, v)| otlp_arrow_attribute {
                key: raw(k),
                value: match v {
                    V::Str(b) => value(1, D { string_value: raw(b) }),
                    V::Int(i) => value(3, D { int_value: *i }),
                    V::Double(d) => value(4, D { double_value: *d }),
                    V::Bool(b) => value(2, D { bool_value: *b }),
                    V::Empty => value(0, D { int_value: 0 }),
                    V::Bytes(b) => value(7, D { bytes_value: otlp_arrow_bytes { ptr: b.as_ptr(), len: b.len() } }),
                    V::Array(a) => value(5, D { array_value: otlp_arrow_array { values: a.as_ptr(), len: a.len() } }),
                },
            })
            .collect();
        let s = otlp_arrow_span {
            resource_id: u32::from(!ids_known),
            scope_id: 0,
            trace_id: ids.0,
            span_id: ids.1,
            parent_span_id: ids.2,
            trace_state: raw(&trace_state),
            name: raw(&name),
            kind,
            flags,
            start_time_unix_nano: times.0,
            end_time_unix_nano: times.1,
            attributes: c_attrs.as_ptr(),
            attributes_len: c_attrs.len(),
            dropped_attributes_count: counts.0,
            dropped_events_count: counts.1,
            events: ptr::null(),
            events_len: 0,
            links: ptr::null(),
            links_len: 0,
            dropped_links_count: counts.2,
            status_code,
            status_message: raw(&status_message),
        };
        let (r, sc) = (registry(&resource.0, &resource.1), registry(&scope.0, &scope.1));
        // An invalid key of an attribute that the crate's encoder writes (the empty value,
        // bytes, arrays) is left to the general path to name.
        let nested = attrs.iter().any(|(_, v)| matches!(v, V::Empty | V::Bytes(_) | V::Array(_)));
        let g = general(&s, max, &r, &sc);
        let attr_bytes: usize = attrs
            .iter()
            .map(|(k, v)| 30 + k.len() + match v {
                V::Str(b) | V::Bytes(b) => b.len(),
                V::Array(a) => 12 * a.len(),
                _ => 0,
            })
            .sum();
        let fits = attr_bytes <= SCRATCH_BYTES && max == 1 << 20 && ids_known;
        let utf8_error = g.as_ref().is_err_and(|e| e.contains("attribute key") || e.contains("string value"));
        match fast(&s, max, &r, &sc) {
            None => prop_assert!(!(fits && (g.is_ok() || (utf8_error && !nested))), "not taken: {:?}", g),
            Some(Ok(bytes)) => prop_assert_eq!(Ok(bytes), g),
            Some(Err(field)) => prop_assert_eq!(Err(Error::InvalidUtf8(field).to_string()), g),
        }
    }
}
