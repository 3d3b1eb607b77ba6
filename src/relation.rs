//! Relations between mentions, from rules that are data, one sentence at a time.
//!
//! A [`RuleSet`] is loaded from TSV files (the format is documented in
//! `gazetteers/rules/README.md`; [`RuleSet::embedded`] is the default shipped in
//! `gazetteers/rules/relations.tsv`). A [`RelationExtractor`] compiles it once (one
//! `aho-corasick` automaton over every folded trigger), is `Send + Sync` and cheap to clone, and
//! turns a text and its [`Mention`]s into [`Relation`]s whose `head` and `tail` index that slice.
//!
//! ```
//! use alam::{Extractor, Gazetteer, RelationExtractor, RelationKind};
//!
//! let extractor = Extractor::new(Gazetteer::embedded()?)?;
//! let relations = RelationExtractor::embedded()?;
//! let text = "ويذكر أن تحالف \"دول الساحل\" المكون من مالي وبوركينا فاسو والنيجر قرر إنشاء قوة.";
//! let mentions = extractor.extract(text)?;
//! let found: Vec<(RelationKind, &str, &str)> = relations
//!     .extract(text, &mentions)?
//!     .iter()
//!     .map(|r| (r.kind, mentions[r.head].entity.id(), mentions[r.tail].entity.id()))
//!     .collect();
//! assert_eq!(found, [
//!     (RelationKind::MemberOf, "mali", "alliance_of_sahel_states"),
//!     (RelationKind::MemberOf, "burkina_faso", "alliance_of_sahel_states"),
//!     (RelationKind::MemberOf, "niger", "alliance_of_sahel_states"),
//! ]);
//! # Ok::<(), alam::Error>(())
//! ```
//!
//! # How a rule matches
//!
//! Within one sentence (see [`sentences`]), the text is folded like the mentions were (the same
//! [`fold`] and [`NormalizeOptions`]) and cut into tokens at white space; a token is a word with
//! whatever punctuation and proclitics are glued to it (`بـ"الفيلق` is one token). A trigger
//! matches at a word start or after a proclitic run (so زار is found in وزار), and ends at a word
//! end unless it ends with `*` (then زيار* is found in زيارته). From each trigger the arguments are
//! looked for outward, in the order the rule gives: to the right the nearest mention of a fitting
//! type that starts at most `gap` tokens after the previous element, to the left the nearest
//! that ends at most `gap` tokens before. A trigger inside a mention does not count.
//!
//! - **Lists**: an argument that starts a list of mentions of the same type joined by و or a
//!   comma (مالي وبوركينا فاسو والنيجر) takes the whole list: one relation per member.
//! - **Phrases**: a rule flagged `phrase` describes a noun phrase headed by its first element
//!   (جماعة نصرة الإسلام والمسلمين المرتبطة بتنظيم القاعدة). A later rule that looks left and lands
//!   on another element of that phrase takes the phrase head instead: in "... المرتبطة بتنظيم
//!   القاعدة حصارا على باماكو" the siege is laid by the group, not by al-Qaeda.
//! - **Negation**: a rule's negation words cancel a match when one stands between its first and
//!   last element, or in the two tokens before the first (لم يزر, نفى أن).
//! - **One relation per pair and sentence**: when several rules or triggers link the same two
//!   entities with the same type in one sentence, the first rule in file order wins (then the
//!   leftmost, longest trigger).
//!
//! [`fold`]: crate::fold
//! [`sentences`]: crate::sentences

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::charindex::{block_masks, Bytes};
use crate::chars::{
    is_quote, is_word_char, is_word_end, run_kinds_at, runs_at_word_start, word_end, CLITIC_RUNS,
};
use crate::error::{Error, Result};
use crate::extractor::Mention;
use crate::firstword::{word_end_before, FirstWords};
use crate::gazetteer::{Entity, EntityKind, Source};
use crate::matcher::{prefixes, trie};
use crate::normalize::{fold, partition_point_from, NormalizeOptions, Normalized};
use crate::sentence::{sentences, SentenceCursor};

/// The default rule file, embedded in the library.
const DEFAULT_FILE: (&str, &str) =
    ("gazetteers/rules/relations.tsv", include_str!("../gazetteers/rules/relations.tsv"));

/// The largest finite gap a rule may give, in tokens.
const MAX_GAP: usize = 30;

/// How many tokens before a match its negation words are looked for.
const NEGATION_BEFORE: usize = 2;

/// The type of a relation. Direction is head -> tail as the name reads: `replaced_by(wagner,
/// africa_corps)` says Wagner was replaced by the Africa Corps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RelationKind {
    /// ORG -> ORG: a group linked or pledged to another (JNIM -> al-Qaeda).
    AffiliatedWith,
    /// ORG -> ORG: an organization replaced by another (Wagner -> Africa Corps).
    ReplacedBy,
    /// ORG -> ORG: a body under another (a force under a ministry).
    PartOf,
    /// PER -> ORG: a person who leads an organization.
    Leads,
    /// PER -> GPE, ORG or NORP: a person holding an office; the relation carries the role
    /// text (وزير الخارجية) and, for a NORP tail, its country.
    HoldsPosition,
    /// PER -> NORP: a person's nationality, from a demonym beside the name (المحلل الإيطالي
    /// دانييلي روفينيتي); the relation carries the demonym's country.
    Nationality,
    /// GPE or ORG -> ORG: a member of an alliance or organization.
    MemberOf,
    /// PER -> ORG: a person speaking to, or quoted by, a media outlet.
    SpokeTo,
    /// PER -> GPE: a person visiting a place.
    Visited,
    /// ORG -> GPE or ORG: attack, siege, ambush, blockade.
    Attacks,
    /// GPE or ORG -> GPE or ORG: support, aid, backing.
    Supports,
    /// GPE or LOC -> GPE (or a NORP standing for a country): a place in another.
    LocatedIn,
}

impl RelationKind {
    /// Every relation type, in the order used for reports.
    pub const ALL: [RelationKind; 12] = [
        RelationKind::AffiliatedWith,
        RelationKind::ReplacedBy,
        RelationKind::PartOf,
        RelationKind::Leads,
        RelationKind::HoldsPosition,
        RelationKind::Nationality,
        RelationKind::MemberOf,
        RelationKind::SpokeTo,
        RelationKind::Visited,
        RelationKind::Attacks,
        RelationKind::Supports,
        RelationKind::LocatedIn,
    ];

    /// The name written in rule files and output: `affiliated_with`, `replaced_by`...
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::AffiliatedWith => "affiliated_with",
            RelationKind::ReplacedBy => "replaced_by",
            RelationKind::PartOf => "part_of",
            RelationKind::Leads => "leads",
            RelationKind::HoldsPosition => "holds_position",
            RelationKind::Nationality => "nationality",
            RelationKind::MemberOf => "member_of",
            RelationKind::SpokeTo => "spoke_to",
            RelationKind::Visited => "visited",
            RelationKind::Attacks => "attacks",
            RelationKind::Supports => "supports",
            RelationKind::LocatedIn => "located_in",
        }
    }
}

named_enum_traits!(RelationKind, "relation type");

/// A half-open byte range into the original text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Start: UTF-8 byte offset into the original text.
    pub start: usize,
    /// End (exclusive): UTF-8 byte offset into the original text.
    pub end: usize,
}

impl Span {
    /// The span as it stands in `original`.
    ///
    /// # Panics
    /// Panics when `original` is not the text the span was made from.
    pub fn text<'t>(&self, original: &'t str) -> &'t str {
        &original[self.start..self.end]
    }
}

/// One element of a rule's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Trigger,
    Head,
    Tail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Element {
    slot: Slot,
    /// A proclitic letter the argument's clitic run must end with (`ل+tail`).
    clitic: Option<char>,
}

/// Which text a rule records as the role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RoleCapture {
    None,
    /// The trigger as written.
    Trigger,
    /// The trigger and the words after it, up to the next element (وزير الخارجية before الروسي).
    Extended,
}

/// A set of entity kinds, one bit per [`EntityKind::ALL`] position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kinds(u8);

impl Kinds {
    /// The bit of `kind`: its place in [`EntityKind::ALL`], which lists the kinds in declaration
    /// order (a test checks), so the discriminant is that place.
    fn bit(kind: EntityKind) -> u8 {
        1 << kind as u8
    }
    fn contains(self, kind: EntityKind) -> bool {
        self.0 & Kinds::bit(kind) != 0
    }
    fn iter(self) -> impl Iterator<Item = EntityKind> {
        EntityKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

/// The kinds of a sentence's mentions: which are there, and which at least twice.
#[derive(Clone, Copy)]
struct KindsPresent {
    present: u8,
    twice: u8,
}

impl KindsPresent {
    fn new(kinds: impl Iterator<Item = EntityKind>) -> KindsPresent {
        let (mut present, mut twice) = (0u8, 0u8);
        for kind in kinds {
            let bit = Kinds::bit(kind);
            twice |= present & bit;
            present |= bit;
        }
        KindsPresent { present, twice }
    }

    /// Whether `rule` has a head and a different tail of its kinds among these mentions: two
    /// different kinds, or one kind that two mentions have.
    fn fit(self, rule: &Rule) -> bool {
        let (head, tail) = (rule.head.0 & self.present, rule.tail.0 & self.present);
        head != 0 && tail != 0 && ((head | tail).count_ones() >= 2 || head & tail & self.twice != 0)
    }
}

/// One trigger of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Trigger {
    /// As written in the file, without the `*`.
    text: String,
    /// Folded with the default options and trimmed (checked when parsed; reused by an
    /// extractor that folds with the default options).
    folded: String,
    /// Matches the start of a longer word (written with a final `*`).
    prefix: bool,
}

/// One relation rule, as loaded from a rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    kind: RelationKind,
    triggers: Vec<Trigger>,
    head: Kinds,
    tail: Kinds,
    order: Vec<Element>,
    /// One per adjacent pair of `order`; `None` is unbounded within the sentence.
    gaps: Vec<Option<usize>>,
    /// The negation words: as written, and folded with the default options (checked when
    /// parsed; reused like a trigger's `folded`).
    negation: Vec<(String, String)>,
    role: RoleCapture,
    parent: bool,
    phrase: bool,
    noconj: bool,
    country: bool,
    source: Source,
}

