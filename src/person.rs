//! Person names that no gazetteer lists, guessed from the words around them.
//!
//! News name far more people than any list can hold. alam guesses a person name, in folded
//! text, from three cues, all data in `gazetteers/rules/`:
//!
//! - a **given name** (`person_words.tsv` role `given`, mined from the ANERcorp train split, and
//!   the hand-written `given_names_extra.txt`) followed by one to four name words: جاك شيراك,
//!   عبد الله غل, محمد بن راشد آل مكتوم;
//! - a **title** (`person_titles.txt`: الرئيس, الشيخ, المدرب...) followed by name words, with a
//!   nationality adjective the gazetteer knows allowed in between (الرئيس الفنزويلي شافيز);
//! - a **surname** of a name guessed earlier in the same text, standing alone (شيراك after جاك
//!   شيراك), linked to the same guessed entity.
//!
//! A name word is a connector inside names (بن, آل, أبو, عبد, دي...), a known name word
//! (`person_words.tsv` role `name`: words the train split tags inside person names more often
//! than outside), a given name, or a word that is no ordinary Arabic word (not in
//! `common_words.txt`, even without a proclitic letter): foreign surnames are mostly such words.
//! A name never runs over punctuation, a gazetteer mention, or a title. The guessed entity's id
//! is `guess:` and the folded name with `_` for spaces, so every spelling that folds alike
//! links to one id.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::OnceLock;

use crate::cache::{Malformed, Reader, Writer};
use crate::chars::{is_word_char, runs_at_word_start, word_end, CLITIC_RUNS};
use crate::commonwords;
use crate::error::{Error, ErrorKind, Result};
use crate::firstword::{word_end_before, FirstWords};
use crate::matcher::{CUE_GIVEN, CUE_TITLE};
use crate::normalize::{fold, NormalizeOptions};

const PERSON_WORDS: &str = include_str!("../gazetteers/rules/person_words.tsv");
const GIVEN_EXTRA: &str = include_str!("../gazetteers/rules/given_names_extra.txt");
const TITLES: &str = include_str!("../gazetteers/rules/person_titles.txt");

/// Words that join the parts of a name (folded): بن محمد, آل ثاني, أبو بكر, عبد الله, دي
/// ميستورا, فان خال. A name never ends with one.
const CONNECTORS: &[&str] = &[
    "بن", "ابن", "بنت", "ال", "ابو", "ابي", "ام", "عبد", "ولد", "دي", "دا", "دو", "فان", "فون",
    "ديل", "لا", "سان",
];

/// Second halves of compound given names (عبد الله, نور الدين): never a surname on their own.
const SECOND_HALVES: &[&str] =
    &["الله", "الدين", "الرحمن", "الرحيم", "العزيز", "الكريم", "الحق", "الاسلام"];

/// At most this many words follow the cue in one guessed name.
const MAX_WORDS: usize = 4;

/// Up to this many surnames are looked for by substring search, more by one pass over the word
/// starts ([`PersonRules::surnames`]). A SIMD search reads a news article at several bytes a
/// cycle, the word pass costs tens of cycles a word: on 46 MB of news, searching for up to 64
/// surnames took 0.057 s where a limit of 8 took 0.067 s and the word pass alone 0.10 s.
const FEW_SURNAMES: usize = 64;

/// A given name (`person_words.tsv` role `given`, `given_names_extra.txt`): a flag of
/// [`PersonRules`]'s words.
const GIVEN: u8 = 1;
/// A known name word (`person_words.tsv` role `name`).
const NAME: u8 = 2;
/// A title (`person_titles.txt`).
const TITLE: u8 = 4;
/// One of the [`CONNECTORS`].
const CONNECTOR: u8 = 8;

