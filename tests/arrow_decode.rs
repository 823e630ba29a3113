//! `arrow::decode` against prost, the reference protobuf decoder.
//!
//! Every test decodes the same bytes twice: with our decoders into Arrow batches, and with
//! prost into opentelemetry-proto structs, from which the expected rows are written out here
//! (one function per schema, column by column). Rows are compared cell by cell through a small
//! generic value tree, so a mismatch names its row and column.
//!
//! - property tests: random `ResourceSpans` / `ResourceMetrics` (every metric type,
//!   exemplars) / `ResourceLogs` (every body kind, nested attributes), several per batch,
//!   batches finished and the decoder reused;
//! - mutations of those records (truncation, flipped bytes): whenever prost accepts the bytes
//!   and we do too the rows must match prost; whenever we reject them the decoder must be
//!   exactly as before (the next record decodes, `rows()` did not move); never a panic;
//! - hand-built records: invalid UTF-8 in each kind of string field, unknown fields of every
//!   wire type at every level, fields in reverse order, non-packed repeated scalars, singular
//!   fields and messages occurring twice (later wins / merge);
//! - the steady state allocates nothing per record (a counting allocator).
//!
//! Everything sits in `mod arrow` so that `cargo test --test arrow_decode --lib arrow` (one
//! filter for both targets) runs these tests too.

