//! The names of a matcher by the hash of their first word: what a walk from a word start looks
//! up instead of stepping through a trie character by character.
//!
//! A name that matches the text at `p` and ends at a word end has, as its first run of word
//! characters, exactly the text's run at `p` (the argument of `firstword.rs`); if it has a
//! second run, that is exactly the text's next run. The walks already know the [`hash`] of both
//! (the first-word filters asked about them), so the names that may match at `p` are those
//! filed under the first hash whose second run, if any, hashes to the text's next: one probe of
//! a hash table, then a comparison of bytes for each of them, where a trie walk decoded and
//! stepped through every character of the word (and on into the next while some name went on)
//! with a dependent load per step. Names are compared whole, so a collision of hashes costs a
//! comparison and never a wrong match; those that match are reported shortest first, as a
//! trie's common-prefix search reports them.

use crate::cache::{Malformed, Packed, Reader, Writer};
use crate::chars::word_end;
use crate::firstword::hash;
use crate::normalize::is_word_char;

/// One name of a group: the pattern, where its text lies in the packed patterns, and the hash
/// its second run must have (when it has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    pattern: u32,
    offset: u32,
    /// The length in bytes, with [`TWO_RUNS`] and [`LAST`].
    len: u32,
    /// The low half of the second run's [`hash`] (a filter: the names are compared whole).
    second: u32,
}

/// In [`Entry::len`]: the name has a second run.
const TWO_RUNS: u32 = 1 << 31;
/// In [`Entry::len`]: the last entry of its group.
const LAST: u32 = 1 << 30;
/// The longest name the index holds: its length shares a u32 with the flags.
const MAX_LEN: usize = (LAST - 1) as usize;

/// The patterns by the hash of their first run (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameIndex {
    /// Open addressing with linear probing, a power of two long and at most half full: each
    /// slot the high half of a first-run hash and one more than the start of its group in
    /// `entries` (0: empty). Eight bytes a slot, so that the table stays small in the cache.
    slots: Vec<u64>,
    /// The groups one after another, each sorted by name length, its last entry flagged.
    entries: Vec<Entry>,
}

impl NameIndex {
    /// The index of `surfaces` (the matcher's folded patterns, by pattern id).
    ///
    /// # Panics
    /// When a pattern is longer than 1 GiB, or the patterns hold 4 GiB together.
    pub(crate) fn new(surfaces: &Packed) -> NameIndex {
        let mut keyed: Vec<(u64, Entry)> = surfaces
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let bytes = p.as_bytes();
                let first = word_end(p, 0);
                // As `SecondWords`: a pattern that starts with no word character counts as one
                // run.
                let second = match p[first..].char_indices().find(|&(_, c)| is_word_char(c)) {
                    Some((at, _)) if first > 0 => {
                        let s = first + at;
                        Some(hash(bytes, s, word_end(p, s)))
                    }
                    _ => None,
                };
                assert!(p.len() <= MAX_LEN, "a name of {} bytes", p.len());
                let entry = Entry {
                    pattern: i as u32,
                    offset: u32::try_from(surfaces.span(i).start).expect("under 4 GiB of names"),
                    len: p.len() as u32 | if second.is_some() { TWO_RUNS } else { 0 },
                    second: second.unwrap_or(0) as u32,
                };
                (hash(bytes, 0, first), entry)
            })
            .collect();
        keyed.sort_unstable_by_key(|&(h, e)| (h >> 32, e.len & !TWO_RUNS, e.pattern));
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
        NameIndex { slots, entries }
    }

    /// Calls `found(pattern, end)` for every pattern of `surfaces` (those the index was made
    /// of) that is `text[from..end]`, where `first` is the [`hash`] of the text's run of word
    /// characters at `from` and `next` that of the text's next run (`None` when there is
    /// none): every pattern that starts at `from` and ends at a word end, and maybe others that
    /// start there. Shortest first.
    #[inline]
    pub(crate) fn walk(
        &self,
        surfaces: &Packed,
        text: &[u8],
        from: usize,
        first: u64,
        next: Option<u64>,
        found: &mut dyn FnMut(u32, usize),
    ) {
        let (mask, tag) = (self.slots.len() - 1, first >> 32);
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
        let names = surfaces.text().as_bytes();
        let second = next.map(|h| h as u32);
        for e in &self.entries[start..] {
            let len = (e.len & !(TWO_RUNS | LAST)) as usize;
            if e.len & TWO_RUNS == 0 || second == Some(e.second) {
                let offset = e.offset as usize;
                if text.get(from..from + len) == names.get(offset..offset + len) {
                    found(e.pattern, from + len);
                }
            }
            if e.len & LAST != 0 {
                break;
            }
        }
    }

    /// Heap bytes of the table and the groups.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.len() * 8 + self.entries.len() * std::mem::size_of::<Entry>()
    }

    /// Appends the index to a start-up cache payload (`cache.rs`).
    pub(crate) fn write_cache(&self, w: &mut Writer) {
        w.len(self.slots.len());
        for &s in &self.slots {
            w.u64(s);
        }
        w.len(self.entries.len());
        for e in &self.entries {
            for v in [e.pattern, e.offset, e.len, e.second] {
                w.u32(v);
            }
        }
    }

    /// The index [`NameIndex::write_cache`] wrote for `surfaces`, checked so that a walk can
    /// neither index outside it nor probe forever: every pattern is one of `surfaces`, at its
    /// place, and every group ends.
    pub(crate) fn read_cache(
        r: &mut Reader<'_>,
        surfaces: &Packed,
    ) -> Result<NameIndex, Malformed> {
        let n = r.len(8)?;
        let slots = (0..n).map(|_| r.u64()).collect::<Result<Vec<u64>, Malformed>>()?;
        let n = r.len(16)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let [pattern, offset, len, second] = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
            let span = (pattern as usize) < surfaces.len();
            let span = span.then(|| surfaces.span(pattern as usize)).ok_or(Malformed)?;
            if span.start != offset as usize || span.len() != (len & !(TWO_RUNS | LAST)) as usize {
                return Err(Malformed);
            }
            entries.push(Entry { pattern, offset, len, second });
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
        Ok(NameIndex { slots, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::read_all;

    fn matches(index: &NameIndex, surfaces: &Packed, text: &str, from: usize) -> Vec<(u32, usize)> {
        let end = word_end(text, from);
        let next = text[end..].char_indices().find(|&(_, c)| is_word_char(c)).map(|(at, _)| {
            let n = end + at;
            hash(text.as_bytes(), n, word_end(text, n))
        });
        let mut found = Vec::new();
        let first = hash(text.as_bytes(), from, end);
        index.walk(surfaces, text.as_bytes(), from, first, next, &mut |p, e| found.push((p, e)));
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
