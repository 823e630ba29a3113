//! The `otlp_arrow` handle: open, close, flush, stats, resource and scope registration.
//!
//! # Handles and use after close
//!
//! The C type `otlp_arrow` is a small *shell* holding one atomic pointer to the open library
//! ([`Inner`]: the pipeline, its rings and threads, the registries). `otlp_arrow_close` takes
//! the pointer out, shuts the pipeline down, frees it, and puts the empty shell on a free list
//! that later `otlp_arrow_open` calls reuse. So a shell's memory is never returned to the
//! allocator: a call on a closed handle finds the pointer empty and returns
//! `OTLP_ARROW_CLOSED` instead of touching freed memory. That detection is best effort —
//! once a later open reuses the shell, the stale pointer refers to the new library — so never
//! rely on it; it exists to turn a common bug into an error instead of a crash. Shells are
//! 8 bytes each and as many as handles were ever open at once.
//!
//! # Thread safety
//!
//! Everything but close may be called from any number of threads at once on one handle.
//! `otlp_arrow_close` must be called exactly once, after every other call on the handle has
//! returned (it frees what they use).

use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::Duration;

use core_crate::config::{AttributeValue, Config, FullPolicy, InvalidUtf8};
use core_crate::pipeline::Pipeline;
use core_crate::ring::{Claim, WriteError};
use core_crate::signal::Signal;
use core_crate::wire::encode::{AnyValue, Encode, KeyValue, Resource, Scope};

use crate::check::{Budget, Utf8, check_attributes, slice};
use crate::error::boundary;
use crate::receivers::Receivers;
use crate::registry::{Entry, OTLP_ARROW_MAX_RESOURCES, OTLP_ARROW_MAX_SCOPES, Registry};
use crate::status::{Error, otlp_arrow_status};
use crate::types::{otlp_arrow_attribute, otlp_arrow_str};

/// An open otlp-arrow library (opaque). Create with `otlp_arrow_open`, free with
/// `otlp_arrow_close`.
#[derive(Debug)]
pub struct otlp_arrow {
    inner: AtomicPtr<Inner>,
}

/// Shells of closed handles, reused by later opens (see the module docs).
static FREE_SHELLS: Mutex<Vec<&'static otlp_arrow>> = Mutex::new(Vec::new());

/// Counters the ABI keeps per signal, beyond the ring's and the pipeline's.
#[derive(Debug, Default)]
pub(crate) struct LaneCounters {
    /// Calls refused with `OTLP_ARROW_INVALID_ARGUMENT`.
    pub(crate) invalid: AtomicU64,
    /// Records refused as too large before any claim (their payload alone exceeded the limit).
    pub(crate) too_large: AtomicU64,
}

/// What an open handle owns.
#[derive(Debug)]
pub(crate) struct Inner {
    pipeline: Pipeline,
    /// Largest record per signal, cached (`ring.max_record_len()`).
    max_record: [usize; 3],
    pub(crate) resources: Registry,
    pub(crate) scopes: Registry,
    pub(crate) utf8: Utf8,
    /// `Some(timeout)` with `ring.full_policy = "wait"`.
    wait: Option<Duration>,
    pub(crate) counters: [LaneCounters; 3],
    receivers: Option<Receivers>,
    /// `shutdown.deadline`: the default flush timeout.
    deadline: Duration,
}

