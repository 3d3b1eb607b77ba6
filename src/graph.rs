//! The corpus graph: entities as nodes, sentence co-occurrences and relations as edges, built
//! from `alam tag` JSONL output and written as JSON or as `nodes.csv` / `edges.csv` that Gephi
//! (Data Laboratory, "Import Spreadsheet") and pandas load directly.
//!
//! Input: one JSON record per line, as `alam tag` writes them. A document record is
//! `{"id", "entities": [{"start", "type", "entity", "name", "name_en"?, "sentence"?...}],
//! "relations"?: [{"type", "head", "tail", "country"?, "evidence"?...}], "text"?}`. Error
//! records (`{"line", "error"}`) are skipped and counted, and so are lines that are not JSON
//! objects with an `entities` array.
//!
//! - **Nodes**: one per entity id, with its type, Arabic and English names, its number of
//!   mentions and of documents that mention it.
//! - **Co-occurrence edges** (undirected, `cooccurrence`): the number of sentences in which two
//!   entities are both mentioned. The sentence of a mention is its `sentence` field when the
//!   record has it, or else is computed from the record's `text` and the mention's byte `start`;
//!   a record with neither gets no co-occurrence edges and is counted in
//!   [`GraphStats::documents_without_sentences`].
//! - **Relation edges** (directed, one per relation type): head entity -> tail entity (the
//!   tail's `country` instead when the relation has one, so that nationality links a person to a
//!   country), with the number of relations, of documents, and the first `evidence` sentence
//!   seen as an example.
//!
//! ```
//! use alam::graph::Graph;
//!
//! let jsonl = concat!(
//!     r#"{"id": "a", "entities": ["#,
//!     r#"{"start": 0, "type": "PER", "entity": "lavrov", "name": "لافروف", "sentence": 0}, "#,
//!     r#"{"start": 20, "type": "GPE", "entity": "algeria", "name": "الجزائر", "sentence": 0}], "#,
//!     r#""relations": [{"type": "visited", "head": 0, "tail": 1, "evidence": "زار لافروف الجزائر."}]}"#,
//!     "\n",
//!     r#"{"line": 2, "error": "invalid JSON"}"#,
//!     "\n",
//! );
//! let graph = Graph::from_jsonl(jsonl.as_bytes()).unwrap();
//! assert_eq!(graph.nodes.len(), 2);
//! assert_eq!(graph.stats.error_records, 1);
//! let visited = graph.edges.iter().find(|e| e.kind == "visited").unwrap();
//! assert_eq!((visited.source.as_str(), visited.target.as_str()), ("lavrov", "algeria"));
//! let mut csv = Vec::new();
//! graph.write_edges_csv(&mut csv).unwrap();
//! assert!(String::from_utf8(csv).unwrap().starts_with("Source,Target,Type,Label,Weight"));
//! ```

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::sentence::{sentence_index, sentences};

/// The edge type of sentence co-occurrences.
pub const COOCCURRENCE: &str = "cooccurrence";

/// An entity of the corpus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Node {
    /// The entity id.
    pub id: String,
    /// The entity type (`PER`, `GPE`...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The canonical Arabic name (the id when the entity was never mentioned, only named as a
    /// relation's country).
    pub name: String,
    /// The English name, when the records give one.
    pub name_en: Option<String>,
    /// How many mentions.
    pub mentions: u64,
    /// How many documents mention it.
    pub documents: u64,
}

/// A co-occurrence or relation between two entities, aggregated over the corpus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Edge {
    /// The head entity id (for co-occurrences, the smaller id).
    pub source: String,
    /// The tail entity id (for co-occurrences, the larger id).
    pub target: String,
    /// [`COOCCURRENCE`] or a relation type (`visited`...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the edge has a direction (relations do, co-occurrences do not).
    pub directed: bool,
    /// How many sentences (co-occurrence) or relations.
    pub weight: u64,
    /// How many documents.
    pub documents: u64,
    /// An example sentence, for relations whose records carry `evidence`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// The id of the document the example comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example_document: Option<String>,
}