/// The words of the person rules, folded.
#[derive(Debug, Default)]
pub(crate) struct PersonRules {
    /// Each word with what it is ([`GIVEN`], [`NAME`], [`TITLE`], [`CONNECTOR`]): one lookup
    /// tells how a word may stand in a name, where a set per role took up to five (and a scan
    /// of the connectors).
    words: HashMap<String, u8>,
    /// [`PersonRules::cues`], made on first use: only an extractor built afresh needs them,
    /// not one read from the start-up cache (0.1 ms of every start-up).
    cues: OnceLock<Vec<(String, u8)>>,
}

/// A cue the automaton found: a given name or a title, in folded coordinates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cue {
    pub(crate) token: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) clitic: &'static str,
    pub(crate) flags: u8,
}

/// A span already taken by a gazetteer mention (folded token start, end), whether it is a
/// nationality adjective (which may stand between a title and a name) and whether it is a
/// person.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Taken {
    pub(crate) token: usize,
    pub(crate) end: usize,
    pub(crate) norp: bool,
    pub(crate) per: bool,
}

/// A guessed person name in folded coordinates, with the folded full name that keys its entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Guess {
    pub(crate) token: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) clitic: &'static str,
    /// The folded full name: for a lone surname, the name it was first seen in.
    pub(crate) key: String,
}

/// How a word may take part in a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Connector,
    Name,
}

