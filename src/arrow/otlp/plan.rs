//! The shape of a request before it is written: which rows share a resource, a scope (and for
//! metrics a metric), every message's exact body length, and where to cut for a size limit.
//!
//! Rows are grouped into nested levels: resource (field 1 of the request), scope entry (field
//! 2 of a `Resource*` message), and for metrics the `Metric` (field 2 of `ScopeMetrics`) and
//! its data message (`gauge` / `sum` / ...: one field of `Metric`); then the items. A row
//! opens a new group at the shallowest level where it differs from the row before it, and so
//! at every level below that one too.
//!
//! [`build`] walks the rows once, keeping the body length of each open group; the request's
//! length if it ended at the current row is then a fold over at most four levels. That gives
//! the exact size of every prefix, so a byte limit is honoured exactly (always taking at least
//! one row, so a caller makes progress even past a limit smaller than one item). [`Plan`]
//! then writes the request (or each `Resource*` body) with every length known in advance:
//! each item's length is computed once for the plan and reused for its header.
#![forbid(unsafe_code)]

use crate::wire::encode::{EncodeError, Writer, len_field_len};
use crate::wire::fields::request;

/// Deepest grouping (metrics: resource, scope, metric, data).
pub(super) const MAX_DEPTH: usize = 4;

/// One signal's prepared rows (indices relative to the prepared range), as the plan sees
/// them. Levels are `0..depth()`; level 0 is the resource.
pub(super) trait Source {
    /// Number of group levels above the items: 2 (traces, logs) or 4 (metrics).
    fn depth(&self) -> usize;
    /// Field number of an item inside the deepest group.
    fn item_field(&self) -> u32;
    /// Prepared rows.
    fn len(&self) -> usize;
    /// The shallowest level at which row `i` (> 0) starts a new group after row `i - 1`, or
    /// `depth()` if it belongs to the same groups.
    fn first_new_level(&self, i: usize) -> usize;
    /// Field number, inside its parent, of the group at `level` whose first row is `i`.
    /// Level 0 is always the request's field 1.
    fn field(&self, level: usize, i: usize) -> u32;
    /// Bytes of the own fields (everything but the children) of the group at `level` whose
    /// first row is `i`.
    fn own_len(&self, level: usize, i: usize) -> usize;
    /// Body length of item `i`.
    fn item_len(&self, i: usize) -> usize;
    /// Writes the own fields of a group that precede its children.
    fn write_pre(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError>;
    /// Writes the own fields of a group that follow its children.
    fn write_post(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError>;
    /// Writes item `i`'s body.
    fn write_item(&self, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError>;
    /// Rows (relative, ascending, one entry per value) whose enum values were out of the
    /// range the encoder can represent and were written as 0.
    fn coerced(&self) -> &[usize];
}

/// A group of rows `start..end` at one level, and its body length.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    body: usize,
}

/// Running body lengths of the open groups.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Body so far of the open group at each level (children already closed included).
    open: [usize; MAX_DEPTH],
    /// Field number of the open group at each level.
    fields: [u32; MAX_DEPTH],
    /// Bytes of the closed resource groups (request level).
    total: usize,
}

impl Sizes {
    /// Closes the open groups at levels `k..depth`, deepest first, folding each into its
    /// parent; `on_close(level, body)` sees each closed body.
    #[inline]
    fn close_from(&mut self, k: usize, depth: usize, mut on_close: impl FnMut(usize, usize)) {
        for l in (k..depth).rev() {
            let body = self.open[l];
            on_close(l, body);
            let field = len_field_len(self.fields[l], body);
            if l == 0 {
                self.total += field;
            } else {
                self.open[l - 1] += field;
            }
        }
    }

    /// The request's length if every open group were closed now.
    #[inline]
    fn total_if_closed(&self, depth: usize) -> usize {
        let mut acc = self.open[depth - 1];
        for l in (1..depth).rev() {
            acc = self.open[l - 1] + len_field_len(self.fields[l], acc);
        }
        self.total + len_field_len(self.fields[0], acc)
    }
}

/// Where a plan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Every prepared row is in the plan.
    End,
    /// The next row would have made the request longer than the byte limit.
    Bytes,
}

/// The groups and lengths of a request over rows `0..rows()` of a [`Source`].
#[derive(Debug)]
pub(super) struct Plan {
    depth: usize,
    item_lens: Vec<usize>,
    groups: [Vec<Group>; MAX_DEPTH],
    total: usize,
    stop: Stop,
}