impl Rule {
    /// The relation type this rule finds.
    pub fn kind(&self) -> RelationKind {
        self.kind
    }
    /// The entity types the head may have.
    pub fn head_kinds(&self) -> impl Iterator<Item = EntityKind> {
        self.head.iter()
    }
    /// The entity types the tail may have.
    pub fn tail_kinds(&self) -> impl Iterator<Item = EntityKind> {
        self.tail.iter()
    }
    /// Whether a mention of `kind` may be this rule's head.
    pub fn allows_head(&self, kind: EntityKind) -> bool {
        self.head.contains(kind)
    }
    /// Whether a mention of `kind` may be this rule's tail.
    pub fn allows_tail(&self, kind: EntityKind) -> bool {
        self.tail.contains(kind)
    }
    /// The triggers as written in the file (a final `*` marks a prefix trigger); empty for a
    /// rule without trigger.
    pub fn triggers(&self) -> impl Iterator<Item = String> + '_ {
        self.triggers.iter().map(|t| if t.prefix { format!("{}*", t.text) } else { t.text.clone() })
    }
    /// Where the rule was defined.
    pub fn source(&self) -> &Source {
        &self.source
    }
    fn has_trigger(&self) -> bool {
        self.order.iter().any(|e| e.slot == Slot::Trigger)
    }
}

/// Relation rules loaded from one or more TSV files, in file order (which decides ties).
///
/// ```
/// use alam::{RelationKind, RuleSet};
///
/// let tsv = "type\ttriggers\thead\ttail\torder\tgap\n\
///            visited\tزار|يزور|زيارة\tPER\tGPE\thead trigger tail\t3,1\n";
/// let rules = RuleSet::from_tsv("mine.tsv", tsv).unwrap();
/// assert_eq!(rules.rules()[0].kind(), RelationKind::Visited);
///
/// let err = RuleSet::from_tsv("bad.tsv", "type\ttriggers\thead\ttail\torder\tgap\n\
///                                         visits\tزار\tPER\tGPE\thead trigger tail\t3\n")
///     .unwrap_err();
/// assert!(err.to_string().starts_with("bad.tsv:2: unknown relation type \"visits\""));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

/// Columns of a rule file; the first six are required.
const COLUMNS: [&str; 10] =
    ["type", "triggers", "head", "tail", "order", "gap", "negation", "role", "flags", "note"];
const REQUIRED: usize = 6;

impl RuleSet {
    /// An empty rule set.
    pub fn new() -> RuleSet {
        RuleSet::default()
    }

    /// The default rules shipped in `gazetteers/rules/relations.tsv` and embedded in the library.
    ///
    /// # Errors
    /// Fails only if the shipped data is broken, which the test suite rules out.
    pub fn embedded() -> Result<RuleSet> {
        RuleSet::from_tsv(DEFAULT_FILE.0, DEFAULT_FILE.1)
    }

    /// Parses one rule file held in memory; `file` names it in errors.
    ///
    /// # Errors
    /// Fails on a malformed header or row (the error names file and line).
    pub fn from_tsv(file: &str, data: &str) -> Result<RuleSet> {
        let mut rules = RuleSet::new();
        rules.add_tsv(file, data)?;
        Ok(rules)
    }

    /// Reads and parses rule files, in order.
    ///
    /// # Errors
    /// Fails when a file cannot be read or is malformed (the error names file and line).
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<RuleSet> {
        let mut rules = RuleSet::new();
        for path in paths {
            rules.add_file(path.as_ref())?;
        }
        Ok(rules)
    }

    /// Adds the rules of a file after those already loaded.
    ///
    /// # Errors
    /// Fails when the file cannot be read, is not UTF-8 or is malformed.
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let data = std::fs::read(path).map_err(|e| Error::io(Some(path.to_path_buf()), e))?;
        let file = path.display().to_string();
        let data = String::from_utf8(data).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            Error::rule(&file, line, "invalid UTF-8")
        })?;
        self.add_tsv(&file, &data)
    }

    /// Adds the rules of a file held in memory; `file` names it in errors.
    ///
    /// # Errors
    /// Fails on a malformed header or row: missing or unknown column, wrong number of fields,
    /// unknown relation or entity type, bad order, bad gap, empty trigger or negation word,
    /// unknown role or flag.
    pub fn add_tsv(&mut self, file: &str, data: &str) -> Result<()> {
        let mut lines = data.lines().enumerate().map(|(i, l)| (i + 1, l));
        let (header_line, header) = loop {
            match lines.next() {
                None => return Err(Error::rule(file, 0, "empty file: expected a header row")),
                Some((_, l)) if l.trim().is_empty() || l.starts_with('#') => continue,
                Some(found) => break found,
            }
        };
        let columns = parse_header(file, header_line, header)?;
        for (line, text) in lines {
            if text.trim().is_empty() || text.starts_with('#') {
                continue;
            }
            self.rules.push(parse_row(file, line, text, &columns)?);
        }
        Ok(())
    }

    /// Every rule, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Maps each known column to its index in the file.
struct Columns {
    index: [Option<usize>; COLUMNS.len()],
    count: usize,
    names: Vec<String>,
}

fn parse_header(file: &str, line: usize, text: &str) -> Result<Columns> {
    let mut index = [None; COLUMNS.len()];
    let names: Vec<String> = text.split('\t').map(|s| s.trim().to_string()).collect();
    for (i, name) in names.iter().enumerate() {
        let Some(k) = COLUMNS.iter().position(|c| c == name) else {
            return Err(Error::rule(
                file,
                line,
                format!(
                    "unknown column {name:?} in the header: known columns are {}",
                    COLUMNS.join(", ")
                ),
            ));
        };
        if index[k].is_some() {
            return Err(Error::rule(file, line, format!("column {name:?} appears twice")));
        }
        index[k] = Some(i);
    }
    if let Some(k) = (0..REQUIRED).find(|&k| index[k].is_none()) {
        return Err(Error::rule(
            file,
            line,
            format!(
                "missing column {:?} in the header (it must name {})",
                COLUMNS[k],
                COLUMNS[..REQUIRED].join(", ")
            ),
        ));
    }
    Ok(Columns { index, count: names.len(), names })
}

fn parse_row(file: &str, line: usize, text: &str, columns: &Columns) -> Result<Rule> {
    let fields: Vec<&str> = text.split('\t').collect();
    let err = |message: String| Error::rule(file, line, message);
    if fields.len() != columns.count {
        return Err(err(format!(
            "expected {} tab-separated fields ({}), found {}",
            columns.count,
            columns.names.join(", "),
            fields.len()
        )));
    }
    let get = |k: usize| columns.index[k].map_or("", |i| fields[i].trim());
    let options = NormalizeOptions::default();

    let kind: RelationKind = get(0).parse().map_err(err)?;
    let head = parse_kinds(get(2), "head").map_err(err)?;
    let tail = parse_kinds(get(3), "tail").map_err(err)?;
    let order = parse_order(get(4)).map_err(err)?;
    let has_trigger = order.iter().any(|e| e.slot == Slot::Trigger);

    let mut triggers = Vec::new();
    let raw = get(1);
    if raw == "-" {
        if has_trigger {
            return Err(err("the order names a trigger but the triggers column is \"-\"".into()));
        }
    } else {
        if !has_trigger {
            return Err(err(format!(
                "triggers {raw:?} are given but the order {:?} has no trigger: add `trigger` to \
                 the order, or write \"-\" for a rule without trigger",
                get(4)
            )));
        }
        for item in raw.split('|') {
            let item = item.trim();
            let (text, prefix) = match item.strip_suffix('*') {
                Some(rest) => (rest.trim_end(), true),
                None => (item, false),
            };
            if text.contains(crawdad::END_MARKER) {
                return Err(err(format!(
                    "trigger {item:?} contains U+FFFF, a noncharacter that the trigger trie \
                     reserves: remove it"
                )));
            }
            let folded = fold(text, &options);
            let folded = folded.trim();
            if folded.is_empty() {
                return Err(err(format!("empty trigger {item:?} in {raw:?}")));
            }
            let first = folded.chars().next().is_some_and(is_word_char);
            let last = folded.chars().next_back().is_some_and(is_word_char);
            if !first || !last {
                return Err(err(format!(
                    "trigger {item:?} must begin and end with a letter or digit"
                )));
            }
            triggers.push(Trigger { text: text.to_string(), folded: folded.to_string(), prefix });
        }
    }

    let pairs = order.len() - 1;
    let gaps = parse_gaps(get(5), pairs).map_err(err)?;

    let mut negation = Vec::new();
    let raw = get(6);
    if !raw.is_empty() {
        for item in raw.split('|') {
            let folded = fold(item.trim(), &options);
            let folded = folded.trim();
            if folded.is_empty() {
                return Err(err(format!("empty negation word {item:?} in {raw:?}")));
            }
            if folded.contains(char::is_whitespace) {
                return Err(err(format!("negation {item:?} must be a single word")));
            }
            negation.push((item.trim().to_string(), folded.to_string()));
        }
    }

    let role = match get(7) {
        "" => RoleCapture::None,
        "trigger" => RoleCapture::Trigger,
        "extended" => RoleCapture::Extended,
        other => {
            return Err(err(format!(
                "unknown role {other:?}: expected \"trigger\", \"extended\" or nothing"
            )))
        }
    };
    if role != RoleCapture::None && !has_trigger {
        return Err(err("a role is captured from the trigger, but the rule has none".into()));
    }

    let (mut parent, mut phrase, mut noconj, mut country) = (false, false, false, false);
    for flag in get(8).split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match flag {
            "parent" => parent = true,
            "phrase" => phrase = true,
            "noconj" if has_trigger => noconj = true,
            "noconj" => return Err(err("flag \"noconj\" needs a trigger".into())),
            "country" => country = true,
            other => {
                return Err(err(format!(
                    "unknown flag {other:?}: known flags are parent, phrase, noconj, country"
                )))
            }
        }
    }

    Ok(Rule {
        kind,
        triggers,
        head,
        tail,
        order,
        gaps,
        negation,
        role,
        parent,
        phrase,
        noconj,
        country,
        source: Source { file: file.to_string(), line },
    })
}

fn parse_kinds(raw: &str, what: &str) -> std::result::Result<Kinds, String> {
    if raw.is_empty() {
        return Err(format!("empty {what} type: expected entity types such as PER or GPE|ORG"));
    }
    let mut bits = 0;
    for item in raw.split('|') {
        let kind: EntityKind =
            item.trim().parse().map_err(|e| format!("{what}: unknown entity {e}"))?;
        bits |= Kinds::bit(kind);
    }
    Ok(Kinds(bits))
}