impl PersonRules {
    /// The rules shipped in `gazetteers/rules/`.
    /// Parsed once per process: every extractor built shares them.
    pub(crate) fn embedded() -> Result<&'static PersonRules> {
        PersonRules::embedded_or(None)
    }

    /// [`PersonRules::embedded`], made of `cached` (the rules a start-up cache holds, written
    /// by [`PersonRules::write_cache`] from these same shipped files) instead of parsing and
    /// folding the files again, when the process has not made them yet: 2.7 M instructions
    /// less of every `alam tag` start-up.
    pub(crate) fn embedded_or(cached: Option<PersonRules>) -> Result<&'static PersonRules> {
        static RULES: OnceLock<std::result::Result<PersonRules, (String, usize, String)>> =
            OnceLock::new();
        let parts = |e: Error| match e.kind() {
            ErrorKind::Gazetteer { file, line, message } => (file.clone(), *line, message.clone()),
            _ => ("gazetteers/rules".to_string(), 0, e.to_string()),
        };
        let make = || match cached {
            Some(rules) => Ok(rules),
            None => PersonRules::parse_embedded().map_err(parts),
        };
        match RULES.get_or_init(make) {
            Ok(rules) => Ok(rules),
            Err((file, line, message)) => Err(Error::gazetteer(file, *line, message.clone())),
        }
    }

    fn parse_embedded() -> Result<PersonRules> {
        let options = NormalizeOptions::default();
        let mut rules = PersonRules::default();
        let file = "gazetteers/rules/person_words.tsv";
        let mut header = false;
        for (i, line) in PERSON_WORDS.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if !header {
                header = true;
                continue;
            }
            let bad = |why: &str| Error::gazetteer(file, i + 1, why.to_string());
            let (word, role) =
                line.split_once('\t').ok_or_else(|| bad("expected word<TAB>role"))?;
            let word = fold(word.trim(), &options);
            let flag = match role.trim() {
                "given" => GIVEN,
                "name" => NAME,
                other => return Err(bad(&format!("unknown role {other:?} (given or name)"))),
            };
            *rules.words.entry(word).or_default() |= flag;
        }
        for (words, flag) in [(GIVEN_EXTRA, GIVEN), (TITLES, TITLE)] {
            for line in words.lines().map(str::trim) {
                if !line.is_empty() && !line.starts_with('#') {
                    let word =
                        fold(line, &options).split_whitespace().collect::<Vec<_>>().join(" ");
                    *rules.words.entry(word).or_default() |= flag;
                }
            }
        }
        // A connector starts no name by itself (ابو, بن are mined as first words).
        for &connector in CONNECTORS {
            let flags = rules.words.entry(connector.to_string()).or_default();
            *flags = (*flags & !GIVEN) | CONNECTOR;
        }
        Ok(rules)
    }

    /// The flags of `word` (0 for a word of none of the lists).
    fn flags(&self, word: &str) -> u8 {
        self.words.get(word).copied().unwrap_or(0)
    }

    /// The words with all of `flags`, sorted.
    #[cfg(test)]
    fn with(&self, flags: u8) -> Vec<&str> {
        let mut words: Vec<&str> =
            self.words.iter().filter(|&(_, f)| f & flags == flags).map(|(w, _)| &w[..]).collect();
        words.sort_unstable();
        words
    }

    /// Whether there are no words at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Appends the folded words to a start-up cache payload (`cache.rs`).
    pub(crate) fn write_cache(&self, w: &mut Writer) {
        w.len(self.words.len());
        for (word, &flags) in &self.words {
            w.str(word);
            w.u8(flags);
        }
    }

    /// The rules [`PersonRules::write_cache`] wrote.
    pub(crate) fn read_cache(r: &mut Reader<'_>) -> std::result::Result<PersonRules, Malformed> {
        let n = r.len(5)?;
        let mut words = HashMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let word = r.string()?;
            words.insert(word, r.u8()?);
        }
        Ok(PersonRules { words, cues: OnceLock::new() })
    }

    /// The cue words for the automaton: every given name and title, with its flags, folded
    /// with the default options, sorted.
    pub(crate) fn cues(&self) -> &[(String, u8)] {
        self.cues.get_or_init(|| {
            let mut cues: Vec<(String, u8)> = Vec::new();
            for (word, &flags) in &self.words {
                for (flag, cue) in [(GIVEN, CUE_GIVEN), (TITLE, CUE_TITLE)] {
                    if flags & flag != 0 {
                        cues.push((word.clone(), cue));
                    }
                }
            }
            cues.sort();
            cues
        })
    }

    /// Whether `word` is a given name or a known name word.
    fn known(&self, word: &str) -> bool {
        self.flags(word) & (GIVEN | NAME) != 0
    }

    /// How `word` (folded, without proclitics) may stand inside a name, if at all.
    fn role(&self, word: &str) -> Option<Role> {
        let flags = self.flags(word);
        if flags & CONNECTOR != 0 {
            return Some(Role::Connector);
        }
        if flags & TITLE != 0 {
            return None;
        }
        // ومحمد: the conjunction starts the next name of a list.
        if word.strip_prefix('و').is_some_and(|rest| self.known(rest)) {
            return None;
        }
        if flags & (GIVEN | NAME) != 0 {
            return Some(Role::Name);
        }
        let letters = word.chars().count();
        if letters < 3 || !word.chars().all(|c| ('\u{0621}'..='\u{064A}').contains(&c)) {
            return None;
        }
        // وشقيقه, ولوبرون: a word glued to the conjunction starts the next item of a list.
        if word.starts_with('و') || ordinary(word) {
            return None;
        }
        Some(Role::Name)
    }

    /// Guesses the person names of a folded text. `cues` and `taken` are sorted by token start;
    /// `taken` spans never overlap. The guesses come sorted, overlap nothing taken and each
    /// other.
    pub(crate) fn guess(
        &self,
        folded: &str,
        word_starts: &[u32],
        cues: &[Cue],
        taken: &[Taken],
    ) -> Vec<Guess> {
        let mut out: Vec<Guess> = Vec::new();
        let mut free_from = 0usize;
        for cue in cues {
            if cue.token < free_from || overlaps(taken, cue.token, cue.end) {
                continue;
            }
            let guess = if cue.flags & CUE_GIVEN != 0 {
                self.after_given(folded, cue, taken)
            } else {
                self.after_title(folded, cue, taken)
            };
            if let Some(g) = guess {
                if g.token >= free_from {
                    free_from = g.end;
                    out.push(g);
                }
            }
        }
        if !out.is_empty() {
            self.surnames(folded, word_starts, taken, &mut out);
        }
        out
    }

    /// جاك شيراك: the given name, then name words.
    fn after_given(&self, folded: &str, cue: &Cue, taken: &[Taken]) -> Option<Guess> {
        let end = self.extend(folded, cue.end, taken)?;
        let (mut token, mut start) = (cue.token, cue.start);
        // عمر حسن البشير where only حسن is a cue: known name words before it belong to the name
        // (not after a proclitic: وحسن starts a new name in a list).
        if cue.clitic.is_empty() {
            for _ in 0..2 {
                let Some((ws, we)) = word_before(folded, start) else { break };
                let word = &folded[ws..we];
                if !self.known(word) || SECOND_HALVES.contains(&word) || overlaps(taken, ws, we) {
                    break;
                }
                (token, start) = (ws, ws);
            }
        }
        Some(Guess { token, start, end, clitic: cue.clitic, key: folded[start..end].to_string() })
    }

    /// الرئيس شافيز, الرئيس الفنزويلي هوغو شافيز: the name after the title (and after a
    /// nationality adjective the gazetteer knows).
    fn after_title(&self, folded: &str, cue: &Cue, taken: &[Taken]) -> Option<Guess> {
        let mut at = cue.end;
        let (mut ws, mut we) = word_after(folded, at)?;
        if let Some(t) = taken_at(taken, ws) {
            if !t.norp {
                return None;
            }
            at = t.end;
            (ws, we) = word_after(folded, at)?;
        }
        let first = &folded[ws..we];
        // الرئيس السوداني, الكاتب الساخر: right after a title, a word with the article is an
        // adjective unless it is a known name word.
        let article = ["ال", "بال", "وال", "كال", "فال", "لل"].iter().any(|a| first.starts_with(a));
        if article && !self.known(first) {
            return None;
        }
        if overlaps(taken, ws, we) || self.role(first) != Some(Role::Name) {
            return None;
        }
        let end = self.extend(folded, at, taken).filter(|&e| e > ws)?;
        // المدرب مانويل جوزيه where the gazetteer knows جوزيه: the given name alone is no name.
        if word_after(folded, end).is_some_and(|(s, _)| taken_at(taken, s).is_some_and(|t| t.per)) {
            return None;
        }
        Some(Guess { token: ws, start: ws, end, clitic: "", key: folded[ws..end].to_string() })
    }

    /// The end of the name words that follow `at` (one space apart, at most [`MAX_WORDS`],
    /// ending on a name word, not a connector), or `None` when no name word follows.
    fn extend(&self, folded: &str, mut at: usize, taken: &[Taken]) -> Option<usize> {
        let mut last = None;
        for _ in 0..MAX_WORDS {
            let Some((ws, we)) = word_after(folded, at) else { break };
            if overlaps(taken, ws, we) {
                break;
            }
            match self.role(&folded[ws..we]) {
                Some(Role::Connector) => {}
                Some(Role::Name) => last = Some(we),
                None => break,
            }
            at = we;
        }
        last
    }

    /// Lone surnames of the guessed names later in the text: شيراك after جاك شيراك, also with
    /// a proclitic (ولشيراك), linked to the full name's key.
    fn surnames(&self, folded: &str, word_starts: &[u32], taken: &[Taken], out: &mut Vec<Guess>) {
        // (surname, key, where the full name ends), the first full name for each surname
        let mut known: Vec<(String, String, usize)> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::default();
        for g in out.iter() {
            let name = &folded[g.start..g.end];
            let mut words = name.split(' ');
            let last = words.next_back().unwrap_or("");
            let before = words.next_back();
            let compound = before.is_some_and(|w| CONNECTORS.contains(&w));
            if before.is_none()
                || compound
                || last.chars().count() < 3
                || SECOND_HALVES.contains(&last)
                || self.flags(last) & GIVEN != 0
                || commonwords::contains(last)
                || !seen.insert(last)
            {
                continue;
            }
            known.push((last.to_string(), g.key.clone(), g.end));
        }
        if known.is_empty() {
            return;
        }
        let mut found: Vec<Guess> = Vec::new();
        let mut take = |ws: usize, at: usize, we: usize, clitic: &'static str, key: &String| {
            if !overlaps(taken, ws, we) && !overlaps_guesses(out, ws, we) {
                found.push(Guess { token: ws, start: at, end: we, clitic, key: key.clone() });
            }
        };
        let hits = if known.len() <= FEW_SURNAMES {
            surnames_by_search(folded, &known)
        } else {
            surnames_by_word(folded, word_starts, &known)
        };
        for (ws, at, we, clitic, key) in hits {
            take(ws, at, we, clitic, key);
        }
        if !found.is_empty() {
            out.extend(found);
            out.sort_by_key(|g| g.token);
        }
    }
}

