//! Gazetteers: the entities alam knows and every name they go by.
//!
//! A gazetteer file is UTF-8 TSV with a header row naming its columns (the format is documented
//! in `gazetteers/README.md`). Required columns: `id`, `type`, `name_ar`. Optional: `name_en`,
//! `aliases` (`|`-separated; a leading `~` marks one alias as risky), `qid`, `flags`
//! (comma-separated: `risky`, `foreign`) and `parent` (the id of a linked entity). Blank lines
//! and lines starting with `#` are skipped.
//!
//! ```
//! use alam::{EntityKind, Gazetteer};
//!
//! let tsv = "id\ttype\tname_ar\tname_en\taliases\tqid\tflags\tparent\n\
//!            wagner_group\tORG\tفاغنر\tWagner Group\tفاجنر|ڤاغنر\t\tforeign\t\n";
//! let gazetteer = Gazetteer::from_tsv("example.tsv", tsv).unwrap();
//! let wagner = gazetteer.get("wagner_group").unwrap();
//! assert_eq!(wagner.kind(), EntityKind::Org);
//! assert_eq!(wagner.names().count(), 3);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::normalize::{fold, NormalizeOptions};

/// The kind of an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum EntityKind {
    /// A person.
    #[serde(rename = "PER")]
    Per,
    /// An organization: armed group, military, ministry, international body, media outlet...
    #[serde(rename = "ORG")]
    Org,
    /// A geopolitical entity: country, city, administrative area.
    #[serde(rename = "GPE")]
    Gpe,
    /// A non-political location: continent, region, named area.
    #[serde(rename = "LOC")]
    Loc,
    /// A nationality adjective or demonym, or a named people.
    #[serde(rename = "NORP")]
    Norp,
    /// A named equipment model.
    #[serde(rename = "PRODUCT")]
    Product,
    /// A named event or operation.
    #[serde(rename = "EVENT")]
    Event,
}

impl EntityKind {
    /// Every kind, in the order used for reports.
    pub const ALL: [EntityKind; 7] = [
        EntityKind::Per,
        EntityKind::Org,
        EntityKind::Gpe,
        EntityKind::Loc,
        EntityKind::Norp,
        EntityKind::Product,
        EntityKind::Event,
    ];

    /// The tag written in files and output: `PER`, `ORG`, `GPE`, `LOC`, `NORP`, `PRODUCT`, `EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Per => "PER",
            EntityKind::Org => "ORG",
            EntityKind::Gpe => "GPE",
            EntityKind::Loc => "LOC",
            EntityKind::Norp => "NORP",
            EntityKind::Product => "PRODUCT",
            EntityKind::Event => "EVENT",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntityKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("unknown type {s:?}: expected one of PER ORG GPE LOC NORP PRODUCT EVENT")
        })
    }
}

/// One name of an entity, as written in the gazetteer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    text: String,
    risky: bool,
    canonical: bool,
}

impl Name {
    /// The name as written in the gazetteer file (without the `~` marker).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a mention by this name needs context to count (see the crate docs).
    pub fn is_risky(&self) -> bool {
        self.risky
    }

    /// Whether this is the entity's canonical Arabic name.
    pub fn is_canonical(&self) -> bool {
        self.canonical
    }
}

/// Where an entity was defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file name given to the loader.
    pub file: String,
    /// One-based line number.
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// An entity: a stable id, a kind, a canonical name and every other name it goes by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    id: String,
    kind: EntityKind,
    name_ar: String,
    name_en: Option<String>,
    qid: Option<String>,
    names: Vec<Name>,
    foreign: bool,
    parent: Option<String>,
    source: Source,
}

