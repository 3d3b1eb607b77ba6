//! The name automaton: every folded name of a gazetteer in one `aho-corasick` automaton, and the
//! candidates it finds in a folded text, each already checked against the word boundaries.
//!
//! The automaton uses `MatchKind::Standard` and overlapping search on purpose: a leftmost-longest
//! search reports only the longest name at each position, and when that one fails the boundary
//! check the valid shorter name under it would be lost (غاوة1 hides غاو). So every name ending at
//! every position is gathered, the boundary check filters them, and only then the longest valid
//! ones are kept (in `extractor.rs`).

use rustc_hash::FxHashMap;

use aho_corasick::automaton::Automaton;
use aho_corasick::{dfa, AhoCorasick, Anchored, MatchKind, StartKind};

use crate::cache::{u32_at, Malformed, Packed, Reader, Writer};
use crate::chars::{clitic_before, is_word_end, name_start, runs_at_word_start};
use crate::error::{Error, Result};
use crate::firstword::{block_bits, hash, run_bits, Avx2, BlockBits, FirstWords, SecondWords};
use crate::gazetteer::Gazetteer;
use crate::nameindex::NameIndex;
use crate::normalize::{fold_with, FoldTable, NormalizeOptions};

/// One name of one entity: indexes into the gazetteer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NameRef {
    pub(crate) entity: u32,
    pub(crate) name: u32,
}

/// What a pattern of the automaton stands for: the names that fold to it as they are, and the
/// ال-names whose لل-contracted form it is (الجزائر → لجزائر, found in للجزائر). A view into
/// the matcher's tables.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pattern<'m> {
    pub(crate) plain: &'m [NameRef],
    pub(crate) contracted: &'m [NameRef],
    /// Cue flags (`CUE_GIVEN`, `CUE_TITLE`): the pattern is also a word that starts or announces
    /// a person name that no gazetteer lists (see `person.rs`).
    pub(crate) cue: u8,
}

/// Where a pattern's names are in [`Matcher::refs`]: `plain` of them from `start`, then
/// `contracted`. One flat table instead of two vectors per pattern: a million names take 16
/// bytes each here instead of about 90.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    start: u32,
    plain: u32,
    contracted: u32,
    cue: u8,
}

/// Cue flag: a given name (جاك, عبد الله).
pub(crate) const CUE_GIVEN: u8 = 1;
/// Cue flag: a title before a person name (الرئيس, الشيخ).
pub(crate) const CUE_TITLE: u8 = 2;

impl Pattern<'_> {
    /// Whether a plain (not لل-contracted) match of this pattern is a candidate: it names an
    /// entity or it is a cue.
    fn plain_candidate(&self) -> bool {
        !self.plain.is_empty() || self.cue != 0
    }
}

/// A name found in the folded text at a valid position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Start of the token in the folded text: the clitic run when there is one.
    pub(crate) token: usize,
    /// Start of the name in the folded text.
    pub(crate) start: usize,
    /// End of the name in the folded text.
    pub(crate) end: usize,
    /// The pattern that matched.
    pub(crate) pattern: u32,
    /// Whether the match is the لل-contracted form of an ال-name.
    pub(crate) contracted: bool,
    /// The proclitic run before the name, or "".
    pub(crate) clitic: &'static str,
}

/// How candidates are found from each word start and from the end of each proclitic run that
/// starts a word (no failure links to follow: every candidate starts there; most of the text is
/// never looked at). By default, the folded names filed by the hash of their first word
/// ([`NameIndex`]): one probe and a comparison per name filed there, with the hashes the
/// first-word filters already took. On request, an anchored `aho-corasick` DFA walked byte by
/// byte (for gazetteers small enough for a DFA).
enum Walker {
    Index(NameIndex),
    Dfa(Box<dfa::DFA>),
}

impl std::fmt::Debug for Walker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Walker::Index(_) => f.write_str("Index"),
            Walker::Dfa(_) => f.write_str("Dfa"),
        }
    }
}

/// Above this many patterns the character-wise scan is used even when a DFA is asked (a DFA of
/// a million names would take gigabytes).
const DFA_MAX_PATTERNS: usize = 20_000;

