//! The walk over one `Resource*` record, and the resource / scope columns every row repeats.
//!
//! `ResourceSpans`, `ResourceMetrics` and `ResourceLogs` share their field numbers, and so do
//! the three `Scope*` messages, so one walker serves all signals: it finds the resource and
//! `schema_url` first (they may come after the scope items on the wire; the top level holds
//! only a few fields), then reads each scope in one pass, handing every item (span, metric,
//! log record) to the signal's columns as it comes and noting the scope's `scope` and
//! `schema_url` on the way. When the scope ends, the resource and scope columns of all its rows
//! are appended at once ([`CommonCols`]): the scope's `schema_url` usually follows its items,
//! and a second pass over the items only to find it would read every item twice.
//!
//! The contexts hold only borrowed slices and scalars. Resource and scope attributes are
//! parsed from the record for the first row that needs them; later rows of the same record
//! copy those entries within the column ([`Attrs::repeat`]), which is cheaper than parsing
//! again and allocates nothing. A resource or scope whose attributes no row parsed (no items)
//! is parsed once anyway, so a malformed one still rejects the record.
//!
//! Singular message fields that occur more than once merge (protobuf / prost semantics):
//! scalars take the last value, repeated fields (attributes) concatenate.
#![forbid(unsafe_code)]

use arrow_array::ArrayRef;
use arrow_array::types::UInt32Type;
use std::sync::Arc;

use super::attributes::{Attrs, AttrsMark, parse_kv};
use super::columns::{Prim, Strs, columns};
use super::error::DecodeError;
use super::reader::{Field, Reader, Text};
use crate::wire::fields::{resource, resource_items, scope, scope_items};

/// Every occurrence of a singular message field in its parent, in order (usually one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Occurrences<'a> {
    parent: Reader<'a>,
    field: u32,
    what: &'static str,
    first: Option<Reader<'a>>,
    many: bool,
}

impl<'a> Occurrences<'a> {
    pub(crate) fn new(parent: Reader<'a>, field: u32, what: &'static str) -> Self {
        Occurrences {
            parent: parent.rewind(),
            field,
            what,
            first: None,
            many: false,
        }
    }

    /// Notes one occurrence (`f.num == field`).
    #[inline]
    pub(crate) fn add(&mut self, f: &Field<'a>) -> Result<(), DecodeError> {
        let r = f.message(self.what)?;
        if self.first.is_none() {
            self.first = Some(r);
        } else {
            self.many = true;
        }
        Ok(())
    }