/// What the reader saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GraphStats {
    /// Document records read.
    pub documents: u64,
    /// Error records skipped (`{"line", "error"}`).
    pub error_records: u64,
    /// Lines skipped because they are not JSON objects with an `entities` array.
    pub invalid_lines: u64,
    /// Documents with two or more entities but no sentence information (neither a `sentence`
    /// field on every entity nor a `text`), so no co-occurrence edges.
    pub documents_without_sentences: u64,
    /// Relations skipped because `head` or `tail` is not an index into `entities`.
    pub invalid_relations: u64,
}

/// The corpus graph.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Graph {
    /// Every entity mentioned (or named as a relation's country), most mentioned first.
    pub nodes: Vec<Node>,
    /// Relation edges (by type, heaviest first), then co-occurrence edges (heaviest first).
    pub edges: Vec<Edge>,
    /// What the reader saw.
    pub stats: GraphStats,
}

#[derive(Default)]
struct NodeAcc {
    kind: String,
    name: Option<String>,
    name_en: Option<String>,
    mentions: u64,
    documents: u64,
    last_doc: Option<u64>,
}

#[derive(Default)]
struct EdgeAcc {
    weight: u64,
    documents: u64,
    last_doc: Option<u64>,
    example: Option<(String, String)>,
}

impl EdgeAcc {
    fn count(&mut self, doc: u64) {
        self.weight += 1;
        if self.last_doc != Some(doc) {
            self.documents += 1;
            self.last_doc = Some(doc);
        }
    }
}

/// Accumulates records into a [`Graph`]; [`Graph::from_jsonl`] is the one-call form.
#[derive(Default)]
pub struct GraphBuilder {
    ids: HashMap<String, u32>,
    nodes: Vec<(String, NodeAcc)>,
    cooccurrences: HashMap<(u32, u32), EdgeAcc>,
    relations: HashMap<(String, u32, u32), EdgeAcc>,
    stats: GraphStats,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> GraphBuilder {
        GraphBuilder::default()
    }

