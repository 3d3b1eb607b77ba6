//! The names of a matcher by the hashes of their first words: what a walk from a word start
//! looks up instead of stepping through a trie character by character.
//!
//! A name that matches the text at `p` and ends at a word end has, as its first run of word
//! characters, exactly the text's run at `p` (the argument of `firstword.rs`); if it has a
//! second run, that is exactly the text's next run. The walks already know the
//! [`hash`](crate::firstword::hash) of both (the first-word filters asked about them), so the
//! names that may match at `p` are the one-run names filed under the first run's hash, and the
//! longer ones filed under the pair of both hashes ([`pair_key`](crate::firstword::pair_key)):
//! one or two probes of hash tables, then a comparison of bytes for each name filed there,
//! where a trie walk decoded and stepped through every character of the word (and on into the
//! next while some name went on) with a dependent load per step. Names are compared whole, so
//! a collision of hashes costs a comparison and never a wrong match. Those that match are
//! reported shortest first, as a trie's common-prefix search reports them: two names that match
//! at one place are the text there, so one is a prefix of the other, and a one-run name can
//! only be a prefix of a longer one.

use crate::cache::{u32_at, Malformed, Packed, Reader, Writer};
use crate::firstword::{pattern_key, PatternKey};

/// One name of a group: the pattern, and where its text lies in the packed patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    pattern: u32,
    offset: u32,
    /// The length in bytes, with [`LAST`].
    len: u32,
}

/// In [`Entry::len`]: the last entry of its group.
const LAST: u32 = 1 << 31;
/// The longest name the index holds: its length shares a u32 with the flag.
const MAX_LEN: usize = (LAST - 1) as usize;

/// Names filed by a key: groups of entries, found through a hash table.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Table {
    /// Open addressing with linear probing, a power of two long and at most half full: each
    /// slot the high half of a key and one more than the start of its group in `entries` (0:
    /// empty). Eight bytes a slot, so that the table stays small in the cache.
    slots: Vec<u64>,
    /// The groups one after another, each sorted by name length, its last entry flagged.
    entries: Vec<Entry>,
}

impl Table {
    fn new(mut keyed: Vec<(u64, Entry)>) -> Table {
        keyed.sort_unstable_by_key(|&(key, e)| (key >> 32, e.len, e.pattern));
        let same = |a: &(u64, Entry), b: &(u64, Entry)| a.0 >> 32 == b.0 >> 32;
        let groups = keyed.chunk_by(same).count();
        let mut slots = vec![0u64; (2 * groups).next_power_of_two().max(8)];
        let mask = slots.len() - 1;
        let mut entries: Vec<Entry> = Vec::with_capacity(keyed.len());
        for group in keyed.chunk_by(same) {
            let tag = group[0].0 >> 32;
            let start = entries.len() as u64 + 1;
            entries.extend(group.iter().map(|&(_, e)| e));
            if let Some(last) = entries.last_mut() {
                last.len |= LAST;
            }
            let mut i = tag as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = tag << 32 | start;
        }
        Table { slots, entries }
    }

    /// Calls `found` for each name filed under `key` that is `text[from..]`'s start.
    #[inline]
    fn walk(
        &self,
        names: &[u8],
        text: &[u8],
        from: usize,
        key: u64,
        found: &mut dyn FnMut(u32, usize),
    ) {
        let (mask, tag) = (self.slots.len() - 1, key >> 32);
        let mut i = tag as usize & mask;
        let start = loop {
            let slot = self.slots[i];
            if slot == 0 {
                return;
            }
            if slot >> 32 == tag {
                break (slot as u32 - 1) as usize;
            }
            i = (i + 1) & mask;
        };
        for e in &self.entries[start..] {
            let (offset, len) = (e.offset as usize, (e.len & !LAST) as usize);
            if text.get(from..from + len) == names.get(offset..offset + len) {
                found(e.pattern, from + len);
            }
            if e.len & LAST != 0 {
                break;
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.slots.len() * 8 + self.entries.len() * std::mem::size_of::<Entry>()
    }

    fn write_cache(&self, w: &mut Writer) {
        w.len(self.slots.len());
        for &s in &self.slots {
            w.u64(s);
        }
        w.len(self.entries.len());
        for e in &self.entries {
            for v in [e.pattern, e.offset, e.len] {
                w.u32(v);
            }
        }
    }

    /// Checked so that a walk can neither index outside it nor probe forever: every pattern is
    /// one of `surfaces`, at its place, and every group ends.
    fn read_cache(r: &mut Reader<'_>, surfaces: &Packed) -> Result<Table, Malformed> {
        let n = r.len(8)?;
        let slots = r.u64s(n)?;
        let n = r.len(12)?;
        let mut entries = Vec::with_capacity(n);
        for entry in r.items(n, 12)?.chunks_exact(12) {
            let [pattern, offset, len] = [0, 4, 8].map(|at| u32_at(entry, at));
            let span = (pattern as usize) < surfaces.len();
            let span = span.then(|| surfaces.span(pattern as usize)).ok_or(Malformed)?;
            if span.start != offset as usize || span.len() != (len & !LAST) as usize {
                return Err(Malformed);
            }
            entries.push(Entry { pattern, offset, len });
        }
        // Each group's start is an entry, and the entries from there on reach a last one.
        let ends = entries.last().is_none_or(|e| e.len & LAST != 0);
        let starts = |&s: &u64| s == 0 || (s as u32 as usize).wrapping_sub(1) < entries.len();
        if !slots.len().is_power_of_two()
            || !slots.contains(&0)
            || !slots.iter().all(starts)
            || !ends
        {
            return Err(Malformed);
        }
        Ok(Table { slots, entries })
    }
}

/// The patterns by the hashes of their first words (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameIndex {
    /// The names of one run of word characters (or none), by its hash.
    one: Table,
    /// The others, by the [`pair_key`](crate::firstword::pair_key) of their first two runs'
    /// hashes.
    two: Table,
}

impl NameIndex {
    /// The index of `surfaces` (the matcher's folded patterns, by pattern id).
    ///
    /// # Panics
    /// When a pattern is longer than 2 GiB, or the patterns hold 4 GiB together.
    pub(crate) fn new(surfaces: &Packed) -> NameIndex {
        let (mut one, mut two) = (Vec::new(), Vec::new());
        for (i, p) in surfaces.iter().enumerate() {
            assert!(p.len() <= MAX_LEN, "a name of {} bytes", p.len());
            let entry = Entry {
                pattern: i as u32,
                offset: u32::try_from(surfaces.span(i).start).expect("under 4 GiB of names"),
                len: p.len() as u32,
            };
            match pattern_key(p) {
                PatternKey::OneRun(h) => one.push((h, entry)),
                PatternKey::Pair(key) => two.push((key, entry)),
            }
        }
        NameIndex { one: Table::new(one), two: Table::new(two) }
    }

