//! Validation of the messages every signal shares: `Resource`, `InstrumentationScope`,
//! `KeyValue`, `AnyValue` (with its arrays and key-value lists) and `EntityRef`.
//!
//! `AnyValue` is the only recursive part of OTLP. Each function takes its message's nesting
//! `level` (the scanned request is level 0) and refuses to go past
//! [`MAX_NESTING`](super::MAX_NESTING), so recursion depth, stack use and time are bounded.
#![forbid(unsafe_code)]

use super::error::{At, ErrorKind, FieldName, Scan};
use super::reader::{Reader, Tag};
use crate::wire::fields::{any_value, key_value, list, resource, scope};

/// Fields of opentelemetry-proto 0.33 that `wire::fields` does not name (the encoder never
/// writes them; the scanner must still check their wire types and UTF-8, as prost does).
mod extra {
    /// `AnyValue.string_value_strindex` (int32, profiles dictionary index).
    pub(super) const STRING_VALUE_STRINDEX: u32 = 8;
    /// `KeyValue.key_strindex` (int32, profiles dictionary index).
    pub(super) const KEY_STRINDEX: u32 = 3;
    /// `common.v1.EntityRef`.
    pub(super) mod entity_ref {
        pub(crate) const SCHEMA_URL: u32 = 1;
        pub(crate) const TYPE: u32 = 2;
        pub(crate) const ID_KEYS: u32 = 3; // repeated string
        pub(crate) const DESCRIPTION_KEYS: u32 = 4; // repeated string
    }
}

/// Refuses a message at `level` deeper than the limit (offset: its first byte).
#[inline(always)]
fn check_depth(r: &Reader<'_, '_>, level: u32) -> Scan<()> {
    if level > super::MAX_NESTING {
        return Err(r.fail(r.start(), ErrorKind::TooDeep));
    }
    Ok(())
}

/// One element of a repeated `KeyValue` field called `name` (`attributes`, `metadata`...),
/// whose enclosing message is at `level`; `index` counts the elements seen so far.
#[inline(always)]
pub(super) fn attribute(
    r: &mut Reader<'_, '_>,
    tag: Tag,
    level: u32,
    name: FieldName,
    index: &mut u32,
) -> Scan<()> {
    let s = r.slot();
    r.message(tag, |m| key_value(m, level + 1))
        .at_index(s, name, *index)?;
    *index = index.saturating_add(1);
    Ok(())
}