    /// Reads JSONL records until the end of `reader`.
    ///
    /// # Errors
    /// Fails only when reading fails; malformed lines are counted, not fatal.
    pub fn read<R: BufRead>(&mut self, mut reader: R) -> Result<()> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| Error::io(None, e))?;
            if n == 0 {
                return Ok(());
            }
            match std::str::from_utf8(&buf) {
                Ok(line) => self.add_line(line),
                Err(_) => self.stats.invalid_lines += 1,
            }
        }
    }

    /// Adds one JSONL line; blank lines are ignored.
    pub fn add_line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(value) => self.add_record(&value),
            Err(_) => self.stats.invalid_lines += 1,
        }
    }

    /// Adds one parsed record.
    pub fn add_record(&mut self, record: &Value) {
        let Some(object) = record.as_object() else {
            self.stats.invalid_lines += 1;
            return;
        };
        if object.contains_key("error") {
            self.stats.error_records += 1;
            return;
        }
        let Some(entities) = object.get("entities").and_then(Value::as_array) else {
            self.stats.invalid_lines += 1;
            return;
        };
        let doc = self.stats.documents;
        self.stats.documents += 1;
        let doc_id = match object.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => doc.to_string(),
        };

        // Nodes, and each entity's node index and sentence.
        let mut ids: Vec<Option<u32>> = Vec::with_capacity(entities.len());
        for e in entities {
            ids.push(self.mention(e, doc));
        }

        // Sentences: the `sentence` field, or computed from the text.
        let mut sentence_of: Vec<Option<u64>> =
            entities.iter().map(|e| e.get("sentence").and_then(Value::as_u64)).collect();
        if sentence_of.iter().any(Option::is_none) {
            if let Some(text) = object.get("text").and_then(Value::as_str) {
                let spans = sentences(text);
                for (s, e) in sentence_of.iter_mut().zip(entities) {
                    if let Some(start) = e.get("start").and_then(Value::as_u64) {
                        *s = Some(sentence_index(&spans, start as usize) as u64);
                    }
                }
            }
        }
        let known: Vec<(u64, u32)> =
            sentence_of.iter().zip(&ids).filter_map(|(s, id)| Some(((*s)?, (*id)?))).collect();
        if known.len() < ids.iter().flatten().count() && ids.iter().flatten().count() >= 2 {
            self.stats.documents_without_sentences += 1;
        }
        let mut by_sentence: HashMap<u64, BTreeSet<u32>> = HashMap::new();
        for (s, id) in known {
            by_sentence.entry(s).or_default().insert(id);
        }
        let mut keys: Vec<u64> = by_sentence.keys().copied().collect();
        keys.sort_unstable();
        for s in keys {
            let members: Vec<u32> = by_sentence[&s].iter().copied().collect();
            for (i, &a) in members.iter().enumerate() {
                for &b in &members[i + 1..] {
                    let key = if self.nodes[a as usize].0 <= self.nodes[b as usize].0 {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    self.cooccurrences.entry(key).or_default().count(doc);
                }
            }
        }

        // Relations.
        let relations = object.get("relations").and_then(Value::as_array);
        for r in relations.into_iter().flatten() {
            let index = |k: &str| r.get(k).and_then(Value::as_u64).map(|i| i as usize);
            let kind = r.get("type").and_then(Value::as_str);
            let (Some(kind), Some(head), Some(tail)) = (kind, index("head"), index("tail")) else {
                self.stats.invalid_relations += 1;
                continue;
            };
            let (Some(Some(source)), Some(Some(tail_id))) = (ids.get(head), ids.get(tail)) else {
                self.stats.invalid_relations += 1;
                continue;
            };
            let target = match r.get("country").and_then(Value::as_str) {
                Some(country) => self.node(country, "GPE"),
                None => *tail_id,
            };
            let acc = self.relations.entry((kind.to_string(), *source, target)).or_default();
            acc.count(doc);
            if acc.example.is_none() {
                if let Some(evidence) = r.get("evidence").and_then(Value::as_str) {
                    acc.example = Some((evidence.to_string(), doc_id.clone()));
                }
            }
        }
    }

    /// Counts one entity record; returns its node, or `None` when it has no entity id.
    fn mention(&mut self, e: &Value, doc: u64) -> Option<u32> {
        let id = e.get("entity").and_then(Value::as_str)?;
        let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
        let n = self.node(id, kind);
        let acc = &mut self.nodes[n as usize].1;
        if acc.kind.is_empty() || acc.mentions == 0 {
            acc.kind = kind.to_string();
        }
        if acc.name.is_none() {
            acc.name = e.get("name").and_then(Value::as_str).map(str::to_string);
        }
        if acc.name_en.is_none() {
            acc.name_en = e.get("name_en").and_then(Value::as_str).map(str::to_string);
        }
        acc.mentions += 1;
        if acc.last_doc != Some(doc) {
            acc.documents += 1;
            acc.last_doc = Some(doc);
        }
        Some(n)
    }

    /// The node of `id`, created with `kind` when new.
    fn node(&mut self, id: &str, kind: &str) -> u32 {
        if let Some(&n) = self.ids.get(id) {
            return n;
        }
        let n = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.ids.insert(id.to_string(), n);
        self.nodes.push((id.to_string(), NodeAcc { kind: kind.to_string(), ..NodeAcc::default() }));
        n
    }

    /// The graph of every record added.
    pub fn finish(self) -> Graph {
        let name = |n: u32| self.nodes[n as usize].0.clone();
        let mut edges: Vec<Edge> = Vec::new();
        for ((kind, s, t), acc) in &self.relations {
            edges.push(edge(name(*s), name(*t), kind.clone(), true, acc));
        }
        for ((a, b), acc) in &self.cooccurrences {
            edges.push(edge(name(*a), name(*b), COOCCURRENCE.to_string(), false, acc));
        }
        edges.sort_by(|x, y| {
            (!x.directed, &x.kind, std::cmp::Reverse(x.weight), &x.source, &x.target).cmp(&(
                !y.directed,
                &y.kind,
                std::cmp::Reverse(y.weight),
                &y.source,
                &y.target,
            ))
        });
        let mut nodes: Vec<Node> = self
            .nodes
            .into_iter()
            .map(|(id, acc)| Node {
                name: acc.name.unwrap_or_else(|| id.clone()),
                id,
                kind: acc.kind,
                name_en: acc.name_en,
                mentions: acc.mentions,
                documents: acc.documents,
            })
            .collect();
        nodes.sort_by(|a, b| b.mentions.cmp(&a.mentions).then_with(|| a.id.cmp(&b.id)));
        Graph { nodes, edges, stats: self.stats }
    }
}