fn parse_order(raw: &str) -> std::result::Result<Vec<Element>, String> {
    let mut order: Vec<Element> = Vec::new();
    for word in raw.split_whitespace() {
        let (clitic, name) = match word.split_once('+') {
            Some((c, name)) => {
                let mut chars = c.chars();
                match (chars.next(), chars.next()) {
                    (Some(c @ ('و' | 'ف' | 'ب' | 'ل' | 'ك')), None) => (Some(c), name),
                    _ => {
                        return Err(format!(
                            "bad order element {word:?}: before '+' write one proclitic letter \
                             (و ف ب ل ك)"
                        ))
                    }
                }
            }
            None => (None, word),
        };
        let slot = match name {
            "head" => Slot::Head,
            "tail" => Slot::Tail,
            "trigger" if clitic.is_none() => Slot::Trigger,
            _ => {
                return Err(format!(
                    "bad order element {word:?}: expected head, tail or trigger (an argument may \
                     require a proclitic, as in ل+tail)"
                ))
            }
        };
        if order.iter().any(|e| e.slot == slot) {
            return Err(format!("order {raw:?} names {name} twice"));
        }
        order.push(Element { slot, clitic });
    }
    if !order.iter().any(|e| e.slot == Slot::Head) || !order.iter().any(|e| e.slot == Slot::Tail) {
        return Err(format!(
            "order {raw:?} must name head and tail, and may name trigger (\"head trigger tail\")"
        ));
    }
    Ok(order)
}

fn parse_gaps(raw: &str, pairs: usize) -> std::result::Result<Vec<Option<usize>>, String> {
    let one = |s: &str| -> std::result::Result<Option<usize>, String> {
        let s = s.trim();
        if s == "*" {
            return Ok(None);
        }
        match s.parse::<usize>() {
            Ok(n) if n <= MAX_GAP => Ok(Some(n)),
            _ => Err(format!(
                "bad gap {raw:?}: expected a number of tokens from 0 to {MAX_GAP}, or * for \
                 anywhere in the sentence, once or once per pair of adjacent elements ({pairs})"
            )),
        }
    };
    let items: Vec<&str> = raw.split(',').collect();
    if items.len() == 1 {
        return Ok(vec![one(items[0])?; pairs]);
    }
    if items.len() != pairs {
        return Err(format!(
            "bad gap {raw:?}: {} values for {pairs} pairs of adjacent elements",
            items.len()
        ));
    }
    items.into_iter().map(one).collect()
}

/// A relation found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Relation<'e> {
    /// The relation type.
    pub kind: RelationKind,
    /// The head argument: an index into the mentions given to [`RelationExtractor::extract`].
    pub head: usize,
    /// The tail argument: an index into the same mentions.
    pub tail: usize,
    /// The trigger words in the original text, or `None` for a rule without trigger.
    pub trigger: Option<Span>,
    /// The role text in the original text (holds_position: وزير الخارجية), when the rule
    /// captures one.
    pub role: Option<Span>,
    /// The country of a NORP tail (its gazetteer parent): for nationality, the country of the
    /// demonym; `None` for other tails.
    pub country: Option<&'e str>,
    /// The index of the sentence, in [`sentences`](crate::sentences) of the text.
    pub sentence: usize,
    /// The sentence itself, as a span of the original text.
    pub sentence_span: Span,
    /// The index of the rule that found it, in [`RelationExtractor::rules`].
    pub rule: usize,
}

impl<'e> Relation<'e> {
    /// The relation as a serializable record, the `relations` item of `alam tag` JSONL.
    pub fn to_record<'t>(&self, original: &'t str) -> RelationRecord<'t>
    where
        'e: 't,
    {
        RelationRecord {
            kind: self.kind,
            head: self.head,
            tail: self.tail,
            trigger: self.trigger.map(|s| SpanRecord {
                start: s.start,
                end: s.end,
                text: s.text(original),
            }),
            role: self.role.map(|s| s.text(original)),
            country: self.country,
            sentence: self.sentence,
            evidence: self.sentence_span.text(original),
        }
    }
}

/// A relation as `alam tag` writes it:
/// `{"type", "head", "tail", "trigger": {"start", "end", "text"} | null, "role"?, "country"?,
/// "sentence", "evidence"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RelationRecord<'a> {
    /// The relation type.
    #[serde(rename = "type")]
    pub kind: RelationKind,
    /// Index of the head in the record's `entities`.
    pub head: usize,
    /// Index of the tail in the record's `entities`.
    pub tail: usize,
    /// The trigger (byte offsets and text), or null for a rule without trigger.
    pub trigger: Option<SpanRecord<'a>>,
    /// The role text, when captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'a str>,
    /// The country of a NORP tail, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<&'a str>,
    /// The index of the sentence in the document.
    pub sentence: usize,
    /// The sentence text: the evidence for the relation.
    pub evidence: &'a str,
}

/// A span of the original text with its text.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanRecord<'a> {
    /// UTF-8 byte offset of the start.
    pub start: usize,
    /// UTF-8 byte offset of the end (exclusive).
    pub end: usize,
    /// The text.
    pub text: &'a str,
}

/// brat standoff lines for relations, to append to the `.ann` of a document whose mentions are
/// written as `T1`, `T2`... in order (`T{i+1}` for mention `i`): one `R` line per relation
/// (`R1<TAB>nationality Arg1:T5 Arg2:T4`) and an `AnnotatorNotes` line for each role or country,
/// numbered from `#first_note`.
pub fn brat_relations(original: &str, relations: &[Relation<'_>], first_note: usize) -> String {
    let mut out = String::new();
    let mut note = first_note;
    for (i, r) in relations.iter().enumerate() {
        let n = i + 1;
        let _ = writeln!(out, "R{n}\t{} Arg1:T{} Arg2:T{}", r.kind, r.head + 1, r.tail + 1);
        let mut notes = Vec::new();
        if let Some(role) = r.role {
            notes.push(format!("role: {}", role.text(original).replace(['\n', '\r', '\t'], " ")));
        }
        if let Some(country) = r.country {
            notes.push(format!("country: {country}"));
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "#{note}\tAnnotatorNotes R{n}\t{}", notes.join("; "));
            note += 1;
        }
    }
    out
}

/// A trigger pattern's owner: rule and trigger index.
#[derive(Clone, Copy, Debug)]
struct TriggerRef {
    rule: u32,
    prefix: bool,
}

/// The trigger trie, and the filters asked before walking it.
struct Triggers {
    trie: crawdad::Trie,
    /// The first words of the triggers that some rule takes as whole words: a match of one
    /// that ends a word starts where the text's word is one (`firstword.rs`). Most words of a
    /// sentence are none, where three letters pass a quarter of them (ال and a letter).
    first_words: Arc<FirstWords>,
    /// The first letters of the triggers that some rule takes as a prefix (`*`), if any.
    heads: Option<Heads>,
}

/// Where in a word a trigger may start ([`Triggers::word_bits`]): at the word itself, after its
/// one-letter and after its two-letter proclitic run.
const AT_WORD: u8 = 1;
const AFTER_ONE: u8 = 2;
const AFTER_TWO: u8 = 4;

impl Triggers {
    /// Whether a trigger that a rule may keep may start at `at`, in the word of `folded` that
    /// ends at `end`.
    #[inline]
    fn may_start(&self, folded: &str, at: usize, end: usize) -> bool {
        self.first_words.may_start(folded.as_bytes(), at, end)
            || self.heads.as_ref().is_some_and(|h| h.may_start(folded, at))
    }

    /// Where a trigger a rule may keep may start in the word `folded[ws..end]` (a whole run of
    /// word characters): [`AT_WORD`], [`AFTER_ONE`], [`AFTER_TWO`]. The same bits as an
    /// extractor linked to these triggers marks (`Matcher::walk_starts`).
    #[inline]
    fn word_bits(&self, folded: &str, ws: usize, end: usize) -> u8 {
        let len = folded.len();
        let (one, two) = run_kinds_at(folded.as_bytes(), ws);
        let mut bits = if self.may_start(folded, ws, end) { AT_WORD } else { 0 };
        if one && ws + 2 < len && self.may_start(folded, ws + 2, end) {
            bits |= AFTER_ONE;
        }
        if two && ws + 4 < len && self.may_start(folded, ws + 4, end) {
            bits |= AFTER_TWO;
        }
        bits
    }
}

impl std::fmt::Debug for Triggers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // crawdad's trie has no `Debug`.
        write!(f, "Triggers({} trie nodes)", self.trie.num_elems())
    }
}

/// The first three characters of a set of triggers, as one bit per triple of character codes
/// ([`Heads::code`]: the Arabic letters, and 0 for every other character), for the triggers
/// taken as prefixes, which the first-word filter cannot answer for (their match may end inside
/// a word): most places a walk could start begin with three letters no trigger begins with (32
/// KB of bits). A trigger shorter than three characters stands for every character after its
/// end, so a place where a trigger matches always passes.
struct Heads(Box<[u64]>);

impl Heads {
    /// Bits per character code.
    const BITS: u32 = 6;

