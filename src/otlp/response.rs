//! `Export*ServiceResponse` messages (protobuf and OTLP/JSON) and `google.rpc.Status` bodies.
//!
//! JSON is written by hand rather than through opentelemetry-proto's serde: the proto3 JSON
//! mapping wants the `int64` `rejected_*` counts as strings, which its derive does not do.
#![forbid(unsafe_code)]

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;

use super::ingest::Accepted;
use crate::signal::Signal;

/// The partial success to report, if any: `(rejected, error_message)`.
fn partial(accepted: &Accepted) -> Option<(i64, String)> {
    if accepted.rejected_items == 0 && accepted.error_message.is_none() {
        return None;
    }
    let rejected = i64::try_from(accepted.rejected_items).unwrap_or(i64::MAX);
    Some((rejected, accepted.error_message.clone().unwrap_or_default()))
}

pub(super) fn traces(accepted: &Accepted) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: partial(accepted).map(|(rejected_spans, error_message)| {
            ExportTracePartialSuccess {
                rejected_spans,
                error_message,
            }
        }),
    }
}

pub(super) fn metrics(accepted: &Accepted) -> ExportMetricsServiceResponse {
    ExportMetricsServiceResponse {
        partial_success: partial(accepted).map(|(rejected_data_points, error_message)| {
            ExportMetricsPartialSuccess {
                rejected_data_points,
                error_message,
            }
        }),
    }
}

pub(super) fn logs(accepted: &Accepted) -> ExportLogsServiceResponse {
    ExportLogsServiceResponse {
        partial_success: partial(accepted).map(|(rejected_log_records, error_message)| {
            ExportLogsPartialSuccess {
                rejected_log_records,
                error_message,
            }
        }),
    }
}

/// The protobuf response body of `signal`.
pub(super) fn protobuf(signal: Signal, accepted: &Accepted) -> Vec<u8> {
    match signal {
        Signal::Traces => traces(accepted).encode_to_vec(),
        Signal::Metrics => metrics(accepted).encode_to_vec(),
        Signal::Logs => logs(accepted).encode_to_vec(),
    }
}

/// The OTLP/JSON response body of `signal`: `{}` or
/// `{"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}}`.
pub(super) fn json(signal: Signal, accepted: &Accepted) -> Vec<u8> {
    let Some((rejected, message)) = partial(accepted) else {
        return b"{}".to_vec();
    };
    let key = match signal {
        Signal::Traces => "rejectedSpans",
        Signal::Metrics => "rejectedDataPoints",
        Signal::Logs => "rejectedLogRecords",
    };
    let mut inner = serde_json::Map::new();
    inner.insert(key.into(), serde_json::Value::String(rejected.to_string()));
    if !message.is_empty() {
        inner.insert("errorMessage".into(), serde_json::Value::String(message));
    }
    let mut outer = serde_json::Map::new();
    outer.insert("partialSuccess".into(), serde_json::Value::Object(inner));
    serde_json::Value::Object(outer).to_string().into_bytes()
}

/// A `google.rpc.Status` body, protobuf.
pub(super) fn status_protobuf(code: tonic::Code, message: &str) -> Vec<u8> {
    tonic_types::Status {
        code: code as i32,
        message: message.to_owned(),
        details: Vec::new(),
    }
    .encode_to_vec()
}

/// A `google.rpc.Status` body, JSON: `{"code":3,"message":"..."}`.
pub(super) fn status_json(code: tonic::Code, message: &str) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    map.insert("code".into(), serde_json::Value::from(code as i32));
    map.insert(
        "message".into(),
        serde_json::Value::String(message.to_owned()),
    );
    serde_json::Value::Object(map).to_string().into_bytes()
}
