//! Spelling variants of foreign names from rules that are data (ARABIC.md section 3).
//!
//! The rules live in `gazetteers/rules/variants.tsv`: each replaces a letter or letter group by
//! one or more alternatives (غ → ج, final ا → ة, a medial و dropped...) at a position in a word.
//! [`VariantRules::generate`] makes the variants of one folded name: every single substitution in
//! rule order, then pairs of substitutions from different rules, at most [`VariantRules::cap`]
//! in all and only for names of at least [`MIN_LETTERS`] letters. [`crate::Gazetteer::apply_variants`]
//! adds them to the entities flagged `foreign`, each linked to its entity.
//!
//! ```
//! use alam::VariantRules;
//!
//! let rules = VariantRules::embedded().unwrap();
//! let variants = rules.generate("فاغنر");
//! assert!(variants.contains(&"فاجنر".to_string()));
//! assert!(variants.len() <= rules.cap());
//! ```

use rayon::prelude::*;
use rustc_hash::FxHashSet;

use crate::commonwords;
use crate::error::{Error, Result};
use crate::normalize::{fold, NormalizeOptions};

/// Names shorter than this (in letters, spaces excluded) get no variants: short names collide
/// with common words too easily.
pub const MIN_LETTERS: usize = 4;

/// Where a rule may apply inside a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    Any,
    Initial,
    Medial,
    Final,
}

#[derive(Clone, Debug)]
struct Rule {
    id: String,
    from: String,
    to: Vec<String>,
    position: Position,
    /// The shortest word, in letters, the rule applies to.
    min_word: usize,
    /// [`byte_mask`] of `from`: a name whose mask lacks one of its bits cannot contain `from`.
    mask: u64,
}

/// A set of spelling-variant rules, and the ordinary words no variant may become.
#[derive(Clone, Debug)]
pub struct VariantRules {
    rules: Vec<Rule>,
    cap: usize,
    /// Whether the shipped `common_words.txt` (`crate::commonwords`) counts too.
    shipped: bool,
    /// Ordinary words added with [`VariantRules::add_common_words`].
    common: FxHashSet<String>,
}

const DEFAULT_RULES: &str = include_str!("../gazetteers/rules/variants.tsv");
const COMMON_WORDS_EXTRA: &str = include_str!("../gazetteers/rules/common_words_extra.txt");
/// Common words folded per parallel task.
const COMMON_WORDS_CHUNK: usize = 2048;

/// The folded words of a word list (one per line, `#` lines skipped). Folding is the cost (a
/// list can have tens of thousands of words): it runs in parallel chunks.
fn fold_word_list(words: &str) -> impl Iterator<Item = String> {
    let lines: Vec<&str> = words
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let options = NormalizeOptions::default();
    let folded: Vec<Vec<String>> = lines
        .par_chunks(COMMON_WORDS_CHUNK)
        .map(|chunk| chunk.iter().map(|line| fold(line, &options)).collect())
        .collect();
    folded.into_iter().flatten()
}

impl VariantRules {
    /// The rules shipped in `gazetteers/rules/variants.tsv`, with a cap of 6 variants per name.
    ///
    /// # Errors
    /// Fails only if the shipped file is broken, which the tests rule out.
    pub fn embedded() -> Result<VariantRules> {
        let mut rules = VariantRules::from_tsv("gazetteers/rules/variants.tsv", DEFAULT_RULES)?;
        rules.shipped = true;
        rules.add_common_words(COMMON_WORDS_EXTRA);
        Ok(rules)
    }

    /// Adds ordinary words (one per line, `#` lines skipped) that no variant may become.
    pub fn add_common_words(&mut self, words: &str) -> &mut Self {
        self.common.extend(fold_word_list(words));
        self
    }