pub(crate) fn lane(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

impl Inner {
    /// The largest payload one record of `signal` can have.
    #[inline(always)]
    pub(crate) fn max_record_len(&self, signal: Signal) -> usize {
        self.max_record[lane(signal)]
    }

    /// Whether a full ring is waited for (`ring.full_policy = "wait"`) rather than refused:
    /// then claim with [`Self::claim_waiting`], otherwise with [`Self::claim_now`].
    #[inline(always)]
    pub(crate) fn waits(&self) -> bool {
        self.wait.is_some()
    }

    /// Claims a slot of `len` bytes in `signal`'s ring with the `wait` policy: waits up to
    /// the configured timeout for room (without it, as [`Self::claim_now`]).
    ///
    /// Callers take it on a branch of their own, apart from [`Self::claim_now`]: merged,
    /// the two results went through the stack (see there).
    pub(crate) fn claim_waiting(
        &self,
        signal: Signal,
        len: usize,
    ) -> Result<Claim<'_>, WriteError> {
        match self.wait {
            Some(timeout) => self.pipeline.ring(signal).producer().claim_timeout(
                signal.record_kind(),
                len,
                timeout,
            ),
            None => self.claim_now(signal, len),
        }
    }

    /// A claim that does not wait (the `reject` policy; the caller checked
    /// [`Self::waits`]), with the ring's own one-byte error, which the caller maps with
    /// [`Self::claim_error`] (a cold call).
    ///
    /// Why this shape: when the `Claim` was merged with the out-of-line waiting claim's
    /// result, or moved out of a `Result` with the crate's larger `Error`, it went through a
    /// stack slot and was read back with wider loads than its fields were stored with. Such
    /// loads cannot take the data from the pending stores; they wait until every earlier
    /// store is done, including the record header's store to a ring line that is not in the
    /// cache yet: ~15 ns per span (docs/BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn claim_now(&self, signal: Signal, len: usize) -> Result<Claim<'_>, WriteError> {
        self.pipeline
            .ring(signal)
            .producer()
            .try_claim(signal.record_kind(), len)
    }

    /// The error for a claim of `len` bytes that the ring refused with `e`.
    #[cold]
    pub(crate) fn claim_error(&self, signal: Signal, len: usize, e: WriteError) -> Error {
        match e {
            WriteError::Full | WriteError::TimedOut => Error::Full(signal),
            WriteError::TooLarge => Error::TooLarge {
                len,
                max: self.max_record_len(signal),
            },
            WriteError::InvalidKind => Error::Invalid("internal: record kind"),
        }
    }

    /// Counts a refused record (the ring counts `Full` and claims that were too large).
    #[cold]
    pub(crate) fn count_refusal(&self, signal: Signal, e: &Error) {
        let c = &self.counters[lane(signal)];
        match e {
            Error::Invalid(_) | Error::UnknownEnum { .. } | Error::InvalidUtf8(_) => {
                c.invalid.fetch_add(1, Ordering::Relaxed);
            }
            Error::TooLarge { .. } => {
                c.too_large.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

/// The open library behind `lib`.
///
/// # Safety
/// `lib` is NULL or a pointer returned by `otlp_arrow_open` (closed or not).
#[inline(always)]
pub(crate) unsafe fn inner<'a>(lib: *const otlp_arrow) -> Result<&'a Inner, Error> {
    // SAFETY: the caller passes NULL or a shell, and shells are never freed.
    let shell = unsafe { lib.as_ref() }.ok_or(Error::Invalid("the handle is NULL"))?;
    let p = shell.inner.load(Ordering::Acquire);
    if p.is_null() {
        return Err(Error::Closed);
    }
    // SAFETY: a non-NULL pointer is a live `Box<Inner>` until close, which the caller may only
    // call after this call returned.
    Ok(unsafe { &*p })
}

/// `[ffi] receivers = true|false` is this crate's key, not the core configuration's: it is
/// taken out before the text is parsed. Returns the text to parse and the flag.
fn split_ffi_keys(text: &str) -> Result<(std::borrow::Cow<'_, str>, bool), Error> {
    // Cheap test first: the common configuration never mentions the key, and parsing it
    // unchanged keeps the core's errors' line numbers.
    if !text.contains("receivers") {
        return Ok((text.into(), false));
    }
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return Ok((text.into(), false));
    };
    let Some(toml::Value::Table(ffi)) = table.get_mut("ffi") else {
        return Ok((text.into(), false));
    };
    let receivers = match ffi.remove("receivers") {
        None => return Ok((text.into(), false)),
        Some(toml::Value::Boolean(b)) => b,
        Some(other) => {
            return Err(Error::Config(format!(
                "invalid ffi.receivers = {other}: expected true or false"
            )));
        }
    };
    let text = toml::to_string(&table)
        .map_err(|e| Error::Config(format!("re-serializing the configuration: {e}")))?;
    Ok((text.into(), receivers))
}

fn attribute_value(v: &AttributeValue) -> AnyValue<'_> {
    match v {
        AttributeValue::String(s) => AnyValue::String(s),
        AttributeValue::Int(i) => AnyValue::Int(*i),
        AttributeValue::Double(d) => AnyValue::Double(*d),
        AttributeValue::Bool(b) => AnyValue::Bool(*b),
    }
}

fn encode_vec<M: Encode + ?Sized>(m: &M) -> Result<Box<[u8]>, Error> {
    let mut buf = vec![0u8; m.encoded_len()];
    let n = m
        .encode(&mut buf)
        .map_err(|_| Error::Invalid("the attributes changed while being encoded"))?;
    buf.truncate(n);
    Ok(buf.into_boxed_slice())
}

impl Inner {
    fn open(config_text: &str) -> Result<Inner, Error> {
        let (text, receivers_on) = split_ffi_keys(config_text)?;
        let config = Config::from_toml_str(&text).map_err(|e| Error::Config(e.to_string()))?;
        config
            .validate()
            .map_err(|e| Error::Config(e.to_string()))?;
        Inner::start(&config, receivers_on)
    }

    fn start(config: &Config, receivers_on: bool) -> Result<Inner, Error> {
        let resources = Registry::new(OTLP_ARROW_MAX_RESOURCES, "unknown resource id");
        let scopes = Registry::new(OTLP_ARROW_MAX_SCOPES, "unknown scope id");
        let attrs: Vec<KeyValue<'_>> = config
            .ffi
            .resource
            .iter()
            .map(|(k, v)| KeyValue::new(k, attribute_value(v)))
            .collect();
        resources.add(Entry::new(
            encode_vec(&Resource {
                attributes: &attrs[..],
                dropped_attributes_count: 0,
            })?,
            "".into(),
        ))?;
        scopes.add(Entry::new(
            encode_vec(&Scope {
                name: &config.ffi.scope.name,
                version: &config.ffi.scope.version,
                ..Scope::default()
            })?,
            "".into(),
        ))?;
        let pipeline = Pipeline::start(config).map_err(|e| Error::Io(e.to_string()))?;
        let max_record = Signal::ALL.map(|s| pipeline.ring(s).max_record_len());
        let receivers = if receivers_on {
            Some(Receivers::start(config, &pipeline).map_err(Error::Io)?)
        } else {
            None
        };
        Ok(Inner {
            pipeline,
            max_record,
            resources,
            scopes,
            utf8: match config.ffi.invalid_utf8 {
                InvalidUtf8::Reject => Utf8::Reject,
                InvalidUtf8::Replace => Utf8::Replace,
            },
            wait: match config.ring.full_policy {
                FullPolicy::Drop => None,
                FullPolicy::Wait => Some(config.ring.wait_timeout),
            },
            counters: Default::default(),
            receivers,
            deadline: config.shutdown.deadline,
        })
    }

    /// Stops the receivers, drains the rings, finalizes the files.
    fn close(mut self) -> Result<(), Error> {
        if let Some(r) = self.receivers.take() {
            r.stop(self.deadline);
        }
        let report = self.pipeline.shutdown();
        let lost = report.lost();
        let errors: Vec<String> = report
            .signals
            .iter()
            .filter_map(|(s, _, e)| e.as_ref().map(|e| format!("{s}: {e}")))
            .collect();
        if lost > 0 || !errors.is_empty() {
            return Err(Error::Io(format!(
                "closing lost {lost} records or rows{}{}",
                if errors.is_empty() { "" } else { "; " },
                errors.join("; ")
            )));
        }
        Ok(())
    }
}

/// Opens the library: parses `config` (TOML, the same keys as the service's configuration
/// file, `len` bytes, need not be NUL-terminated; NULL with `len` 0 means all defaults),
/// creates the output directory (recovering files a crash left), allocates the rings and
/// starts the drain threads. On success writes the new handle to `*out`; on failure `*out` is
/// left untouched.
///
/// The embedded OTLP receivers (gRPC, HTTP) are started only with `[ffi] receivers = true`
/// (then as `[receiver]` says); by default nothing listens on the network.
///
/// Returns `OTLP_ARROW_OK`, `OTLP_ARROW_INVALID_ARGUMENT` (`out` NULL, `config` NULL with a
/// non-zero length), `OTLP_ARROW_CONFIG` (not UTF-8, not TOML, unknown key, invalid value) or
/// `OTLP_ARROW_IO` (output directory, thread or listener could not be set up). Thread-safe.
///
/// # Safety
/// `config` is NULL or points to `len` readable bytes; `out` is NULL or points to writable
/// storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_open(
    config: *const core::ffi::c_char,
    len: usize,
    out: *mut *mut otlp_arrow,
) -> otlp_arrow_status {
    boundary!(status => {
        if out.is_null() {
            return Err(Error::Invalid("out is NULL"));
        }
        // SAFETY: the caller guarantees `len` readable bytes at a non-NULL `config`.
        let bytes = unsafe { slice(config.cast::<u8>(), len, "config is NULL with a non-zero length") }?;
        let text = core::str::from_utf8(bytes)
            .map_err(|e| Error::Config(format!("the configuration is not UTF-8: {e}")))?;
        let inner = Box::into_raw(Box::new(Inner::open(text)?));
        let shell = FREE_SHELLS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(|| {
                Box::leak(Box::new(otlp_arrow {
                    inner: AtomicPtr::new(core::ptr::null_mut()),
                }))
            });
        shell.inner.store(inner, Ordering::Release);
        // SAFETY: `out` is non-NULL and writable (caller contract).
        unsafe { *out = (shell as *const otlp_arrow).cast_mut() };
        Ok(())
    })
}

