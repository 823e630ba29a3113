//! [`Exporter`]: one collector endpoint, its retry loop and its breaker.
//!
//! One `export` call, in order:
//!
//! 1. take an in-flight slot (a semaphore of `max_in_flight`), waiting at most until the
//!    request's deadline (`retry.max_elapsed` from the call);
//! 2. build the wire body once (gzip, gRPC framing) for every attempt;
//! 3. per attempt: ask the breaker (`allow(now)`). Refused: wait, without sending, until the
//!    breaker can admit a probe (the open period's end, or a transition: a waiting call is
//!    woken by every transition) or the deadline, whichever comes first. Admitted: send with
//!    the per-request `timeout` (cut to the time left before the deadline);
//! 4. classify the answer: accepted (partial success counted) or non-retryable (dropped,
//!    counted by reason, `warn` log with the server's message) end the call and count as a
//!    breaker *success* (the endpoint answered); a retryable failure counts as a breaker
//!    *failure* and is retried after the backoff delay (or the server's, capped) unless that
//!    delay would pass the deadline: then the call returns `Deferred` at once rather than
//!    sleeping into a certain give-up.
//!
//! Time for the breaker is nanoseconds since the exporter was created, read from `Instant`
//! here, outside the breaker (DESIGN.md principle 4).
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use super::auth;
use super::backoff::Backoff;
use super::classify::Class;
use super::connector::{self, Connector};
use super::stats::{StatsCells, add, state_name};
use super::transport::{Answer, Transport};
use super::{
    BreakerEvent, BreakerState, BreakerTransition, ExportOutcome, ExportRequest,
    ExporterStatsSnapshot, ForwardError,
};
use crate::breaker::{Breaker, Observer, Policy};
use crate::config::{BreakerConfig, ForwardEndpoint, ForwardProtocol, RetryConfig};
use crate::config::{parse_url, redact_url};
use crate::sync::{AtomicU64, Ordering};

/// The embedder's breaker callback.
type Callback = Arc<dyn Fn(BreakerEvent) + Send + Sync>;

/// One endpoint: client (raw-bytes gRPC over one HTTP/2 connection, or HTTP/protobuf over
/// pooled HTTP/1.1), gzip, per-request timeout, auth headers, TLS, retry with full-jitter
/// backoff honouring `RetryInfo` / `Retry-After` (capped), and the atomic breaker.
///
/// `Clone` is cheap and yields the same endpoint (shared connection, breaker, in-flight bound
/// and stats), so the forwarder can call [`export`](Self::export) from several tasks at once.
#[derive(Clone)]
pub struct Exporter {
    inner: Arc<Inner>,
}

struct Inner {
    name: Arc<str>,
    protocol: ForwardProtocol,
    transport: Transport,
    timeout: Duration,
    retry: RetryConfig,
    breaker: Breaker<Announcer>,
    in_flight: Semaphore,
    max_in_flight: u32,
    stats: StatsCells,
    epoch: Instant,
}

/// The breaker's observer: logs, wakes waiting calls, tells the embedder.
struct Announcer {
    name: Arc<str>,
    callback: RwLock<Option<Callback>>,
    /// Woken on every transition.
    changed: Notify,
    /// Breaker time (ns) of the last opening.
    opened_at: AtomicU64,
}