    fn new<'a>(triggers: impl IntoIterator<Item = &'a str>) -> Heads {
        let mut bits = vec![0u64; 1 << (3 * Heads::BITS - 6)].into_boxed_slice();
        for trigger in triggers {
            let mut codes = trigger.chars().map(Heads::code);
            // The codes a position takes: the trigger's character, or any after its end.
            let mut at = || match codes.next() {
                Some(c) => c..c + 1,
                None => 0..1 << Heads::BITS,
            };
            let (first, second, third) = (at(), at(), at());
            for a in first {
                for b in second.clone() {
                    for c in third.clone() {
                        let i = Heads::index(a, b, c);
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
            }
        }
        Heads(bits)
    }

    /// The code of a character: an Arabic letter (U+0621..U+064A, which folded text keeps) its
    /// place in that block, any other character 0.
    #[inline]
    fn code(c: char) -> usize {
        match c as u32 {
            cp @ 0x0621..=0x064A => (cp - 0x0620) as usize,
            _ => 0,
        }
    }

    fn index(a: usize, b: usize, c: usize) -> usize {
        (a << (2 * Heads::BITS)) | (b << Heads::BITS) | c
    }

    /// Whether some trigger may match at `at` in `text`.
    #[inline]
    fn may_start(&self, text: &str, at: usize) -> bool {
        let mut chars = text[at..].chars();
        let mut next = || chars.next().map_or(0, Heads::code);
        let i = Heads::index(next(), next(), next());
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
}

#[derive(Debug)]
struct Inner {
    rules: RuleSet,
    options: NormalizeOptions,
    /// The folded triggers (value: pattern index), walked from word starts and from the ends of
    /// proclitic runs.
    automaton: Option<Triggers>,
    /// The folded triggers: pattern `i` of the automaton is `surfaces[i]` (for the tests'
    /// full search).
    #[cfg(test)]
    surfaces: Vec<String>,
    /// Whether the sentences and rules that cannot find anything are skipped (always, but for
    /// a test's extractor that checks the skips change nothing): see
    /// [`RelationExtractor::shortcuts`].
    #[cfg(test)]
    shortcuts: bool,
    /// For each automaton pattern, the rules whose trigger it is.
    patterns: Vec<Vec<TriggerRef>>,
    /// Folded negation words, per rule.
    negation: Vec<Vec<String>>,
}

/// Finds relations between the mentions of a text, with a [`RuleSet`] compiled once.
///
/// It is `Send + Sync` and cheap to clone (an `Arc` inside): threads share one.
#[derive(Clone, Debug)]
pub struct RelationExtractor {
    inner: Arc<Inner>,
}

impl RelationExtractor {
    /// An extractor over `rules`, folding with the default [`NormalizeOptions`].
    ///
    /// # Errors
    /// See [`RelationExtractor::with_options`].
    pub fn new(rules: RuleSet) -> Result<RelationExtractor> {
        RelationExtractor::with_options(rules, &NormalizeOptions::default())
    }

    /// An extractor over the default rules ([`RuleSet::embedded`]).
    ///
    /// # Errors
    /// Fails only if the shipped data is broken, which the test suite rules out.
    pub fn embedded() -> Result<RelationExtractor> {
        RelationExtractor::new(RuleSet::embedded()?)
    }

    /// An extractor over `rules` that folds triggers and texts with `options`; use the options
    /// of the [`Extractor`](crate::Extractor) that finds the mentions.
    ///
    /// # Errors
    /// Fails when a trigger or negation word folds to nothing under these options, or the
    /// trigger automaton cannot be built.
    pub fn with_options(rules: RuleSet, options: &NormalizeOptions) -> Result<RelationExtractor> {
        let mut surfaces: Vec<String> = Vec::new();
        let mut patterns: Vec<Vec<TriggerRef>> = Vec::new();
        let mut by_surface = std::collections::HashMap::new();
        let mut negation = Vec::with_capacity(rules.len());
        // The rules hold their words folded with the default options already.
        let default = *options == NormalizeOptions::default();
        let fold_under_options = |text: &str, folded: &str| {
            if default {
                folded.to_string()
            } else {
                fold(text, options).trim().to_string()
            }
        };
        for (r, rule) in rules.rules.iter().enumerate() {
            let src = &rule.source;
            for t in &rule.triggers {
                let folded = fold_under_options(&t.text, &t.folded);
                if folded.is_empty() {
                    return Err(Error::rule(
                        &src.file,
                        src.line,
                        format!("trigger {:?} folds to nothing under these options", t.text),
                    ));
                }
                let id = *by_surface.entry(folded.clone()).or_insert_with(|| {
                    surfaces.push(folded);
                    patterns.push(Vec::new());
                    patterns.len() - 1
                });
                let r = u32::try_from(r).unwrap_or(u32::MAX);
                patterns[id].push(TriggerRef { rule: r, prefix: t.prefix });
            }
            let mut words = Vec::new();
            for (w, f) in &rule.negation {
                let folded = fold_under_options(w, f);
                if folded.is_empty() {
                    return Err(Error::rule(
                        &src.file,
                        src.line,
                        format!("negation word {w:?} folds to nothing under these options"),
                    ));
                }
                words.push(folded);
            }
            negation.push(words);
        }
        let automaton = if surfaces.is_empty() {
            None
        } else {
            // A character-wise trie like the name matcher's, walked only where a trigger may
            // start (a word start, the end of a proclitic run): a fraction of the sentence, and
            // a few kilobytes where a DFA of the same triggers took most of a megabyte.
            let trie = trie(&surfaces)?;
            let taken = |prefix: bool| {
                surfaces
                    .iter()
                    .zip(&patterns)
                    .filter(move |(_, refs)| refs.iter().any(|r| r.prefix == prefix))
                    .map(|(s, _)| s.as_str())
            };
            let heads = taken(true).next().is_some().then(|| Heads::new(taken(true)));
            let first_words = Arc::new(FirstWords::new(taken(false)));
            Some(Triggers { trie, first_words, heads })
        };
        Ok(RelationExtractor {
            inner: Arc::new(Inner {
                rules,
                options: options.clone(),
                automaton,
                #[cfg(test)]
                surfaces,
                #[cfg(test)]
                shortcuts: true,
                patterns,
                negation,
            }),
        })
    }

    /// The rules behind this extractor; [`Relation::rule`] indexes [`RuleSet::rules`].
    pub fn rules(&self) -> &RuleSet {
        &self.inner.rules
    }

    /// Finds the relations between `mentions` (as returned by
    /// [`Extractor::extract`](crate::Extractor::extract) on `text`), sentence by sentence.
    /// Relations come in text order; `head` and `tail` index `mentions`.
    ///
    /// # Errors
    /// Fails only when a sentence is longer than `u32::MAX` bytes.
    ///
    /// # Panics
    /// Panics when a mention's offsets are not char boundaries of `text`.
    pub fn extract<'e>(
        &self,
        text: &str,
        mentions: &'e [Mention<'_>],
    ) -> Result<Vec<Relation<'e>>> {
        self.extract_in(text, &sentences(text), mentions)
    }

    /// [`RelationExtractor::extract`] with the sentences of `text` already split (by
    /// [`sentences`]), for callers that need them too.
    ///
    /// # Errors
    /// Fails only when a sentence is longer than `u32::MAX` bytes.
    ///
    /// # Panics
    /// Panics when a mention's offsets are not char boundaries of `text`, or `spans` are not
    /// the sentences of `text`.
    pub fn extract_in<'e>(
        &self,
        text: &str,
        spans: &[std::ops::Range<usize>],
        mentions: &'e [Mention<'_>],
    ) -> Result<Vec<Relation<'e>>> {
        self.extract_all(text, spans, None, mentions)
    }

    /// [`RelationExtractor::extract_in`] with `text` already folded by
    /// [`Extractor::extract_into`](crate::Extractor::extract_into): sentences are cut from that
    /// fold instead of being folded again, and when that extractor was built with
    /// [`ExtractorBuilder::relations`](crate::ExtractorBuilder::relations) on this relation
    /// extractor, the words where a trigger may start come from the marks it left in the fold
    /// instead of being looked at again. The result is the same.
    ///
    /// # Errors
    /// Fails only when a sentence is longer than `u32::MAX` bytes, or when `folded` was made
    /// with other [`NormalizeOptions`] than this extractor's (see
    /// [`RelationExtractor::normalize_options`]) or from another text.
    ///
    /// # Panics
    /// As [`RelationExtractor::extract_in`].
    pub fn extract_folded<'e>(
        &self,
        text: &str,
        spans: &[std::ops::Range<usize>],
        folded: &Normalized,
        mentions: &'e [Mention<'_>],
    ) -> Result<Vec<Relation<'e>>> {
        if folded.original_len() != text.len() {
            return Err(Error::fold_mismatch(text.len(), folded.original_len()));
        }
        self.extract_all(text, spans, Some(folded), mentions)
    }

    /// The folds this extractor applies to texts and triggers.
    pub fn normalize_options(&self) -> &NormalizeOptions {
        &self.inner.options
    }

    /// The first-word filter of the triggers, for an extractor that marks their words while it
    /// walks the names ([`ExtractorBuilder::relations`](crate::ExtractorBuilder::relations)):
    /// `None` when there are no triggers or some rule takes one as a prefix (the filter does not
    /// answer for those).
    pub(crate) fn word_filter(&self) -> Option<Arc<FirstWords>> {
        let triggers = self.inner.automaton.as_ref()?;
        triggers.heads.is_none().then(|| Arc::clone(&triggers.first_words))
    }

    /// Whether `filter` is [`RelationExtractor::word_filter`], the filter of a fold's marks.
    fn is_word_filter(&self, filter: &Arc<FirstWords>) -> bool {
        let triggers = self.inner.automaton.as_ref();
        triggers.is_some_and(|t| t.heads.is_none() && Arc::ptr_eq(&t.first_words, filter))
    }

    /// Calls `found(start, end, pattern, clitic)` for every trigger of the automaton that
    /// starts a word of `folded` or follows a proclitic run that does (the run is `clitic`,
    /// else ""), and that a rule may keep: it ends a word, or some rule takes it as a prefix.
    /// `words` are the word starts to look at with where a trigger may start in each
    /// ([`Triggers::word_bits`]). (Walks find other triggers too; the filters behind the bits
    /// may or may not let them through.)
    fn triggers(
        &self,
        folded: &str,
        words: &[(usize, u8)],
        found: &mut dyn FnMut(usize, usize, usize, &'static str),
    ) {
        let Some(triggers) = &self.inner.automaton else { return };
        let walk = |from: usize, clitic: &'static str, found: &mut dyn FnMut(_, _, _, _)| {
            prefixes(&triggers.trie, folded, from, &mut |p, e| found(from, e, p as usize, clitic))
        };
        for &(ws, bits) in words {
            if bits & AT_WORD != 0 {
                walk(ws, "", found);
            }
            let runs = runs_at_word_start(folded.as_bytes(), ws);
            for (run, bit) in runs.into_iter().zip([AFTER_ONE, AFTER_TWO]) {
                if let Some((clitic, after)) = run.filter(|_| bits & bit != 0) {
                    walk(after, clitic, found);
                }
            }
        }
    }

    fn extract_all<'e>(
        &self,
        text: &str,
        spans: &[std::ops::Range<usize>],
        doc: Option<&Normalized>,
        mentions: &'e [Mention<'_>],
    ) -> Result<Vec<Relation<'e>>> {
        let mut sentence = SentenceCursor::new(spans);
        let mut order: Vec<(usize, usize, usize)> = mentions
            .iter()
            .enumerate()
            .map(|(i, m)| (sentence.index(m.start), m.start, i))
            .collect();
        order.sort_unstable();
        let mut out = Vec::new();
        let mut scratch = Scratch::new();
        let mut group: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let s = order[i].0;
            let j = i + order[i..].iter().take_while(|o| o.0 == s).count();
            if j - i >= 2 && self.some_rule_fits(order[i..j].iter().map(|o| mentions[o.2].kind())) {
                group.clear();
                group.extend(order[i..j].iter().map(|o| o.2));
                let sentence = (&spans[s], s);
                self.sentence(text, sentence, doc, mentions, &group, &mut scratch, &mut out)?;
            }
            i = j;
        }
        scratch.finish();
        Ok(out)
    }

    /// Whether some rule has, among mentions of these kinds, a head and a different tail of the
    /// kinds it takes: a sentence where none has yields no relation (every candidate's head and
    /// tail pass the rule's kinds), and its tokens and triggers are not worth finding.
    fn some_rule_fits(&self, kinds: impl Iterator<Item = EntityKind>) -> bool {
        let present = KindsPresent::new(kinds);
        self.inner.rules.rules.iter().any(|r| present.fit(r))
    }

    /// Whether to skip what cannot find anything: a sentence where no rule may fire (no
    /// occurrence of a fitting rule's trigger, no fitting rule without one), a parent rule
    /// where no mention is another's gazetteer parent. Always; a test's extractor turns it off
    /// to check the skips change nothing.
    fn shortcuts(&self) -> bool {
        #[cfg(test)]
        return self.inner.shortcuts;
        #[cfg(not(test))]
        true
    }

    /// Finds the relations of one sentence.
    #[allow(clippy::too_many_arguments)]
    fn sentence<'e>(
        &self,
        text: &str,
        (range, index): (&std::ops::Range<usize>, usize),
        doc: Option<&Normalized>,
        mentions: &'e [Mention<'_>],
        group: &[usize],
        scratch: &mut Scratch<'e>,
        out: &mut Vec<Relation<'e>>,
    ) -> Result<()> {
        let inner = &*self.inner;
        let original = &text[range.clone()];
        // The folded sentence and where it starts in `n`'s coordinates: cut from the document's
        // fold when there is one (folding is character by character and a sentence starts and
        // ends at a character that is no white space, so the cut equals the sentence's own
        // fold), else folded here. `n` positions map back to `base_original + offset`.
        // Sentences come in text order: the document's anchors are searched from where the
        // last sentence's end was found, and the mentions' from the sentence's start.
        let (n, f0, f1, anchor, base_original) = match doc {
            Some(n) => {
                let (f0, a0) = n.folded_start_after(range.start, scratch.anchor_cursor);
                let (f1, a1) = n.folded_start_after(range.end, a0);
                scratch.anchor_cursor = a1;
                (n, f0, f1, a0, 0)
            }
            None => {
                scratch.b.normalized.refill(original, &inner.options)?;
                let n = &scratch.b.normalized;
                (n, 0, n.text().len(), 0, range.start)
            }
        };
        let folded = &n.text()[f0..f1];

        // Where the sentence's words start, in its own coordinates: from the fold's word starts
        // (a word right at the sentence start counts whatever stands before the sentence).
        let all = n.word_starts();
        // Both searches start where the last sentence's ended.
        let from = if doc.is_some() { scratch.word_cursor } else { 0 };
        let lo = partition_point_from(all, from, |&w| (w as usize) < f0);
        let hi = partition_point_from(all, lo, |&w| (w as usize) < f1);
        scratch.word_cursor = hi;
        let starts = &mut scratch.b.starts;
        starts.clear();
        if folded.chars().next().is_some_and(is_word_char) && all.get(lo) != Some(&(f0 as u32)) {
            starts.push(0);
        }
        starts.extend(all[lo..hi].iter().map(|&w| w as usize - f0));
        // The mentions in the fold's coordinates (their tokens once the sentence is cut).
        let items = &mut scratch.items;
        items.clear();
        for &g in group {
            let m = &mentions[g];
            let s = m.start.clamp(range.start, range.end) - base_original;
            let e = m.end.clamp(range.start, range.end) - base_original;
            let (fs, a) = n.folded_start_after(s, anchor);
            let (fs, fe) = (fs - f0, n.folded_start_after(e, a).0 - f0);
            if fe <= fs {
                continue;
            }
            items.push(Item {
                mention: g,
                kind: m.kind(),
                entity: &m.entity,
                clitic: m.clitic.chars().next_back(),
                conj: m.clitic.starts_with(['و', 'ف']),
                fs,
                fe,
                t0: 0,
                t1: 0,
            });
        }
        if items.len() < 2 {
            return Ok(());
        }

        // The words where a trigger may start, and where in them. Asked of the filters here:
        // the word's end from the next word start (each run of word characters starts at one).
        let words = &mut scratch.b.words;
        words.clear();
        let bits = |k: usize| {
            let ws = starts[k];
            let next = starts.get(k + 1).copied().unwrap_or(folded.len());
            let triggers = inner.automaton.as_ref();
            triggers.map_or(0, |t| t.word_bits(folded, ws, word_end_before(folded, ws, next)))
        };
        // Or read from the marks of an extractor linked to these triggers, which asked the same
        // filter about every word of the document: all but a word the sentence cuts into at its
        // start, and the last word, whose run might go on past the sentence's end.
        let marks = doc
            .filter(|n| n.trigger_filter.as_ref().is_some_and(|f| self.is_word_filter(f)))
            .map(|n| &n.trigger_words[..])
            .filter(|marks| marks.len() * 64 >= all.len());
        let cut = usize::from(starts.len() > hi - lo);
        let ask = |k: usize, words: &mut Vec<(usize, u8)>| {
            let found = bits(k);
            if found != 0 {
                words.push((starts[k], found));
            }
        };
        match marks {
            Some(marks) if starts.len() > 1 => {
                let last = starts.len() - 1;
                if cut == 1 {
                    ask(0, words);
                }
                // The words in between, by their index in the document's word starts.
                let (mut i, to) = (lo, lo + last - cut);
                while i < to {
                    let block = marks[i / 64];
                    let span = (to - i).min(64 - i % 64);
                    let mut any = (block[0] | block[1] | block[2]) >> (i % 64);
                    if span < 64 {
                        any &= (1u64 << span) - 1;
                    }
                    while any != 0 {
                        let at = i + any.trailing_zeros() as usize;
                        any &= any - 1;
                        let b = at % 64;
                        let flag = |m: u64, bit: u8| if m >> b & 1 == 1 { bit } else { 0 };
                        let found = flag(block[0], AT_WORD)
                            | flag(block[1], AFTER_ONE)
                            | flag(block[2], AFTER_TWO);
                        words.push((all[at] as usize - f0, found));
                    }
                    i += span;
                }
                ask(last, words);
            }
            _ => (0..starts.len()).for_each(|k| ask(k, words)),
        }

        // Trigger occurrences, with their word boundaries checked, outside every mention.
        let occurrences = &mut scratch.b.occurrences;
        occurrences.clear();
        let present = KindsPresent::new(items.iter().map(|it| it.kind));
        let mut may_find = false;
        self.triggers(folded, words, &mut |s, e, pattern, clitic| {
            if items.iter().any(|it| it.fs < e && s < it.fe) {
                return;
            }
            let conj = clitic.starts_with(['و', 'ف']);
            for r in &inner.patterns[pattern] {
                let end = if r.prefix {
                    word_end(folded, e)
                } else if is_word_end(folded, e) {
                    e
                } else {
                    continue;
                };
                may_find |= may_fire(present, &inner.rules.rules[r.rule as usize], items);
                occurrences.push(Occurrence {
                    rule: r.rule as usize,
                    conj,
                    fs: s,
                    fe: end,
                    t0: 0,
                    t1: 0,
                });
            }
        });
        // No occurrence of a rule that may fire, and no rule without trigger that may: the
        // sentence yields nothing, and its tokens are not worth cutting (on news, half the
        // sentences with two mentions or more: most name places and people with no relation
        // stated between them).
        may_find = may_find
            || inner.rules.rules.iter().any(|r| !r.has_trigger() && may_fire(present, r, items));
        if self.shortcuts() && !may_find {
            return Ok(());
        }

        let tokens = &mut scratch.b.tokens;
        if inner.options.spaces {
            space_tokens(folded, starts, tokens, &mut scratch.b.spaces);
        } else {
            white_space_tokens(folded, tokens);
        }
        if tokens.is_empty() {
            return Ok(());
        }
        let token_of = |p: usize| tokens.partition_point(|t| t.1 <= p).min(tokens.len() - 1);
        for it in items.iter_mut() {
            (it.t0, it.t1) = (token_of(it.fs), token_of(it.fe - 1));
        }
        for o in occurrences.iter_mut() {
            (o.t0, o.t1) = (token_of(o.fs), token_of(o.fe - 1));
        }
        occurrences.sort_by_key(|o| (o.rule, o.fs, std::cmp::Reverse(o.fe)));
        occurrences.dedup_by_key(|o| (o.rule, o.fs, o.fe));

        let trigger_starts = &mut scratch.b.trigger_starts;
        trigger_starts.clear();
        trigger_starts.extend(occurrences.iter().map(|o| o.t0));
        trigger_starts.sort_unstable();
        trigger_starts.dedup();
        let (items, occurrences) = (&*items, &*occurrences);
        let sentence = Sentence { folded, tokens, items, trigger_starts };
        // Pass 1: noun phrases, so that later left searches take their heads.
        let phrase_head = &mut scratch.b.phrase_head;
        phrase_head.clear();
        phrase_head.resize(items.len(), None);
        let candidates = &mut scratch.b.candidates;
        candidates.clear();
        // Only the rules that may fire are tried (all with a head and a tail among the
        // mentions' kinds, without the shortcuts).
        let tried = |rule: &Rule| {
            if self.shortcuts() {
                may_fire(present, rule, items)
            } else {
                present.fit(rule)
            }
        };
        for (r, rule) in inner.rules.rules.iter().enumerate() {
            if rule.phrase && tried(rule) {
                self.apply(r, rule, &sentence, occurrences, phrase_head, candidates);
            }
        }
        for (first, other) in candidates.iter().filter_map(|c| c.phrase) {
            phrase_head[other] = Some(first);
        }
        // Pass 2: every rule.
        candidates.clear();
        for (r, rule) in inner.rules.rules.iter().enumerate() {
            if tried(rule) {
                self.apply(r, rule, &sentence, occurrences, phrase_head, candidates);
            }
        }

        // One relation per (type, head entity, tail entity): first rule, leftmost, longest.
        candidates.sort_by_key(|c| {
            (c.rule, c.trigger.map(|t| (t.0, std::cmp::Reverse(t.1))), c.head, c.tail)
        });
        let seen = &mut scratch.seen;
        seen.clear();
        let found = &mut scratch.found;
        found.clear();
        for c in candidates.iter() {
            let (head, tail) = (&items[c.head], &items[c.tail]);
            let kind = inner.rules.rules[c.rule].kind;
            if !seen.insert((kind, head.entity.id(), tail.entity.id())) {
                continue;
            }
            let to_span = |(s, e): (usize, usize)| {
                let source = if doc.is_some() { text } else { original };
                let (s, e) = n.original_span(source, f0 + s, f0 + e);
                Span { start: base_original + s, end: base_original + e }
            };
            let position = c.first_fs;
            found.push((
                position,
                Relation {
                    kind,
                    head: head.mention,
                    tail: tail.mention,
                    trigger: c.trigger.map(to_span),
                    role: c.role.map(to_span),
                    country: if tail.kind == EntityKind::Norp {
                        tail.entity.parent()
                    } else {
                        None
                    },
                    sentence: index,
                    sentence_span: Span { start: range.start, end: range.end },
                    rule: c.rule,
                },
            ));
        }
        found.sort_by_key(|(p, r)| (*p, r.head.min(r.tail), r.head, r.tail, r.kind));
        out.extend(found.drain(..).map(|(_, r)| r));
        Ok(())
    }

    /// Applies one rule to a sentence, pushing its candidate relations.
    fn apply(
        &self,
        r: usize,
        rule: &Rule,
        sentence: &Sentence<'_, '_>,
        occurrences: &[Occurrence],
        phrase_head: &[Option<usize>],
        out: &mut Vec<Candidate>,
    ) {
        if rule.has_trigger() {
            let a = rule.order.iter().position(|e| e.slot == Slot::Trigger).unwrap_or(0);
            let first = occurrences.partition_point(|o| o.rule < r);
            for o in occurrences[first..].iter().take_while(|o| o.rule == r) {
                if rule.noconj && o.conj {
                    continue;
                }
                let anchor = Anchor { t0: o.t0, t1: o.t1, fs: o.fs, fe: o.fe, item: None };
                self.match_at(r, rule, a, anchor, sentence, phrase_head, out);
            }
        } else {
            let a = rule.order.iter().position(|e| e.slot == Slot::Head).unwrap_or(0);
            let element = rule.order[a];
            for (i, it) in sentence.items.iter().enumerate() {
                if rule.head.contains(it.kind) && clitic_fits(element, it) {
                    let anchor =
                        Anchor { t0: it.t0, t1: it.t1, fs: it.fs, fe: it.fe, item: Some(i) };
                    self.match_at(r, rule, a, anchor, sentence, phrase_head, out);
                }
            }
        }
    }

    /// Looks for the rule's other elements outward from the anchor (element `a` of the order).
    #[allow(clippy::too_many_arguments)]
    fn match_at(
        &self,
        r: usize,
        rule: &Rule,
        a: usize,
        anchor: Anchor,
        sentence: &Sentence<'_, '_>,
        phrase_head: &[Option<usize>],
        out: &mut Vec<Candidate>,
    ) {
        let items = sentence.items;
        // The mentions taken for head and tail: runs of adjacent items (a listed group).
        let mut heads: std::ops::Range<usize> = anchor.item.map_or(0..0, |i| i..i + 1);
        let mut tails: std::ops::Range<usize> = 0..0;
        let fits = |slot: Slot, element: Element, i: usize, heads: &std::ops::Range<usize>| {
            let it = &items[i];
            let kinds = if slot == Slot::Head { rule.head } else { rule.tail };
            if !kinds.contains(it.kind) || !clitic_fits(element, it) {
                return false;
            }
            if rule.country && slot == Slot::Tail && it.entity.parent().is_some() {
                return false;
            }
            // With a known head, a `parent` rule's tail must be the head's gazetteer parent.
            !(rule.parent && slot == Slot::Tail && !heads.is_empty())
                || heads.clone().any(|h| items[h].entity.parent() == Some(it.entity.id()))
        };
        // The token span covered so far, and the folded span for the role.
        let (mut left, mut right) = (anchor.t0, anchor.t1);
        let mut next_after_trigger: Option<usize> = None;

        for k in a + 1..rule.order.len() {
            let element = rule.order[k];
            let gap = rule.gaps[k - 1];
            let found = items.iter().enumerate().find(|(i, it)| {
                it.t0 > right
                    && gap.is_none_or(|g| it.t0 - right - 1 <= g)
                    && fits(element.slot, element, *i, &heads)
            });
            let Some((first, _)) = found else { return };
            // A mention glued to و or ف starts a new conjunct: رئيس الإمارات، ومحمد بن راشد.
            if element.clitic.is_none() && items[first].conj {
                return;
            }
            let mut last = first;
            while last + 1 < items.len()
                && items[last + 1].kind == items[first].kind
                && listed(sentence.folded, &items[last], &items[last + 1])
                && !sentence.before_trigger(last + 1)
            {
                last += 1;
            }
            let group = first..last + 1;
            if k == a + 1 && anchor.item.is_none() {
                next_after_trigger = Some(items[first].t0);
            }
            right = items[last].t1;
            match element.slot {
                Slot::Head => heads = group,
                _ => tails = group,
            }
        }
        for k in (0..a).rev() {
            let element = rule.order[k];
            let gap = rule.gaps[k];
            let found = items.iter().enumerate().rev().find(|(i, it)| {
                it.t1 < left
                    && gap.is_none_or(|g| left - it.t1 - 1 <= g)
                    && (phrase_head[*i].is_some_and(|h| fits(element.slot, element, h, &heads))
                        || fits(element.slot, element, *i, &heads))
            });
            let Some((mut first, _)) = found else { return };
            if let Some(h) = phrase_head[first].filter(|&h| fits(element.slot, element, h, &heads))
            {
                first = h;
            }
            let last = first;
            while first > 0
                && items[first - 1].kind == items[first].kind
                && listed(sentence.folded, &items[first - 1], &items[first])
            {
                first -= 1;
            }
            let group = first..last + 1;
            left = items[first].t0;
            match element.slot {
                Slot::Head => heads = group,
                _ => tails = group,
            }
        }
        let trigger = anchor.item.is_none().then_some((anchor.fs, anchor.fe));
        let role = match rule.role {
            RoleCapture::None => None,
            RoleCapture::Trigger => trigger,
            RoleCapture::Extended => {
                let end = match next_after_trigger {
                    Some(t) if t > anchor.t1 + 1 => {
                        let (s, e) = sentence.tokens[t - 1];
                        let word = &sentence.folded[s..e];
                        s + word.trim_end_matches(|c: char| !is_word_char(c)).len()
                    }
                    _ => anchor.fe,
                };
                Some((anchor.fs, end.max(anchor.fe)))
            }
        };
        let negation = &self.inner.negation[r];
        for h in heads.clone() {
            for t in tails.clone() {
                let (hd, tl) = (&items[h], &items[t]);
                if h == t || hd.entity.id() == tl.entity.id() {
                    continue;
                }
                if rule.parent && hd.entity.parent() != Some(tl.entity.id()) {
                    continue;
                }
                let lo = hd.t0.min(tl.t0).min(anchor.t0);
                let hi = hd.t1.max(tl.t1).max(anchor.t1);
                if !negation.is_empty()
                    && negated(sentence, negation, lo.saturating_sub(NEGATION_BEFORE), hi, |t| {
                        (anchor.t0..=anchor.t1).contains(&t)
                            || (hd.t0..=hd.t1).contains(&t)
                            || (tl.t0..=tl.t1).contains(&t)
                    })
                {
                    continue;
                }
                let phrase = match rule.order[0].slot {
                    Slot::Head => Some((h, t)),
                    Slot::Tail => Some((t, h)),
                    Slot::Trigger => None,
                };
                out.push(Candidate {
                    rule: r,
                    head: h,
                    tail: t,
                    trigger,
                    role,
                    first_fs: hd.fs.min(tl.fs).min(anchor.fs),
                    phrase,
                });
            }
        }
    }
}