fn edge(source: String, target: String, kind: String, directed: bool, acc: &EdgeAcc) -> Edge {
    let (example, example_document) = match &acc.example {
        Some((text, doc)) => (Some(text.clone()), Some(doc.clone())),
        None => (None, None),
    };
    Edge {
        source,
        target,
        kind,
        directed,
        weight: acc.weight,
        documents: acc.documents,
        example,
        example_document,
    }
}

impl Graph {
    /// Reads `alam tag` JSONL output and builds the graph.
    ///
    /// # Errors
    /// Fails only when reading fails; malformed lines are counted in [`Graph::stats`].
    pub fn from_jsonl<R: BufRead>(reader: R) -> Result<Graph> {
        let mut builder = GraphBuilder::new();
        builder.read(reader)?;
        Ok(builder.finish())
    }

    /// Writes the whole graph (nodes, edges, stats) as one pretty-printed JSON object.
    ///
    /// # Errors
    /// Fails when writing fails.
    pub fn write_json<W: Write>(&self, mut out: W) -> Result<()> {
        serde_json::to_writer_pretty(&mut out, self)
            .map_err(|e| Error::io(None, std::io::Error::from(e)))?;
        writeln!(out).map_err(|e| Error::io(None, e))
    }

    /// Writes `nodes.csv`: `Id,Label,Type,NameEn,Mentions,Documents` (Gephi takes `Id` and
    /// `Label`; every column is a pandas column).
    ///
    /// # Errors
    /// Fails when writing fails.
    pub fn write_nodes_csv<W: Write>(&self, mut out: W) -> Result<()> {
        let io = |e| Error::io(None, e);
        writeln!(out, "Id,Label,Type,NameEn,Mentions,Documents").map_err(io)?;
        for n in &self.nodes {
            let row = [
                csv_field(&n.id),
                csv_field(&n.name),
                csv_field(&n.kind),
                csv_field(n.name_en.as_deref().unwrap_or("")),
                n.mentions.to_string(),
                n.documents.to_string(),
            ];
            writeln!(out, "{}", row.join(",")).map_err(io)?;
        }
        Ok(())
    }

    /// Writes `edges.csv`: `Source,Target,Type,Label,Weight,Documents,Example,ExampleDocument`,
    /// where `Type` is Gephi's `Directed` or `Undirected` and `Label` the edge type
    /// (`cooccurrence` or a relation type).
    ///
    /// # Errors
    /// Fails when writing fails.
    pub fn write_edges_csv<W: Write>(&self, mut out: W) -> Result<()> {
        let io = |e| Error::io(None, e);
        writeln!(out, "Source,Target,Type,Label,Weight,Documents,Example,ExampleDocument")
            .map_err(io)?;
        for e in &self.edges {
            let row = [
                csv_field(&e.source),
                csv_field(&e.target),
                (if e.directed { "Directed" } else { "Undirected" }).to_string(),
                csv_field(&e.kind),
                e.weight.to_string(),
                e.documents.to_string(),
                csv_field(e.example.as_deref().unwrap_or("")),
                csv_field(e.example_document.as_deref().unwrap_or("")),
            ];
            writeln!(out, "{}", row.join(",")).map_err(io)?;
        }
        Ok(())
    }