impl Observer for Announcer {
    fn on_transition(&self, transition: BreakerTransition, now: u64) {
        let state = match transition {
            BreakerTransition::ClosedToOpen | BreakerTransition::HalfOpenToOpen => {
                self.opened_at.store(now, Ordering::Relaxed);
                BreakerState::Open
            }
            BreakerTransition::OpenToHalfOpen | BreakerTransition::HalfOpenExpired => {
                BreakerState::HalfOpen
            }
            BreakerTransition::HalfOpenToClosed => BreakerState::Closed,
        };
        match transition {
            BreakerTransition::ClosedToOpen => tracing::info!(
                endpoint = %self.name,
                "forward circuit breaker opened: endpoint failing, sending paused"
            ),
            BreakerTransition::HalfOpenToOpen => tracing::info!(
                endpoint = %self.name,
                "forward circuit breaker reopened: probe failed"
            ),
            BreakerTransition::HalfOpenToClosed => tracing::info!(
                endpoint = %self.name,
                "forward circuit breaker closed: endpoint healthy, sending resumed"
            ),
            BreakerTransition::OpenToHalfOpen | BreakerTransition::HalfOpenExpired => {
                tracing::debug!(endpoint = %self.name, state = state_name(state), "forward circuit breaker probing");
            }
        }
        self.changed.notify_waiters();
        let callback = self
            .callback
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(cb) = callback {
            cb(BreakerEvent {
                endpoint: Arc::clone(&self.name),
                transition,
                state,
            });
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Exporter {
    /// An exporter for `endpoint`, retrying per `retry`, guarded by a breaker built from
    /// `breaker`. Connects lazily (nothing is dialled here), so an endpoint that is down at
    /// start is not an error.
    ///
    /// Must be called inside a tokio runtime context (the connection pool spawns its tasks
    /// on it); the exporter must then be used on that runtime.
    ///
    /// # Errors
    /// [`ForwardError`]: a bad URL, credentials over `http://` without `allow_insecure`, a
    /// header that cannot be sent, TLS files that do not load, an invalid breaker policy,
    /// `max_in_flight = 0`, no runtime. Messages never contain a credential.
    pub fn new(
        endpoint: &ForwardEndpoint,
        retry: &RetryConfig,
        breaker: &BreakerConfig,
    ) -> Result<Exporter, ForwardError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ForwardError::NoRuntime);
        }
        let shown = redact_url(&endpoint.url);
        let url = parse_url(&endpoint.url).map_err(|reason| ForwardError::InvalidUrl {
            url: shown.clone(),
            reason,
        })?;
        auth::check_insecure(endpoint, url.tls, &shown)?;
        if !url.tls && endpoint.tls.is_set() {
            return Err(ForwardError::Tls(format!(
                "{shown:?}: TLS files are set but the URL is http://; use https://"
            )));
        }
        if endpoint.max_in_flight == 0 {
            return Err(ForwardError::Invalid(
                "max_in_flight must be 1 or more".into(),
            ));
        }
        if endpoint.timeout.is_zero() {
            return Err(ForwardError::Invalid("timeout must be positive".into()));
        }
        let policy = Policy::new(
            breaker.failure_threshold,
            nanos(breaker.open_duration),
            breaker.half_open_probes,
            breaker.success_threshold,
        )
        .map_err(ForwardError::Breaker)?;
        let headers = auth::headers(endpoint)?;
        let port = url.port.unwrap_or(if url.tls { 443 } else { 80 });
        let alpn: &[&[u8]] = match endpoint.protocol {
            ForwardProtocol::Grpc => &[b"h2"],
            ForwardProtocol::Http => &[b"http/1.1"],
        };
        let tls = if url.tls {
            Some(connector::client_config(&endpoint.tls, alpn)?)
        } else {
            None
        };
        let connector = Connector::new(&url.host, port, tls)?;
        let host = if url.host.contains(':') {
            format!("[{}]", url.host)
        } else {
            url.host.clone()
        };
        let origin = format!("{}://{host}:{port}", if url.tls { "https" } else { "http" });
        let transport = Transport::new(
            endpoint.protocol,
            connector,
            origin,
            base_path(&endpoint.url),
            headers.0,
            endpoint.compression,
        );
        let name: Arc<str> = shown.into();
        let announcer = Announcer {
            name: Arc::clone(&name),
            callback: RwLock::new(None),
            changed: Notify::new(),
            opened_at: AtomicU64::new(0),
        };
        Ok(Exporter {
            inner: Arc::new(Inner {
                name,
                protocol: endpoint.protocol,
                transport,
                timeout: endpoint.timeout,
                retry: retry.clone(),
                breaker: Breaker::with_observer(policy, announcer),
                in_flight: Semaphore::new(endpoint.max_in_flight as usize),
                max_in_flight: endpoint.max_in_flight,
                stats: StatsCells::default(),
                epoch: Instant::now(),
            }),
        })
    }

    /// Calls `cb` after every breaker transition of this exporter (and its clones), on the
    /// task whose attempt caused it, after the transition is visible and counted. Keep it
    /// short and non-blocking (set a flag, send on a channel): a host application can use it
    /// to shed load while its collector is down. Replaces an earlier callback.
    ///
    /// ```no_run
    /// # async fn f(endpoint: otlp_arrow::config::ForwardEndpoint) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use otlp_arrow::config::{BreakerConfig, RetryConfig};
    /// use otlp_arrow::otlp::forward::{BreakerState, Exporter};
    ///
    /// let collector_down = Arc::new(AtomicBool::new(false));
    /// let flag = Arc::clone(&collector_down);
    /// let exporter = Exporter::new(&endpoint, &RetryConfig::default(), &BreakerConfig::default())?
    ///     .with_breaker_callback(Arc::new(move |event| {
    ///         flag.store(event.state == BreakerState::Open, Ordering::Relaxed);
    ///     }));
    /// # let _ = exporter; Ok(()) }
    /// ```
    pub fn with_breaker_callback(self, cb: Arc<dyn Fn(BreakerEvent) + Send + Sync>) -> Self {
        *self
            .inner
            .breaker
            .observer()
            .callback
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(cb);
        self
    }