/// Whether `rule` may find something among these mentions: it has a head and a different tail
/// among their kinds, and for a `parent` rule, which keeps only a head whose gazetteer parent
/// is the tail, such a pair (most sentences that name two places name no city with its
/// country: its anchors are not worth visiting).
fn may_fire(present: KindsPresent, rule: &Rule, items: &[Item<'_>]) -> bool {
    present.fit(rule) && (!rule.parent || has_parent_pair(rule, items))
}

/// Whether some mention of the rule's head kinds has for gazetteer parent the entity of a
/// mention of its tail kinds.
fn has_parent_pair(rule: &Rule, items: &[Item<'_>]) -> bool {
    items.iter().any(|h| {
        rule.head.contains(h.kind)
            && h.entity.parent().is_some_and(|parent| {
                items.iter().any(|t| rule.tail.contains(t.kind) && t.entity.id() == parent)
            })
    })
}

/// Buffers for one call of [`RelationExtractor::extract`], cleared for each sentence: those that
/// borrow nothing (`b`) come from the calling thread's last call, the others are made here.
struct Scratch<'e> {
    b: Buffers,
    items: Vec<Item<'e>>,
    /// (type, head entity, tail entity) already found in the sentence.
    seen: FxHashSet<(RelationKind, &'e str, &'e str)>,
    found: Vec<(usize, Relation<'e>)>,
    /// Where the last sentence's word starts ended in the document's word starts.
    word_cursor: usize,
    /// The document's fold anchor found for the last sentence's end.
    anchor_cursor: usize,
}

/// The buffers of [`Scratch`] that borrow nothing, which each thread keeps from one document to
/// the next: news comes as many short documents, and growing a dozen vectors again for each
/// cost more than the sentences of a short one.
#[derive(Default)]
struct Buffers {
    normalized: Normalized,
    tokens: Vec<(usize, usize)>,
    /// One bit per byte of the current sentence: the spaces (see [`space_tokens`]).
    spaces: Vec<u64>,
    /// The word starts of the current sentence, in its coordinates.
    starts: Vec<usize>,
    /// The words of the current sentence where a trigger may start: start, and where in the
    /// word (`AT_WORD`...).
    words: Vec<(usize, u8)>,
    occurrences: Vec<Occurrence>,
    /// The first token of every trigger occurrence, sorted.
    trigger_starts: Vec<usize>,
    phrase_head: Vec<Option<usize>>,
    candidates: Vec<Candidate>,
}

/// Buffers past this many heap bytes are let go rather than kept for the thread's next call.
const BUFFERS_KEEP_BYTES: usize = 1 << 20;

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::default();
}

impl<'e> Scratch<'e> {
    /// A scratch with the calling thread's buffers.
    fn new() -> Scratch<'e> {
        Scratch {
            b: BUFFERS.with(|b| std::mem::take(&mut *b.borrow_mut())),
            items: Vec::new(),
            seen: FxHashSet::default(),
            found: Vec::new(),
            word_cursor: 0,
            anchor_cursor: 0,
        }
    }

    /// Gives the buffers back to the calling thread, unless they grew large.
    fn finish(self) {
        fn bytes<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        let b = self.b;
        let vectors = bytes(&b.tokens)
            + bytes(&b.spaces)
            + bytes(&b.starts)
            + bytes(&b.words)
            + bytes(&b.occurrences)
            + bytes(&b.trigger_starts)
            + bytes(&b.phrase_head)
            + bytes(&b.candidates);
        if b.normalized.heap_bytes() + vectors <= BUFFERS_KEEP_BYTES {
            BUFFERS.with(|cell| *cell.borrow_mut() = b);
        }
    }
}