/// Closes the library: stops the receivers, writes everything the rings hold, finalizes every
/// file (within `shutdown.deadline`), stops the threads and frees everything. `lib` must not be
/// used afterwards. NULL is a no-op returning `OTLP_ARROW_OK`.
///
/// Returns `OTLP_ARROW_OK`; `OTLP_ARROW_IO` if records could not be written before the deadline
/// or a file could not be finalized (everything is freed anyway); `OTLP_ARROW_CLOSED` for a
/// handle already closed (when detectable). **Not** thread-safe with other calls on the same
/// handle: call it exactly once, after every other call on `lib` has returned.
///
/// # Safety
/// `lib` is NULL or a handle from `otlp_arrow_open`, with no call on it running concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_close(lib: *mut otlp_arrow) -> otlp_arrow_status {
    boundary!(status => {
        // SAFETY: NULL or a shell (never freed), per the caller contract.
        let Some(shell) = (unsafe { lib.cast_const().as_ref() }) else {
            return Ok(());
        };
        let p = shell.inner.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return Err(Error::Closed);
        }
        // SAFETY: `p` came from `Box::into_raw` in open and was just taken out of the shell,
        // so this is its only owner; no other call is running on the handle.
        let inner = unsafe { Box::from_raw(p) };
        // SAFETY: shells are leaked boxes: `'static`.
        let shell: &'static otlp_arrow = unsafe { &*(shell as *const otlp_arrow) };
        let result = inner.close();
        FREE_SHELLS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(shell);
        result
    })
}