/// The automata and the pattern table behind them.
#[derive(Debug)]
pub(crate) struct Matcher {
    /// Unanchored, overlapping: the full-scan path, built only when asked for.
    automaton: Option<AhoCorasick>,
    /// Anchored: the word-start path.
    walker: Walker,
    /// The first words of the patterns: a walk starts only where the text's word is one.
    first_words: FirstWords,
    /// And only where the patterns with that first word may be it alone or go on with the
    /// text's next word.
    second_words: SecondWords,
    slots: Vec<Slot>,
    /// Every pattern's names, in the order of [`Slot`]s.
    refs: Vec<NameRef>,
    /// The folded patterns, in pattern order.
    surfaces: Packed,
}

impl Matcher {
    /// `cues` are folded words with their cue flags, added as patterns of their own (or flagged
    /// on the name they share).
    pub(crate) fn new(
        gazetteer: &Gazetteer,
        cues: &[(String, u8)],
        options: &NormalizeOptions,
        full_scan: bool,
        dfa: bool,
    ) -> Result<Matcher> {
        // Sized for every name and its لل-contracted form up front: growing the table one
        // doubling at a time rehashed a third of the build's work away.
        let names: usize = gazetteer.entities().iter().map(|e| e.names().count()).sum();
        let mut index: FxHashMap<String, u32> =
            FxHashMap::with_capacity_and_hasher(names + names / 2 + cues.len(), Default::default());
        let mut cue_of: Vec<u8> = Vec::new();
        let mut slot = |surface: String| -> u32 {
            let next = index.len() as u32;
            *index.entry(surface).or_insert_with(|| {
                cue_of.push(0);
                next
            })
        };
        // (pattern, contracted, the linking order that does not depend on the text, the name):
        // non-risky names before risky ones, written names before generated variants, canonical
        // names before aliases, then gazetteer order. `extractor.rs` puts an exact written-form
        // match in front of these at match time.
        let mut refs: Vec<(u32, bool, [bool; 3], NameRef)> = Vec::new();
        let table = FoldTable::new(options);
        for (e, entity) in gazetteer.entities().iter().enumerate() {
            for (n, name) in entity.names().enumerate() {
                let folded = fold_with(name.text(), &table).trim().to_string();
                if folded.is_empty() {
                    let source = entity.source();
                    return Err(Error::gazetteer(
                        &source.file,
                        source.line,
                        format!("name {:?} of {:?} folds to nothing", name.text(), entity.id()),
                    ));
                }
                let name_ref = NameRef { entity: e as u32, name: n as u32 };
                let order = [name.is_risky(), name.is_generated(), !name.is_canonical()];
                if let Some(rest) = contracted_form(&folded) {
                    refs.push((slot(rest), true, order, name_ref));
                }
                refs.push((slot(folded), false, order, name_ref));
            }
        }
        let cue_slots: Vec<(u32, u8)> =
            cues.iter().map(|(surface, flags)| (slot(surface.clone()), *flags)).collect();
        for (p, flags) in cue_slots {
            cue_of[p as usize] |= flags;
        }
        let mut surfaces: Vec<String> = vec![String::new(); index.len()];
        for (surface, p) in index {
            surfaces[p as usize] = surface;
        }
        let packed = Packed::new(surfaces.iter().map(String::as_str));
        // The walker (the name index; the DFA or the full-scan automaton, most of a build that
        // asks for them) on one thread, the pattern table and the word filters on another.
        let (walkers, (slots, refs, (first_words, second_words))) = rayon::join(
            || walkers(&surfaces, &packed, full_scan, dfa),
            || {
                refs.sort_unstable_by_key(|&(p, contracted, order, r)| {
                    (p, contracted, order, r.entity, r.name)
                });
                refs.dedup_by_key(|&mut (p, contracted, _, r)| (p, contracted, r));
                let mut slots: Vec<Slot> =
                    cue_of.iter().map(|&cue| Slot { cue, ..Slot::default() }).collect();
                for (i, &(p, contracted, _, _)) in refs.iter().enumerate() {
                    let slot = &mut slots[p as usize];
                    if slot.plain == 0 && slot.contracted == 0 {
                        slot.start = i as u32;
                    }
                    if contracted {
                        slot.contracted += 1;
                    } else {
                        slot.plain += 1;
                    }
                }
                let refs: Vec<NameRef> = refs.into_iter().map(|(_, _, _, r)| r).collect();
                let patterns = || surfaces.iter().map(String::as_str);
                (slots, refs, (FirstWords::new(patterns()), SecondWords::new(patterns())))
            },
        );
        let (automaton, walker) = walkers?;
        Ok(Matcher { automaton, walker, first_words, second_words, slots, refs, surfaces: packed })
    }