    /// Parses a rule file (header `rule from to position min_word note`; `#` lines and blank
    /// lines are skipped); `file` names it in errors.
    ///
    /// # Errors
    /// Names the file and line of a malformed row: wrong number of fields, empty `from`,
    /// unknown position, bad `min_word`, a replacement equal to `from`.
    pub fn from_tsv(file: &str, data: &str) -> Result<VariantRules> {
        let options = NormalizeOptions::default();
        let mut rules = Vec::new();
        let mut header_seen = false;
        for (i, line) in data.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            if !header_seen {
                if fields.get(..5) != Some(&["rule", "from", "to", "position", "min_word"][..]) {
                    return Err(Error::gazetteer(
                        file,
                        n,
                        "expected the header: rule, from, to, position, min_word, note",
                    ));
                }
                header_seen = true;
                continue;
            }
            if fields.len() < 5 || fields.len() > 6 {
                return Err(Error::gazetteer(
                    file,
                    n,
                    format!("expected 5 or 6 tab-separated fields, found {}", fields.len()),
                ));
            }
            let min_word: usize = fields[4].parse().map_err(|_| {
                Error::gazetteer(file, n, format!("min_word {:?} is not a number", fields[4]))
            })?;
            let from = fold(fields[1], &options);
            if from.trim().is_empty() {
                return Err(Error::gazetteer(file, n, "empty `from`"));
            }
            let mut to = Vec::new();
            for alternative in fields[2].split('|').map(str::trim) {
                let folded =
                    if alternative == "-" { String::new() } else { fold(alternative, &options) };
                if alternative.is_empty() || folded == from {
                    return Err(Error::gazetteer(
                        file,
                        n,
                        format!("replacement {alternative:?} is empty or equal to `from` (use - to delete)"),
                    ));
                }
                to.push(folded);
            }
            let position = match fields[3] {
                "any" => Position::Any,
                "initial" => Position::Initial,
                "medial" => Position::Medial,
                "final" => Position::Final,
                other => {
                    return Err(Error::gazetteer(
                        file,
                        n,
                        format!(
                            "unknown position {other:?}: expected any, initial, medial or final"
                        ),
                    ))
                }
            };
            let mask = byte_mask(&from);
            rules.push(Rule { id: fields[0].to_string(), from, to, position, min_word, mask });
        }
        if !header_seen {
            return Err(Error::gazetteer(file, 0, "empty file: expected a header row"));
        }
        Ok(VariantRules { rules, cap: 6, shipped: false, common: FxHashSet::default() })
    }

    /// The most variants made for one name.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Sets the most variants made for one name.
    pub fn set_cap(&mut self, cap: usize) -> &mut Self {
        self.cap = cap;
        self
    }

    /// The rule ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// The variants of a folded name, most likely first, without the name itself and without
    /// repeats; at most [`VariantRules::cap`], none for names under [`MIN_LETTERS`] letters.
    pub fn generate(&self, folded: &str) -> Vec<String> {
        self.generate_except(folded, &|_| false)
    }

    /// [`VariantRules::generate`], leaving alone the words for which `frozen` is true (common
    /// Arabic words inside a name, such as مجموعة in مجموعة فاغنر).
    pub fn generate_except(&self, folded: &str, frozen: &dyn Fn(&str) -> bool) -> Vec<String> {
        let letters = folded.chars().filter(|c| !c.is_whitespace()).count();
        if letters < MIN_LETTERS || self.cap == 0 {
            return Vec::new();
        }
        let cap = self.cap;
        let mut out: Vec<String> = Vec::new();
        // Candidates are built in one reused buffer and copied only when kept. Once `out` is full
        // nothing more can be kept, so the search stops there.
        let accept = |v: &str, out: &mut Vec<String>| {
            let ok = out.len() < cap
                && v != folded
                && !out.iter().any(|o| o == v)
                && v.chars().filter(|c| !c.is_whitespace()).count() >= MIN_LETTERS - 1
                && !self.common.contains(v)
                && !(self.shipped && commonwords::contains(v));
            if ok {
                out.push(v.to_owned());
            }
        };
        let mut buf = String::with_capacity(folded.len() + 8);
        // One substitution per variant, rule by rule.
        let mut first: Vec<(usize, String)> = Vec::new();
        let mask = byte_mask(folded);
        for (r, rule) in self.rules.iter().enumerate() {
            if rule.mask & !mask != 0 {
                continue;
            }
            each_substitution(folded, rule, frozen, &mut buf, |v| {
                first.push((r, v.to_owned()));
                accept(v, &mut out);
            });
            if out.len() >= cap {
                return out;
            }
        }
        // Then two substitutions from different rules.
        for (r, v) in &first {
            let mask = byte_mask(v);
            for rule in &self.rules[r + 1..] {
                if rule.mask & !mask != 0 {
                    continue;
                }
                each_substitution(v, rule, frozen, &mut buf, |w| accept(w, &mut out));
                if out.len() >= cap {
                    return out;
                }
            }
        }
        out
    }
}