/// Makes everything recorded before this call durable in finalized `.arrow` files, for all
/// three signals; waits up to `timeout_ms` milliseconds (0: the configured
/// `shutdown.deadline`).
///
/// Returns `OTLP_ARROW_OK`, `OTLP_ARROW_TIMED_OUT`, `OTLP_ARROW_IO`, `OTLP_ARROW_CLOSED` or
/// `OTLP_ARROW_INVALID_ARGUMENT` (NULL handle). Thread-safe; records made concurrently may or
/// may not be included.
///
/// # Safety
/// `lib` is NULL or a handle from `otlp_arrow_open` not yet freed by a returned close.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_flush(
    lib: *const otlp_arrow,
    timeout_ms: u64,
) -> otlp_arrow_status {
    boundary!(status => {
        // SAFETY: forwarded to the caller.
        let inner = unsafe { inner(lib) }?;
        let timeout = if timeout_ms == 0 { inner.deadline } else { Duration::from_millis(timeout_ms) };
        inner.pipeline.flush(timeout).map_err(|e| match e {
            core_crate::arrow::drain::FlushError::TimedOut => Error::TimedOut,
            other => Error::Io(other.to_string()),
        })
    })
}

/// Registers a resource (its attributes, dropped-attributes count and schema URL) and writes
/// its id to `*out_id`, for the `resource_id` field of records. Registering an identical
/// resource again returns the same id. Id 0 is the configuration's `[ffi.resource]`.
///
/// Returns `OTLP_ARROW_OK`, `OTLP_ARROW_INVALID_ARGUMENT` (NULL arguments, invalid strings or
/// values), `OTLP_ARROW_LIMIT` (`OTLP_ARROW_MAX_RESOURCES` reached) or `OTLP_ARROW_CLOSED`.
/// Thread-safe (takes a lock and allocates: register once, record many times).
///
/// # Safety
/// `lib` as for `otlp_arrow_flush`; `attributes` and `schema_url` follow the borrowed-view
/// contracts; `out_id` points to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_register_resource(
    lib: *const otlp_arrow,
    attributes: *const otlp_arrow_attribute,
    attributes_len: usize,
    dropped_attributes_count: u32,
    schema_url: otlp_arrow_str,
    out_id: *mut u32,
) -> otlp_arrow_status {
    boundary!(status => {
        // SAFETY: forwarded to the caller.
        let inner = unsafe { inner(lib) }?;
        if out_id.is_null() {
            return Err(Error::Invalid("out_id is NULL"));
        }
        // SAFETY: forwarded to the caller.
        let schema_url = unsafe { owned_text(inner, &schema_url, "schema_url") }?;
        // SAFETY: forwarded to the caller.
        let bytes = match unsafe { checked_attrs(inner, attributes, attributes_len) }? {
            CheckedAttrs::Strict(a) => encode_vec(&Resource { attributes: a, dropped_attributes_count }),
            CheckedAttrs::Lossy(a) => encode_vec(&Resource { attributes: a, dropped_attributes_count }),
        }?;
        let schema_url = schema_url.into();
        let id = inner.resources.add(Entry::new(bytes, schema_url))?;
        // SAFETY: non-NULL and writable (caller contract).
        unsafe { *out_id = id };
        Ok(())
    })
}