/// A lone surname found in the text: (token start, surname start, end, proclitic run, key).
type SurnameHit<'k> = (usize, usize, usize, &'static str, &'k String);

/// The lone surnames of `known` (surname, key, where the full name ends) in `folded`: each a
/// whole word, or one after a proclitic run that starts the word, after its full name; one per
/// word (the shortest run first), in text order. A news article names a few people: a SIMD
/// substring search per surname, each hit checked as a word, is far cheaper than visiting every
/// word start as [`surnames_by_word`] does (the tests check that both find the same).
fn surnames_by_search<'k>(
    folded: &str,
    known: &'k [(String, String, usize)],
) -> Vec<SurnameHit<'k>> {
    let mut hits: Vec<SurnameHit<'k>> = Vec::new();
    for (surname, key, end) in known {
        let finder =
            memchr::memmem::FinderBuilder::new().build_forward_with_ranker(ArabicBytes, surname);
        // A hit counts from the end of its full name on (its token starts there or later).
        let mut from = *end;
        while let Some(i) = finder.find(&folded.as_bytes()[from..]) {
            let (at, we) = (from + i, from + i + surname.len());
            // Overlapping hits too: a hit inside a word must not hide one after it.
            from = at + 1;
            if !crate::chars::is_word_end(folded, we) {
                continue;
            }
            let (clitic, ws) = if crate::chars::is_word_start(folded, at) {
                ("", at)
            } else {
                match crate::chars::clitic_before(folded, at) {
                    Some(run) => run,
                    None => continue,
                }
            };
            if *end <= ws {
                hits.push((ws, at, we, clitic, key));
            }
        }
    }
    hits.sort_by_key(|h| (h.0, h.1));
    hits.dedup_by_key(|h| h.0);
    hits
}

