//! Scoring predictions against gold annotations (`alam eval`).
//!
//! Gold is a directory of JSONL files in the `seeds/gold` format: one mention per line,
//! `{"doc", "start", "end", "text", "type", "entity", "clitic"}` with code-point offsets.
//! Predictions are `alam tag` output: one document per line, `{"id", "entities": [...]}`, whose
//! mentions carry `char_start`, `char_end`, `type` and `entity`.
//!
//! Scores: strict (exact span and type) and partial (overlapping span and same type, each gold
//! and predicted mention used once) precision, recall and F1, micro-averaged and per type. Linking
//! consistency: for each gold entity (its slug and type), the predicted ids of its strictly
//! matched mentions; the entity is consistent when there is exactly one.
//!
//! ```
//! use alam::eval::{evaluate, GoldMention, PredictedMention};
//!
//! let gold = vec![GoldMention::new("d", 0, 4, "GPE", "mali")];
//! let predicted = vec![PredictedMention::new("d", 0, 4, "GPE", "mali")];
//! let report = evaluate(&gold, &predicted);
//! assert_eq!(report.strict.micro.f1, 1.0);
//! assert_eq!(report.linking.consistent, 1);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One gold mention.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct GoldMention {
    /// The document id.
    pub doc: String,
    /// Start, in code points.
    pub start: usize,
    /// End (exclusive), in code points.
    pub end: usize,
    /// The entity type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The gold entity slug.
    pub entity: String,
}

impl GoldMention {
    /// A gold mention.
    pub fn new(doc: &str, start: usize, end: usize, kind: &str, entity: &str) -> GoldMention {
        GoldMention { doc: doc.into(), start, end, kind: kind.into(), entity: entity.into() }
    }
}

/// One predicted mention.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PredictedMention {
    /// The document id.
    pub doc: String,
    /// Start, in code points.
    pub start: usize,
    /// End (exclusive), in code points.
    pub end: usize,
    /// The entity type.
    pub kind: String,
    /// The predicted entity id.
    pub entity: String,
}

impl PredictedMention {
    /// A predicted mention.
    pub fn new(doc: &str, start: usize, end: usize, kind: &str, entity: &str) -> PredictedMention {
        PredictedMention { doc: doc.into(), start, end, kind: kind.into(), entity: entity.into() }
    }
}

/// Counts and scores for one slice of the data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Prf {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// tp / (tp + fp), 0 when nothing was predicted.
    pub precision: f64,
    /// tp / (tp + fn), 0 when there is no gold.
    pub recall: f64,
    /// The harmonic mean of precision and recall.
    pub f1: f64,
}

impl Prf {
    pub(crate) fn from_counts(tp: usize, fp: usize, fn_: usize) -> Prf {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Prf { tp, fp, fn_, precision, recall, f1 }
    }
}

/// Micro-averaged and per-type scores under one matching criterion.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Over all types.
    pub micro: Prf,
    /// Per type, for every type seen in gold or predictions.
    pub per_type: BTreeMap<String, Prf>,
}

/// How consistently gold entities are linked.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Linking {
    /// Gold entities (slug and type) in the gold.
    pub entities: usize,
    /// Gold entities all of whose strictly matched mentions carry one predicted id.
    pub consistent: usize,
    /// Gold entities with no strictly matched mention.
    pub unmatched: Vec<String>,
    /// Gold entities whose matched mentions carry several ids: `"slug TYPE" -> ids`.
    pub split: BTreeMap<String, Vec<String>>,
    /// Predicted ids given to mentions of several gold entities: `id -> gold entities`.
    pub merged: BTreeMap<String, Vec<String>>,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Documents in the gold.
    pub documents: usize,
    /// Gold documents with no prediction record (all their mentions count as missed).
    pub missing_documents: Vec<String>,
    /// Exact span and type.
    pub strict: Scores,
    /// Overlapping span and same type.
    pub partial: Scores,
    /// Linking consistency.
    pub linking: Linking,
}