/// Registers an instrumentation scope (name, version, attributes, schema URL of its items)
/// and writes its id to `*out_id`, for the `scope_id` field of records. Identical scopes get
/// the same id. Id 0 is the configuration's `[ffi.scope]`.
///
/// Returns as `otlp_arrow_register_resource` (`OTLP_ARROW_LIMIT` at
/// `OTLP_ARROW_MAX_SCOPES`). Thread-safe (locks and allocates).
///
/// # Safety
/// As `otlp_arrow_register_resource`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_register_scope(
    lib: *const otlp_arrow,
    name: otlp_arrow_str,
    version: otlp_arrow_str,
    attributes: *const otlp_arrow_attribute,
    attributes_len: usize,
    schema_url: otlp_arrow_str,
    out_id: *mut u32,
) -> otlp_arrow_status {
    boundary!(status => {
        // SAFETY: forwarded to the caller.
        let inner = unsafe { inner(lib) }?;
        if out_id.is_null() {
            return Err(Error::Invalid("out_id is NULL"));
        }
        // SAFETY: forwarded to the caller.
        let (name, version) = unsafe { (owned_text(inner, &name, "scope name")?, owned_text(inner, &version, "scope version")?) };
        // SAFETY: forwarded to the caller.
        let schema_url = unsafe { owned_text(inner, &schema_url, "schema_url") }?.into();
        let scope = |attributes| Scope { name: &name, version: &version, attributes, dropped_attributes_count: 0 };
        // SAFETY: forwarded to the caller.
        let bytes = match unsafe { checked_attrs(inner, attributes, attributes_len) }? {
            CheckedAttrs::Strict(a) => encode_vec(&scope(a)),
            CheckedAttrs::Lossy(a) => encode_vec(&Scope { name: &name, version: &version, attributes: a, dropped_attributes_count: 0 }),
        }?;
        let id = inner.scopes.add(Entry::new(bytes, schema_url))?;
        // SAFETY: non-NULL and writable (caller contract).
        unsafe { *out_id = id };
        Ok(())
    })
}

/// A string argument as an owned `String`, checked or repaired per the UTF-8 policy.
///
/// # Safety
/// `s` follows the [`otlp_arrow_str`] contract.
unsafe fn owned_text(
    inner: &Inner,
    s: &otlp_arrow_str,
    what: &'static str,
) -> Result<String, Error> {
    // SAFETY: forwarded to the caller.
    let b = unsafe { s.bytes(what) }?;
    match inner.utf8 {
        Utf8::Reject => core::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| Error::InvalidUtf8(what)),
        Utf8::Replace => Ok(String::from_utf8_lossy(b).into_owned()),
    }
}

/// Checked C attributes, viewed for the encoder under the handle's UTF-8 policy.
enum CheckedAttrs<'a> {
    Strict(&'a [crate::strict::StrictKv]),
    Lossy(&'a crate::lossy::LossyAttrs),
}

/// Checks attributes for registration.
///
/// # Safety
/// `attributes`/`len` follow the [`crate::types`] contracts.
unsafe fn checked_attrs<'a>(
    inner: &Inner,
    attributes: *const otlp_arrow_attribute,
    len: usize,
) -> Result<CheckedAttrs<'a>, Error> {
    let mut budget = Budget::new(inner.max_record_len(Signal::Traces), inner.utf8);
    // SAFETY: (whole block) forwarded to the caller; the views are made over exactly the
    // memory just checked, with the policy it was checked with.
    unsafe {
        check_attributes(attributes, len, 0, &mut budget)?;
        let attrs = slice(attributes, len, "attributes")?;
        Ok(match inner.utf8 {
            Utf8::Reject => CheckedAttrs::Strict(crate::strict::attributes(attrs)),
            Utf8::Replace => CheckedAttrs::Lossy(crate::lossy::attributes(attrs)),
        })
    }
}