    /// Appends the tables to a start-up cache payload (`cache.rs`); `false` (nothing written)
    /// for a matcher with a full-scan automaton or a DFA, which are not cached.
    pub(crate) fn write_cache(&self, w: &mut Writer) -> bool {
        let Walker::Index(index) = &self.walker else { return false };
        if self.automaton.is_some() {
            return false;
        }
        w.len(self.surfaces.len());
        for s in self.surfaces.iter() {
            w.str(s);
        }
        w.len(self.slots.len());
        for slot in &self.slots {
            for v in [slot.start, slot.plain, slot.contracted] {
                w.u32(v);
            }
            w.u8(slot.cue);
        }
        w.len(self.refs.len());
        for r in &self.refs {
            w.u32(r.entity);
            w.u32(r.name);
        }
        self.first_words.write_cache(w);
        self.second_words.write_cache(w);
        index.write_cache(w);
        true
    }

    /// The matcher [`Matcher::write_cache`] wrote. Its tables are checked against each other,
    /// so no lookup can fall outside them; [`Matcher::fits`] checks them against the gazetteer.
    pub(crate) fn read_cache(r: &mut Reader<'_>) -> Result<Matcher, Malformed> {
        let n = r.len(4)?;
        let surfaces = r.packed(n)?;
        let n = r.len(13)?;
        let slots: Vec<Slot> = r
            .items(n, 13)?
            .chunks_exact(13)
            .map(|s| Slot {
                start: u32_at(s, 0),
                plain: u32_at(s, 4),
                contracted: u32_at(s, 8),
                cue: s[12],
            })
            .collect();
        let n = r.len(8)?;
        let refs: Vec<NameRef> = r
            .items(n, 8)?
            .chunks_exact(8)
            .map(|s| NameRef { entity: u32_at(s, 0), name: u32_at(s, 4) })
            .collect();
        let in_range = |slot: &Slot| {
            let end = u64::from(slot.start) + u64::from(slot.plain) + u64::from(slot.contracted);
            end <= refs.len() as u64
        };
        if slots.len() != surfaces.len() || !slots.iter().all(in_range) {
            return Err(Malformed);
        }
        let first_words = FirstWords::read_cache(r)?;
        let second_words = SecondWords::read_cache(r)?;
        let index = NameIndex::read_cache(r, &surfaces)?;
        Ok(Matcher {
            automaton: None,
            walker: Walker::Index(index),
            first_words,
            second_words,
            slots,
            refs,
            surfaces,
        })
    }

    /// Whether every name the tables refer to is one of `gazetteer`'s.
    pub(crate) fn fits(&self, gazetteer: &Gazetteer) -> bool {
        self.refs.iter().all(|r| {
            let entity = gazetteer.entities().get(r.entity as usize);
            entity.is_some_and(|e| (r.name as usize) < e.names().count())
        })
    }