impl Entity {
    /// The stable id, unique in a gazetteer (`wagner_group`).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The kind.
    pub fn kind(&self) -> EntityKind {
        self.kind
    }
    /// The canonical Arabic name.
    pub fn name_ar(&self) -> &str {
        &self.name_ar
    }
    /// The English name, when known.
    pub fn name_en(&self) -> Option<&str> {
        self.name_en.as_deref()
    }
    /// The Wikidata QID, when known (`Q159`).
    pub fn qid(&self) -> Option<&str> {
        self.qid.as_deref()
    }
    /// Every name: the canonical one first, then the aliases in file order.
    pub fn names(&self) -> impl Iterator<Item = &Name> {
        self.names.iter()
    }
    /// Whether the entry is marked `foreign` (a transliterated name).
    pub fn is_foreign(&self) -> bool {
        self.foreign
    }
    /// The id of the linked entity (a demonym's country, a city's country), when given.
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }
    /// Where the entity was defined.
    pub fn source(&self) -> &Source {
        &self.source
    }
    pub(crate) fn name(&self, index: usize) -> &Name {
        &self.names[index]
    }
}

/// A warning about gazetteer data that loaded but deserves a look: today, one folded name shared
/// by entities of different types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The folded name.
    pub name: String,
    /// The entities that share it, as `(id, kind, source)`, in gazetteer order.
    pub entities: Vec<(String, EntityKind, Source)>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "name {:?} is shared by entities of different types:", self.name)?;
        for (i, (id, kind, source)) in self.entities.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{id} ({kind}, {source})")?;
        }
        write!(f, "; the linking rule picks one per mention and reports the others")
    }
}

// DEFAULT_FILES: every gazetteers/*.tsv, embedded by build.rs.
include!(concat!(env!("OUT_DIR"), "/default_gazetteer.rs"));

/// A set of entities with unique ids, loaded from one or more TSV files.
#[derive(Clone, Debug, Default)]
pub struct Gazetteer {
    entities: Vec<Entity>,
    by_id: HashMap<String, usize>,
}

const COLUMNS: [&str; 8] =
    ["id", "type", "name_ar", "name_en", "aliases", "qid", "flags", "parent"];

impl Gazetteer {
    /// An empty gazetteer.
    pub fn new() -> Gazetteer {
        Gazetteer::default()
    }

    /// The default gazetteer shipped in `gazetteers/` and embedded in the library.
    ///
    /// # Errors
    /// Fails only if the shipped data is broken, which the test suite rules out.
    pub fn embedded() -> Result<Gazetteer> {
        let mut gazetteer = Gazetteer::new();
        for &(file, data) in DEFAULT_FILES {
            gazetteer.add_tsv(file, data)?;
        }
        gazetteer.check_parents()?;
        Ok(gazetteer)
    }

    /// Parses one gazetteer file held in memory; `file` names it in errors.
    ///
    /// # Errors
    /// Fails on a malformed header or row, a duplicate id, or a parent that is not defined.
    pub fn from_tsv(file: &str, data: &str) -> Result<Gazetteer> {
        let mut gazetteer = Gazetteer::new();
        gazetteer.add_tsv(file, data)?;
        gazetteer.check_parents()?;
        Ok(gazetteer)
    }

    /// Reads and parses gazetteer files; ids must be unique across all of them.
    ///
    /// # Errors
    /// Fails when a file cannot be read or is malformed (the error names file and line).
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Gazetteer> {
        let mut gazetteer = Gazetteer::new();
        for path in paths {
            gazetteer.add_file(path.as_ref())?;
        }
        gazetteer.check_parents()?;
        Ok(gazetteer)
    }

