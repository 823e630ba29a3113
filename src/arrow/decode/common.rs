//! The walk over one `Resource*` record, and the resource / scope columns every row repeats.
//!
//! `ResourceSpans`, `ResourceMetrics` and `ResourceLogs` share their field numbers, and so do
//! the three `Scope*` messages, so one walker serves all signals: it finds the resource and
//! `schema_url` first (they may come after the scope items on the wire), then each scope's
//! `scope` and `schema_url`, then hands every item (span, metric, log record) to the signal's
//! decoder with both contexts.
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

/// What a row needs from its `Scope*` message.
#[derive(Debug)]
pub(crate) struct ScopeCtx<'a> {
    /// Where the `Scope*` message starts in the record: tells scopes apart.
    id: usize,
    scope: Occurrences<'a>,
    name: Text<'a>,
    version: Text<'a>,
    dropped_attributes_count: u32,
    schema_url: Text<'a>,
}

impl<'a> ScopeCtx<'a> {
    fn scan(items: Reader<'a>) -> Result<Self, DecodeError> {
        let mut ctx = ScopeCtx {
            id: items.base(),
            scope: Occurrences::new(items, scope_items::SCOPE, "InstrumentationScope"),
            name: Text::EMPTY,
            version: Text::EMPTY,
            dropped_attributes_count: 0,
            schema_url: Text::EMPTY,
        };
        let mut r = items;
        while let Some(f) = r.next()? {
            match f.num {
                scope_items::SCOPE => ctx.scope.add(&f)?,
                scope_items::SCHEMA_URL => ctx.schema_url = f.str("Scope*.schema_url")?,
                scope_items::ITEMS => {
                    f.bytes("Scope*.items")?;
                }
                _ => {}
            }
        }
        let (mut name, mut version, mut dropped) = (Text::EMPTY, Text::EMPTY, 0);
        ctx.scope.for_each(|mut r| {
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
        ctx.name = name;
        ctx.version = version;
        ctx.dropped_attributes_count = dropped;
        Ok(ctx)
    }

    fn validate(&self, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.scope.each_field(scope::ATTRIBUTES, |f| {
            parse_kv(f.message("KeyValue")?, buf).map(drop)
        })
    }
}

/// Walks one `Resource*` record, calling `item` for each item of each scope with the scratch
/// buffer, both contexts and the item's message; `item` returns the rows it appended.
pub(crate) fn walk<'a>(
    record: &'a [u8],
    names: &Names,
    buf: &mut Vec<u8>,
    mut item: impl FnMut(
        &mut Vec<u8>,
        &ResourceCtx<'a>,
        &ScopeCtx<'a>,
        Reader<'a>,
    ) -> Result<usize, DecodeError>,
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
        let scope = ScopeCtx::scan(items)?;
        let mut n = 0;
        let mut s = items;
        while let Some(g) = s.next()? {
            if g.num == scope_items::ITEMS {
                n += item(buf, &res, &scope, g.message(names.item)?)?;
            }
        }
        if n == 0 {
            scope.validate(buf)?;
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
/// of the same record copy that row's entries within the column instead of parsing again.
#[derive(Debug, Default)]
pub(crate) struct CommonCols {
    /// The resource's first row in this record: its attribute entries.
    resource_row: Option<(AttrsMark, AttrsMark)>,
    /// The current scope's first row in this record: scope id and attribute entries.
    scope_row: Option<(usize, AttrsMark, AttrsMark)>,
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
        self.scope_row = None;
    }

    /// Appends the resource and scope columns of one row.
    #[inline]
    pub(crate) fn push_row(
        &mut self,
        res: &ResourceCtx<'_>,
        scope: &ScopeCtx<'_>,
        buf: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        let attrs = &mut self.resource_attributes;
        match &self.resource_row {
            Some((from, to)) => attrs.repeat(from, to),
            None => {
                let from = attrs.mark();
                res.resource.each_field(resource::ATTRIBUTES, |f| {
                    attrs.push_kv(f.message("KeyValue")?, buf)
                })?;
                self.resource_row = Some((from, attrs.mark()));
                attrs.end_row();
            }
        }
        self.resource_dropped_attributes_count
            .push(res.dropped_attributes_count);
        self.resource_schema_url.push(res.schema_url);
        self.scope_name.push(scope.name);
        self.scope_version.push(scope.version);
        let attrs = &mut self.scope_attributes;
        match &self.scope_row {
            Some((id, from, to)) if *id == scope.id => attrs.repeat(from, to),
            _ => {
                let from = attrs.mark();
                scope.scope.each_field(scope::ATTRIBUTES, |f| {
                    attrs.push_kv(f.message("KeyValue")?, buf)
                })?;
                self.scope_row = Some((scope.id, from, attrs.mark()));
                attrs.end_row();
            }
        }
        self.scope_dropped_attributes_count
            .push(scope.dropped_attributes_count);
        self.schema_url.push(scope.schema_url);
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