/// Scores `predicted` against `gold`. Predictions for documents absent from the gold are
/// ignored; see [`Report::missing_documents`] for the reverse.
pub fn evaluate(gold: &[GoldMention], predicted: &[PredictedMention]) -> Report {
    let gold_docs: BTreeSet<&str> = gold.iter().map(|g| g.doc.as_str()).collect();
    let predicted: Vec<&PredictedMention> =
        predicted.iter().filter(|p| gold_docs.contains(p.doc.as_str())).collect();

    // Strict: exact (doc, start, end, type), each gold mention used once.
    let mut open: HashMap<(&str, usize, usize, &str), Vec<usize>> = HashMap::new();
    for (i, g) in gold.iter().enumerate() {
        open.entry((&g.doc, g.start, g.end, &g.kind)).or_default().push(i);
    }
    let mut strict_pairs: Vec<(usize, &PredictedMention)> = Vec::new();
    let mut strict_hit = vec![false; predicted.len()];
    for (j, p) in predicted.iter().enumerate() {
        if let Some(i) = open.get_mut(&(&p.doc, p.start, p.end, &p.kind)).and_then(Vec::pop) {
            strict_pairs.push((i, p));
            strict_hit[j] = true;
        }
    }
    let strict_gold: BTreeSet<usize> = strict_pairs.iter().map(|(i, _)| *i).collect();
    let strict = scores(gold, &predicted, |i| strict_gold.contains(&i), |j| strict_hit[j]);

    // Partial: overlapping span and same type, greedy in document order, one-to-one.
    let mut by_doc: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, g) in gold.iter().enumerate() {
        by_doc.entry(&g.doc).or_default().push(i);
    }
    let mut gold_used = vec![false; gold.len()];
    let mut partial_hit = vec![false; predicted.len()];
    for (j, p) in predicted.iter().enumerate() {
        let Some(candidates) = by_doc.get(p.doc.as_str()) else { continue };
        let found = candidates.iter().copied().find(|&i| {
            let g = &gold[i];
            !gold_used[i] && g.kind == p.kind && g.start < p.end && p.start < g.end
        });
        if let Some(i) = found {
            gold_used[i] = true;
            partial_hit[j] = true;
        }
    }
    let partial = scores(gold, &predicted, |i| gold_used[i], |j| partial_hit[j]);

    Report {
        documents: gold_docs.len(),
        missing_documents: Vec::new(),
        strict,
        partial,
        linking: linking(gold, &strict_pairs),
    }
}

fn scores(
    gold: &[GoldMention],
    predicted: &[&PredictedMention],
    gold_hit: impl Fn(usize) -> bool,
    pred_hit: impl Fn(usize) -> bool,
) -> Scores {
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (i, g) in gold.iter().enumerate() {
        let c = counts.entry(g.kind.clone()).or_default();
        if gold_hit(i) {
            c.0 += 1;
        } else {
            c.2 += 1;
        }
    }
    for (j, p) in predicted.iter().enumerate() {
        if !pred_hit(j) {
            counts.entry(p.kind.clone()).or_default().1 += 1;
        }
    }
    let (tp, fp, fn_) =
        counts.values().fold((0, 0, 0), |(a, b, c), &(x, y, z)| (a + x, b + y, c + z));
    Scores {
        micro: Prf::from_counts(tp, fp, fn_),
        per_type: counts
            .into_iter()
            .map(|(k, (tp, fp, fn_))| (k, Prf::from_counts(tp, fp, fn_)))
            .collect(),
    }
}