/// `common.v1.KeyValue`.
pub(super) fn key_value(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    if level < super::MAX_NESTING && r.pos() == 0 && canonical_key_value(r.body()) {
        return Ok(());
    }
    let s = r.slot();
    check_depth(&r, level)?;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            key_value::KEY => r.string(tag).at(s, FieldName::Key)?,
            key_value::VALUE => r
                .message(tag, |m| any_value_at(m, level + 1))
                .at(s, FieldName::Value)?,
            extra::KEY_STRINDEX => r.varint_field(tag).at(s, FieldName::KeyStrindex)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// Whether `b` is a valid `KeyValue` in the layout every encoder writes for short scalar
/// attributes: `key`, then at most one `value` holding at most one scalar member, each with a
/// one-byte length, nothing else. Attributes are most of the fields of every signal, and these
/// few slice patterns cost less than the general field loop. Anything else, valid or not, is
/// `false` and takes the general path, which is the reference for what is valid and for every
/// error; all that this accepts, the general path accepts too (callers also check that the
/// value's nesting level is within the limit).
#[inline(always)]
fn canonical_key_value(b: &[u8]) -> bool {
    // Keys: field << 3 | wire type.
    const KEY: u8 = (key_value::KEY as u8) << 3 | 2;
    const VALUE: u8 = (key_value::VALUE as u8) << 3 | 2;
    const STRING: u8 = (any_value::STRING_VALUE as u8) << 3 | 2;
    const BOOL: u8 = (any_value::BOOL_VALUE as u8) << 3;
    const INT: u8 = (any_value::INT_VALUE as u8) << 3;
    const DOUBLE: u8 = (any_value::DOUBLE_VALUE as u8) << 3 | 1;
    const BYTES: u8 = (any_value::BYTES_VALUE as u8) << 3 | 2;
    let [KEY, klen, rest @ ..] = b else {
        return false;
    };
    if *klen >= 0x80 {
        return false;
    }
    let Some((key, rest)) = rest.split_at_checked(usize::from(*klen)) else {
        return false;
    };
    if !is_utf8(key) {
        return false;
    }
    let v = match rest {
        [] => return true,
        [VALUE, vlen, v @ ..] if *vlen < 0x80 && usize::from(*vlen) == v.len() => v,
        _ => return false,
    };
    let delimited = |n: u8, rest: &[u8]| n < 0x80 && usize::from(n) == rest.len();
    match v {
        [] => true,
        [STRING, n, s @ ..] => delimited(*n, s) && is_utf8(s),
        [BOOL, x] => *x < 0x80,
        // A varint of 1 to 9 bytes ending exactly at the end (always in range).
        [INT, rest @ ..] => {
            matches!(rest.len(), 1..=9)
                && rest.last().is_some_and(|&x| x < 0x80)
                && rest[..rest.len() - 1].iter().all(|&x| x >= 0x80)
        }
        [DOUBLE, d @ ..] => d.len() == 8,
        [BYTES, n, s @ ..] => delimited(*n, s),
        _ => false,
    }
}

/// UTF-8, ASCII tested first (see `reader::utf8`).
#[inline(always)]
fn is_utf8(b: &[u8]) -> bool {
    b.is_ascii() || core::str::from_utf8(b).is_ok()
}

/// `common.v1.AnyValue` (a `KeyValue.value` or a log record's `body`).
pub(super) fn any_value_at(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    check_depth(&r, level)?;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            any_value::STRING_VALUE => r.string(tag).at(s, FieldName::StringValue)?,
            any_value::BOOL_VALUE => r.varint_field(tag).at(s, FieldName::BoolValue)?,
            any_value::INT_VALUE => r.varint_field(tag).at(s, FieldName::IntValue)?,
            any_value::DOUBLE_VALUE => r.fixed64(tag).at(s, FieldName::DoubleValue)?,
            any_value::ARRAY_VALUE => r
                .message(tag, |m| array_value(m, level + 1))
                .at(s, FieldName::ArrayValue)?,
            any_value::KVLIST_VALUE => r
                .message(tag, |m| kvlist_value(m, level + 1))
                .at(s, FieldName::KvlistValue)?,
            any_value::BYTES_VALUE => r.bytes(tag).at(s, FieldName::BytesValue)?,
            extra::STRING_VALUE_STRINDEX => {
                r.varint_field(tag).at(s, FieldName::StringValueStrindex)?
            }
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `common.v1.ArrayValue`.
fn array_value(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    check_depth(&r, level)?;
    let mut values = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            list::VALUES => {
                r.message(tag, |m| any_value_at(m, level + 1)).at_index(
                    s,
                    FieldName::Values,
                    values,
                )?;
                values = values.saturating_add(1);
            }
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `common.v1.KeyValueList`.
fn kvlist_value(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    check_depth(&r, level)?;
    let mut values = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            list::VALUES => attribute(&mut r, tag, level, FieldName::Values, &mut values)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `resource.v1.Resource`.
pub(super) fn resource(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    let (mut attributes, mut entity_refs) = (0u32, 0u32);
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            resource::ATTRIBUTES => {
                attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?;
            }
            resource::DROPPED_ATTRIBUTES_COUNT => {
                r.varint_field(tag)
                    .at(s, FieldName::DroppedAttributesCount)?;
            }
            resource::ENTITY_REFS => {
                r.message(tag, entity_ref)
                    .at_index(s, FieldName::EntityRefs, entity_refs)?;
                entity_refs = entity_refs.saturating_add(1);
            }
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `common.v1.EntityRef` (only strings inside).
fn entity_ref(mut r: Reader<'_, '_>) -> Scan<()> {
    let s = r.slot();
    use extra::entity_ref::{DESCRIPTION_KEYS, ID_KEYS, SCHEMA_URL, TYPE};
    let (mut id_keys, mut description_keys) = (0u32, 0u32);
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            SCHEMA_URL => r.string(tag).at(s, FieldName::SchemaUrl)?,
            TYPE => r.string(tag).at(s, FieldName::Type)?,
            ID_KEYS => {
                r.string(tag).at_index(s, FieldName::IdKeys, id_keys)?;
                id_keys = id_keys.saturating_add(1);
            }
            DESCRIPTION_KEYS => {
                r.string(tag)
                    .at_index(s, FieldName::DescriptionKeys, description_keys)?;
                description_keys = description_keys.saturating_add(1);
            }
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `common.v1.InstrumentationScope`.
pub(super) fn scope(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    let mut attributes = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            scope::NAME => r.string(tag).at(s, FieldName::Name)?,
            scope::VERSION => r.string(tag).at(s, FieldName::Version)?,
            scope::ATTRIBUTES => {
                attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?;
            }
            scope::DROPPED_ATTRIBUTES_COUNT => {
                r.varint_field(tag)
                    .at(s, FieldName::DroppedAttributesCount)?;
            }
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}