/// The tokens of a folded sentence whose white space is all single spaces (the fold turns every
/// white space run into one): the runs between spaces that hold a word character, which is
/// where a word starts (`starts`, sorted). The spaces are found 64 bytes at a time into `spaces`
/// (one bit per byte), then each token's ends by a bit scan.
fn space_tokens(
    folded: &str,
    starts: &[usize],
    tokens: &mut Vec<(usize, usize)>,
    spaces: &mut Vec<u64>,
) {
    tokens.clear();
    let bytes = folded.as_bytes();
    spaces.clear();
    spaces.extend(block_masks(bytes, Bytes::Spaces));
    // The first space at or after `from`, or the end.
    let next = |from: usize| {
        let (mut b, mut bits) = (from / 64, spaces[from / 64] >> (from % 64) << (from % 64));
        while bits == 0 {
            b += 1;
            match spaces.get(b) {
                Some(&m) => bits = m,
                None => return bytes.len(),
            }
        }
        (b * 64 + bits.trailing_zeros() as usize).min(bytes.len())
    };
    // Just after the last space before `to`, or 0.
    let after_previous = |to: usize| {
        let (mut b, mut bits) = (to / 64, spaces[to / 64] & ((1u64 << (to % 64)) - 1));
        while bits == 0 {
            if b == 0 {
                return 0;
            }
            b -= 1;
            bits = spaces[b];
        }
        b * 64 + 64 - bits.leading_zeros() as usize
    };
    let mut end = 0;
    for &ws in starts {
        if ws < end {
            continue;
        }
        let start = if ws == 0 || bytes[ws - 1] == b' ' { ws } else { after_previous(ws) };
        end = next(ws);
        tokens.push((start, end));
    }
}