fn linking(gold: &[GoldMention], pairs: &[(usize, &PredictedMention)]) -> Linking {
    let key = |g: &GoldMention| format!("{} {}", g.entity, g.kind);
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for g in gold {
        ids.entry(key(g)).or_default();
    }
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, p) in pairs {
        let g = &gold[*i];
        ids.entry(key(g)).or_default().insert(p.entity.clone());
        owners.entry(p.entity.clone()).or_default().insert(g.entity.clone());
    }
    let mut out = Linking { entities: ids.len(), ..Linking::default() };
    for (entity, predicted) in ids {
        match predicted.len() {
            0 => out.unmatched.push(entity),
            1 => out.consistent += 1,
            _ => {
                out.split.insert(entity, predicted.into_iter().collect());
            }
        }
    }
    out.merged = owners
        .into_iter()
        .filter(|(_, gold)| gold.len() > 1)
        .map(|(id, gold)| (id, gold.into_iter().collect()))
        .collect();
    out
}

/// Reads every `*.jsonl` file of a gold directory, in name order.
///
/// # Errors
/// Fails when the directory or a file cannot be read, or a line is not a gold record (the error
/// names the file and line).
pub fn load_gold(dir: &Path) -> Result<Vec<GoldMention>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(Some(dir.to_path_buf()), e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(Some(dir.to_path_buf()), e))?.path();
        if path.extension().is_some_and(|x| x == "jsonl") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::eval(&dir.display().to_string(), 0, "no .jsonl gold files here"));
    }
    let mut gold = Vec::new();
    for path in files {
        read_lines(&path, |file, line, text| {
            let g: GoldMention = serde_json::from_str(text)
                .map_err(|e| Error::eval(file, line, format!("not a gold record: {e}")))?;
            if g.start >= g.end {
                return Err(Error::eval(file, line, "empty or reversed span"));
            }
            gold.push(g);
            Ok(())
        })?;
    }
    Ok(gold)
}