/// Plans the longest prefix of `src`'s rows whose request is at most `max_bytes` long (at
/// least one row, if there is one).
pub(super) fn build(src: &dyn Source, max_bytes: usize) -> Plan {
    let depth = src.depth().clamp(1, MAX_DEPTH);
    let item_field = src.item_field();
    let n = src.len();
    let mut plan = Plan {
        depth,
        item_lens: Vec::with_capacity(n),
        groups: Default::default(),
        total: 0,
        stop: Stop::End,
    };
    let mut st = Sizes {
        open: [0; MAX_DEPTH],
        fields: [request::RESOURCE_ITEMS; MAX_DEPTH],
        total: 0,
    };
    for i in 0..n {
        let k = if i == 0 {
            0
        } else {
            src.first_new_level(i).min(depth)
        };
        let item = src.item_len(i);
        let mut next = st;
        let mut closed = [None; MAX_DEPTH];
        if i > 0 && k < depth {
            next.close_from(k, depth, |l, body| closed[l] = Some(body));
        }
        for l in k..depth {
            next.open[l] = src.own_len(l, i);
            next.fields[l] = src.field(l, i);
        }
        next.open[depth - 1] += len_field_len(item_field, item);
        if i > 0 && next.total_if_closed(depth) > max_bytes {
            plan.stop = Stop::Bytes;
            break;
        }
        // Commit row i: record the bodies of the groups it closes, open its new groups.
        st = next;
        for (level, body) in plan.groups[k..depth].iter_mut().zip(&closed[k..depth]) {
            if let (Some(body), Some(g)) = (body, level.last_mut()) {
                g.body = *body;
            }
            level.push(Group {
                start: i,
                end: i,
                body: 0,
            });
        }
        for level in &mut plan.groups[..depth] {
            if let Some(g) = level.last_mut() {
                g.end = i + 1;
            }
        }
        plan.item_lens.push(item);
    }
    if !plan.item_lens.is_empty() {
        let groups = &mut plan.groups;
        st.close_from(0, depth, |l, body| {
            if let Some(g) = groups[l].last_mut() {
                g.body = body;
            }
        });
    }
    plan.total = st.total;
    plan
}

impl Plan {
    /// Rows in the plan (a prefix of the source's rows).
    pub(super) fn rows(&self) -> usize {
        self.item_lens.len()
    }

    /// Why the plan ends where it does.
    pub(super) fn stop(&self) -> Stop {
        self.stop
    }

    /// Exact length of the request ([`write_request`](Self::write_request)).
    pub(super) fn total(&self) -> usize {
        self.total
    }

    /// Number of groups at `level` (0 resources, 1 scopes, 2 metrics), 0 past the depth.
    pub(super) fn groups(&self, level: usize) -> usize {
        if level < self.depth {
            self.groups[level].len()
        } else {
            0
        }
    }

    /// Writes the whole request: every resource group as field 1.
    pub(super) fn write_request(
        &self,
        src: &dyn Source,
        w: &mut Writer<'_>,
    ) -> Result<(), EncodeError> {
        let mut cursors = [0usize; MAX_DEPTH];
        for g in 0..self.groups[0].len() {
            cursors[0] = g;
            self.write_group(src, 0, &mut cursors, w)?;
        }
        Ok(())
    }

    /// For each resource group: its body length, rows and item count, and a writer call that
    /// writes exactly that body.
    pub(super) fn for_each_resource(
        &self,
        src: &dyn Source,
        mut f: impl FnMut(
            usize,
            core::ops::Range<usize>,
            &mut dyn FnMut(&mut Writer<'_>) -> Result<(), EncodeError>,
        ) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut cursors = [0usize; MAX_DEPTH];
        for (gi, g) in self.groups[0].iter().enumerate() {
            cursors[0] = gi;
            f(g.body, g.start..g.end, &mut |w| {
                self.write_body(src, 0, gi, &mut cursors, w)
            })?;
        }
        Ok(())
    }

    /// Writes group `cursors[level]` at `level` with its tag and length.
    fn write_group(
        &self,
        src: &dyn Source,
        level: usize,
        cursors: &mut [usize; MAX_DEPTH],
        w: &mut Writer<'_>,
    ) -> Result<(), EncodeError> {
        let gi = cursors[level];
        let g = self.groups[level][gi];
        w.message_with_len(src.field(level, g.start), g.body, |w| {
            self.write_body(src, level, gi, cursors, w)
        })
    }

    /// Writes the body of group `gi` at `level`: own fields around its children.
    fn write_body(
        &self,
        src: &dyn Source,
        level: usize,
        gi: usize,
        cursors: &mut [usize; MAX_DEPTH],
        w: &mut Writer<'_>,
    ) -> Result<(), EncodeError> {
        let g = self.groups[level][gi];
        src.write_pre(level, g.start, w)?;
        if level + 1 == self.depth {
            let field = src.item_field();
            for i in g.start..g.end {
                w.message_with_len(field, self.item_lens[i], |w| src.write_item(i, w))?;
            }
        } else {
            let child = level + 1;
            // Children are the groups of the next level that start inside this one; they
            // come in row order, so one cursor per level walks them all exactly once.
            while let Some(c) = self.groups[child].get(cursors[child]) {
                if c.start >= g.end {
                    break;
                }
                self.write_group(src, child, cursors, w)?;
                cursors[child] += 1;
            }
        }
        src.write_post(level, g.start, w)
    }
}