/// The tokens of a folded sentence: runs between white space that hold a word character.
fn white_space_tokens(folded: &str, tokens: &mut Vec<(usize, usize)>) {
    tokens.clear();
    let mut start: Option<usize> = None;
    let mut word = false;
    for (p, c) in folded.char_indices().chain(std::iter::once((folded.len(), ' '))) {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                if word {
                    tokens.push((s, p));
                }
            }
            word = false;
        } else {
            start.get_or_insert(p);
            word |= is_word_char(c);
        }
    }
}

/// A mention of the current sentence, in folded coordinates.
#[derive(Clone, Copy, Debug)]
struct Item<'e> {
    mention: usize,
    kind: EntityKind,
    entity: &'e Entity,
    /// The last letter of the mention's proclitic run.
    clitic: Option<char>,
    /// The proclitic run starts with the conjunction و or ف.
    conj: bool,
    fs: usize,
    fe: usize,
    t0: usize,
    t1: usize,
}

/// A trigger occurrence in the folded sentence.
#[derive(Clone, Copy, Debug)]
struct Occurrence {
    rule: usize,
    /// The trigger is glued to the conjunction و or ف.
    conj: bool,
    fs: usize,
    fe: usize,
    t0: usize,
    t1: usize,
}

/// Where a match starts: a trigger occurrence, or the head mention of a rule without trigger.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    t0: usize,
    t1: usize,
    fs: usize,
    fe: usize,
    item: Option<usize>,
}

/// A relation before deduplication, in sentence coordinates.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    rule: usize,
    head: usize,
    tail: usize,
    trigger: Option<(usize, usize)>,
    role: Option<(usize, usize)>,
    first_fs: usize,
    /// For a rule whose order starts with an argument: that argument's item (the head of the
    /// phrase, for a `phrase` rule) and the other argument's.
    phrase: Option<(usize, usize)>,
}

struct Sentence<'s, 'e> {
    folded: &'s str,
    tokens: &'s [(usize, usize)],
    items: &'s [Item<'e>],
    /// The first token of every trigger occurrence, sorted.
    trigger_starts: &'s [usize],
}

impl Sentence<'_, '_> {
    /// Does a trigger start on the token right after item `i`? Then `i` starts a new clause
    /// (حماس وسرايا القدس التابعة لـ...) and a list does not extend to it.
    fn before_trigger(&self, i: usize) -> bool {
        self.trigger_starts.binary_search(&(self.items[i].t1 + 1)).is_ok()
    }
}

/// Does the argument's proclitic run end with the letter the element requires?
fn clitic_fits(element: Element, item: &Item<'_>) -> bool {
    element.clitic.is_none_or(|c| item.clitic == Some(c))
}

/// Are two mentions adjacent members of a list: only white space, quotes, commas and و (alone
/// or before ب ل ك) between them, with a comma or a و?
fn listed(folded: &str, a: &Item<'_>, b: &Item<'_>) -> bool {
    if a.fe > b.fs {
        return false;
    }
    list_gap(&folded[a.fe..b.fs])
}

/// Whether `between` joins two items of a list: once the separators (white space, commas,
/// quotes) are left out, nothing (and there was a comma), و, وب, ول or وك. Read up to the first
/// character that rules it out: the gap can be long.
fn list_gap(between: &str) -> bool {
    let (mut comma, mut letters) = (false, 0);
    for c in between.chars() {
        if c == '،' || c == ',' {
            comma = true;
        } else if !(c.is_whitespace() || is_quote(c)) {
            let fits = match letters {
                0 => c == 'و',
                1 => matches!(c, 'ب' | 'ل' | 'ك'),
                _ => false,
            };
            if !fits {
                return false;
            }
            letters += 1;
        }
    }
    letters > 0 || comma
}