    /// Adds the entities of another file to this gazetteer.
    ///
    /// # Errors
    /// Fails when the file cannot be read, is malformed, or repeats an id already loaded.
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let data = std::fs::read(path).map_err(|e| Error::io(Some(path.to_path_buf()), e))?;
        let file = path.display().to_string();
        let data = String::from_utf8(data).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Error::gazetteer(&file, line, "invalid UTF-8")
        })?;
        self.add_tsv(&file, &data)
    }

    /// Adds the entities of a file held in memory; `file` names it in errors.
    /// Call [`Gazetteer::check_parents`] once every file is in.
    ///
    /// # Errors
    /// Fails on a malformed header or row, or an id already loaded.
    pub fn add_tsv(&mut self, file: &str, data: &str) -> Result<()> {
        let mut lines = data.lines().enumerate().map(|(i, l)| (i + 1, l));
        let header = loop {
            match lines.next() {
                None => return Err(Error::gazetteer(file, 0, "empty file: expected a header row")),
                Some((_, l)) if l.trim().is_empty() || l.starts_with('#') => continue,
                Some((n, l)) => break (n, l),
            }
        };
        let columns = parse_header(file, header.0, header.1)?;
        for (line, text) in lines {
            if text.trim().is_empty() || text.starts_with('#') {
                continue;
            }
            let entity = parse_row(file, line, text, &columns)?;
            if let Some(&other) = self.by_id.get(&entity.id) {
                return Err(Error::gazetteer(
                    file,
                    line,
                    format!(
                        "duplicate id {:?}: already defined at {}",
                        entity.id, self.entities[other].source
                    ),
                ));
            }
            self.by_id.insert(entity.id.clone(), self.entities.len());
            self.entities.push(entity);
        }
        Ok(())
    }

    /// Checks that every `parent` names an entity of this gazetteer.
    ///
    /// # Errors
    /// Names the first entity whose parent is unknown.
    pub fn check_parents(&self) -> Result<()> {
        for e in &self.entities {
            if let Some(parent) = &e.parent {
                if !self.by_id.contains_key(parent) {
                    return Err(Error::gazetteer(
                        &e.source.file,
                        e.source.line,
                        format!("parent {parent:?} of {:?} is not a known entity id", e.id),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The entity with this id.
    pub fn get(&self, id: &str) -> Option<&Entity> {
        self.by_id.get(id).map(|&i| &self.entities[i])
    }

    /// Every entity, in load order.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// The number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether there are no entities.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Folded names shared by entities of different types, with default folding. These load
    /// (the linking rule picks one entity per mention and reports the others as alternatives),
    /// but they are worth a look: `alam gazetteer check` prints them.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let options = NormalizeOptions::default();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut order = Vec::new();
        for (i, e) in self.entities.iter().enumerate() {
            for name in &e.names {
                let folded = fold(&name.text, &options);
                let owners = by_name.entry(folded.clone()).or_default();
                if owners.is_empty() {
                    order.push(folded);
                }
                if !owners.contains(&i) {
                    owners.push(i);
                }
            }
        }
        order
            .into_iter()
            .filter_map(|name| {
                let owners = &by_name[&name];
                let first = self.entities[owners[0]].kind;
                if owners.iter().all(|&i| self.entities[i].kind == first) {
                    return None;
                }
                let entities = owners
                    .iter()
                    .map(|&i| {
                        let e = &self.entities[i];
                        (e.id.clone(), e.kind, e.source.clone())
                    })
                    .collect();
                Some(Conflict { name, entities })
            })
            .collect()
    }
}

/// Maps each known column to its index in the file.
struct Columns {
    index: [Option<usize>; 8],
    count: usize,
    names: Vec<String>,
}

fn parse_header(file: &str, line: usize, text: &str) -> Result<Columns> {
    let mut index = [None; 8];
    let names: Vec<String> = text.split('\t').map(|s| s.trim().to_string()).collect();
    for (i, name) in names.iter().enumerate() {
        let Some(k) = COLUMNS.iter().position(|c| c == name) else {
            return Err(Error::gazetteer(
                file,
                line,
                format!(
                    "unknown column {name:?} in the header: known columns are {}",
                    COLUMNS.join(", ")
                ),
            ));
        };
        if index[k].is_some() {
            return Err(Error::gazetteer(file, line, format!("column {name:?} appears twice")));
        }
        index[k] = Some(i);
    }
    for required in ["id", "type", "name_ar"] {
        let k = COLUMNS.iter().position(|c| *c == required).unwrap_or(0);
        if index[k].is_none() {
            return Err(Error::gazetteer(
                file,
                line,
                format!(
                    "missing column {required:?} in the header (it must name id, type and name_ar)"
                ),
            ));
        }
    }
    Ok(Columns { index, count: names.len(), names })
}

fn parse_row(file: &str, line: usize, text: &str, columns: &Columns) -> Result<Entity> {
    let fields: Vec<&str> = text.split('\t').collect();
    if fields.len() != columns.count {
        return Err(Error::gazetteer(
            file,
            line,
            format!(
                "expected {} tab-separated fields ({}), found {}",
                columns.count,
                columns.names.join(", "),
                fields.len()
            ),
        ));
    }
    let get = |column: usize| columns.index[column].map_or("", |i| fields[i].trim());
    let err = |message: String| Error::gazetteer(file, line, message);

    let id = get(0);
    if id.is_empty() {
        return Err(err("empty id".into()));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(err(format!("invalid id {id:?}: use ASCII letters, digits, '_', '-' and '.'")));
    }
    let kind: EntityKind = get(1).parse().map_err(err)?;
    let options = NormalizeOptions::default();
    let mut names = Vec::new();
    let mut add_name = |raw: &str, canonical: bool, entity_risky: bool| -> Result<()> {
        let (text, marked) = match raw.strip_prefix('~') {
            Some(rest) => (rest.trim(), true),
            None => (raw, false),
        };
        let what = if canonical { "canonical name" } else { "alias" };
        let folded = fold(text, &options);
        let folded = folded.trim();
        if folded.is_empty() {
            return Err(err(format!("empty {what} {text:?} in entity {id:?}")));
        }
        if folded.chars().count() < 2 {
            return Err(err(format!(
                "{what} {text:?} of entity {id:?} folds to a single character, which would match \
                 too much: remove it"
            )));
        }
        let first = folded.chars().next().is_some_and(crate::chars::is_word_char);
        let last = folded.chars().next_back().is_some_and(crate::chars::is_word_char);
        if !first || !last {
            return Err(err(format!(
                "{what} {text:?} of entity {id:?} must begin and end with a letter or digit"
            )));
        }
        names.push(Name { text: text.to_string(), risky: marked || entity_risky, canonical });
        Ok(())
    };

    let mut risky = false;
    let mut foreign = false;
    for flag in get(6).split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match flag {
            "risky" => risky = true,
            "foreign" => foreign = true,
            other => {
                return Err(err(format!("unknown flag {other:?}: known flags are risky, foreign")))
            }
        }
    }
    let name_ar = get(2);
    if name_ar.starts_with('~') {
        return Err(err(
            "the canonical name cannot be marked risky with '~': use the risky flag".into()
        ));
    }
    add_name(name_ar, true, risky)?;
    let aliases = get(4);
    if !aliases.is_empty() {
        for alias in aliases.split('|') {
            add_name(alias.trim(), false, risky)?;
        }
    }
    let qid = get(5);
    let qid_ok =
        qid.len() > 1 && qid.starts_with('Q') && qid[1..].bytes().all(|b| b.is_ascii_digit());
    if !qid.is_empty() && !qid_ok {
        return Err(err(format!("invalid Wikidata QID {qid:?}: expected Q followed by digits")));
    }
    let parent = get(7);
    if parent == id {
        return Err(err(format!("entity {id:?} cannot be its own parent")));
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(Entity {
        id: id.to_string(),
        kind,
        name_ar: name_ar.to_string(),
        name_en: opt(get(3)),
        qid: opt(qid),
        names,
        foreign,
        parent: opt(parent),
        source: Source { file: file.to_string(), line },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const HEADER: &str = "id\ttype\tname_ar\tname_en\taliases\tqid\tflags\tparent\n";

    fn load(rows: &str) -> Result<Gazetteer> {
        Gazetteer::from_tsv("test.tsv", &format!("{HEADER}{rows}"))
    }

    fn error_at(rows: &str) -> (usize, String) {
        match load(rows).unwrap_err().kind() {
            ErrorKind::Gazetteer { file, line, message } => {
                assert_eq!(file, "test.tsv");
                (*line, message.clone())
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn loads_entities_and_names() {
        let g = load("mali\tGPE\tمالي\tMali\t~مالى|جمهورية مالي\tQ912\t\t\nmalian\tNORP\tمالي\t\tالمالي\t\t\tmali\n")
            .unwrap();
        let mali = g.get("mali").unwrap();
        assert_eq!(mali.kind(), EntityKind::Gpe);
        assert_eq!(mali.qid(), Some("Q912"));
        let names: Vec<_> = mali.names().map(|n| (n.text(), n.is_risky())).collect();
        assert_eq!(names, [("مالي", false), ("مالى", true), ("جمهورية مالي", false)]);
        assert_eq!(g.get("malian").unwrap().parent(), Some("mali"));
        let conflicts = g.conflicts();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].name, "مالي");
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let rows: &[(&str, usize, &str)] = &[
            ("a\tGPE\tمالي\n", 2, "expected 8 tab-separated fields"),
            ("a\tCITY\tمالي\t\t\t\t\t\n", 2, "unknown type \"CITY\""),
            ("a\tGPE\tمالي\t\t\t\t\t\na\tGPE\tموسكو\t\t\t\t\t\n", 3, "duplicate id \"a\""),
            ("a\tGPE\tمالي\t\tموسكو||باماكو\t\t\t\n", 2, "empty alias"),
            ("a\tGPE\tمالي\t\tَُ\t\t\t\n", 2, "empty alias"),
            ("a\tGPE\tمالي\t\tمُ\t\t\t\n", 2, "single character"),
            ("a\tGPE\t\t\t\t\t\t\n", 2, "empty canonical name"),
            ("\tGPE\tمالي\t\t\t\t\t\n", 2, "empty id"),
            ("a\tGPE\tمالي\t\t\t912\t\t\n", 2, "invalid Wikidata QID"),
            ("a\tGPE\tمالي\t\t\t\tshort\t\n", 2, "unknown flag"),
            ("a\tGPE\tمالي\t\t\t\t\tnowhere\n", 2, "parent \"nowhere\""),
            ("a\tGPE\tمالي\t\t(مالي)\t\t\t\n", 2, "must begin and end"),
        ];
        for (rows, line, message) in rows {
            let (got_line, got) = error_at(rows);
            assert_eq!(got_line, *line, "help: rows {rows:?} gave {got:?}");
            assert!(got.contains(message), "help: expected {message:?} in {got:?}");
        }
    }

    #[test]
    fn header_errors() {
        let err = Gazetteer::from_tsv("h.tsv", "id\ttype\tname\n").unwrap_err().to_string();
        assert!(err.starts_with("h.tsv:1: unknown column \"name\""), "{err}");
        let err = Gazetteer::from_tsv("h.tsv", "id\ttype\n").unwrap_err().to_string();
        assert!(err.contains("missing column \"name_ar\""), "{err}");
        let err = Gazetteer::from_tsv("h.tsv", "").unwrap_err().to_string();
        assert!(err.contains("empty file"), "{err}");
    }

    #[test]
    fn columns_may_be_reordered_or_omitted() {
        let g = Gazetteer::from_tsv("t.tsv", "name_ar\tid\ttype\nمالي\tmali\tGPE\n").unwrap();
        assert_eq!(g.get("mali").unwrap().name_ar(), "مالي");
    }

    #[test]
    fn embedded_default_loads_without_conflicts_left_unexplained() {
        let g = Gazetteer::embedded().unwrap();
        assert!(g.len() >= 91, "the default must cover the seed entities");
    }
}