    pub(crate) fn pattern(&self, id: u32) -> Pattern<'_> {
        let slot = self.slots[id as usize];
        let (start, plain) = (slot.start as usize, slot.plain as usize);
        let end = start + plain + slot.contracted as usize;
        Pattern {
            plain: &self.refs[start..start + plain],
            contracted: &self.refs[start + plain..end],
            cue: slot.cue,
        }
    }

    /// Every folded pattern the automaton knows, with the patterns' lists.
    pub(crate) fn surfaces(&self) -> impl Iterator<Item = (&str, Pattern<'_>)> {
        self.surfaces.iter().enumerate().map(|(i, s)| (s, self.pattern(i as u32)))
    }

    /// Heap bytes used by the automata.
    pub(crate) fn memory_usage(&self) -> usize {
        self.automaton.as_ref().map_or(0, AhoCorasick::memory_usage)
            + match &self.walker {
                Walker::Index(index) => index.heap_bytes(),
                Walker::Dfa(a) => a.memory_usage(),
            }
            + self.first_words.heap_bytes()
            + self.second_words.heap_bytes()
    }

    /// The same candidates as [`Matcher::candidates`], found by walking the anchored automaton
    /// only from word starts (`starts`, from the normalizer) and from the ends of the proclitic
    /// runs that start words: most of the text is never fed to an automaton. `starts` must be
    /// every word start of `text`, in order, and `ends` the end of each one's run of word
    /// characters.
    ///
    /// With `marks`, a second filter is asked about every word on the way (the first words of a
    /// relation extractor's triggers), and its answers are appended to the vector: per block of
    /// 64 word starts, the bits of the words that may start one, of the words after a one-letter
    /// and after a two-letter proclitic run (see [`Normalized`](crate::Normalized)).
    pub(crate) fn candidates_at_word_starts(
        &self,
        text: &str,
        (starts, ends): (&[u32], &[u32]),
        out: &mut Vec<Candidate>,
        marks: Option<(&FirstWords, &mut Vec<[u64; 3]>)>,
    ) {
        assert_eq!(starts.len(), ends.len(), "one end for each word start");
        match &self.walker {
            Walker::Index(index) => {
                self.walk_starts(text, (starts, ends), out, marks, |from, first, next, found| {
                    let keys = self.second_words.lookups(first, next);
                    index.walk(&self.surfaces, text.as_bytes(), from, keys, found)
                })
            }
            Walker::Dfa(a) => {
                let aut = &**a;
                let Ok(start) = aut.start_state(Anchored::Yes) else { return };
                self.walk_starts(text, (starts, ends), out, marks, |from, _, _, found| {
                    walk(aut, start, text.as_bytes(), from, found)
                })
            }
        }
    }

    /// `each(from, first, next, found)` calls `found(pattern, end)` for every pattern that
    /// starts at `from` and ends at a word end (and maybe others that start there), where
    /// `first` is the [`hash`] of the text's run of word characters at `from` and `next` that
    /// of the run after it.
    ///
    /// The word starts go in blocks of 64, in two steps. First, which words may begin a name at
    /// their start, and after the proclitic run they start with (bits of three masks), asked of
    /// the first-word filter (`firstword.rs`) with no branch on the answer: a word passes or not
    /// unpredictably, and a loop that branched on each answer spent most of its time on the
    /// branch. With AVX2 the words' hashes and filter bits come four at a time
    /// ([`block_bits`]: 3.5 ns a word instead of 7.8 on news, and 4% off `alam tag`). The words
    /// after a run are asked only for the words that start with one (a loop over the bits of
    /// that mask, [`run_bits`]). Then the walks, word by word in text order, where a bit is
    /// set and the second-word filters ([`SecondWords`]) let the word through with the text's
    /// next word.
    fn walk_starts(
        &self,
        text: &str,
        (starts, word_ends): (&[u32], &[u32]),
        out: &mut Vec<Candidate>,
        mut marks: Option<(&FirstWords, &mut Vec<[u64; 3]>)>,
        each: impl Fn(usize, u64, Option<u64>, &mut dyn FnMut(u32, usize)),
    ) {
        let bytes = text.as_bytes();
        let mut ends = [0u32; 64];
        // The hashes of each word of the block, and of the word after its proclitic run.
        let (mut hashes, mut after_one, mut after_two) = ([0u64; 64], [0u64; 64], [0u64; 64]);
        let other = marks.as_ref().map(|(filter, _)| *filter);
        let avx2 = Avx2::detect();
        for (b, (block, block_ends)) in starts.chunks(64).zip(word_ends.chunks(64)).enumerate() {
            // Every walk from a word reads its run of word characters first.
            ends[..block.len()].copy_from_slice(block_ends);
            debug_assert!(block.iter().enumerate().all(|(k, &word)| {
                ends[k] as usize == crate::chars::word_end(text, word as usize)
            }));
            // Bit k: word k of the block may begin a name at its start; starts with a one-letter,
            // a two-letter proclitic run (and has text after it); may begin a pattern of the
            // other filter.
            let BlockBits { may: whole, marked, ones, twos } =
                block_bits(bytes, block, &ends, &self.first_words, other, &mut hashes, avx2);
            let after_run = |words: u64, run: usize, hashes: &mut [u64; 64]| {
                let filter = &self.first_words;
                run_bits(bytes, block, &ends, run, words, filter, other, hashes, avx2)
            };
            let ((single, marked_one), (pair, marked_two)) =
                (after_run(ones, 2, &mut after_one), after_run(twos, 4, &mut after_two));
            if let Some((_, out)) = marks.as_mut() {
                out.push([marked, marked_one, marked_two]);
            }
            let mut todo = whole | single | pair;
            while todo != 0 {
                let k = todo.trailing_zeros() as usize;
                todo &= todo - 1;
                let (p, bit) = (block[k] as usize, 1u64 << k);
                // The hash of the text's next run of word characters: the next word's.
                let next = match hashes.get(k + 1).filter(|_| k + 1 < block.len()) {
                    Some(&h) => Some(h),
                    None => starts
                        .get(b * 64 + k + 1)
                        .map(|&n| hash(bytes, n as usize, word_ends[b * 64 + k + 1] as usize)),
                };
                let follows = |h: u64| self.second_words.may_follow(h, next);
                if whole & bit != 0 && follows(hashes[k]) {
                    // Names at the word start itself (a clitic may still stand before quotes).
                    each(p, hashes[k], next, &mut |id, end| {
                        if !is_word_end(text, end) || !self.pattern(id).plain_candidate() {
                            return;
                        }
                        if let Some((clitic, token)) = name_start(text, p) {
                            out.push(Candidate {
                                token,
                                start: p,
                                end,
                                pattern: id,
                                contracted: false,
                                clitic,
                            });
                        }
                    });
                }
                // Names after a proclitic run of one or two letters (every proclitic is two
                // bytes, و ف ب ل ك).
                let runs = runs_at_word_start(bytes, p);
                let sets = [(single & bit, after_one[k]), (pair & bit, after_two[k])];
                for (run, (set, h)) in runs.into_iter().zip(sets) {
                    let Some((clitic, after)) = run.filter(|_| set != 0 && follows(h)) else {
                        continue;
                    };
                    each(after, h, next, &mut |id, end| {
                        if !is_word_end(text, end) {
                            return;
                        }
                        let pattern = self.pattern(id);
                        if pattern.plain_candidate() {
                            out.push(Candidate {
                                token: p,
                                start: after,
                                end,
                                pattern: id,
                                contracted: false,
                                clitic,
                            });
                        }
                        if !pattern.contracted.is_empty() && clitic.ends_with('ل') {
                            out.push(Candidate {
                                token: p,
                                start: after,
                                end,
                                pattern: id,
                                contracted: true,
                                clitic,
                            });
                        }
                    });
                }
            }
        }
    }

    /// Every name in `text` (folded) that starts a word or follows a proclitic run that starts
    /// one, and ends a word; in the order the automaton reports them.
    pub(crate) fn candidates(&self, text: &str, out: &mut Vec<Candidate>) {
        let Some(automaton) = &self.automaton else {
            let starts = word_starts(text);
            let ends: Vec<u32> =
                starts.iter().map(|&s| crate::chars::word_end(text, s as usize) as u32).collect();
            return self.candidates_at_word_starts(text, (&starts, &ends), out, None);
        };
        let found = automaton
            .find_overlapping_iter(text)
            .map(|m| (m.start(), m.end(), m.pattern().as_u32()));
        self.filter_matches(text, found, out);
    }

    /// Keeps the matches `(start, end, pattern)` of an overlapping scan that start a word or
    /// follow a proclitic run that starts one, and end a word.
    fn filter_matches(
        &self,
        text: &str,
        found: impl Iterator<Item = (usize, usize, u32)>,
        out: &mut Vec<Candidate>,
    ) {
        for (start, end, id) in found {
            if !is_word_end(text, end) {
                continue;
            }
            let pattern = self.pattern(id);
            if pattern.plain_candidate() {
                if let Some((clitic, token)) = name_start(text, start) {
                    out.push(Candidate {
                        token,
                        start,
                        end,
                        pattern: id,
                        contracted: false,
                        clitic,
                    });
                }
            }
            if !pattern.contracted.is_empty() {
                // للجزائر: the run before لجزائر must end in ل (ل, ول, فل).
                if let Some((clitic, token)) = clitic_before(text, start) {
                    if clitic.ends_with('ل') {
                        out.push(Candidate {
                            token,
                            start,
                            end,
                            pattern: id,
                            contracted: true,
                            clitic,
                        });
                    }
                }
            }
        }
    }
}