    /// Calls `found(pattern, end)` for every pattern of `surfaces` (those the index was made
    /// of) that is `text[from..end]` and ends at a word end (and maybe others that start at
    /// `from`), shortest first. `one` is the [`hash`](crate::firstword::hash) of the text's run
    /// of word characters at `from`, `pair` the [`pair_key`](crate::firstword::pair_key) of it
    /// and the text's next run; either is `None` where the first-word filters rule out the
    /// one-run names or the longer ones.
    #[inline]
    pub(crate) fn walk(
        &self,
        surfaces: &Packed,
        text: &[u8],
        from: usize,
        (one, pair): (Option<u64>, Option<u64>),
        found: &mut dyn FnMut(u32, usize),
    ) {
        let names = surfaces.text().as_bytes();
        if let Some(key) = one {
            self.one.walk(names, text, from, key, found);
        }
        if let Some(key) = pair {
            self.two.walk(names, text, from, key, found);
        }
    }

    /// Heap bytes of the tables.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.one.heap_bytes() + self.two.heap_bytes()
    }

    /// Appends the index to a start-up cache payload (`cache.rs`).
    pub(crate) fn write_cache(&self, w: &mut Writer) {
        self.one.write_cache(w);
        self.two.write_cache(w);
    }

    /// The index [`NameIndex::write_cache`] wrote for `surfaces`, checked (see
    /// [`Table::read_cache`]).
    pub(crate) fn read_cache(
        r: &mut Reader<'_>,
        surfaces: &Packed,
    ) -> Result<NameIndex, Malformed> {
        Ok(NameIndex { one: Table::read_cache(r, surfaces)?, two: Table::read_cache(r, surfaces)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::read_all;
    use crate::chars::word_end;
    use crate::firstword::{hash, pair_key};
    use crate::normalize::is_word_char;

    fn matches(index: &NameIndex, surfaces: &Packed, text: &str, from: usize) -> Vec<(u32, usize)> {
        let end = word_end(text, from);
        let first = hash(text.as_bytes(), from, end);
        let pair = text[end..].char_indices().find(|&(_, c)| is_word_char(c)).map(|(at, _)| {
            let n = end + at;
            pair_key(first, hash(text.as_bytes(), n, word_end(text, n)))
        });
        let mut found = Vec::new();
        let keys = (Some(first), pair);
        index.walk(surfaces, text.as_bytes(), from, keys, &mut |p, e| found.push((p, e)));
        found
    }

    #[test]
    fn names_are_found_whole_and_shortest_first() {
        let names = ["الأمم المتحدة", "الأمم", "الأمم المتحدة للطفولة", "موسكو", "الأمم الأفريقية"];
        let surfaces = Packed::new(names);
        let index = NameIndex::new(&surfaces);
        let text = "قالت الأمم المتحدة للطفولة في موسكو";
        let at = text.find("الأمم").unwrap();
        let ends: Vec<(u32, usize)> =
            [1, 0, 2].iter().map(|&p: &u32| (p, at + names[p as usize].len())).collect();
        assert_eq!(matches(&index, &surfaces, text, at), ends);
        let moscow = text.find("موسكو").unwrap();
        assert_eq!(matches(&index, &surfaces, text, moscow), [(3, text.len())]);
        assert_eq!(matches(&index, &surfaces, text, 0), [], "قالت begins no name");
        // Written back and read, the same index; damaged, refused.
        let mut w = Writer::default();
        index.write_cache(&mut w);
        let encoded = w.finish();
        let read = read_all(&encoded, |r| NameIndex::read_cache(r, &surfaces)).unwrap();
        assert_eq!(read, index);
        let fewer = Packed::new(names[..3].iter().copied());
        assert!(read_all(&encoded, |r| NameIndex::read_cache(r, &fewer)).is_err(), "patterns 3, 4");
    }
}