/// Calls `emit` with every string made by applying `rule` once to `name`, at each place it may
/// apply outside frozen words (the places of `str::match_indices`: leftmost, non-overlapping),
/// each built in `buf`.
fn each_substitution(
    name: &str,
    rule: &Rule,
    frozen: &dyn Fn(&str) -> bool,
    buf: &mut String,
    mut emit: impl FnMut(&str),
) {
    let pattern = rule.from.as_bytes();
    let Some(&lead) = pattern.first() else {
        // `from_tsv` never makes an empty `from`.
        for (at, _) in name.match_indices("") {
            substitute_at(name, at, rule, frozen, buf, &mut emit);
        }
        return;
    };
    // A UTF-8 pattern can only match at a char boundary, so a byte scan finds the same places
    // as `match_indices` without setting up a searcher for each short name.
    let bytes = name.as_bytes();
    // The last byte of an Arabic letter tells it apart; the first is shared by a block.
    let last = pattern[pattern.len() - 1];
    let mut at = 0;
    while at + pattern.len() <= bytes.len() {
        if bytes[at + pattern.len() - 1] == last
            && bytes[at] == lead
            && bytes[at..at + pattern.len()] == *pattern
        {
            substitute_at(name, at, rule, frozen, buf, &mut emit);
            at += pattern.len();
        } else {
            at += 1;
        }
    }
}

/// A set of the bytes of `s`, modulo 64: a quick test that `s` cannot contain a string.
fn byte_mask(s: &str) -> u64 {
    s.bytes().fold(0, |mask, b| mask | 1 << (b & 63))
}

/// The substitutions of `rule` at byte `at` of `name`, if the rule may apply there.
fn substitute_at(
    name: &str,
    at: usize,
    rule: &Rule,
    frozen: &dyn Fn(&str) -> bool,
    buf: &mut String,
    emit: &mut impl FnMut(&str),
) {
    let end = at + rule.from.len();
    let word_start = name[..at].rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let word_end = name[end..].find(char::is_whitespace).map_or(name.len(), |i| end + i);
    let word = &name[word_start..word_end];
    // The article does not count towards a word's length: السويد is a five-letter word.
    let letters = word.strip_prefix("ال").unwrap_or(word).chars().count();
    if frozen(word) || letters < rule.min_word {
        return;
    }
    let word_before = name[..at].chars().next_back().is_some_and(|c| !c.is_whitespace());
    let word_after = name[end..].chars().next().is_some_and(|c| !c.is_whitespace());
    let fits = match rule.position {
        Position::Any => true,
        Position::Initial => !word_before,
        Position::Final => !word_after,
        Position::Medial => word_before && word_after,
    };
    if fits {
        for to in &rule.to {
            buf.clear();
            buf.push_str(&name[..at]);
            buf.push_str(to);
            buf.push_str(&name[end..]);
            emit(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_load_and_generate() {
        let rules = VariantRules::embedded().unwrap();
        assert!(rules.ids().count() >= 10);
        let wagner = rules.generate("فاغنر");
        assert_eq!(wagner[0], "فاجنر", "the most common variant comes first");
        assert!(wagner.contains(&"فاقنر".to_string()));
        assert!(rules.generate("سوريا").contains(&"سوريه".to_string()));
        assert!(rules.generate("غاو").is_empty(), "names under four letters get no variants");
        for name in ["بريغوجين", "يفغيني بريغوجين", "اوروغواي", "كازاخستان"]
        {
            let v = rules.generate(name);
            assert!(!v.is_empty() && v.len() <= rules.cap(), "{name}: {v:?}");
            assert!(!v.contains(&name.to_string()));
        }
        assert!(rules.generate("اوروغواي").contains(&"اورغواي".to_string()));
        // Variants never become ordinary words or touch short words with risky rules.
        assert!(!rules.generate("كابل").contains(&"قابل".to_string()));
        assert!(!rules.generate("تبريز").contains(&"تبرز".to_string()));
        assert!(!rules.generate("تركيا").contains(&"ترقيه".to_string()), "ترقية is a word");
        assert!(!rules.generate("السويد").contains(&"السود".to_string()), "السود is a word");
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("rule\tfrom\tto\tposition\tmin_word\nx\t\tب\tany\t3\n", 2, "empty `from`"),
            ("rule\tfrom\tto\tposition\tmin_word\nx\tغ\tج\tsomewhere\t3\n", 2, "unknown position"),
            ("rule\tfrom\tto\tposition\tmin_word\nx\tغ\tغ\tany\t3\n", 2, "equal to `from`"),
            ("rule\tfrom\tto\tposition\tmin_word\nx\tغ\n", 2, "expected 5 or 6"),
            ("rule\tfrom\tto\tposition\tmin_word\nx\tغ\tج\tany\tfew\n", 2, "not a number"),
            ("rule\tfrom\tposition\n", 1, "expected the header"),
        ];
        for (data, line, message) in cases {
            let err = VariantRules::from_tsv("v.tsv", data).unwrap_err().to_string();
            assert!(err.starts_with(&format!("v.tsv:{line}:")), "{err}");
            assert!(err.contains(message), "{err}");
        }
    }
}