/// The full-scan automaton (when asked for) and the walker of `surfaces`, in pattern order.
fn walkers(
    surfaces: &[String],
    packed: &Packed,
    full_scan: bool,
    dfa: bool,
) -> Result<(Option<AhoCorasick>, Walker)> {
    let automaton = if full_scan {
        Some(
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(surfaces)
                .map_err(Error::automaton)?,
        )
    } else {
        None
    };
    let walker = if dfa && surfaces.len() <= DFA_MAX_PATTERNS {
        Walker::Dfa(Box::new(
            dfa::Builder::new()
                .match_kind(MatchKind::Standard)
                .start_kind(StartKind::Anchored)
                .build(surfaces)
                .map_err(Error::automaton)?,
        ))
    } else {
        Walker::Index(NameIndex::new(packed))
    };
    Ok((automaton, walker))
}

/// The character-wise trie of `surfaces`, each with its index as the value (the trigger trie of
/// the relations).
pub(crate) fn trie(surfaces: &[String]) -> Result<crawdad::Trie> {
    let mut records: Vec<(&str, u32)> =
        surfaces.iter().enumerate().map(|(i, s)| (s.as_str(), i as u32)).collect();
    records.sort_unstable();
    crawdad::Trie::from_records(records).map_err(Error::trie)
}