    /// Writes `graph.json`, `nodes.csv` and `edges.csv` into `dir`, creating it if needed.
    ///
    /// # Errors
    /// Fails when the directory or a file cannot be written; the error names the path.
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(Some(dir.to_path_buf()), e))?;
        let write = |name: &str, f: &dyn Fn(&mut Vec<u8>) -> Result<()>| -> Result<()> {
            let path = dir.join(name);
            let mut buf = Vec::new();
            f(&mut buf)?;
            std::fs::write(&path, buf).map_err(|e| Error::io(Some(path), e))
        };
        write("graph.json", &|b| self.write_json(b))?;
        write("nodes.csv", &|b| self.write_nodes_csv(b))?;
        write("edges.csv", &|b| self.write_edges_csv(b))
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, with quotes
/// doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_escaping() {
        assert_eq!(csv_field("مالي"), "مالي");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("قال \"نعم\""), "\"قال \"\"نعم\"\"\"");
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
    }

    #[test]
    fn cooccurrence_from_sentences_or_text() {
        let with_field = r#"{"id":1,"entities":[
            {"start":0,"type":"GPE","entity":"mali","name":"مالي","sentence":0},
            {"start":9,"type":"GPE","entity":"niger","name":"النيجر","sentence":0},
            {"start":30,"type":"GPE","entity":"chad","name":"تشاد","sentence":1}]}"#;
        let text = "مالي والنيجر. تشاد ومالي";
        let with_text = serde_json::json!({"id": "t", "text": text, "entities": [
            {"start": 0, "type": "GPE", "entity": "mali", "name": "مالي"},
            {"start": text.find("تشاد").unwrap(), "type": "GPE", "entity": "chad", "name": "تشاد"},
            {"start": text.rfind("مالي").unwrap(), "type": "GPE", "entity": "mali", "name": "مالي"},
        ]});
        let mut b = GraphBuilder::new();
        b.add_line(&with_field.replace('\n', " "));
        b.add_record(&with_text);
        b.add_line(r#"{"id":3,"entities":[{"type":"GPE","entity":"mali"},{"type":"GPE","entity":"chad"}]}"#);
        b.add_line("not json");
        let g = b.finish();
        let weight = |a: &str, c: &str| {
            g.edges.iter().find(|e| e.source == a && e.target == c).map(|e| e.weight)
        };
        assert_eq!(weight("mali", "niger"), Some(1));
        assert_eq!(weight("chad", "mali"), Some(1));
        assert_eq!(weight("chad", "niger"), None);
        assert_eq!(g.stats.documents, 3);
        assert_eq!(g.stats.documents_without_sentences, 1);
        assert_eq!(g.stats.invalid_lines, 1);
        let mali = g.nodes.iter().find(|n| n.id == "mali").unwrap();
        assert_eq!((mali.mentions, mali.documents), (4, 3));
    }

    #[test]
    fn relations_use_the_country_of_a_demonym() {
        let line = r#"{"id":"d","entities":[
            {"start":0,"type":"NORP","entity":"italian","name":"الإيطالي","sentence":0},
            {"start":9,"type":"PER","entity":"ruffinetti","name":"روفينيتي","sentence":0}],
            "relations":[{"type":"nationality","head":1,"tail":0,"country":"italy","evidence":"الإيطالي روفينيتي"},
                         {"type":"visited","head":1,"tail":7}]}"#;
        let g = Graph::from_jsonl(line.replace('\n', " ").as_bytes()).unwrap();
        let e = g.edges.iter().find(|e| e.kind == "nationality").unwrap();
        assert_eq!(
            (e.source.as_str(), e.target.as_str(), e.directed),
            ("ruffinetti", "italy", true)
        );
        assert_eq!(e.example.as_deref(), Some("الإيطالي روفينيتي"));
        assert_eq!(e.example_document.as_deref(), Some("d"));
        let italy = g.nodes.iter().find(|n| n.id == "italy").unwrap();
        assert_eq!((italy.kind.as_str(), italy.mentions), ("GPE", 0));
        assert_eq!(g.stats.invalid_relations, 1);
    }
}
