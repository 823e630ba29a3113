//! Resources and instrumentation scopes, encoded once and referred to by id.
//!
//! A record carries `resource_id` / `scope_id`; the bytes copied into its ring slot come from
//! here (the encoder's `PreEncoded`), so a resource is never re-encoded or copied per record
//! outside the slot itself. Id 0 of each table is the one the configuration describes
//! (`[ffi.resource]`, `[ffi.scope]`), registered at open. Further entries are added by
//! `otlp_arrow_register_resource` / `otlp_arrow_register_scope` (a cold path: it locks and
//! allocates) and live until the handle is closed; registering the same bytes again returns
//! the existing id. Looking an id up is one bounds check and one `Acquire` load, no lock.

use std::sync::{Mutex, OnceLock};

use crate::status::Error;

/// Resources one handle can register (including the configuration's, id 0).
pub const OTLP_ARROW_MAX_RESOURCES: u32 = 256;
/// Scopes one handle can register (including the configuration's, id 0).
pub const OTLP_ARROW_MAX_SCOPES: u32 = 1024;

/// One registered message: its encoded body and the schema URL records carry with it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The `Resource` / `InstrumentationScope` message body.
    pub(crate) bytes: Box<[u8]>,
    /// `schema_url` of the `Resource*` / `Scope*` entry.
    pub(crate) schema_url: Box<str>,
    /// `bytes` as the record writes them, as field 1 of the `Resource*` / `Scope*` entry
    /// (tag, length, body), and `schema_url` as its field 3 (nothing when empty): the same
    /// numbers in `ResourceSpans` / `ScopeSpans` and their metrics and logs counterparts, so
    /// the span hot path ([`crate::span_fast`]) copies them as they are instead of sizing and
    /// framing them per record.
    pub(crate) field: Box<[u8]>,
    /// See [`field`](Entry::field).
    pub(crate) schema_url_field: Box<[u8]>,
}

impl Entry {
    /// An entry of `bytes` and `schema_url`, with their fields framed once.
    pub(crate) fn new(bytes: Box<[u8]>, schema_url: Box<str>) -> Entry {
        let framed = |b: &[u8], tag: u8| {
            let mut out = Vec::with_capacity(b.len() + 11);
            out.push(tag);
            let mut v = b.len() as u64;
            while v >= 0x80 {
                out.push((v as u8) | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
            out.extend_from_slice(b);
            out.into_boxed_slice()
        };
        let schema_url_field = if schema_url.is_empty() {
            Box::default()
        } else {
            framed(schema_url.as_bytes(), 0x1a)
        };
        Entry {
            field: framed(&bytes, 0x0a),
            schema_url_field,
            bytes,
            schema_url,
        }
    }
}

/// A fixed-size, append-only table of entries.
#[derive(Debug)]
pub(crate) struct Registry {
    entries: Box<[OnceLock<Entry>]>,
    /// Number of entries set; held while adding (adding is rare).
    count: Mutex<usize>,
    what: &'static str,
}

impl Registry {
    /// An empty table of `capacity` entries.
    pub(crate) fn new(capacity: u32, what: &'static str) -> Registry {
        Registry {
            entries: (0..capacity).map(|_| OnceLock::new()).collect(),
            count: Mutex::new(0),
            what,
        }
    }

    /// The entry `id`.
    #[inline(always)]
    pub(crate) fn get(&self, id: u32) -> Result<&Entry, Error> {
        self.entries
            .get(id as usize)
            .and_then(OnceLock::get)
            .ok_or(Error::Invalid(self.what))
    }

    /// Adds `entry`, or finds an equal one; returns its id.
    pub(crate) fn add(&self, entry: Entry) -> Result<u32, Error> {
        let mut count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = self.entries[..*count]
            .iter()
            .position(|e| e.get() == Some(&entry))
        {
            return Ok(i as u32);
        }
        let slot = self
            .entries
            .get(*count)
            .ok_or(Error::Limit("the table of resources or scopes is full"))?;
        // Only this thread (holding `count`) sets entries, so the slot is empty.
        let _ = slot.set(entry);
        *count += 1;
        Ok((*count - 1) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(b: &[u8]) -> Entry {
        Entry::new(b.into(), "".into())
    }

    #[test]
    fn ids_are_stable_deduplicated_and_bounded() {
        let r = Registry::new(2, "unknown id");
        assert_eq!(r.add(entry(b"a")).unwrap(), 0);
        assert_eq!(r.add(entry(b"b")).unwrap(), 1);
        assert_eq!(r.add(entry(b"a")).unwrap(), 0);
        assert!(matches!(r.add(entry(b"c")), Err(Error::Limit(_))));
        assert_eq!(&*r.get(1).unwrap().bytes, b"b");
        assert!(matches!(r.get(2), Err(Error::Invalid(_))));
        assert!(matches!(r.get(u32::MAX), Err(Error::Invalid(_))));
    }
}