/// Byte frequencies for the substring search of lone surnames: memchr's default ranks are
/// made for English-like text, where 0xD8 and 0xD9 are rare; in folded Arabic they lead every
/// letter, so a search keyed on them stopped at nearly every letter. Ranked rarest first, the
/// search keys on the rarer letters of the surname instead (the search took half the time).
struct ArabicBytes;

impl memchr::arch::all::packedpair::HeuristicFrequencyRank for ArabicBytes {
    fn rank(&self, byte: u8) -> u8 {
        ARABIC_BYTE_RANKS[usize::from(byte)]
    }
}

/// The rank of each byte in folded Arabic news, 0 for the rarest, 255 for the most frequent:
/// counted over ANERcorp (316 articles, CC BY-SA 4.0) by
/// `cargo run --release --example byte_ranks -- ../shared/data/anercorp/ANERCorp.txt`.
#[rustfmt::skip]
const ARABIC_BYTE_RANKS: [u8; 256] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31, 253, 186, 222, 159, 32, 199, 160, 202, 217, 216, 189, 154, 215, 213,
    231, 201, 221, 219, 218, 210, 209, 211, 208, 206, 207, 212, 205, 167, 33, 171, 191, 155, 34,
    35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 60, 174, 61, 178, 62, 63, 64, 196, 179, 187, 182, 197, 172, 180, 185, 195, 156, 168, 194,
    190, 200, 203, 181, 161, 192, 188, 193, 175, 169, 183, 166, 173, 157, 65, 66, 67, 68, 69, 176,
    240, 238, 237, 251, 249, 246, 247, 248, 70, 250, 71, 225, 72, 73, 74, 75, 76, 77, 78, 79, 80,
    81, 82, 83, 170, 84, 184, 164, 165, 85, 198, 86, 223, 87, 88, 89, 90, 162, 252, 243, 91, 244,
    228, 235, 236, 230, 241, 226, 245, 229, 239, 234, 232, 227, 233, 220, 242, 224, 204, 158, 92,
    93, 94, 95, 96, 214, 163, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110,
    111, 112, 113, 114, 115, 116, 255, 254, 117, 118, 119, 120, 121, 122, 123, 124, 177, 125, 126,
    127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145,
    146, 147, 148, 149, 150, 151, 152, 153,
];

