//! A set of global row numbers kept as disjoint, non-adjacent half-open ranges.
//!
//! The ledger keeps acknowledged rows above the cursor in one, the scheduler keeps the gaps
//! (rows to read back from the files) in another. Both stay small: a range per request
//! acknowledged out of order, a range per queue overflow or deferred request.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ops::Range;

/// Disjoint ranges of row numbers; adjacent or overlapping inserts merge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RangeSet {
    /// start -> end, disjoint and never touching (`end < next start`).
    ranges: BTreeMap<u64, u64>,
}

impl RangeSet {
    /// An empty set.
    pub(crate) fn new() -> RangeSet {
        RangeSet::default()
    }

    /// Whether the set holds no row.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Rows in the set.
    pub(crate) fn rows(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }

    /// The lowest range.
    pub(crate) fn first(&self) -> Option<Range<u64>> {
        self.ranges.iter().next().map(|(&s, &e)| s..e)
    }

    /// The ranges, lowest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.ranges.iter().map(|(&s, &e)| s..e)
    }

    /// Adds `r` (merging with neighbours it overlaps or touches).
    pub(crate) fn insert(&mut self, r: Range<u64>) {
        if r.is_empty() {
            return;
        }
        let (mut start, mut end) = (r.start, r.end);
        // The range starting at or before `start` may overlap or touch.
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back()
            && e >= start
        {
            start = s;
            end = end.max(e);
            self.ranges.remove(&s);
        }
        // Ranges starting inside [start, end] are absorbed.
        while let Some((&s, &e)) = self.ranges.range(start..=end).next() {
            end = end.max(e);
            self.ranges.remove(&s);
        }
        self.ranges.insert(start, end);
    }

    /// Removes `r` from the set (splitting ranges it cuts); returns the rows removed.
    pub(crate) fn remove(&mut self, r: Range<u64>) -> u64 {
        if r.is_empty() {
            return 0;
        }
        let mut removed = 0;
        let mut touched = Vec::new();
        if let Some((&s, &e)) = self.ranges.range(..r.start).next_back()
            && e > r.start
        {
            touched.push((s, e));
        }
        touched.extend(self.ranges.range(r.start..r.end).map(|(&s, &e)| (s, e)));
        for (s, e) in touched {
            self.ranges.remove(&s);
            if s < r.start {
                self.ranges.insert(s, r.start);
            }
            if e > r.end {
                self.ranges.insert(r.end, e);
            }
            removed += e.min(r.end) - s.max(r.start);
        }
        removed
    }

    /// Removes every row below `row`; returns the rows removed.
    pub(crate) fn remove_below(&mut self, row: u64) -> u64 {
        self.remove(0..row)
    }

    /// Rows of `r` that are in the set.
    #[cfg(test)]
    pub(crate) fn count_in(&self, r: Range<u64>) -> u64 {
        if r.is_empty() {
            return 0;
        }
        let mut n = 0;
        if let Some((_, &e)) = self.ranges.range(..r.start).next_back() {
            n += e.min(r.end).saturating_sub(r.start);
        }
        for (&s, &e) in self.ranges.range(r.start..r.end) {
            n += e.min(r.end) - s;
        }
        n
    }

    /// The first range of the set that starts below `limit`, clipped to `limit`.
    pub(crate) fn first_below(&self, limit: u64) -> Option<Range<u64>> {
        let r = self.first()?;
        (r.start < limit).then(|| r.start..r.end.min(limit))
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // lists of ranges, one of them
mod tests {
    use super::*;

    fn set(ranges: &[Range<u64>]) -> RangeSet {
        let mut s = RangeSet::new();
        for r in ranges {
            s.insert(r.clone());
        }
        s
    }

    fn list(s: &RangeSet) -> Vec<Range<u64>> {
        s.iter().collect()
    }

    #[test]
    fn inserts_merge_overlapping_and_touching_ranges() {
        let mut s = set(&[10..20, 30..40]);
        assert_eq!(list(&s), [10..20, 30..40]);
        s.insert(20..25);
        assert_eq!(list(&s), [10..25, 30..40]);
        s.insert(5..12);
        assert_eq!(list(&s), [5..25, 30..40]);
        s.insert(24..30);
        assert_eq!(list(&s), [5..40]);
        s.insert(0..100);
        assert_eq!(list(&s), [0..100]);
        s.insert(7..7);
        assert_eq!(list(&s), [0..100]);
        assert_eq!(s.rows(), 100);
    }

    #[test]
    fn removes_split_and_count() {
        let mut s = set(&[0..10, 20..30, 40..50]);
        assert_eq!(s.remove(5..25), 10);
        assert_eq!(list(&s), [0..5, 25..30, 40..50]);
        assert_eq!(s.remove(41..42), 1);
        assert_eq!(list(&s), [0..5, 25..30, 40..41, 42..50]);
        assert_eq!(s.count_in(3..45), 2 + 5 + 1 + 3);
        assert_eq!(s.remove_below(42), 11);
        assert_eq!(list(&s), [42..50]);
        assert_eq!(s.remove(60..70), 0);
        assert_eq!(s.first_below(45), Some(42..45));
        assert_eq!(s.first_below(42), None);
    }

    #[test]
    fn model_check_against_a_bitmap() {
        // A deterministic pseudo-random walk of inserts and removes against a bool per row.
        let mut model = [false; 64];
        let mut s = RangeSet::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = x % 64;
            let b = (x >> 8) % 64;
            let (lo, hi) = (a.min(b), a.max(b));
            if x >> 20 & 1 == 0 {
                s.insert(lo..hi);
                (lo..hi).for_each(|i| model[i as usize] = true);
            } else {
                let expect = (lo..hi).filter(|&i| model[i as usize]).count() as u64;
                assert_eq!(s.remove(lo..hi), expect);
                (lo..hi).for_each(|i| model[i as usize] = false);
            }
            let rows: Vec<u64> = s.iter().flatten().collect();
            let want: Vec<u64> = (0..64).filter(|&i| model[i as usize]).collect();
            assert_eq!(rows, want);
            // Never two touching ranges.
            let v = list(&s);
            assert!(v.windows(2).all(|w| w[0].end < w[1].start));
        }
    }
}