/// The word starts of a folded text (the normalizer records them as it goes; this is for
/// callers without them).
fn word_starts(text: &str) -> Vec<u32> {
    text.char_indices()
        .filter(|&(i, c)| crate::chars::is_word_char(c) && crate::chars::is_word_start(text, i))
        .map(|(i, _)| i as u32)
        .collect()
}

/// Walks the trie from `from` and calls `found(pattern, end)` for every name that starts exactly
/// at `from`, with `end` in bytes.
#[inline]
pub(crate) fn prefixes(
    trie: &crawdad::Trie,
    text: &str,
    from: usize,
    found: &mut dyn FnMut(u32, usize),
) {
    // The search reports a name right after reading its last character, so the byte offset
    // after the last character read is its end. U+FFFF is crawdad's end marker, which no name
    // holds (the loaders refuse it): read as text, it would step to the leaf of the name just
    // read and report that name again one character longer, so the walk stops before it.
    let end = std::cell::Cell::new(from);
    let chars =
        text[from..].char_indices().take_while(|&(_, c)| c != crawdad::END_MARKER).map(|(i, c)| {
            end.set(from + i + c.len_utf8());
            c
        });
    for (id, _) in trie.common_prefix_search(chars) {
        found(id, end.get());
    }
}

/// Walks the anchored automaton from `from` and calls `found(pattern, end)` for every pattern
/// that starts exactly at `from`. (Match states also carry patterns that only end there, via
/// suffix links; their length tells them apart.)
#[inline]
fn walk<A: Automaton>(
    aut: &A,
    start: aho_corasick::automaton::StateID,
    bytes: &[u8],
    from: usize,
    found: &mut dyn FnMut(u32, usize),
) {
    let mut sid = start;
    for (i, &b) in bytes[from..].iter().enumerate() {
        sid = aut.next_state(Anchored::Yes, sid, b);
        if aut.is_special(sid) {
            if aut.is_dead(sid) {
                return;
            }
            if aut.is_match(sid) {
                let len = i + 1;
                for k in 0..aut.match_len(sid) {
                    let pid = aut.match_pattern(sid, k);
                    if aut.pattern_len(pid) == len {
                        found(pid.as_u32(), from + len);
                    }
                }
            }
        }
    }
}

/// The لل-contracted form of a folded ال-name: الجزائر → لجزائر. `None` for other names, and for
/// names where the article is followed by nothing that could start a word.
pub(crate) fn contracted_form(folded: &str) -> Option<String> {
    let rest = folded.strip_prefix("ال")?;
    let next = rest.chars().next()?;
    crate::chars::is_word_char(next).then(|| format!("ل{rest}"))
}