mod arrow {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Float64Type, Int32Type, Int64Type, TimestampNanosecondType, UInt8Type, UInt32Type,
        UInt64Type,
    };
    use arrow_array::{Array, RecordBatch};
    use arrow_schema::DataType;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
    };
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
        HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
        SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
        number_data_point, summary_data_point::ValueAtQuantile,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
    use otlp_arrow::arrow::decode::{
        DecodeErrorKind, Decoder, LogsDecoder, MetricsDecoder, TracesDecoder, decoder_for,
    };
    use otlp_arrow::arrow::schema;
    use otlp_arrow::signal::Signal;
    use proptest::prelude::*;
    use prost::Message;

    // ---------------------------------------------------------------------------------------------
    // A counting allocator, armed only on the measuring thread.

    struct Counting;

    static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

    thread_local! {
        static ARMED: Cell<bool> = const { Cell::new(false) };
    }

    fn note() {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
    }

    // SAFETY: forwards every call to the system allocator unchanged; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note();
            // SAFETY: same contract as ours.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note();
            // SAFETY: same contract as ours.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note();
            // SAFETY: same contract as ours.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    fn allocations_in(f: impl FnOnce()) -> u64 {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        ARMED.with(|a| a.set(true));
        f();
        ARMED.with(|a| a.set(false));
        ALLOCATIONS.load(Ordering::Relaxed) - before
    }

    // ---------------------------------------------------------------------------------------------
    // A generic value tree for cells, and the batch -> rows conversion.

    #[derive(Debug, Clone, PartialEq)]
    enum Val {
        Null,
        Bool(bool),
        I(i64),
        U(u64),
        /// f64 bits, so NaNs compare.
        F(u64),
        S(String),
        B(Vec<u8>),
        L(Vec<Val>),
        St(Vec<Val>),
        M(Vec<(Val, Val)>),
        /// A nested protobuf message (`array_value` / `kvlist_value`), as prost decodes it.
        Msg(String),
    }

    fn cell(a: &dyn Array, i: usize, name: &str) -> Val {
        if a.is_null(i) {
            return Val::Null;
        }
        match a.data_type() {
            DataType::Boolean => Val::Bool(a.as_boolean().value(i)),
            DataType::Int32 => Val::I(a.as_primitive::<Int32Type>().value(i).into()),
            DataType::Int64 => Val::I(a.as_primitive::<Int64Type>().value(i)),
            DataType::UInt8 => Val::U(a.as_primitive::<UInt8Type>().value(i).into()),
            DataType::UInt32 => Val::U(a.as_primitive::<UInt32Type>().value(i).into()),
            DataType::UInt64 => Val::U(a.as_primitive::<UInt64Type>().value(i)),
            DataType::Float64 => Val::F(a.as_primitive::<Float64Type>().value(i).to_bits()),
            DataType::Timestamp(..) => Val::I(a.as_primitive::<TimestampNanosecondType>().value(i)),
            DataType::Utf8 => Val::S(a.as_string::<i32>().value(i).to_owned()),
            DataType::Binary => {
                let b = a.as_binary::<i32>().value(i);
                match name {
                    "array_value" => match ArrayValue::decode(b) {
                        Ok(m) => Val::Msg(format!("{m:?}")),
                        Err(_) => Val::B(b.to_vec()),
                    },
                    "kvlist_value" => match KeyValueList::decode(b) {
                        Ok(m) => Val::Msg(format!("{m:?}")),
                        Err(_) => Val::B(b.to_vec()),
                    },
                    _ => Val::B(b.to_vec()),
                }
            }
            DataType::FixedSizeBinary(_) => Val::B(a.as_fixed_size_binary().value(i).to_vec()),
            DataType::List(f) => {
                let v = a.as_list::<i32>().value(i);
                Val::L((0..v.len()).map(|j| cell(&v, j, f.name())).collect())
            }
            DataType::Struct(fields) => {
                let s = a.as_struct();
                Val::St(
                    fields
                        .iter()
                        .enumerate()
                        .map(|(k, f)| cell(s.column(k), i, f.name()))
                        .collect(),
                )
            }
            DataType::Map(..) => {
                let e = a.as_map().value(i);
                Val::M(
                    (0..e.len())
                        .map(|j| (cell(e.column(0), j, "key"), cell(e.column(1), j, "value")))
                        .collect(),
                )
            }
            other => panic!("unexpected type {other}"),
        }
    }

    fn rows_of(batch: &RecordBatch) -> Vec<Vec<Val>> {
        for c in batch.columns() {
            c.to_data().validate_full().expect("deeply valid arrays");
        }
        (0..batch.num_rows())
            .map(|i| {
                batch
                    .schema()
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(c, f)| cell(batch.column(c), i, f.name()))
                    .collect()
            })
            .collect()
    }

    fn assert_rows(batch: &RecordBatch, expected: &[Vec<Val>]) {
        let got = rows_of(batch);
        assert_eq!(got.len(), expected.len(), "row count");
        let schema = batch.schema();
        for (r, (g, e)) in got.iter().zip(expected).enumerate() {
            assert_eq!(g.len(), e.len(), "row {r}: column count");
            for (c, (gv, ev)) in g.iter().zip(e).enumerate() {
                assert_eq!(gv, ev, "row {r}, column `{}`", schema.field(c).name());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Expected rows, from prost structs (the schema contract written out by hand).

    fn s(v: &str) -> Val {
        Val::S(v.to_owned())
    }
    fn ts(v: u64) -> Val {
        Val::I(v as i64)
    }
    fn f(v: f64) -> Val {
        Val::F(v.to_bits())
    }
    fn opt<T>(v: Option<T>, g: impl FnOnce(T) -> Val) -> Val {
        v.map_or(Val::Null, g)
    }
    /// A non-nullable id column: empty -> zeros.
    fn id(b: &[u8], n: usize) -> Val {
        if b.is_empty() {
            Val::B(vec![0; n])
        } else {
            Val::B(b.to_vec())
        }
    }
    /// A nullable id column: empty -> null.
    fn nid(b: &[u8]) -> Val {
        if b.is_empty() {
            Val::Null
        } else {
            Val::B(b.to_vec())
        }
    }

    fn any_val(v: Option<&AnyValue>) -> Val {
        use any_value::Value as V;
        let Some(v) = v else { return Val::Null };
        let mut m = vec![
            Val::U(0),
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
        ];
        match &v.value {
            None | Some(V::StringValueStrindex(_)) => {}
            Some(V::StringValue(x)) => (m[0], m[1]) = (Val::U(1), s(x)),
            Some(V::BoolValue(x)) => (m[0], m[2]) = (Val::U(2), Val::Bool(*x)),
            Some(V::IntValue(x)) => (m[0], m[3]) = (Val::U(3), Val::I(*x)),
            Some(V::DoubleValue(x)) => (m[0], m[4]) = (Val::U(4), f(*x)),
            Some(V::BytesValue(x)) => (m[0], m[5]) = (Val::U(7), Val::B(x.clone())),
            Some(V::ArrayValue(x)) => (m[0], m[6]) = (Val::U(5), Val::Msg(format!("{x:?}"))),
            Some(V::KvlistValue(x)) => (m[0], m[7]) = (Val::U(6), Val::Msg(format!("{x:?}"))),
        }
        Val::St(m)
    }

    fn attrs(kvs: &[KeyValue]) -> Val {
        Val::M(
            kvs.iter()
                .map(|kv| (s(&kv.key), any_val(kv.value.as_ref())))
                .collect(),
        )
    }

    fn common(
        res: Option<&Resource>,
        res_schema_url: &str,
        scope: Option<&InstrumentationScope>,
        scope_schema_url: &str,
    ) -> Vec<Val> {
        let d = InstrumentationScope::default();
        let sc = scope.unwrap_or(&d);
        vec![
            attrs(res.map_or(&[][..], |r| &r.attributes)),
            Val::U(res.map_or(0, |r| r.dropped_attributes_count).into()),
            s(res_schema_url),
            s(&sc.name),
            s(&sc.version),
            attrs(&sc.attributes),
            Val::U(sc.dropped_attributes_count.into()),
            s(scope_schema_url),
        ]
    }

    fn expected_traces(rs: &ResourceSpans) -> Vec<Vec<Val>> {
        let mut rows = Vec::new();
        for ss in &rs.scope_spans {
            for sp in &ss.spans {
                let mut row = common(
                    rs.resource.as_ref(),
                    &rs.schema_url,
                    ss.scope.as_ref(),
                    &ss.schema_url,
                );
                let st = sp.status.clone().unwrap_or_default();
                row.extend([
                    id(&sp.trace_id, 16),
                    id(&sp.span_id, 8),
                    s(&sp.trace_state),
                    nid(&sp.parent_span_id),
                    Val::U(sp.flags.into()),
                    s(&sp.name),
                    Val::I(sp.kind.into()),
                    ts(sp.start_time_unix_nano),
                    ts(sp.end_time_unix_nano),
                    attrs(&sp.attributes),
                    Val::U(sp.dropped_attributes_count.into()),
                    Val::L(
                        sp.events
                            .iter()
                            .map(|e| {
                                Val::St(vec![
                                    ts(e.time_unix_nano),
                                    s(&e.name),
                                    attrs(&e.attributes),
                                    Val::U(e.dropped_attributes_count.into()),
                                ])
                            })
                            .collect(),
                    ),
                    Val::U(sp.dropped_events_count.into()),
                    Val::L(
                        sp.links
                            .iter()
                            .map(|l| {
                                Val::St(vec![
                                    id(&l.trace_id, 16),
                                    id(&l.span_id, 8),
                                    s(&l.trace_state),
                                    attrs(&l.attributes),
                                    Val::U(l.dropped_attributes_count.into()),
                                    Val::U(l.flags.into()),
                                ])
                            })
                            .collect(),
                    ),
                    Val::U(sp.dropped_links_count.into()),
                    Val::I(st.code.into()),
                    s(&st.message),
                ]);
                rows.push(row);
            }
        }
        rows
    }

    fn exemplars(es: &[Exemplar]) -> Val {
        Val::L(
            es.iter()
                .map(|e| {
                    let (d, i) = match e.value {
                        Some(exemplar::Value::AsDouble(d)) => (f(d), Val::Null),
                        Some(exemplar::Value::AsInt(i)) => (Val::Null, Val::I(i)),
                        None => (Val::Null, Val::Null),
                    };
                    Val::St(vec![
                        attrs(&e.filtered_attributes),
                        ts(e.time_unix_nano),
                        d,
                        i,
                        nid(&e.span_id),
                        nid(&e.trace_id),
                    ])
                })
                .collect(),
        )
    }

    fn u64s(v: &[u64]) -> Val {
        Val::L(v.iter().map(|&x| Val::U(x)).collect())
    }

    /// The 21 point columns, `start_time_unix_nano` ..= `exemplars`, all null but the times,
    /// attributes, flags and exemplars.
    fn point_cols(start: u64, time: u64, a: &[KeyValue], flags: u32, ex: &[Exemplar]) -> Vec<Val> {
        let mut v = vec![Val::Null; 21];
        v[0] = ts(start);
        v[1] = ts(time);
        v[2] = attrs(a);
        v[3] = Val::U(flags.into());
        v[20] = exemplars(ex);
        v
    }

    fn expected_metrics(rm: &ResourceMetrics) -> Vec<Vec<Val>> {
        let mut rows = Vec::new();
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let push =
                    |rows: &mut Vec<Vec<Val>>, ty: &str, temp: Val, mono: Val, p: Vec<Val>| {
                        let mut row = common(
                            rm.resource.as_ref(),
                            &rm.schema_url,
                            sm.scope.as_ref(),
                            &sm.schema_url,
                        );
                        row.extend([
                            s(&m.name),
                            s(&m.description),
                            s(&m.unit),
                            attrs(&m.metadata),
                            s(ty),
                            temp,
                            mono,
                        ]);
                        row.extend(p);
                        rows.push(row);
                    };
                let number = |p: &NumberDataPoint| {
                    let mut v = point_cols(
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                        &p.attributes,
                        p.flags,
                        &p.exemplars,
                    );
                    match p.value {
                        Some(number_data_point::Value::AsDouble(d)) => v[4] = f(d),
                        Some(number_data_point::Value::AsInt(i)) => v[5] = Val::I(i),
                        None => {}
                    }
                    v
                };
                match &m.data {
                    None => {}
                    Some(metric::Data::Gauge(g)) => {
                        for p in &g.data_points {
                            push(&mut rows, "gauge", Val::Null, Val::Null, number(p));
                        }
                    }
                    Some(metric::Data::Sum(g)) => {
                        for p in &g.data_points {
                            let (t, mo) = (
                                Val::I(g.aggregation_temporality.into()),
                                Val::Bool(g.is_monotonic),
                            );
                            push(&mut rows, "sum", t, mo, number(p));
                        }
                    }
                    Some(metric::Data::Histogram(h)) => {
                        for p in &h.data_points {
                            let mut v = point_cols(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                p.flags,
                                &p.exemplars,
                            );
                            v[6] = Val::U(p.count);
                            v[7] = opt(p.sum, f);
                            v[8] = opt(p.min, f);
                            v[9] = opt(p.max, f);
                            v[10] = u64s(&p.bucket_counts);
                            v[11] = Val::L(p.explicit_bounds.iter().map(|&x| f(x)).collect());
                            let t = Val::I(h.aggregation_temporality.into());
                            push(&mut rows, "histogram", t, Val::Null, v);
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(h)) => {
                        for p in &h.data_points {
                            let mut v = point_cols(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                p.flags,
                                &p.exemplars,
                            );
                            v[6] = Val::U(p.count);
                            v[7] = opt(p.sum, f);
                            v[8] = opt(p.min, f);
                            v[9] = opt(p.max, f);
                            v[12] = Val::I(p.scale.into());
                            v[13] = Val::U(p.zero_count);
                            v[14] = f(p.zero_threshold);
                            v[15] = opt(p.positive.as_ref(), |b| Val::I(b.offset.into()));
                            v[16] = opt(p.positive.as_ref(), |b| u64s(&b.bucket_counts));
                            v[17] = opt(p.negative.as_ref(), |b| Val::I(b.offset.into()));
                            v[18] = opt(p.negative.as_ref(), |b| u64s(&b.bucket_counts));
                            let t = Val::I(h.aggregation_temporality.into());
                            push(&mut rows, "exponential_histogram", t, Val::Null, v);
                        }
                    }
                    Some(metric::Data::Summary(h)) => {
                        for p in &h.data_points {
                            let mut v = point_cols(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                p.flags,
                                &[],
                            );
                            v[6] = Val::U(p.count);
                            v[7] = f(p.sum);
                            v[19] = Val::L(
                                p.quantile_values
                                    .iter()
                                    .map(|q| Val::St(vec![f(q.quantile), f(q.value)]))
                                    .collect(),
                            );
                            push(&mut rows, "summary", Val::Null, Val::Null, v);
                        }
                    }
                }
            }
        }
        rows
    }

    fn expected_logs(rl: &ResourceLogs) -> Vec<Vec<Val>> {
        let mut rows = Vec::new();
        for sl in &rl.scope_logs {
            for l in &sl.log_records {
                let mut row = common(
                    rl.resource.as_ref(),
                    &rl.schema_url,
                    sl.scope.as_ref(),
                    &sl.schema_url,
                );
                row.extend([
                    ts(l.time_unix_nano),
                    ts(l.observed_time_unix_nano),
                    Val::I(l.severity_number.into()),
                    s(&l.severity_text),
                    any_val(l.body.as_ref()),
                    attrs(&l.attributes),
                    Val::U(l.dropped_attributes_count.into()),
                    Val::U(l.flags.into()),
                    nid(&l.trace_id),
                    nid(&l.span_id),
                    s(&l.event_name),
                ]);
                rows.push(row);
            }
        }
        rows
    }

    /// Expected rows of `bytes` for `signal` as prost decodes them, or `None` if prost rejects them.
    fn prost_rows(signal: Signal, bytes: &[u8]) -> Option<Vec<Vec<Val>>> {
        match signal {
            Signal::Traces => ResourceSpans::decode(bytes)
                .ok()
                .map(|m| expected_traces(&m)),
            Signal::Metrics => ResourceMetrics::decode(bytes)
                .ok()
                .map(|m| expected_metrics(&m)),
            Signal::Logs => ResourceLogs::decode(bytes).ok().map(|m| expected_logs(&m)),
        }
    }

    /// prost's error for `bytes`, without its "failed to decode" prefix, if it rejects them.
    fn prost_error(signal: Signal, bytes: &[u8]) -> Option<String> {
        let e = match signal {
            Signal::Traces => ResourceSpans::decode(bytes).err(),
            Signal::Metrics => ResourceMetrics::decode(bytes).err(),
            Signal::Logs => ResourceLogs::decode(bytes).err(),
        }?;
        let e = e.to_string();
        Some(
            e.trim_start_matches("failed to decode Protobuf message: ")
                .to_owned(),
        )
    }

    /// The length-delimited fields of a message as `(number, value)`, or `None` if malformed.
    fn len_fields(mut b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = prost::encoding::decode_varint(&mut b).ok()?;
            match key & 7 {
                0 => {
                    prost::encoding::decode_varint(&mut b).ok()?;
                }
                1 => b = b.get(8..)?,
                2 => {
                    let n = prost::encoding::decode_varint(&mut b).ok()? as usize;
                    out.push((key >> 3, b.get(..n)?));
                    b = &b[n..];
                }
                5 => b = b.get(4..)?,
                _ => return None,
            }
        }
        Some(out)
    }

    /// Whether some `Metric` in a `ResourceMetrics` has two different `data` members.
    fn has_superseded_data(record: &[u8]) -> bool {
        let scopes = len_fields(record).unwrap_or_default();
        scopes.iter().filter(|(n, _)| *n == 2).any(|(_, sm)| {
            let metrics = len_fields(sm).unwrap_or_default();
            metrics.iter().filter(|(n, _)| *n == 2).any(|(_, m)| {
                let mut kinds: Vec<u64> = len_fields(m)
                    .unwrap_or_default()
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| [5, 7, 9, 10, 11].contains(n))
                    .collect();
                kinds.dedup();
                kinds.len() > 1
            })
        })
    }

    fn want_rows(signal: Signal, bytes: &[u8]) -> Vec<Vec<Val>> {
        prost_rows(signal, bytes).expect("prost accepts")
    }

    /// Decodes `records` into one batch and checks it against prost, record by record.
    fn check_against_prost(signal: Signal, records: &[Vec<u8>]) {
        let mut dec = decoder_for(signal);
        let mut expected = Vec::new();
        for r in records {
            let rows = prost_rows(signal, r).expect("prost decodes the test record");
            let n = dec.append(r).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(n, rows.len(), "rows appended");
            expected.extend(rows);
            assert_eq!(dec.rows(), expected.len());
        }
        let batch = dec.finish();
        assert_eq!(batch.schema(), schema_of(signal));
        assert_rows(&batch, &expected);
        assert_eq!(dec.rows(), 0);
    }

    fn schema_of(signal: Signal) -> arrow_schema::SchemaRef {
        match signal {
            Signal::Traces => schema::traces(),
            Signal::Metrics => schema::metrics(),
            Signal::Logs => schema::logs(),
        }
    }

    /// Appends `good`, then `bad`; checks the outcome against prost and that a rejection left the
    /// decoder exactly as before. Returns whether we accepted `bad`.
    fn check_mutant(signal: Signal, good: &[u8], bad: &[u8]) -> bool {
        let mut dec = decoder_for(signal);
        let good_rows = prost_rows(signal, good).expect("good record");
        dec.append(good).expect("good record");
        let before = dec.rows();
        match dec.append(bad) {
            Ok(n) => {
                let batch = dec.finish();
                let got = rows_of(&batch);
                assert_eq!(got.len(), before + n);
                match prost_error(signal, bad) {
                    // Both accept: same rows.
                    None => assert_rows(&batch.slice(before, n), &want_rows(signal, bad)),
                    // We accept what prost rejects only when the fault is inside a nested
                    // `ArrayValue` / `KeyValueList` (kept as bytes without parsing; prost's path
                    // then starts inside `AnyValue.value` or names the nested message) or inside
                    // `Resource.entity_refs` (no column, skipped), or inside a metric `data`
                    // member that a later, different member replaces (skipped, as prost drops it).
                    Some(e) => assert!(
                        e.starts_with("AnyValue.value")
                            || e.contains("ArrayValue.values")
                            || e.contains("KeyValueList.values")
                            || e.contains("Resource.entity_refs")
                            || (e.starts_with("Metric.data") && has_superseded_data(bad)),
                        "accepted, but prost says: {e}"
                    ),
                }
                true
            }
            Err(e) => {
                assert_eq!(dec.rows(), before, "rejected record left rows: {e}");
                if prost_rows(signal, bad).is_some() {
                    // prost accepts what we reject only for ids of the wrong length.
                    assert_eq!(e.kind(), DecodeErrorKind::InvalidIdLength, "{e}");
                }
                assert!(!e.to_string().is_empty());
                dec.append(good).expect("decoder still usable");
                let batch = dec.finish();
                let mut want = good_rows.clone();
                want.extend(good_rows);
                assert_rows(&batch, &want);
                false
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Strategies.

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-z._]{1,12}",
            "\\PC{0,6}",
            Just("http.request.method".to_owned()),
            Just("ünïcødé ✓ 😀".to_owned()),
        ]
    }

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..max)
    }

    fn id_bytes(n: usize) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            1 => Just(Vec::new()),
            4 => prop::collection::vec(any::<u8>(), n),
        ]
    }

    fn any_value(depth: u32) -> BoxedStrategy<AnyValue> {
        use any_value::Value as V;
        let leaf = prop_oneof![
            Just(None),
            text().prop_map(|x| Some(V::StringValue(x))),
            any::<bool>().prop_map(|x| Some(V::BoolValue(x))),
            any::<i64>().prop_map(|x| Some(V::IntValue(x))),
            any::<f64>().prop_map(|x| Some(V::DoubleValue(x))),
            bytes(6).prop_map(|x| Some(V::BytesValue(x))),
        ];
        let value = if depth == 0 {
            leaf.boxed()
        } else {
            prop_oneof![
                4 => leaf,
                1 => prop::collection::vec(any_value(depth - 1), 0..3)
                    .prop_map(|values| Some(V::ArrayValue(ArrayValue { values }))),
                1 => prop::collection::vec(key_value(depth - 1), 0..3)
                    .prop_map(|values| Some(V::KvlistValue(KeyValueList { values }))),
            ]
            .boxed()
        };
        value.prop_map(|value| AnyValue { value }).boxed()
    }

    fn key_value(depth: u32) -> BoxedStrategy<KeyValue> {
        (text(), prop::option::weighted(0.9, any_value(depth)))
            .prop_map(|(key, value)| KeyValue {
                key,
                value,
                key_strindex: 0,
            })
            .boxed()
    }

    fn kvs(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
        prop::collection::vec(key_value(2), 0..max)
    }

    fn resource() -> impl Strategy<Value = Option<Resource>> {
        prop::option::of((kvs(4), any::<u32>()).prop_map(|(attributes, d)| Resource {
            attributes,
            dropped_attributes_count: d,
            entity_refs: Vec::new(),
        }))
    }

    fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
        prop::option::of((text(), text(), kvs(3), any::<u32>()).prop_map(
            |(name, version, attributes, d)| InstrumentationScope {
                name,
                version,
                attributes,
                dropped_attributes_count: d,
            },
        ))
    }

    fn event() -> impl Strategy<Value = span::Event> {
        (any::<u64>(), text(), kvs(3), any::<u32>()).prop_map(|(t, name, attributes, d)| {
            span::Event {
                time_unix_nano: t,
                name,
                attributes,
                dropped_attributes_count: d,
            }
        })
    }

    fn link() -> impl Strategy<Value = span::Link> {
        (
            id_bytes(16),
            id_bytes(8),
            text(),
            kvs(3),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(|(trace_id, span_id, trace_state, attributes, d, flags)| {
                span::Link {
                    trace_id,
                    span_id,
                    trace_state,
                    attributes,
                    dropped_attributes_count: d,
                    flags,
                }
            })
    }

    fn a_span() -> impl Strategy<Value = Span> {
        (
            (
                id_bytes(16),
                id_bytes(8),
                text(),
                id_bytes(8),
                any::<u32>(),
                text(),
            ),
            (0..6i32, any::<u64>(), any::<u64>(), kvs(6), any::<u32>()),
            (
                prop::collection::vec(event(), 0..3),
                any::<u32>(),
                prop::collection::vec(link(), 0..3),
                any::<u32>(),
                prop::option::of(
                    (text(), 0..3i32).prop_map(|(message, code)| Status { message, code }),
                ),
            ),
        )
            .prop_map(
                |(
                    (trace_id, span_id, trace_state, parent_span_id, flags, name),
                    (kind, start, end, attributes, dropped_attributes_count),
                    (events, dropped_events_count, links, dropped_links_count, status),
                )| Span {
                    trace_id,
                    span_id,
                    trace_state,
                    parent_span_id,
                    flags,
                    name,
                    kind,
                    start_time_unix_nano: start,
                    end_time_unix_nano: end,
                    attributes,
                    dropped_attributes_count,
                    events,
                    dropped_events_count,
                    links,
                    dropped_links_count,
                    status,
                },
            )
    }

    fn resource_spans() -> impl Strategy<Value = ResourceSpans> {
        (
            resource(),
            prop::collection::vec(
                (scope(), prop::collection::vec(a_span(), 0..4), text()).prop_map(
                    |(scope, spans, schema_url)| ScopeSpans {
                        scope,
                        spans,
                        schema_url,
                    },
                ),
                0..3,
            ),
            text(),
        )
            .prop_map(|(resource, scope_spans, schema_url)| ResourceSpans {
                resource,
                scope_spans,
                schema_url,
            })
    }

    fn an_exemplar() -> impl Strategy<Value = Exemplar> {
        (
            kvs(2),
            any::<u64>(),
            id_bytes(8),
            id_bytes(16),
            prop_oneof![
                Just(None),
                any::<f64>().prop_map(|d| Some(exemplar::Value::AsDouble(d))),
                any::<i64>().prop_map(|i| Some(exemplar::Value::AsInt(i))),
            ],
        )
            .prop_map(
                |(filtered_attributes, t, span_id, trace_id, value)| Exemplar {
                    filtered_attributes,
                    time_unix_nano: t,
                    span_id,
                    trace_id,
                    value,
                },
            )
    }

    fn exemplars_s() -> impl Strategy<Value = Vec<Exemplar>> {
        prop::collection::vec(an_exemplar(), 0..3)
    }

    fn number_point() -> impl Strategy<Value = NumberDataPoint> {
        (
            kvs(3),
            any::<u64>(),
            any::<u64>(),
            exemplars_s(),
            any::<u32>(),
            prop_oneof![
                Just(None),
                any::<f64>().prop_map(|d| Some(number_data_point::Value::AsDouble(d))),
                any::<i64>().prop_map(|i| Some(number_data_point::Value::AsInt(i))),
            ],
        )
            .prop_map(|(attributes, start, time, exemplars, flags, value)| {
                NumberDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    exemplars,
                    flags,
                    value,
                }
            })
    }

    fn opt_f64() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(any::<f64>())
    }

    fn histogram_point() -> impl Strategy<Value = HistogramDataPoint> {
        (
            (kvs(3), any::<u64>(), any::<u64>(), any::<u64>(), opt_f64()),
            (
                prop::collection::vec(any::<u64>(), 0..5),
                prop::collection::vec(any::<f64>(), 0..4),
                exemplars_s(),
                any::<u32>(),
                opt_f64(),
                opt_f64(),
            ),
        )
            .prop_map(
                |(
                    (attributes, start, time, count, sum),
                    (bucket_counts, explicit_bounds, exemplars, flags, min, max),
                )| HistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count,
                    sum,
                    bucket_counts,
                    explicit_bounds,
                    exemplars,
                    flags,
                    min,
                    max,
                },
            )
    }

    fn buckets() -> impl Strategy<Value = Option<Buckets>> {
        prop::option::of(
            (any::<i32>(), prop::collection::vec(any::<u64>(), 0..5)).prop_map(
                |(offset, bucket_counts)| Buckets {
                    offset,
                    bucket_counts,
                },
            ),
        )
    }

    fn exp_histogram_point() -> impl Strategy<Value = ExponentialHistogramDataPoint> {
        (
            (
                kvs(3),
                any::<u64>(),
                any::<u64>(),
                any::<u64>(),
                opt_f64(),
                any::<i32>(),
            ),
            (
                any::<u64>(),
                buckets(),
                buckets(),
                any::<u32>(),
                exemplars_s(),
            ),
            (opt_f64(), opt_f64(), any::<f64>()),
        )
            .prop_map(
                |(
                    (attributes, start, time, count, sum, scale),
                    (zero_count, positive, negative, flags, exemplars),
                    (min, max, zero_threshold),
                )| ExponentialHistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count,
                    sum,
                    scale,
                    zero_count,
                    positive,
                    negative,
                    flags,
                    exemplars,
                    min,
                    max,
                    zero_threshold,
                },
            )
    }

    fn summary_point() -> impl Strategy<Value = SummaryDataPoint> {
        (
            kvs(3),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<f64>(),
            prop::collection::vec(
                (any::<f64>(), any::<f64>())
                    .prop_map(|(quantile, value)| ValueAtQuantile { quantile, value }),
                0..4,
            ),
            any::<u32>(),
        )
            .prop_map(
                |(attributes, start, time, count, sum, quantile_values, flags)| SummaryDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count,
                    sum,
                    quantile_values,
                    flags,
                },
            )
    }

    fn points<T: std::fmt::Debug>(p: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
        prop::collection::vec(p, 0..3)
    }

    fn metric_data() -> impl Strategy<Value = Option<metric::Data>> {
        prop_oneof![
            1 => Just(None),
            2 => points(number_point()).prop_map(|data_points| Some(metric::Data::Gauge(Gauge { data_points }))),
            2 => (points(number_point()), 0..3i32, any::<bool>()).prop_map(|(data_points, t, m)| {
                Some(metric::Data::Sum(Sum {
                    data_points,
                    aggregation_temporality: t,
                    is_monotonic: m,
                }))
            }),
            2 => (points(histogram_point()), 0..3i32).prop_map(|(data_points, t)| {
                Some(metric::Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality: t,
                }))
            }),
            2 => (points(exp_histogram_point()), 0..3i32).prop_map(|(data_points, t)| {
                Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality: t,
                }))
            }),
            2 => points(summary_point()).prop_map(|data_points| Some(metric::Data::Summary(Summary { data_points }))),
        ]
    }

    fn a_metric() -> impl Strategy<Value = Metric> {
        (text(), text(), text(), kvs(2), metric_data()).prop_map(
            |(name, description, unit, metadata, data)| Metric {
                name,
                description,
                unit,
                metadata,
                data,
            },
        )
    }

    fn resource_metrics() -> impl Strategy<Value = ResourceMetrics> {
        (
            resource(),
            prop::collection::vec(
                (scope(), prop::collection::vec(a_metric(), 0..4), text()).prop_map(
                    |(scope, metrics, schema_url)| ScopeMetrics {
                        scope,
                        metrics,
                        schema_url,
                    },
                ),
                0..3,
            ),
            text(),
        )
            .prop_map(|(resource, scope_metrics, schema_url)| ResourceMetrics {
                resource,
                scope_metrics,
                schema_url,
            })
    }

    fn a_log() -> impl Strategy<Value = LogRecord> {
        (
            (any::<u64>(), any::<u64>(), 0..25i32, text()),
            (
                prop::option::weighted(0.9, any_value(2)),
                kvs(5),
                any::<u32>(),
                any::<u32>(),
            ),
            (id_bytes(16), id_bytes(8), text()),
        )
            .prop_map(
                |(
                    (time, observed, severity_number, severity_text),
                    (body, attributes, dropped, flags),
                    (trace_id, span_id, event_name),
                )| LogRecord {
                    time_unix_nano: time,
                    observed_time_unix_nano: observed,
                    severity_number,
                    severity_text,
                    body,
                    attributes,
                    dropped_attributes_count: dropped,
                    flags,
                    trace_id,
                    span_id,
                    event_name,
                },
            )
    }

    fn resource_logs() -> impl Strategy<Value = ResourceLogs> {
        (
            resource(),
            prop::collection::vec(
                (scope(), prop::collection::vec(a_log(), 0..4), text()).prop_map(
                    |(scope, log_records, schema_url)| ScopeLogs {
                        scope,
                        log_records,
                        schema_url,
                    },
                ),
                0..3,
            ),
            text(),
        )
            .prop_map(|(resource, scope_logs, schema_url)| ResourceLogs {
                resource,
                scope_logs,
                schema_url,
            })
    }

    /// A mutation: truncate at, or xor a byte at, a position given as a fraction.
    #[derive(Debug, Clone)]
    enum Mutation {
        Truncate(prop::sample::Index),
        Flip(Vec<(prop::sample::Index, u8)>),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            any::<prop::sample::Index>().prop_map(Mutation::Truncate),
            prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4)
                .prop_map(Mutation::Flip),
        ]
    }

    fn mutate(bytes: &[u8], m: &Mutation) -> Vec<u8> {
        let mut out = bytes.to_vec();
        if out.is_empty() {
            return out;
        }
        match m {
            Mutation::Truncate(i) => out.truncate(i.index(out.len())),
            Mutation::Flip(flips) => {
                for (i, x) in flips {
                    let at = i.index(out.len());
                    out[at] ^= x;
                }
            }
        }
        out
    }

    /// 96 cases by default (a few seconds in a debug build); `PROPTEST_CASES` overrides.
    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96);
        ProptestConfig {
            cases,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn traces_match_prost(batches in prop::collection::vec(prop::collection::vec(resource_spans(), 1..4), 1..3)) {
            // One decoder across batches: builders are reused after `finish`.
            let mut dec = TracesDecoder::default();
            for records in &batches {
                let mut expected = Vec::new();
                for rs in records {
                    let bytes = rs.encode_to_vec();
                    // Expected from prost's reading of the bytes, not from `rs` itself: proto3
                    // drops default values when encoding, -0.0 included, which reads back as 0.0.
                    let rows = expected_traces(&ResourceSpans::decode(&bytes[..]).unwrap());
                    prop_assert_eq!(dec.append(&bytes).unwrap(), rows.len());
                    expected.extend(rows);
                }
                prop_assert_eq!(dec.rows(), expected.len());
                let batch = dec.finish();
                assert_rows(&batch, &expected);
            }
        }

        #[test]
        fn metrics_match_prost(batches in prop::collection::vec(prop::collection::vec(resource_metrics(), 1..4), 1..3)) {
            let mut dec = MetricsDecoder::default();
            for records in &batches {
                let mut expected = Vec::new();
                for rm in records {
                    let bytes = rm.encode_to_vec();
                    // Expected from prost's reading of the bytes, not from `rm` itself: proto3
                    // drops default values when encoding, -0.0 included, which reads back as 0.0.
                    let rows = expected_metrics(&ResourceMetrics::decode(&bytes[..]).unwrap());
                    prop_assert_eq!(dec.append(&bytes).unwrap(), rows.len());
                    expected.extend(rows);
                }
                let batch = dec.finish();
                assert_rows(&batch, &expected);
            }
        }

        #[test]
        fn logs_match_prost(batches in prop::collection::vec(prop::collection::vec(resource_logs(), 1..4), 1..3)) {
            let mut dec = LogsDecoder::default();
            for records in &batches {
                let mut expected = Vec::new();
                for rl in records {
                    let bytes = rl.encode_to_vec();
                    // Expected from prost's reading of the bytes, not from `rl` itself: proto3
                    // drops default values when encoding, -0.0 included, which reads back as 0.0.
                    let rows = expected_logs(&ResourceLogs::decode(&bytes[..]).unwrap());
                    prop_assert_eq!(dec.append(&bytes).unwrap(), rows.len());
                    expected.extend(rows);
                }
                let batch = dec.finish();
                assert_rows(&batch, &expected);
            }
        }

        #[test]
        fn mutated_traces_are_rejected_whole_or_match_prost(rs in resource_spans(), m in mutation()) {
            let good = rs.encode_to_vec();
            check_mutant(Signal::Traces, &good, &mutate(&good, &m));
        }

        #[test]
        fn mutated_metrics_are_rejected_whole_or_match_prost(rm in resource_metrics(), m in mutation()) {
            let good = rm.encode_to_vec();
            check_mutant(Signal::Metrics, &good, &mutate(&good, &m));
        }

        #[test]
        fn mutated_logs_are_rejected_whole_or_match_prost(rl in resource_logs(), m in mutation()) {
            let good = rl.encode_to_vec();
            check_mutant(Signal::Logs, &good, &mutate(&good, &m));
        }

        #[test]
        fn arbitrary_bytes_never_panic(junk in bytes(64)) {
            for signal in Signal::ALL {
                let mut dec = decoder_for(signal);
                if dec.append(&junk).is_err() {
                    prop_assert_eq!(dec.rows(), 0);
                }
                let batch = dec.finish();
                prop_assert_eq!(batch.schema(), schema_of(signal));
                rows_of(&batch);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Hand-built records. A tiny encoder for the pieces prost will not produce.

    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn key(field: u32, wt: u8) -> Vec<u8> {
        varint(u64::from(field) << 3 | u64::from(wt))
    }

    /// A length-delimited field.
    fn ld(field: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = key(field, 2);
        out.extend(varint(bytes.len() as u64));
        out.extend(bytes);
        out
    }

    fn fixed64(field: u32, v: u64) -> Vec<u8> {
        let mut out = key(field, 1);
        out.extend(v.to_le_bytes());
        out
    }

    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    /// Unknown fields of every wire type (numbers no OTLP message here uses).
    fn unknown_fields() -> Vec<u8> {
        cat(&[
            key(1000, 0),
            varint(u64::MAX),
            fixed64(1001, 7),
            ld(1002, b"\xff\xfe not utf-8, not a message"),
            key(1003, 5),
            vec![1, 2, 3, 4],
            // A group with nested content, then its end.
            key(1004, 3),
            key(1, 0),
            varint(5),
            key(2, 3),
            key(2, 4),
            key(1004, 4),
        ])
    }

    /// Splits a message into its fields (each key + value bytes), in wire order.
    fn split_fields(mut b: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let start = b;
            let key = prost::encoding::decode_varint(&mut b).unwrap();
            match key & 7 {
                0 => {
                    prost::encoding::decode_varint(&mut b).unwrap();
                }
                1 => b = &b[8..],
                2 => {
                    let n = prost::encoding::decode_varint(&mut b).unwrap() as usize;
                    b = &b[n..];
                }
                5 => b = &b[4..],
                _ => panic!("no groups here"),
            }
            out.push(start[..start.len() - b.len()].to_vec());
        }
        out
    }

    fn reversed(b: &[u8]) -> Vec<u8> {
        let mut f = split_fields(b);
        f.reverse();
        f.concat()
    }

    fn kv_str(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            key_strindex: 0,
        }
    }

    fn sample_spans() -> ResourceSpans {
        let sp = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![3; 8],
            name: "GET /QQQQ".into(),
            kind: 2,
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            attributes: vec![kv_str("QQQQ.key", "value QQQQ"), kv_str("n", "v")],
            events: vec![span::Event {
                time_unix_nano: 15,
                name: "QQQQ event".into(),
                attributes: vec![kv_str("e", "1")],
                dropped_attributes_count: 1,
            }],
            links: vec![span::Link {
                trace_id: vec![4; 16],
                span_id: vec![5; 8],
                trace_state: "QQQQ=1".into(),
                attributes: vec![],
                dropped_attributes_count: 0,
                flags: 1,
            }],
            status: Some(Status {
                message: "QQQQ".into(),
                code: 2,
            }),
            ..Span::default()
        };
        ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv_str("service.name", "QQQQ")],
                dropped_attributes_count: 3,
                entity_refs: vec![],
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "QQQQ-scope".into(),
                    version: "1.0".into(),
                    attributes: vec![kv_str("s", "QQQQ")],
                    dropped_attributes_count: 0,
                }),
                spans: vec![sp.clone(), sp],
                schema_url: "https://QQQQ".into(),
            }],
            schema_url: "https://r/QQQQ".into(),
        }
    }

    fn gauge_metric(name: &str, points: Vec<NumberDataPoint>) -> Metric {
        Metric {
            name: name.into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: points,
            })),
            ..Metric::default()
        }
    }

    fn int_point(v: i64) -> NumberDataPoint {
        NumberDataPoint {
            time_unix_nano: 5,
            value: Some(number_data_point::Value::AsInt(v)),
            attributes: vec![kv_str("p", "q")],
            ..NumberDataPoint::default()
        }
    }

    fn metrics_record(metrics: Vec<Metric>) -> Vec<u8> {
        ResourceMetrics {
            resource: None,
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }
        .encode_to_vec()
    }

    /// Wraps one item's bytes into a `Resource*` record with one scope.
    fn wrap_item(item: &[u8]) -> Vec<u8> {
        ld(2, &ld(2, item))
    }

    #[test]
    fn every_string_field_rejects_invalid_utf8_and_leaves_state() {
        let good = sample_spans().encode_to_vec();
        let marker = b"QQQQ";
        let positions: Vec<usize> = good
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == marker)
            .map(|(i, _)| i)
            .collect();
        assert!(positions.len() >= 10, "markers in many string fields");
        for at in positions {
            let mut bad = good.clone();
            bad[at..at + 4].copy_from_slice(&[0xc3, 0x28, 0xff, 0xfe]);
            let mut dec = TracesDecoder::new();
            dec.append(&good).unwrap();
            let e = dec.append(&bad).unwrap_err();
            assert_eq!(e.kind(), DecodeErrorKind::InvalidUtf8, "at {at}: {e}");
            assert!(e.offset() <= at, "{e} points at or before the bad bytes");
            assert_eq!(dec.rows(), 2);
            dec.append(&good).unwrap();
            let b = dec.finish();
            let want = expected_traces(&sample_spans());
            assert_rows(&b, &[want.clone(), want].concat());
        }
        // Logs and metrics strings too.
        let mut log = LogRecord {
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue("QQQQ".into())),
            }),
            ..LogRecord::default()
        }
        .encode_to_vec();
        let at = log.windows(4).position(|w| w == marker).unwrap();
        log[at] = 0xff;
        let e = LogsDecoder::new().append(&wrap_item(&log)).unwrap_err();
        assert_eq!(e.kind(), DecodeErrorKind::InvalidUtf8);
        assert_eq!(e.context(), "AnyValue.string_value");
        let mut m = metrics_record(vec![gauge_metric("QQQQ", vec![int_point(1)])]);
        let at = m.windows(4).position(|w| w == marker).unwrap();
        m[at] = 0xff;
        let e = MetricsDecoder::new().append(&m).unwrap_err();
        assert_eq!(
            (e.kind(), e.context()),
            (DecodeErrorKind::InvalidUtf8, "Metric.name")
        );
    }

    #[test]
    fn every_truncation_is_rejected_whole_or_matches_prost() {
        let good = sample_spans().encode_to_vec();
        let mut rejected = 0;
        for n in 0..good.len() {
            if !check_mutant(Signal::Traces, &good, &good[..n]) {
                rejected += 1;
            }
        }
        assert!(rejected > good.len() / 2, "most prefixes are malformed");
    }

    #[test]
    fn unknown_fields_are_skipped_at_every_level() {
        let u = unknown_fields();
        // Top level.
        let rec = cat(&[u.clone(), sample_spans().encode_to_vec(), u.clone()]);
        check_against_prost(Signal::Traces, &[rec]);
        // Inside a span, its status, an attribute's KeyValue and AnyValue, an event, a link.
        let sp = Span {
            trace_id: vec![9; 16],
            ..Span::default()
        };
        let kv = cat(&[
            ld(1, b"k"),
            u.clone(),
            ld(2, &cat(&[u.clone(), ld(1, b"v"), u.clone()])),
        ]);
        let span_bytes = cat(&[
            sp.encode_to_vec(),
            u.clone(),
            ld(9, &kv),
            ld(15, &cat(&[u.clone(), key(3, 0), varint(1)])),
            ld(11, &cat(&[ld(2, b"ev"), u.clone()])),
            ld(13, &cat(&[ld(1, &[7; 16]), u.clone()])),
        ]);
        let scope = cat(&[ld(1, &cat(&[ld(1, b"lib"), u.clone()])), u.clone()]);
        let rec = ld(2, &cat(&[scope, ld(2, &span_bytes), u.clone()]));
        let rec = cat(&[ld(1, &cat(&[u.clone(), ld(1, &kv)])), rec]);
        check_against_prost(Signal::Traces, &[rec]);
        // Metric, data, point, exemplar, log record.
        let point = cat(&[
            int_point(3).encode_to_vec(),
            u.clone(),
            ld(5, &cat(&[u.clone(), fixed64(2, 9)])),
        ]);
        let gauge = cat(&[ld(1, &point), u.clone()]);
        let m = cat(&[ld(1, b"g"), u.clone(), ld(5, &gauge)]);
        check_against_prost(Signal::Metrics, &[wrap_item(&m)]);
        let log = cat(&[
            u.clone(),
            ld(5, &cat(&[u.clone(), key(3, 0), varint(4)])),
            u,
        ]);
        check_against_prost(Signal::Logs, &[wrap_item(&log)]);
    }

    #[test]
    fn fields_in_reverse_order() {
        // Resource and schema_url after the scopes, scope after the spans, span fields reversed,
        // status and events before the ids: all must still land in the right rows.
        let rs = sample_spans();
        let mut top = ld(3, rs.schema_url.as_bytes());
        for ss in &rs.scope_spans {
            let mut s = ld(3, ss.schema_url.as_bytes());
            for sp in &ss.spans {
                s.extend(ld(2, &reversed(&sp.encode_to_vec())));
            }
            s.extend(ld(1, &reversed(&ss.scope.clone().unwrap().encode_to_vec())));
            top.extend(ld(2, &s));
        }
        top.extend(ld(
            1,
            &reversed(&rs.resource.clone().unwrap().encode_to_vec()),
        ));
        check_against_prost(Signal::Traces, std::slice::from_ref(&top));
        assert_eq!(
            ResourceSpans::decode(&top[..]).unwrap().scope_spans[0].spans[0].name,
            "GET /QQQQ"
        );
        // A metric whose name and metadata come after its data, and a Sum whose temporality
        // and monotonic flag come after its points.
        let sum = Sum {
            data_points: vec![int_point(1), int_point(2)],
            aggregation_temporality: 2,
            is_monotonic: true,
        };
        let m = cat(&[
            ld(7, &reversed(&sum.encode_to_vec())),
            ld(12, &kv_str("meta", "data").encode_to_vec()),
            ld(1, b"late.name"),
            ld(3, b"ms"),
        ]);
        check_against_prost(Signal::Metrics, &[wrap_item(&m)]);
        let log = LogRecord {
            time_unix_nano: 1,
            severity_text: "WARN".into(),
            trace_id: vec![1; 16],
            attributes: vec![kv_str("a", "b")],
            body: Some(AnyValue {
                value: Some(any_value::Value::IntValue(-5)),
            }),
            ..LogRecord::default()
        };
        check_against_prost(Signal::Logs, &[wrap_item(&reversed(&log.encode_to_vec()))]);
    }

    #[test]
    fn non_packed_repeated_scalars_are_accepted() {
        let p = HistogramDataPoint {
            count: 6,
            sum: Some(1.5),
            ..HistogramDataPoint::default()
        };
        // bucket_counts 1, 2 unpacked then 3 packed; bounds 0.5 unpacked then 1.5 packed.
        let point = cat(&[
            p.encode_to_vec(),
            fixed64(6, 1),
            fixed64(6, 2),
            ld(6, &3u64.to_le_bytes()),
            fixed64(7, 0.5f64.to_bits()),
            ld(7, &1.5f64.to_bits().to_le_bytes()),
        ]);
        let h = cat(&[ld(1, &point), key(2, 0), varint(1)]);
        let m = cat(&[ld(1, b"h"), ld(9, &h)]);
        let rec = wrap_item(&m);
        let decoded = ResourceMetrics::decode(&rec[..]).unwrap();
        let Some(metric::Data::Histogram(hist)) = &decoded.scope_metrics[0].metrics[0].data else {
            panic!()
        };
        assert_eq!(hist.data_points[0].bucket_counts, [1, 2, 3]);
        check_against_prost(Signal::Metrics, &[rec]);
        // Exponential histogram buckets: varints unpacked and packed.
        let buckets = cat(&[
            key(1, 0),
            varint(3), // sint32 -2
            key(2, 0),
            varint(7),
            ld(2, &cat(&[varint(300), varint(1)])),
        ]);
        let point = cat(&[fixed64(4, 308), ld(8, &buckets), ld(9, &[])]);
        let m = cat(&[ld(1, b"e"), ld(10, &ld(1, &point))]);
        let rec = wrap_item(&m);
        check_against_prost(Signal::Metrics, &[rec]);
    }

    #[test]
    fn repeated_singular_fields_follow_prost() {
        // Span: name twice (last wins), status twice (merged field by field), ids twice.
        let span_bytes = cat(&[
            ld(5, b"first"),
            ld(1, &[1; 16]),
            ld(15, &cat(&[ld(2, b"msg"), key(3, 0), varint(1)])),
            ld(5, b"second"),
            ld(1, &[2; 16]),
            ld(15, &cat(&[key(3, 0), varint(2)])),
        ]);
        // Resource twice: attributes concatenate, dropped count: last wins.
        let r1 = Resource {
            attributes: vec![kv_str("a", "1")],
            dropped_attributes_count: 4,
            entity_refs: vec![],
        };
        let r2 = Resource {
            attributes: vec![kv_str("b", "2")],
            dropped_attributes_count: 0,
            entity_refs: vec![],
        };
        let scope1 = InstrumentationScope {
            name: "one".into(),
            version: "v1".into(),
            ..InstrumentationScope::default()
        };
        let scope2 = InstrumentationScope {
            name: "two".into(),
            attributes: vec![kv_str("s", "x")],
            ..InstrumentationScope::default()
        };
        let ss = cat(&[
            ld(1, &scope1.encode_to_vec()),
            ld(2, &span_bytes),
            ld(1, &scope2.encode_to_vec()),
            ld(3, b"u1"),
            ld(3, b"u2"),
        ]);
        let rec = cat(&[
            ld(1, &r1.encode_to_vec()),
            ld(2, &ss),
            ld(1, &r2.encode_to_vec()),
            ld(3, b"x"),
            ld(3, b"y"),
        ]);
        check_against_prost(Signal::Traces, &[rec]);

        // KeyValue.value twice: the AnyValues merge; array pieces concatenate.
        let arr = |v: i64| {
            ArrayValue {
                values: vec![AnyValue {
                    value: Some(any_value::Value::IntValue(v)),
                }],
            }
            .encode_to_vec()
        };
        let kv = cat(&[
            ld(1, b"k"),
            ld(2, &ld(5, &arr(1))),
            ld(1, b"key"),
            ld(2, &cat(&[ld(5, &arr(2)), ld(5, &arr(3))])),
        ]);
        let kv2 = cat(&[ld(2, &ld(6, b"")), ld(2, &ld(1, b"str")), ld(2, &[])]);
        let log = cat(&[
            ld(6, &kv),
            ld(6, &kv2),
            ld(5, &ld(6, &ld(1, &kv_str("x", "y").encode_to_vec()))),
            ld(5, &ld(6, &ld(1, &kv_str("z", "w").encode_to_vec()))),
        ]);
        let rec = wrap_item(&log);
        let decoded = ResourceLogs::decode(&rec[..]).unwrap();
        let lr = &decoded.scope_logs[0].log_records[0];
        assert_eq!(lr.attributes[0].key, "key");
        match &lr.attributes[0].value.as_ref().unwrap().value {
            Some(any_value::Value::ArrayValue(a)) => assert_eq!(a.values.len(), 3),
            other => panic!("{other:?}"),
        }
        check_against_prost(Signal::Logs, &[rec]);

        // Metric data oneof: gauge, then sum, then sum again (merges), then nothing else: the
        // points are the two sums'; gauge, sum, gauge: only the last gauge's.
        let g = |v| {
            ld(
                5,
                &Gauge {
                    data_points: vec![int_point(v)],
                }
                .encode_to_vec(),
            )
        };
        let su = |v, t| {
            ld(
                7,
                &Sum {
                    data_points: vec![int_point(v)],
                    aggregation_temporality: t,
                    is_monotonic: t == 1,
                }
                .encode_to_vec(),
            )
        };
        let m1 = cat(&[ld(1, b"m1"), g(1), su(2, 1), ld(1, b"m1b"), su(3, 2)]);
        let m2 = cat(&[g(4), su(5, 1), g(6), ld(1, b"m2")]);
        let rec = cat(&[wrap_item(&m1), wrap_item(&m2)]);
        check_against_prost(Signal::Metrics, std::slice::from_ref(&rec));
        let decoded = ResourceMetrics::decode(&rec[..]).unwrap();
        assert_eq!(expected_metrics(&decoded).len(), 3);

        // Exponential histogram with `positive` twice: offsets last-wins, counts concatenate.
        let b1 = Buckets {
            offset: 5,
            bucket_counts: vec![1, 2],
        };
        let b2 = Buckets {
            offset: 0,
            bucket_counts: vec![3],
        };
        let point = cat(&[ld(8, &b1.encode_to_vec()), ld(8, &b2.encode_to_vec())]);
        let m = cat(&[ld(1, b"e"), ld(10, &ld(1, &point))]);
        check_against_prost(Signal::Metrics, &[wrap_item(&m)]);
    }

    #[test]
    fn ids_of_the_wrong_length_are_rejected() {
        for (field, len) in [(1u32, 15usize), (2, 9), (4, 7)] {
            let sp = cat(&[ld(field, &vec![1; len])]);
            let e = TracesDecoder::new().append(&wrap_item(&sp)).unwrap_err();
            assert_eq!(e.kind(), DecodeErrorKind::InvalidIdLength, "{e}");
        }
        let log = ld(10, &[1; 16]);
        let e = LogsDecoder::new().append(&wrap_item(&log)).unwrap_err();
        assert_eq!(
            (e.kind(), e.context()),
            (DecodeErrorKind::InvalidIdLength, "LogRecord.span_id")
        );
        assert_eq!(
            e.to_string(),
            format!(
                "malformed OTLP record: LogRecord.span_id at byte {}: id has the wrong length",
                e.offset()
            )
        );
    }

    #[test]
    fn malformed_parts_that_no_row_reads_still_reject_the_record() {
        // A resource attribute with invalid UTF-8, in a record without spans.
        let bad_kv = ld(1, b"\xff");
        let rec = ld(1, &ld(1, &bad_kv));
        assert_eq!(
            TracesDecoder::new().append(&rec).unwrap_err().kind(),
            DecodeErrorKind::InvalidUtf8
        );
        // A scope attribute, in a scope without spans.
        let rec = ld(2, &ld(1, &ld(3, &bad_kv)));
        assert_eq!(
            LogsDecoder::new().append(&rec).unwrap_err().kind(),
            DecodeErrorKind::InvalidUtf8
        );
        // Metric metadata of a metric without points.
        let m = cat(&[ld(12, &bad_kv), ld(5, &[])]);
        assert_eq!(
            MetricsDecoder::new()
                .append(&wrap_item(&m))
                .unwrap_err()
                .kind(),
            DecodeErrorKind::InvalidUtf8
        );
        // A known field with the wrong wire type.
        let sp = cat(&[key(5, 0), varint(1)]);
        let e = TracesDecoder::new().append(&wrap_item(&sp)).unwrap_err();
        assert_eq!(
            (e.kind(), e.context()),
            (DecodeErrorKind::WrongWireType, "Span.name")
        );
        // A packed fixed64 run that is not a multiple of 8.
        let point = ld(6, &[0; 12]);
        let m = ld(9, &ld(1, &point));
        assert_eq!(
            MetricsDecoder::new()
                .append(&wrap_item(&m))
                .unwrap_err()
                .kind(),
            DecodeErrorKind::InvalidPackedLength
        );
    }

    #[test]
    fn empty_and_itemless_records() {
        for signal in Signal::ALL {
            let mut dec = decoder_for(signal);
            assert_eq!(dec.signal(), signal);
            assert_eq!(dec.append(&[]).unwrap(), 0);
            let rec = ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![ScopeSpans::default()],
                schema_url: "s".into(),
            }
            .encode_to_vec();
            assert_eq!(dec.append(&rec).unwrap(), 0);
            let b = dec.finish();
            assert_eq!((b.num_rows(), b.schema()), (0, schema_of(signal)));
        }
    }

    #[test]
    fn batches_survive_ipc_round_trip() {
        let mut dec = TracesDecoder::new();
        dec.append(&sample_spans().encode_to_vec()).unwrap();
        let batch = dec.finish();
        let mut buf = Vec::new();
        {
            let mut w =
                arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).unwrap();
            w.write(&batch).unwrap();
            w.finish().unwrap();
        }
        let mut r = arrow_ipc::reader::StreamReader::try_new(&buf[..], None).unwrap();
        let back = r.next().unwrap().unwrap();
        assert_eq!(back, batch);
    }

    #[test]
    fn steady_state_appends_do_not_allocate() {
        let spans = sample_spans().encode_to_vec();
        let metrics = {
            let rm = ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![kv_str("host", "a")],
                    ..Resource::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: None,
                    metrics: vec![
                        gauge_metric("g", vec![int_point(1)]),
                        Metric {
                            name: "h".into(),
                            data: Some(metric::Data::Histogram(Histogram {
                                data_points: vec![HistogramDataPoint {
                                    bucket_counts: vec![1, 2],
                                    explicit_bounds: vec![1.0],
                                    sum: Some(1.0),
                                    ..HistogramDataPoint::default()
                                }],
                                aggregation_temporality: 1,
                            })),
                            ..Metric::default()
                        },
                    ],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            };
            rm.encode_to_vec()
        };
        let logs = wrap_item(
            &LogRecord {
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("hello".into())),
                }),
                attributes: vec![kv_str("k", "v")],
                ..LogRecord::default()
            }
            .encode_to_vec(),
        );
        for (signal, rec) in [
            (Signal::Traces, spans),
            (Signal::Metrics, metrics),
            (Signal::Logs, logs),
        ] {
            let mut dec = decoder_for(signal);
            // Warm up: one full batch sizes every buffer.
            for _ in 0..64 {
                dec.append(&rec).unwrap();
            }
            drop(dec.finish());
            // The first record of a batch may create validity bitmaps; the rest allocate nothing.
            let per_record = dec.append(&rec).unwrap();
            let n = allocations_in(|| {
                for _ in 0..63 {
                    dec.append(&rec).unwrap();
                }
            });
            assert_eq!(n, 0, "{signal}: allocations in 63 steady-state appends");
            assert_eq!(dec.rows(), 64 * per_record);
        }
    }

    /// Sample records of each signal, as a small realistic service would send them (used for the
    /// worked queries in `docs/SCHEMA.md`).
    fn sample_records() -> [(Signal, Vec<u8>); 3] {
        let int = |k: &str, v: i64| KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(v)),
            }),
            key_strindex: 0,
        };
        let resource = Some(Resource {
            attributes: vec![
                kv_str("service.name", "checkout"),
                kv_str("host.name", "web-1"),
            ],
            ..Resource::default()
        });
        let scope = Some(InstrumentationScope {
            name: "opentelemetry-http".into(),
            version: "0.31.0".into(),
            ..InstrumentationScope::default()
        });
        let spans = [
            ("GET", "/cart", 200),
            ("POST", "/checkout", 500),
            ("GET", "/health", 200),
        ]
        .iter()
        .enumerate()
        .map(|(i, (method, path, status))| Span {
            trace_id: vec![i as u8 + 1; 16],
            span_id: vec![i as u8 + 1; 8],
            parent_span_id: if i == 0 { vec![] } else { vec![1; 8] },
            name: format!("{method} {path}"),
            kind: 2,
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1_000_000,
            end_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1_000_000 + 250_000,
            attributes: vec![
                kv_str("http.request.method", method),
                kv_str("url.path", path),
                int("http.response.status_code", *status),
                // A string array, as semantic conventions have for headers: kept as bytes.
                KeyValue {
                    key: "http.request.header.accept".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::ArrayValue(ArrayValue {
                            values: ["text/html", "application/json"]
                                .map(|v| AnyValue {
                                    value: Some(any_value::Value::StringValue(v.into())),
                                })
                                .to_vec(),
                        })),
                    }),
                    key_strindex: 0,
                },
            ],
            status: Some(Status {
                code: if *status == 500 { 2 } else { 0 },
                message: String::new(),
            }),
            ..Span::default()
        })
        .collect();
        let traces = ResourceSpans {
            resource: resource.clone(),
            scope_spans: vec![ScopeSpans {
                scope: scope.clone(),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        };
        let metrics = ResourceMetrics {
            resource: resource.clone(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope.clone(),
                metrics: vec![
                    Metric {
                        name: "http.server.active_requests".into(),
                        unit: "{request}".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![NumberDataPoint {
                                time_unix_nano: 1_700_000_000_000_000_000,
                                value: Some(number_data_point::Value::AsInt(3)),
                                attributes: vec![kv_str("http.request.method", "GET")],
                                ..NumberDataPoint::default()
                            }],
                            aggregation_temporality: 2,
                            is_monotonic: false,
                        })),
                        ..Metric::default()
                    },
                    Metric {
                        name: "http.server.request.duration".into(),
                        unit: "s".into(),
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                time_unix_nano: 1_700_000_000_000_000_000,
                                count: 3,
                                sum: Some(0.75),
                                bucket_counts: vec![1, 2, 0],
                                explicit_bounds: vec![0.1, 0.5],
                                attributes: vec![kv_str("http.request.method", "GET")],
                                ..HistogramDataPoint::default()
                            }],
                            aggregation_temporality: 2,
                        })),
                        ..Metric::default()
                    },
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        };
        let logs = ResourceLogs {
            resource,
            scope_logs: vec![ScopeLogs {
                scope,
                log_records: vec![
                    LogRecord {
                        time_unix_nano: 1_700_000_000_000_000_000,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue("cart loaded".into())),
                        }),
                        attributes: vec![kv_str("http.request.method", "GET")],
                        ..LogRecord::default()
                    },
                    LogRecord {
                        time_unix_nano: 1_700_000_000_001_000_000,
                        severity_number: 17,
                        severity_text: "ERROR".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue("payment failed".into())),
                        }),
                        attributes: vec![int("http.response.status_code", 500)],
                        trace_id: vec![2; 16],
                        span_id: vec![2; 8],
                        ..LogRecord::default()
                    },
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        };
        [
            (Signal::Traces, traces.encode_to_vec()),
            (Signal::Metrics, metrics.encode_to_vec()),
            (Signal::Logs, logs.encode_to_vec()),
        ]
    }

    /// Writes one Arrow IPC stream file per signal (to `$OTLP_ARROW_SAMPLE_DIR` when set, for
    /// trying the queries in `docs/SCHEMA.md`; else a temporary directory) and reads it back.
    #[test]
    fn sample_files_round_trip() {
        let dir = match std::env::var_os("OTLP_ARROW_SAMPLE_DIR") {
            Some(d) => std::path::PathBuf::from(d),
            None => std::env::temp_dir().join(format!("otlp-arrow-decode-{}", std::process::id())),
        };
        std::fs::create_dir_all(&dir).unwrap();
        for (signal, record) in sample_records() {
            let mut dec = decoder_for(signal);
            dec.append(&record).unwrap();
            let batch = dec.finish();
            check_against_prost(signal, &[record]);
            let path = dir.join(format!("{signal}.arrow"));
            {
                let file = std::fs::File::create(&path).unwrap();
                let mut w =
                    arrow_ipc::writer::StreamWriter::try_new(file, &batch.schema()).unwrap();
                w.write(&batch).unwrap();
                w.finish().unwrap();
            }
            let file = std::fs::File::open(&path).unwrap();
            let back: Vec<RecordBatch> = arrow_ipc::reader::StreamReader::try_new(file, None)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(back, [batch]);
        }
        if std::env::var_os("OTLP_ARROW_SAMPLE_DIR").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