#[derive(Deserialize)]
struct DocRecord {
    id: Option<serde_json::Value>,
    #[serde(default)]
    entities: Vec<EntityRecord>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct EntityRecord {
    char_start: usize,
    char_end: usize,
    #[serde(rename = "type")]
    kind: String,
    entity: String,
}

/// Reads `alam tag` JSONL output. Error records (`{"line", "error"}`) are skipped: their
/// documents have no predictions and count as missed when the gold has them.
///
/// # Errors
/// Fails when the file cannot be read or a line is not a document record.
pub fn load_predictions(path: &Path) -> Result<Vec<PredictedMention>> {
    let mut out = Vec::new();
    read_lines(path, |file, line, text| {
        let record: DocRecord = serde_json::from_str(text)
            .map_err(|e| Error::eval(file, line, format!("not an alam tag record: {e}")))?;
        if record.error.is_some() {
            return Ok(());
        }
        let doc = match record.id {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => return Err(Error::eval(file, line, "record has no \"id\"")),
        };
        for e in record.entities {
            out.push(PredictedMention {
                doc: doc.clone(),
                start: e.char_start,
                end: e.char_end,
                kind: e.kind,
                entity: e.entity,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

/// The document ids of an `alam tag` output file, error records excluded.
///
/// # Errors
/// As [`load_predictions`].
pub fn predicted_documents(path: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    read_lines(path, |file, line, text| {
        let record: DocRecord = serde_json::from_str(text)
            .map_err(|e| Error::eval(file, line, format!("not an alam tag record: {e}")))?;
        match record.id {
            Some(serde_json::Value::String(s)) if record.error.is_none() => out.insert(s),
            Some(other) if record.error.is_none() => out.insert(other.to_string()),
            _ => false,
        };
        Ok(())
    })?;
    Ok(out)
}

/// Scores an `alam tag` output file against a gold directory, filling in the missing documents.
///
/// # Errors
/// As [`load_gold`] and [`load_predictions`].
pub fn evaluate_files(gold_dir: &Path, predictions: &Path) -> Result<Report> {
    let gold = load_gold(gold_dir)?;
    let predicted = load_predictions(predictions)?;
    let seen = predicted_documents(predictions)?;
    let mut report = evaluate(&gold, &predicted);
    let gold_docs: BTreeSet<&str> = gold.iter().map(|g| g.doc.as_str()).collect();
    report.missing_documents =
        gold_docs.into_iter().filter(|d| !seen.contains(*d)).map(String::from).collect();
    Ok(report)
}

fn read_lines(path: &Path, mut f: impl FnMut(&str, usize, &str) -> Result<()>) -> Result<()> {
    let file_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(Some(path.to_path_buf()), e))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(Some(path.to_path_buf()), e))?;
        if line.trim().is_empty() {
            continue;
        }
        f(&file_name, i + 1, &line)?;
    }
    Ok(())
}

impl Report {
    /// A plain-text table of the scores, as `alam eval` prints it.
    pub fn to_table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "documents: {}", self.documents);
        if !self.missing_documents.is_empty() {
            let _ = writeln!(s, "missing from predictions: {}", self.missing_documents.join(", "));
        }
        for (name, scores) in [("strict", &self.strict), ("partial", &self.partial)] {
            let _ = writeln!(
                s,
                "\n{name:<8} {:>6} {:>6} {:>6} {:>9} {:>9} {:>9}",
                "tp", "fp", "fn", "precision", "recall", "f1"
            );
            let rows = scores.per_type.iter().map(|(k, v)| (k.as_str(), v));
            for (label, p) in rows.chain([("micro", &scores.micro)]) {
                let _ = writeln!(
                    s,
                    "{label:<8} {:>6} {:>6} {:>6} {:>9.4} {:>9.4} {:>9.4}",
                    p.tp, p.fp, p.fn_, p.precision, p.recall, p.f1
                );
            }
        }
        let l = &self.linking;
        let _ = writeln!(
            s,
            "\nlinking: {} of {} gold entities linked to one id",
            l.consistent, l.entities
        );
        for e in &l.unmatched {
            let _ = writeln!(s, "  never matched: {e}");
        }
        for (e, ids) in &l.split {
            let _ = writeln!(s, "  split: {e} -> {}", ids.join(", "));
        }
        for (id, gold) in &l.merged {
            let _ = writeln!(s, "  merged: {id} <- {}", gold.join(", "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_partial_and_linking() {
        let gold = vec![
            GoldMention::new("a", 0, 4, "GPE", "mali"),
            GoldMention::new("a", 10, 20, "ORG", "africa_corps"),
            GoldMention::new("a", 30, 34, "GPE", "mali"),
            GoldMention::new("b", 0, 5, "PER", "goita"),
        ];
        let predicted = vec![
            PredictedMention::new("a", 0, 4, "GPE", "mali"),
            PredictedMention::new("a", 14, 20, "ORG", "africa_corps"),
            PredictedMention::new("a", 30, 34, "GPE", "mali2"),
            PredictedMention::new("a", 40, 44, "GPE", "x"),
            PredictedMention::new("zzz", 0, 4, "GPE", "ignored"),
        ];
        let r = evaluate(&gold, &predicted);
        assert_eq!((r.strict.micro.tp, r.strict.micro.fp, r.strict.micro.fn_), (2, 2, 2));
        assert_eq!((r.partial.micro.tp, r.partial.micro.fp, r.partial.micro.fn_), (3, 1, 1));
        assert_eq!(r.strict.per_type["GPE"].tp, 2);
        assert!((r.strict.micro.f1 - 0.5).abs() < 1e-9);
        assert_eq!(r.linking.entities, 3);
        assert_eq!(r.linking.consistent, 0);
        assert_eq!(r.linking.split["mali GPE"], ["mali", "mali2"]);
        assert_eq!(r.linking.unmatched, ["africa_corps ORG", "goita PER"]);
    }

    #[test]
    fn merged_ids_are_reported() {
        let gold =
            vec![GoldMention::new("a", 0, 4, "GPE", "x"), GoldMention::new("a", 5, 9, "GPE", "y")];
        let predicted = vec![
            PredictedMention::new("a", 0, 4, "GPE", "z"),
            PredictedMention::new("a", 5, 9, "GPE", "z"),
        ];
        let r = evaluate(&gold, &predicted);
        assert_eq!(r.linking.consistent, 2);
        assert_eq!(r.linking.merged["z"], ["x", "y"]);
    }
}