    /// The endpoint's URL, user info redacted: the label on logs and metrics.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The OTLP transport of this endpoint.
    pub fn protocol(&self) -> ForwardProtocol {
        self.inner.protocol
    }

    /// Whether the breaker would let a request through now (does not take a probe slot):
    /// closed, or open with its open duration over, or half-open with a free probe slot.
    pub fn is_available(&self) -> bool {
        let breaker = &self.inner.breaker;
        let snap = breaker.snapshot();
        let policy = breaker.policy();
        let now = self.inner.now();
        match snap.state() {
            BreakerState::Closed => true,
            BreakerState::Open => policy.has_elapsed(now, snap.time_units()),
            BreakerState::HalfOpen => {
                policy.has_probe_slot(snap.probes_in_flight())
                    || policy.has_elapsed(now, snap.time_units())
            }
        }
    }

    /// The counters, the breaker's state and its transition counts.
    pub fn stats(&self) -> ExporterStatsSnapshot {
        let inner = &*self.inner;
        inner
            .stats
            .snapshot(&inner.name, inner.breaker.state(), inner.breaker.counters())
    }

    /// Sends `req`, retrying; returns when acknowledged, dropped or deferred. Never panics.
    ///
    /// Cancelling the returned future (dropping it) abandons the request without an outcome:
    /// nothing is counted for it beyond what already happened, and a breaker probe it held is
    /// released.
    pub async fn export(&self, req: ExportRequest) -> ExportOutcome {
        let inner = &*self.inner;
        add(&inner.stats.requests, 1);
        let deadline = Instant::now() + inner.retry.max_elapsed;
        let slot = tokio::time::timeout_at(deadline.into(), inner.in_flight.acquire()).await;
        let Ok(Ok(_slot)) = slot else {
            return inner.defer(
                &req,
                "no in-flight slot free before the deadline".to_owned(),
            );
        };
        let payload = inner.transport.payload(&req);
        let mut backoff = Backoff::new(&inner.retry);
        let mut last_error: Option<String> = None;
        let mut sent = false;
        loop {
            let Some(permit) = inner.admit(deadline).await else {
                let why = match last_error {
                    Some(e) => format!("circuit breaker open until the deadline; last error: {e}"),
                    None => "circuit breaker open until the deadline".to_owned(),
                };
                return inner.defer(&req, why);
            };
            if !sent {
                sent = true;
                add(&inner.stats.items_sent, req.items);
            }
            add(&inner.stats.attempts, 1);
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = inner.timeout.min(left).max(Duration::from_millis(1));
            let answer = inner.transport.send(&req, &payload, timeout).await;
            let now = inner.now();
            match answer {
                Answer::Accepted { rejected, message } => {
                    let _ = permit.success(now);
                    let rejected = rejected.min(req.items);
                    add(&inner.stats.items_accepted, req.items - rejected);
                    add(&inner.stats.items_rejected, rejected);
                    if rejected > 0 || message.is_some() {
                        tracing::warn!(
                            endpoint = %inner.name,
                            signal = %req.signal,
                            rejected,
                            message = message.as_deref().unwrap_or(""),
                            "forward partial success: items rejected by the endpoint"
                        );
                    }
                    return ExportOutcome::Accepted { rejected, message };
                }
                Answer::Failed {
                    class: Class::Drop(reason),
                    message,
                    ..
                } => {
                    // The endpoint answered: as far as the breaker goes, it is healthy.
                    let _ = permit.success(now);
                    add(&inner.stats.dropped_requests[reason.index()], 1);
                    add(&inner.stats.dropped_items[reason.index()], req.items);
                    tracing::warn!(
                        endpoint = %inner.name,
                        signal = %req.signal,
                        items = req.items,
                        reason = reason.as_str(),
                        %message,
                        "forward request dropped: non-retryable answer"
                    );
                    return ExportOutcome::Dropped { reason, message };
                }
                Answer::Failed {
                    class: Class::Retryable | Class::Success,
                    message,
                    server_delay,
                } => {
                    let _ = permit.failure(now);
                    // An attempt the deadline cut short says less than the error before it.
                    let message = match last_error.take() {
                        Some(previous)
                            if timeout < inner.timeout && message.starts_with("timed out") =>
                        {
                            format!("{previous}; the last attempt was cut off by the deadline")
                        }
                        _ => message,
                    };
                    let delay = backoff.next(server_delay);
                    tracing::debug!(
                        endpoint = %inner.name,
                        signal = %req.signal,
                        error = %message,
                        ?delay,
                        "forward attempt failed, retryable"
                    );
                    if Instant::now() + delay >= deadline {
                        return inner.defer(&req, message);
                    }
                    last_error = Some(message);
                    add(&inner.stats.retries, 1);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

impl Inner {
    /// Breaker time: nanoseconds since the exporter was created.
    fn now(&self) -> u64 {
        nanos(self.epoch.elapsed())
    }

    fn defer(&self, req: &ExportRequest, last_error: String) -> ExportOutcome {
        add(&self.stats.deferred_requests, 1);
        add(&self.stats.deferred_items, req.items);
        tracing::debug!(
            endpoint = %self.name,
            signal = %req.signal,
            items = req.items,
            error = %last_error,
            "forward request deferred to catch-up"
        );
        ExportOutcome::Deferred { last_error }
    }

    /// A breaker permit, waiting while the breaker refuses, until `deadline` (then `None`).
    async fn admit(&self, deadline: Instant) -> Option<crate::breaker::Permit<'_, Announcer>> {
        loop {
            let observer = self.breaker.observer();
            // Registered before asking, so a transition in between is not missed.
            let changed = observer.changed.notified();
            let now = self.now();
            match self.breaker.allow(now) {
                Ok(permit) => return Some(permit),
                Err(_) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    let policy = self.breaker.policy();
                    let open = policy.open_duration_ns();
                    // Open: until the open period ends (plus one coarse unit: the breaker is
                    // never early, at most a unit late). Half-open with every slot taken: a
                    // probe's outcome is a transition and wakes us; the open duration bounds
                    // the wait for a probe that never reports.
                    let wake_ns = match self.breaker.state() {
                        BreakerState::Open => observer
                            .opened_at
                            .load(Ordering::Relaxed)
                            .saturating_add(open)
                            .saturating_add(policy.time_unit_ns())
                            .max(now.saturating_add(policy.time_unit_ns())),
                        BreakerState::Closed | BreakerState::HalfOpen => now.saturating_add(open),
                    };
                    let wake = self.epoch + Duration::from_nanos(wake_ns);
                    let until = wake.min(deadline);
                    tokio::select! {
                        () = tokio::time::sleep_until(until.into()) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// The base URL's path for OTLP/HTTP: without query, fragment and trailing `/`.
fn base_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.trim_end_matches('/').to_owned()
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Exporter")
            .field("name", &inner.name)
            .field("protocol", &inner.protocol)
            .field("timeout", &inner.timeout)
            .field("max_in_flight", &inner.max_in_flight)
            .field("breaker", &state_name(inner.breaker.state()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        assert_eq!(base_path("http://h:4318"), "");
        assert_eq!(base_path("http://h:4318/"), "");
        assert_eq!(base_path("https://h/otlp/"), "/otlp");
        assert_eq!(base_path("https://h/a/b?x=1"), "/a/b");
    }

    #[tokio::test]
    async fn new_refuses_what_it_cannot_use() {
        let retry = RetryConfig::default();
        let breaker = BreakerConfig::default();
        let mut e = ForwardEndpoint::new("http://127.0.0.1:4317");
        e.bearer_token = Some(crate::config::Secret::new("tok-123"));
        let err = Exporter::new(&e, &retry, &breaker).unwrap_err();
        assert!(matches!(err, ForwardError::InsecureCredentials { .. }));
        assert!(!err.to_string().contains("tok-123"));
        e.allow_insecure = true;
        let ok = Exporter::new(&e, &retry, &breaker).unwrap();
        assert!(ok.is_available());
        assert!(!format!("{ok:?}").contains("tok-123"));

        let bad = ForwardEndpoint::new("ftp://x");
        assert!(matches!(
            Exporter::new(&bad, &retry, &breaker),
            Err(ForwardError::InvalidUrl { .. })
        ));
        let mut zero = ForwardEndpoint::new("http://x:1");
        zero.max_in_flight = 0;
        assert!(matches!(
            Exporter::new(&zero, &retry, &breaker),
            Err(ForwardError::Invalid(_))
        ));
        let policy = BreakerConfig {
            failure_threshold: 0,
            ..BreakerConfig::default()
        };
        assert!(matches!(
            Exporter::new(&ForwardEndpoint::new("http://x:1"), &retry, &policy),
            Err(ForwardError::Breaker(_))
        ));
    }

    #[test]
    fn new_needs_a_runtime() {
        let e = ForwardEndpoint::new("http://127.0.0.1:4317");
        assert!(matches!(
            Exporter::new(&e, &RetryConfig::default(), &BreakerConfig::default()),
            Err(ForwardError::NoRuntime)
        ));
    }
}
