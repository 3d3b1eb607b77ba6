//! The name automaton: every folded name of a gazetteer in one `aho-corasick` automaton, and the
//! candidates it finds in a folded text, each already checked against the word boundaries.
//!
//! The automaton uses `MatchKind::Standard` and overlapping search on purpose: a leftmost-longest
//! search reports only the longest name at each position, and when that one fails the boundary
//! check the valid shorter name under it would be lost (غاوة1 hides غاو). So every name ending at
//! every position is gathered, the boundary check filters them, and only then the longest valid
//! ones are kept (in `extractor.rs`).

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::chars::{clitic_before, is_word_end, name_start};
use crate::error::{Error, Result};
use crate::gazetteer::Gazetteer;
use crate::normalize::{fold, NormalizeOptions};

/// One name of one entity: indexes into the gazetteer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NameRef {
    pub(crate) entity: u32,
    pub(crate) name: u32,
}

/// What a pattern of the automaton stands for: the names that fold to it as they are, and the
/// ال-names whose لل-contracted form it is (الجزائر → لجزائر, found in للجزائر).
#[derive(Clone, Debug, Default)]
pub(crate) struct Pattern {
    pub(crate) plain: Vec<NameRef>,
    pub(crate) contracted: Vec<NameRef>,
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

/// The automaton and the pattern table behind it.
#[derive(Clone, Debug)]
pub(crate) struct Matcher {
    automaton: AhoCorasick,
    patterns: Vec<Pattern>,
    /// The folded patterns, in pattern order.
    surfaces: Vec<String>,
}

impl Matcher {
    pub(crate) fn new(gazetteer: &Gazetteer, options: &NormalizeOptions) -> Result<Matcher> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut surfaces: Vec<String> = Vec::new();
        let mut slot = |surface: String| -> usize {
            *index.entry(surface).or_insert_with_key(|s| {
                patterns.push(Pattern::default());
                surfaces.push(s.clone());
                patterns.len() - 1
            })
        };
        let mut refs: Vec<(usize, NameRef, bool)> = Vec::new();
        for (e, entity) in gazetteer.entities().iter().enumerate() {
            for (n, name) in entity.names().enumerate() {
                let folded = fold(name.text(), options).trim().to_string();
                if folded.is_empty() {
                    let source = entity.source();
                    return Err(Error::gazetteer(
                        &source.file,
                        source.line,
                        format!("name {:?} of {:?} folds to nothing", name.text(), entity.id()),
                    ));
                }
                let name_ref = NameRef { entity: e as u32, name: n as u32 };
                if let Some(rest) = contracted_form(&folded) {
                    refs.push((slot(rest), name_ref, true));
                }
                refs.push((slot(folded), name_ref, false));
            }
        }
        for (p, name_ref, contracted) in refs {
            let pattern = &mut patterns[p];
            let list = if contracted { &mut pattern.contracted } else { &mut pattern.plain };
            if !list.contains(&name_ref) {
                list.push(name_ref);
            }
        }
        // The linking order that does not depend on the text: non-risky names before risky ones,
        // canonical names before aliases, then gazetteer order. `extractor.rs` puts an exact
        // written-form match in front of these at match time.
        for pattern in &mut patterns {
            for list in [&mut pattern.plain, &mut pattern.contracted] {
                list.sort_by_key(|r| {
                    let name = gazetteer.entities()[r.entity as usize].name(r.name as usize);
                    (name.is_risky(), !name.is_canonical(), r.entity, r.name)
                });
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&surfaces)
            .map_err(Error::automaton)?;
        Ok(Matcher { automaton, patterns, surfaces })
    }

    pub(crate) fn pattern(&self, id: u32) -> &Pattern {
        &self.patterns[id as usize]
    }

    /// Every folded pattern the automaton knows, with the patterns' lists.
    pub(crate) fn surfaces(&self) -> impl Iterator<Item = (&str, &Pattern)> {
        self.surfaces.iter().map(String::as_str).zip(&self.patterns)
    }

    /// Every name in `text` (folded) that starts a word or follows a proclitic run that starts
    /// one, and ends a word; in the order the automaton reports them.
    pub(crate) fn candidates(&self, text: &str, out: &mut Vec<Candidate>) {
        for m in self.automaton.find_overlapping_iter(text) {
            let (start, end) = (m.start(), m.end());
            if !is_word_end(text, end) {
                continue;
            }
            let id = m.pattern().as_u32();
            let pattern = &self.patterns[id as usize];
            if !pattern.plain.is_empty() {
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

/// The لل-contracted form of a folded ال-name: الجزائر → لجزائر. `None` for other names, and for
/// names where the article is followed by nothing that could start a word.
pub(crate) fn contracted_form(folded: &str) -> Option<String> {
    let rest = folded.strip_prefix("ال")?;
    let next = rest.chars().next()?;
    crate::chars::is_word_char(next).then(|| format!("ل{rest}"))
}