/// [`surnames_by_search`] for many surnames (a whole corpus passed as one text): one pass over
/// the word starts after the first full name.
fn surnames_by_word<'k>(
    folded: &str,
    word_starts: &[u32],
    known: &'k [(String, String, usize)],
) -> Vec<SurnameHit<'k>> {
    let first_end = known.iter().map(|k| k.2).min().unwrap_or(0);
    let mut hits: Vec<SurnameHit<'k>> = Vec::new();
    // One pass over the word starts after the first full name; a word is looked up only when
    // the first-word filter of the surnames lets it through (a surname is one word).
    let filter = FirstWords::new(known.iter().map(|(s, _, _)| s.as_str()));
    let by_surname: HashMap<&str, (&String, usize)> =
        known.iter().map(|(s, key, end)| (s.as_str(), (key, *end))).collect();
    let bytes = folded.as_bytes();
    let from = word_starts.partition_point(|&w| (w as usize) < first_end);
    for (i, &ws) in word_starts.iter().enumerate().skip(from) {
        let ws = ws as usize;
        let next = word_starts.get(i + 1).map_or(bytes.len(), |&n| n as usize);
        let we = word_end_before(folded, ws, next);
        // The word itself, then after each proclitic run it starts with (و, ول...).
        let runs = runs_at_word_start(bytes, ws).into_iter().flatten();
        for (clitic, at) in std::iter::once(("", ws)).chain(runs) {
            if at > we || !filter.may_start(bytes, at, we) {
                continue;
            }
            let Some(&(key, _)) = by_surname.get(&folded[at..we]).filter(|(_, end)| *end <= ws)
            else {
                continue;
            };
            hits.push((ws, at, we, clitic, key));
            break;
        }
    }
    hits
}

/// Whether `word` (folded) is an ordinary word: a common word itself, or one once a proclitic
/// run, the article, the future prefix س and a pronoun suffix or the accusative ا are taken off
/// (بزفافه, المتنقله, سيسافر, مقاطعته, محققا).
fn ordinary(word: &str) -> bool {
    let common = commonwords::contains;
    if common(word) {
        return true;
    }
    // The word with its prefixes taken off, without allocating: at most 1 + 11 runs, each
    // with two more.
    let mut heads: [&str; 36] = [""; 36];
    heads[0] = word;
    let mut n = 1;
    for run in CLITIC_RUNS {
        if let Some(rest) = word.strip_prefix(run) {
            heads[n] = rest;
            n += 1;
        }
    }
    let stripped = n;
    for i in 0..stripped {
        let h = heads[i];
        if let Some(rest) = h.strip_prefix("ال").or_else(|| h.strip_prefix('ل')) {
            heads[n] = rest;
            n += 1;
        }
        if let Some(rest) = h.strip_prefix('س').filter(|r| r.starts_with(['ي', 'ت', 'ن', 'ا']))
        {
            heads[n] = rest;
            n += 1;
        }
    }
    let long_enough = |s: &str| s.chars().nth(1).is_some();
    // مقاطعت + ه: the teh marbuta of مقاطعه turns into ت before a suffix.
    let teh_marbuta = |t: &str| {
        let mut buf = [0u8; 128];
        let bytes = t.as_bytes();
        let Some(slot) = buf.get_mut(..bytes.len() + 2) else { return false };
        slot[..bytes.len()].copy_from_slice(bytes);
        slot[bytes.len()..].copy_from_slice("ه".as_bytes());
        std::str::from_utf8(slot).is_ok_and(common)
    };
    heads[..n].iter().any(|&h| {
        (h.len() < word.len() && long_enough(h) && common(h))
            || ["ه", "ها", "هم", "هما", "هن", "كم", "نا", "ا"].iter().any(|suffix| {
                h.strip_suffix(suffix).filter(|s| long_enough(s)).is_some_and(|stem| {
                    common(stem) || stem.strip_suffix('ت').is_some_and(teh_marbuta)
                })
            })
    })
}