    /// Calls `g` with a reader over each occurrence, in wire order.
    #[inline]
    pub(crate) fn for_each(
        &self,
        mut g: impl FnMut(Reader<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        if !self.many {
            return match self.first {
                Some(r) => g(r),
                None => Ok(()),
            };
        }
        let mut p = self.parent;
        while let Some(f) = p.next()? {
            if f.num == self.field {
                g(f.message(self.what)?)?;
            }
        }
        Ok(())
    }

    /// Calls `g` with each field numbered `num` inside every occurrence.
    #[inline]
    pub(crate) fn each_field(
        &self,
        num: u32,
        mut g: impl FnMut(Field<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        self.for_each(|mut r| {
            while let Some(f) = r.next()? {
                if f.num == num {
                    g(f)?;
                }
            }
            Ok(())
        })
    }
}

/// Message names for error messages, per signal.
#[derive(Debug)]
pub(crate) struct Names {
    pub(crate) resource_items: &'static str,
    pub(crate) scope_items: &'static str,
    pub(crate) item: &'static str,
}

/// What a row needs from its `Resource*` message.
#[derive(Debug)]
pub(crate) struct ResourceCtx<'a> {
    resource: Occurrences<'a>,
    dropped_attributes_count: u32,
    schema_url: Text<'a>,
}

impl<'a> ResourceCtx<'a> {
    fn scan(top: Reader<'a>) -> Result<Self, DecodeError> {
        let mut ctx = ResourceCtx {
            resource: Occurrences::new(top, resource_items::RESOURCE, "Resource"),
            dropped_attributes_count: 0,
            schema_url: Text::EMPTY,
        };
        let mut r = top;
        while let Some(f) = r.next()? {
            match f.num {
                resource_items::RESOURCE => ctx.resource.add(&f)?,
                resource_items::SCHEMA_URL => ctx.schema_url = f.str("Resource*.schema_url")?,
                resource_items::SCOPE_ITEMS => {
                    f.bytes("Resource*.scope_*")?;
                }
                _ => {}
            }
        }
        let mut dropped = 0;
        ctx.resource.for_each(|mut r| {
            while let Some(f) = r.next()? {
                match f.num {
                    resource::DROPPED_ATTRIBUTES_COUNT => {
                        dropped = f.uint32("Resource.dropped_attributes_count")?;
                    }
                    resource::ATTRIBUTES => {
                        f.bytes("Resource.attributes")?;
                    }
                    resource::ENTITY_REFS => {
                        f.bytes("Resource.entity_refs")?;
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
        ctx.dropped_attributes_count = dropped;
        Ok(ctx)
    }

    /// Parses the attributes without appending them (for a resource no row carried).
    fn validate(&self, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.resource.each_field(resource::ATTRIBUTES, |f| {
            parse_kv(f.message("KeyValue")?, buf).map(drop)
        })
    }
}

/// What a row needs from its `Scope*` message, gathered while [`walk`] reads the scope's
/// fields (in the same pass as its items: the `schema_url` usually comes after them).
#[derive(Debug)]
pub(crate) struct ScopeCtx<'a> {
    scope: Occurrences<'a>,
    name: Text<'a>,
    version: Text<'a>,
    dropped_attributes_count: u32,
    schema_url: Text<'a>,
}

impl<'a> ScopeCtx<'a> {
    fn new(items: Reader<'a>) -> Self {
        ScopeCtx {
            scope: Occurrences::new(items, scope_items::SCOPE, "InstrumentationScope"),
            name: Text::EMPTY,
            version: Text::EMPTY,
            dropped_attributes_count: 0,
            schema_url: Text::EMPTY,
        }
    }

    /// Reads the `InstrumentationScope` fields once every occurrence was noted.
    fn resolve(&mut self) -> Result<(), DecodeError> {
        let (mut name, mut version, mut dropped) = (Text::EMPTY, Text::EMPTY, 0);
        self.scope.for_each(|mut r| {
            while let Some(f) = r.next()? {
                match f.num {
                    scope::NAME => name = f.str("InstrumentationScope.name")?,
                    scope::VERSION => version = f.str("InstrumentationScope.version")?,
                    scope::DROPPED_ATTRIBUTES_COUNT => {
                        dropped = f.uint32("InstrumentationScope.dropped_attributes_count")?;
                    }
                    scope::ATTRIBUTES => {
                        f.bytes("InstrumentationScope.attributes")?;
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
        self.name = name;
        self.version = version;
        self.dropped_attributes_count = dropped;
        Ok(())
    }

    fn validate(&self, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.scope.each_field(scope::ATTRIBUTES, |f| {
            parse_kv(f.message("KeyValue")?, buf).map(drop)
        })
    }
}

/// A signal's columns as [`walk`] fills them: the item columns, and the common ones.
pub(crate) trait Items {
    /// Appends one item (span, metric, log record) from its message; returns the rows added.
    fn item(&mut self, buf: &mut Vec<u8>, r: Reader<'_>) -> Result<usize, DecodeError>;
    /// The resource and scope columns, which [`walk`] fills once per scope for all its rows.
    fn common(&mut self) -> &mut CommonCols;
}

/// Walks one `Resource*` record: hands every item of each scope to `cols`, then appends the
/// resource and scope columns of that scope's rows at once; returns the rows added.
///
/// One pass over each scope: its items are decoded as they come and its own fields noted on
/// the way, so the rows' scope columns are pushed only after the scope's last field (the
/// columns are separate buffers, so the order of pushes between columns does not matter).
pub(crate) fn walk(
    record: &[u8],
    names: &Names,
    buf: &mut Vec<u8>,
    cols: &mut impl Items,
) -> Result<usize, DecodeError> {
    let top = Reader::new(record, names.resource_items);
    let res = ResourceCtx::scan(top)?;
    let mut rows = 0;
    let mut r = top;
    while let Some(f) = r.next()? {
        if f.num != resource_items::SCOPE_ITEMS {
            continue;
        }
        let items = f.message(names.scope_items)?;
        let mut scope = ScopeCtx::new(items);
        let mut n = 0;
        let mut s = items;
        while let Some(g) = s.next()? {
            match g.num {
                scope_items::ITEMS => n += cols.item(buf, g.message(names.item)?)?,
                scope_items::SCOPE => scope.scope.add(&g)?,
                scope_items::SCHEMA_URL => scope.schema_url = g.str("Scope*.schema_url")?,
                _ => {}
            }
        }
        scope.resolve()?;
        if n == 0 {
            scope.validate(buf)?;
        } else {
            cols.common().push_rows(&res, &scope, n, buf)?;
        }
        rows += n;
    }
    if rows == 0 {
        res.validate(buf)?;
    }
    Ok(rows)
}

/// The eight columns every schema starts with.
///
/// The first row of a resource (or scope) parses its attributes from the record; later rows
/// of the same record (scope) copy that row's entries within the column instead of parsing
/// again.
#[derive(Debug, Default)]
pub(crate) struct CommonCols {
    /// The resource's first row in this record: its attribute entries.
    resource_row: Option<(AttrsMark, AttrsMark)>,
    resource_attributes: Attrs,
    resource_dropped_attributes_count: Prim<UInt32Type>,
    resource_schema_url: Strs,
    scope_name: Strs,
    scope_version: Strs,
    scope_attributes: Attrs,
    scope_dropped_attributes_count: Prim<UInt32Type>,
    schema_url: Strs,
}

columns!(CommonCols {
    resource_attributes,
    resource_dropped_attributes_count,
    resource_schema_url,
    scope_name,
    scope_version,
    scope_attributes,
    scope_dropped_attributes_count,
    schema_url,
});

impl CommonCols {
    /// Forgets the previous record's rows; call before each record.
    #[inline]
    pub(crate) fn start_record(&mut self) {
        self.resource_row = None;
    }

    /// Appends the resource and scope columns of `n` (> 0) rows of one scope.
    fn push_rows(
        &mut self,
        res: &ResourceCtx<'_>,
        scope: &ScopeCtx<'_>,
        n: usize,
        buf: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        let attrs = &mut self.resource_attributes;
        let mut left = n;
        let (from, to) = match self.resource_row {
            Some(marks) => marks,
            None => {
                let from = attrs.mark();
                res.resource.each_field(resource::ATTRIBUTES, |f| {
                    attrs.push_kv(f.message("KeyValue")?, buf)
                })?;
                let to = attrs.mark();
                attrs.end_row();
                self.resource_row = Some((from, to));
                left -= 1;
                (from, to)
            }
        };
        attrs.repeat(&from, &to, left);
        self.resource_dropped_attributes_count
            .push_n(res.dropped_attributes_count, n);
        self.resource_schema_url.push_n(res.schema_url, n);
        self.scope_name.push_n(scope.name, n);
        self.scope_version.push_n(scope.version, n);
        let attrs = &mut self.scope_attributes;
        let from = attrs.mark();
        scope.scope.each_field(scope::ATTRIBUTES, |f| {
            attrs.push_kv(f.message("KeyValue")?, buf)
        })?;
        let to = attrs.mark();
        attrs.end_row();
        attrs.repeat(&from, &to, n - 1);
        self.scope_dropped_attributes_count
            .push_n(scope.dropped_attributes_count, n);
        self.schema_url.push_n(scope.schema_url, n);
        Ok(())
    }

    /// The eight finished columns, in schema order.
    pub(crate) fn finish(&mut self, out: &mut Vec<ArrayRef>) {
        out.push(Arc::new(self.resource_attributes.finish()));
        out.push(Arc::new(self.resource_dropped_attributes_count.finish()));
        out.push(Arc::new(self.resource_schema_url.finish()));
        out.push(Arc::new(self.scope_name.finish()));
        out.push(Arc::new(self.scope_version.finish()));
        out.push(Arc::new(self.scope_attributes.finish()));
        out.push(Arc::new(self.scope_dropped_attributes_count.finish()));
        out.push(Arc::new(self.schema_url.finish()));
    }
}