/// Is one of `words` among the tokens `lo..=hi` that are not elements of the match?
fn negated(
    sentence: &Sentence<'_, '_>,
    words: &[String],
    lo: usize,
    hi: usize,
    is_element: impl Fn(usize) -> bool,
) -> bool {
    (lo..=hi.min(sentence.tokens.len() - 1)).filter(|&t| !is_element(t)).any(|t| {
        let (s, e) = sentence.tokens[t];
        let core = sentence.folded[s..e].trim_matches(|c: char| !is_word_char(c));
        words.iter().any(|w| {
            core == w
                || CLITIC_RUNS
                    .iter()
                    .any(|run| core.strip_prefix(run).is_some_and(|rest| rest == w))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chars::{clitic_before, is_word_start};
    use crate::Extractor;
    use proptest::prelude::*;

    /// The shipped rules with every other trigger of each rule taken as a prefix (`*`).
    fn with_prefix_triggers() -> RelationExtractor {
        let tsv: Vec<String> = DEFAULT_FILE
            .1
            .lines()
            .map(|line| {
                let mut columns: Vec<String> = line.split('\t').map(String::from).collect();
                if line.starts_with('#') || columns.len() < 2 || columns[1] == "-" {
                    return line.to_string();
                }
                let triggers: Vec<String> = columns[1]
                    .split('|')
                    .enumerate()
                    .map(|(i, t)| if i % 2 == 1 { format!("{t}*") } else { t.to_string() })
                    .collect();
                columns[1] = triggers.join("|");
                columns.join("\t")
            })
            .collect();
        let rules = RuleSet::from_tsv("prefixed.tsv", &tsv.join("\n")).unwrap();
        let rx = RelationExtractor::new(rules).unwrap();
        assert!(rx.inner.automaton.as_ref().is_some_and(|t| t.heads.is_some()));
        rx
    }

    #[test]
    fn marked_triggers_at_the_edges_of_sentences() {
        let (linked, relations) = linked();
        let (plain, ..) = shortcuts_and_not();
        // A trigger that opens the second sentence (the first word of its range of the
        // document's word starts), and one that opens a text without an end mark.
        for text in
            ["وصل الوفد. زار بوتين الجزائر.", "زار بوتين الجزائر", "قال. وزار بوتين الجزائر"]
        {
            let mut folded = Normalized::default();
            let mentions = linked.extract_into(text, &mut folded).unwrap();
            let spans = sentences(text);
            let marked = relations.extract_folded(text, &spans, &folded, &mentions).unwrap();
            let plain_mentions = plain.extract(text).unwrap();
            let unmarked = relations.extract(text, &plain_mentions).unwrap();
            assert!(!marked.is_empty(), "{text}");
            assert_eq!(marked, unmarked, "{text}");
        }
    }

    /// A text of `words` (index, proclitic run, separator): the triggers `surfaces[index]` (a
    /// filler for an index past them), each after one of eight proclitic runs and before a
    /// separator.
    fn trigger_text(
        surfaces: &[String],
        words: &[(usize, usize, usize)],
        separators: &[&str; 8],
        fillers: &[&str],
    ) -> String {
        let clitics = ["", "و", "ف", "ب", "ل", "وب", "ولل", "ال"];
        let mut text = String::new();
        for &(w, c, sep) in words {
            text.push_str(clitics[c]);
            match surfaces.get(w) {
                Some(trigger) => text.push_str(trigger),
                None => text.push_str(fillers[w % fillers.len()]),
            }
            text.push_str(separators[sep]);
        }
        text
    }

    proptest! {
        /// The list gap read up to its first telling character says what reading it all says:
        /// separators left out, nothing with a comma, or و, وب, ول, وك.
        #[test]
        fn a_list_gap_is_judged_as_on_the_whole_gap(
            gap in "[ ،,\"«]{0,3}[وبلكمx]?[ ،,«]{0,2}[وبلكمx]?[ ،,»]{0,2}[وبلكمx]?[ ،,\"»]{0,3}",
        ) {
            let rest: String = gap
                .chars()
                .filter(|&c| !(c.is_whitespace() || c == '،' || c == ',' || is_quote(c)))
                .collect();
            let whole = match rest.as_str() {
                "" => gap.contains(['،', ',']),
                "و" | "وب" | "ول" | "وك" => true,
                _ => false,
            };
            prop_assert_eq!(list_gap(&gap), whole, "{:?}", gap);
        }
    }

    /// An extractor that marks the words where the shipped triggers may start, and the
    /// relation extractor of those triggers.
    fn linked() -> &'static (Extractor, RelationExtractor) {
        static BOTH: std::sync::OnceLock<(Extractor, RelationExtractor)> =
            std::sync::OnceLock::new();
        BOTH.get_or_init(|| {
            let relations = RelationExtractor::embedded().unwrap();
            let mut builder = Extractor::builder();
            builder.relations(&relations);
            (builder.build(crate::Gazetteer::embedded().unwrap()).unwrap(), relations)
        })
    }

    /// The embedded rules with and without their shortcuts (the sentences and parent rules
    /// that cannot find anything skipped).
    fn shortcuts_and_not() -> &'static (Extractor, RelationExtractor, RelationExtractor) {
        static ALL: std::sync::OnceLock<(Extractor, RelationExtractor, RelationExtractor)> =
            std::sync::OnceLock::new();
        ALL.get_or_init(|| {
            let extractor = Extractor::new(crate::Gazetteer::embedded().unwrap()).unwrap();
            let quick = RelationExtractor::embedded().unwrap();
            let mut plain = RelationExtractor::embedded().unwrap();
            Arc::get_mut(&mut plain.inner).unwrap().shortcuts = false;
            (extractor, quick, plain)
        })
    }

    proptest! {
        /// Skipping the sentences where no rule may fire and the parent rules where no mention
        /// is another's parent finds the same relations as trying every rule in every sentence
        /// with two mentions: sentences of mentions (باماكو and مالي, a parent pair), triggers
        /// (with proclitics) and other words, the triggers near and far from the mentions.
        #[test]
        fn the_shortcuts_change_no_relation(
            words in prop::collection::vec((0usize..30, 0usize..10, 0usize..10), 2..60),
        ) {
            let (extractor, quick, plain) = shortcuts_and_not();
            let names = [
                "روسيا", "مالي", "فاغنر", "الفيلق الأفريقي", "سيرغي لافروف", "الجزائر",
                "الأمم المتحدة", "فلاديمير بوتين", "الروسي", "باماكو",
            ];
            // Mostly none; the ones the rules ask for (ل+tail, ب+tail) and a conjunction.
            let clitics = ["", "", "", "", "", "", "و", "ب", "ل", "ف"];
            // Sentence ends too: the marks of a sentence's first and last words.
            let separators = [" ", " ", " ", " ", "، ", " و", " - ", " ", ". ", ".\n"];
            let triggers = &quick.inner.surfaces;
            let fillers = ["قال", "إن", "الذي", "اليوم", "في", "من", "لم", "مع", "بعد", "كما"];
            let mut text = String::new();
            for &(w, c, sep) in &words {
                text.push_str(clitics[c]);
                match w {
                    0..=9 => text.push_str(names[w]),
                    10..=19 => text.push_str(&triggers[(w * 7919 + c * 31 + sep) % triggers.len()]),
                    _ => text.push_str(fillers[w - 20]),
                }
                text.push_str(separators[sep]);
            }
            text.push('.');
            let mentions = extractor.extract(&text).unwrap();
            let found = quick.extract(&text, &mentions).unwrap();
            let all = plain.extract(&text, &mentions).unwrap();
            prop_assert_eq!(&found, &all, "{}", text);

            // The same from the fold of an extractor that marked the trigger words while it
            // walked the names (`ExtractorBuilder::relations`).
            let (linked, relations) = linked();
            let mut folded = Normalized::default();
            let marked = linked.extract_into(&text, &mut folded).unwrap();
            prop_assert!(folded.trigger_filter.is_some());
            prop_assert_eq!(&marked, &mentions);
            let spans = sentences(&text);
            let from_marks = relations.extract_folded(&text, &spans, &folded, &marked).unwrap();
            prop_assert_eq!(&from_marks, &found, "{}", text);
        }

        /// An extractor linked to the triggers marks, for every word start of a text, where a
        /// trigger may start as the relations would find it themselves (`word_bits`).
        #[test]
        fn the_name_walk_marks_the_trigger_words(
            words in prop::collection::vec((0usize..420, 0usize..8, 0usize..8), 0..40),
        ) {
            let (linked, relations) = linked();
            let inner = &*relations.inner;
            let names = ["مالي", "روسيا", "فاغنر", "الجزائر", "محمد", "قال", "2015", "abc"];
            let separators = [" ", "، ", " (", "«", "-", "", ". ", "\n"];
            let text = trigger_text(&inner.surfaces, &words, &separators, &names);
            let mut n = Normalized::default();
            linked.extract_into(&text, &mut n).unwrap();
            let triggers = inner.automaton.as_ref().unwrap();
            let folded = n.text();
            for (i, &ws) in n.word_starts().iter().enumerate() {
                let ws = ws as usize;
                let marks = n.trigger_words[i / 64];
                let bit = |m: u64, flag: u8| if m >> (i % 64) & 1 == 1 { flag } else { 0 };
                let marked = bit(marks[0], AT_WORD) | bit(marks[1], AFTER_ONE) | bit(marks[2], AFTER_TWO);
                let bits = triggers.word_bits(folded, ws, word_end(folded, ws));
                prop_assert_eq!(marked, bits, "word {} at {} of {:?}", i, ws, folded);
            }
        }

        /// Trigger walks from word starts and proclitic-run ends find exactly the triggers an
        /// overlapping search over every position finds at those positions and a rule may keep
        /// (ending a word, or taken as a prefix), so the filters before each walk never hide
        /// one: with the shipped rules (whole words: the first-word filter) and with every other
        /// trigger taken as a prefix (the first-letters filter too). The tokens cut at spaces
        /// are the tokens cut at white space.
        #[test]
        fn trigger_walks_and_space_tokens_equal_the_full_search(
            words in prop::collection::vec((0usize..400, 0usize..8, 0usize..8), 0..40),
            prefixed in any::<bool>(),
        ) {
            let rx = if prefixed { with_prefix_triggers() } else { RelationExtractor::embedded().unwrap() };
            let inner = &*rx.inner;
            let separators = [" ", "، ", " (", "«", "-", "", " - ", " ، "];
            let fillers = ["قال", "إن", "الرئيس", "محمد", "2015", "abc"];
            let text = trigger_text(&inner.surfaces, &words, &separators, &fillers);
            let folded = fold(text.trim(), &inner.options);
            let starts: Vec<usize> = (0..folded.len())
                .filter(|&p| folded.is_char_boundary(p) && is_word_start(&folded, p))
                .filter(|&p| folded[p..].chars().next().is_some_and(is_word_char))
                .collect();
            let triggers = inner.automaton.as_ref().unwrap();
            let words: Vec<(usize, u8)> = starts
                .iter()
                .map(|&p| (p, triggers.word_bits(&folded, p, word_end(&folded, p))))
                .collect();
            // What a rule may keep: a match that ends a word, or one of a prefix trigger.
            let kept = |&(_, e, p, _): &(usize, usize, usize, &str)| {
                is_word_end(&folded, e) || inner.patterns[p].iter().any(|r| r.prefix)
            };
            let mut walked = Vec::new();
            rx.triggers(&folded, &words, &mut |s, e, p, c| walked.push((s, e, p, c)));
            walked.retain(kept);
            let mut searched = Vec::new();
            for s in (0..folded.len()).filter(|&p| folded.is_char_boundary(p)) {
                let clitic = if is_word_start(&folded, s) {
                    Some("")
                } else {
                    clitic_before(&folded, s).map(|c| c.0)
                };
                let Some(clitic) = clitic else { continue };
                for (p, surface) in inner.surfaces.iter().enumerate() {
                    if folded[s..].starts_with(surface.as_str()) {
                        searched.push((s, s + surface.len(), p, clitic));
                    }
                }
            }
            searched.retain(kept);
            walked.sort_unstable();
            searched.sort_unstable();
            prop_assert_eq!(walked, searched);

            let (mut by_space, mut by_white) = (Vec::new(), Vec::new());
            space_tokens(&folded, &starts, &mut by_space, &mut Vec::new());
            white_space_tokens(&folded, &mut by_white);
            prop_assert_eq!(by_space, by_white);
        }
    }

    proptest! {
        /// The kinds pre-check says yes exactly when some rule has a head and a different tail
        /// among the mentions, asked one pair at a time.
        #[test]
        fn the_kinds_check_is_the_pairwise_check(
            kinds in prop::collection::vec(0usize..EntityKind::ALL.len(), 0..6),
            only_rule in prop::option::of(0usize..64),
        ) {
            let mut rx = RelationExtractor::embedded().unwrap();
            if let Some(r) = only_rule {
                // One rule at a time too, so that a rule hidden behind another one is checked.
                let inner = Arc::get_mut(&mut rx.inner).unwrap();
                let n = inner.rules.rules.len();
                inner.rules.rules = vec![inner.rules.rules[r % n].clone()];
            }
            let kinds: Vec<EntityKind> = kinds.into_iter().map(|k| EntityKind::ALL[k]).collect();
            let pairwise = rx.inner.rules.rules.iter().any(|r| {
                (0..kinds.len()).any(|i| {
                    (0..kinds.len())
                        .any(|j| i != j && r.allows_head(kinds[i]) && r.allows_tail(kinds[j]))
                })
            });
            prop_assert_eq!(rx.some_rule_fits(kinds.iter().copied()), pairwise, "{:?}", kinds);
        }
    }

    /// The buffers a thread keeps from one document to the next change nothing: each seed
    /// paragraph's relations, found after all the paragraphs before it on one thread, equal its
    /// relations found first on a fresh thread (linked to the fold and not).
    #[test]
    fn kept_buffers_change_no_relation() {
        let (extractor, relations) = linked();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let mut paragraphs: Vec<String> = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "txt") {
                let text = std::fs::read_to_string(path).unwrap();
                paragraphs.extend(text.lines().filter(|l| !l.trim().is_empty()).map(String::from));
            }
        }
        let find = |text: &str| -> (String, String) {
            let mut folded = Normalized::default();
            let mentions = extractor.extract_into(text, &mut folded).unwrap();
            let spans = crate::sentences(text);
            let linked = relations.extract_folded(text, &spans, &folded, &mentions).unwrap();
            let plain = relations.extract(text, &mentions).unwrap();
            (format!("{linked:?}"), format!("{plain:?}"))
        };
        let mut found_some = 0;
        for text in &paragraphs {
            let after_others = find(text);
            let fresh = std::thread::scope(|s| s.spawn(|| find(text)).join().unwrap());
            assert_eq!(after_others, fresh, "{text}");
            found_some += usize::from(after_others.0.len() > 2);
        }
        assert!(found_some >= 10, "only {found_some} paragraphs with relations");
    }

    #[test]
    fn kind_bits_are_the_places_in_all() {
        for (i, kind) in EntityKind::ALL.into_iter().enumerate() {
            assert_eq!(Kinds::bit(kind), 1 << i, "{kind:?}");
        }
    }

    #[test]
    fn public_types_are_send_sync() {
        fn assert_all<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
        assert_all::<RelationExtractor>();
        assert_all::<RuleSet>();
        assert_all::<Relation<'static>>();
        assert_all::<RelationRecord<'static>>();
    }

    #[test]
    fn embedded_rules_load_and_compile() {
        let rules = RuleSet::embedded().unwrap();
        assert!(!rules.is_empty());
        for kind in RelationKind::ALL {
            assert!(
                rules.rules().iter().any(|r| r.kind() == kind),
                "help: no default rule for {kind}"
            );
        }
        RelationExtractor::new(rules).unwrap();
    }

    #[test]
    fn kinds_round_trip() {
        for kind in RelationKind::ALL {
            assert_eq!(kind.as_str().parse::<RelationKind>().unwrap(), kind);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
    }

    #[test]
    fn gaps() {
        assert_eq!(parse_gaps("2", 2).unwrap(), [Some(2), Some(2)]);
        assert_eq!(parse_gaps("0,*", 2).unwrap(), [Some(0), None]);
        assert!(parse_gaps("1,2,3", 2).is_err());
        assert!(parse_gaps("-1", 1).is_err());
        assert!(parse_gaps("99", 1).is_err());
    }
}