/// The taken span whose token starts at `pos`.
fn taken_at(taken: &[Taken], pos: usize) -> Option<&Taken> {
    taken.binary_search_by_key(&pos, |t| t.token).ok().map(|i| &taken[i])
}

/// Whether `[start, end)` overlaps a taken span (sorted by token, not overlapping).
fn overlaps(taken: &[Taken], start: usize, end: usize) -> bool {
    let i = taken.partition_point(|t| t.end <= start);
    taken.get(i).is_some_and(|t| t.token < end)
}

fn overlaps_guesses(guesses: &[Guess], start: usize, end: usize) -> bool {
    let i = guesses.partition_point(|g| g.end <= start);
    guesses.get(i).is_some_and(|g| g.token < end)
}

/// The word right after `at` when exactly one space separates them: `(start, end)`.
fn word_after(folded: &str, at: usize) -> Option<(usize, usize)> {
    let rest = folded.get(at..)?.strip_prefix(' ')?;
    if !rest.chars().next().is_some_and(is_word_char) {
        return None;
    }
    let ws = at + 1;
    Some((ws, word_end(folded, ws)))
}

/// The word right before `at` when exactly one space separates them: `(start, end)`.
fn word_before(folded: &str, at: usize) -> Option<(usize, usize)> {
    let before = folded.get(..at)?.strip_suffix(' ')?;
    let we = before.len();
    let ws =
        before.char_indices().rev().take_while(|&(_, c)| is_word_char(c)).last().map(|(i, _)| i)?;
    Some((ws, we))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn byte_ranks_order_every_byte_and_put_arabic_leads_and_the_space_last() {
        let mut seen = [false; 256];
        for &rank in &ARABIC_BYTE_RANKS {
            assert!(!seen[usize::from(rank)], "rank {rank} twice");
            seen[usize::from(rank)] = true;
        }
        let mut top: Vec<u8> = (0..=255).collect();
        top.sort_by_key(|&b| std::cmp::Reverse(ARABIC_BYTE_RANKS[usize::from(b)]));
        assert_eq!(top[..3], [0xD8, 0xD9, b' ']);
        // Alef (D8 A7) and lam (D9 84) are the most frequent letters.
        assert!(ARABIC_BYTE_RANKS[0xA7] > ARABIC_BYTE_RANKS[0x8C]);
    }

    #[test]
    fn lone_surnames_as_words_and_after_proclitics() {
        let folded =
            fold("قال شيراك، ولشيراك الشيراك وشيراكي Lee وLee", &NormalizeOptions::default());
        let known = vec![
            ("شيراك".to_string(), "k1".to_string(), 0),
            (fold("Lee", &NormalizeOptions::default()), "k2".to_string(), 0),
        ];
        let n = crate::normalize(&folded, &NormalizeOptions::default()).unwrap();
        for hits in [
            surnames_by_search(&folded, &known),
            surnames_by_word(&folded, n.word_starts(), &known),
        ] {
            let found: Vec<(&str, &str, &str)> =
                hits.iter().map(|h| (&folded[h.0..h.2], h.3, h.4.as_str())).collect();
            assert_eq!(
                found,
                [
                    ("شيراك", "", "k1"),
                    ("ولشيراك", "ول", "k1"),
                    ("lee", "", "k2"),
                    ("وlee", "و", "k2")
                ]
            );
        }
    }

    proptest! {
        /// Both ways of finding lone surnames find the same ones: texts of surnames, their
        /// look-alikes (longer words that start or end with one, proclitic runs before one)
        /// and other words, with punctuation between.
        #[test]
        fn surname_search_equals_the_word_start_pass(
            words in prop::collection::vec(0usize..14, 0..60),
            seps in prop::collection::vec(0usize..4, 60),
            ends in prop::collection::vec(0usize..200, 1..6),
        ) {
            let vocabulary = [
                "شيراك", "وشيراك", "ولشيراك", "بشيراك", "شيراكي", "الشيراك", "كشيراكك",
                "دوبوا", "فدوبوا", "دوبوادوبوا", "Lee", "وLee", "Leeds", "قال",
            ];
            let separators = [" ", "، ", " (", "\n"];
            let mut text = String::new();
            for (i, &w) in words.iter().enumerate() {
                text.push_str(vocabulary[w]);
                text.push_str(separators[seps[i]]);
            }
            let folded = fold(&text, &NormalizeOptions::default());
            let n = crate::normalize(&folded, &NormalizeOptions::default()).unwrap();
            prop_assert_eq!(n.text(), folded.as_str());
            let surnames = ["شيراك", "دوبوا", "Lee", "كشيراكك", "الشيراك"];
            let known: Vec<(String, String, usize)> = ends
                .iter()
                .enumerate()
                .map(|(i, &e)| {
                    let mut end = e.min(folded.len());
                    while !folded.is_char_boundary(end) {
                        end -= 1;
                    }
                    let surname = fold(surnames[i % surnames.len()], &NormalizeOptions::default());
                    (surname, format!("key{i}"), end)
                })
                .collect();
            let mut known_once = known.clone();
            known_once.dedup_by(|a, b| a.0 == b.0);
            let by_search = surnames_by_search(&folded, &known_once);
            let by_word = surnames_by_word(&folded, n.word_starts(), &known_once);
            prop_assert_eq!(by_search, by_word);
        }
    }

    /// The rules a start-up cache holds read back as the shipped ones, and a damaged part is
    /// refused.
    #[test]
    fn cached_rules_read_back_as_the_shipped_ones() {
        let rules = PersonRules::parse_embedded().unwrap();
        let mut w = Writer::default();
        rules.write_cache(&mut w);
        let bytes = w.finish();
        let back = crate::cache::read_all(&bytes, PersonRules::read_cache).unwrap();
        assert_eq!(back.words, rules.words);
        assert_eq!(back.cues(), rules.cues());
        assert!(!back.is_empty() && PersonRules::default().is_empty());
        assert!(crate::cache::read_all(&bytes[..bytes.len() - 1], PersonRules::read_cache).is_err());
    }

    #[test]
    fn embedded_rules_load() {
        let rules = PersonRules::embedded().unwrap();
        assert!(rules.with(GIVEN).contains(&"جاك"), "mined given names");
        assert!(rules.with(TITLE).contains(&"الرييس"), "titles, folded");
        assert!(!rules.with(GIVEN).contains(&"بن"), "connectors are no given names");
        assert_eq!(rules.with(CONNECTOR).len(), CONNECTORS.len());
        assert_eq!(rules.role("حكومته"), None, "an ordinary word");
        assert_eq!(rules.role("وحكومته"), None, "an ordinary word behind a proclitic");
        assert_eq!(rules.role("شيراك"), Some(Role::Name), "no ordinary word");
        assert_eq!(rules.role("بن"), Some(Role::Connector));
    }

    #[test]
    fn words_around() {
        let text = "قال جاك شيراك، ثم";
        let at = text.find("جاك").unwrap();
        assert_eq!(word_before(text, at), Some((0, "قال".len())));
        let end = at + "جاك".len();
        let (ws, we) = word_after(text, end).unwrap();
        assert_eq!(&text[ws..we], "شيراك");
        assert_eq!(word_after(text, we), None, "no name runs over punctuation");
    }
}
