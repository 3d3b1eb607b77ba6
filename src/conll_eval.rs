//! Scoring the extractor on a CoNLL benchmark such as ANERcorp (`alam eval --conll FILE`).
//!
//! The input is one `token TAG` per line (space- or tab-separated, IOB2 tags `B-X` / `I-X` /
//! `O`), a blank line ending a sentence. The text is rebuilt by joining the tokens of a sentence
//! with single spaces and the sentences with newlines, tagged by an [`Extractor`], and scored
//! conlleval-style: exact entity chunks (same first token, last token and type) over the types
//! `PERS`, `LOC` and `ORG`.
//!
//! - Gold: chunks are read from the IOB2 tags the way conlleval reads them (an `I-X` that does
//!   not continue an `X` chunk starts one); `MISC` chunks, and any type other than the three,
//!   are not gold chunks.
//! - Predictions: each mention covers the tokens it overlaps, so a clitic glued to the name
//!   inside a token (بلبنان, mention لبنان) still yields the whole token. `PER` → `PERS`,
//!   `ORG` → `ORG`, `GPE` and `LOC` → `LOC`; `NORP`, `PRODUCT` and `EVENT` mentions are not
//!   predicted chunks. When two scored mentions touch the same token (two names in one token),
//!   the first keeps it.
//!
//! ```
//! use alam::conll_eval::{parse_conll, score, Chunk};
//!
//! let sentences = parse_conll("t", "زار O\nبلبنان B-LOC\nأمس O\n").unwrap();
//! assert_eq!(sentences[0].tokens, ["زار", "بلبنان", "أمس"]);
//! let gold = vec![Chunk { start: 1, end: 2, kind: "LOC".into() }];
//! let report = score(&gold, &gold.clone());
//! assert_eq!(report.scores.micro.f1, 1.0);
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::eval::{Prf, Scores};
use crate::extractor::Extractor;
use crate::gazetteer::EntityKind;

/// The chunk types scored, in table order.
pub const TYPES: [&str; 3] = ["LOC", "ORG", "PERS"];

/// One sentence of a CoNLL file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sentence {
    /// The tokens, as written.
    pub tokens: Vec<String>,
    /// The gold tag of each token (`O`, `B-PERS`, `I-LOC`...).
    pub tags: Vec<String>,
}

/// An entity chunk: tokens `start..end` of the whole file (counted over all sentences, end
/// exclusive) and its type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Chunk {
    /// The first token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
    /// `PERS`, `LOC` or `ORG`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A chunk that counts as an error, with its tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChunkError {
    /// The chunk.
    #[serde(flatten)]
    pub chunk: Chunk,
    /// Its tokens joined by spaces.
    pub text: String,
}

/// The result of scoring a CoNLL file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConllReport {
    /// Sentences read.
    pub sentences: usize,
    /// Tokens read.
    pub tokens: usize,
    /// Gold chunks of the scored types.
    pub gold_chunks: usize,
    /// Predicted chunks of the scored types.
    pub predicted_chunks: usize,
    /// Gold chunks of other types (`MISC`), not scored.
    pub gold_ignored: usize,
    /// Mentions of unscored types (`NORP`, `PRODUCT`, `EVENT`), not scored.
    pub predicted_ignored: usize,
    /// Exact-chunk scores, micro over `PERS`, `LOC`, `ORG` and per type.
    #[serde(flatten)]
    pub scores: Scores,
    /// Predicted chunks that are not gold chunks (filled by [`evaluate_sentences`] only when
    /// asked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub false_positives: Vec<ChunkError>,
    /// Gold chunks that were not predicted (filled only when asked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub false_negatives: Vec<ChunkError>,
}

/// Parses CoNLL text: `token TAG` lines, blank lines between sentences. A line whose token is
/// empty (` O`) is skipped.
///
/// # Errors
/// Fails on a line without a tag, or with a tag that is not `O`, `B-X` or `I-X` (the error names
/// `file` and the line).
pub fn parse_conll(file: &str, data: &str) -> Result<Vec<Sentence>> {
    let mut sentences = Vec::new();
    let mut current = Sentence::default();
    for (i, line) in data.lines().enumerate() {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            if !current.tokens.is_empty() {
                sentences.push(std::mem::take(&mut current));
            }
            continue;
        }
        let Some((token, tag)) = line.trim_end().rsplit_once([' ', '\t']) else {
            return Err(Error::eval(file, i + 1, "expected `token TAG`"));
        };
        let (token, tag) = (token.trim(), tag.trim());
        let valid = tag == "O"
            || tag
                .strip_prefix("B-")
                .or_else(|| tag.strip_prefix("I-"))
                .is_some_and(|t| !t.is_empty());
        if !valid {
            return Err(Error::eval(file, i + 1, format!("not an IOB2 tag: {tag:?}")));
        }
        if token.is_empty() {
            continue;
        }
        current.tokens.push(token.to_string());
        current.tags.push(tag.to_string());
    }
    if !current.tokens.is_empty() {
        sentences.push(current);
    }
    Ok(sentences)
}

/// Reads and parses a CoNLL file (see [`parse_conll`]).
///
/// # Errors
/// Fails when the file cannot be read or is not CoNLL.
pub fn read_conll(path: &Path) -> Result<Vec<Sentence>> {
    let data = std::fs::read_to_string(path).map_err(|e| Error::io(Some(path.to_path_buf()), e))?;
    parse_conll(&path.display().to_string(), &data)
}

/// The gold chunks of IOB2 tags, conlleval-style, with token positions offset by `first`.
/// Returns the chunks of every type (filter with [`TYPES`]).
pub fn gold_chunks(tags: &[String], first: usize) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, kind) = match tag.split_once('-') {
            Some((p, k)) => (p, k),
            None => ("O", ""),
        };
        let continues = prefix == "I" && open.is_some_and(|(_, k)| k == kind);
        if continues {
            continue;
        }
        if let Some((start, k)) = open.take() {
            out.push(Chunk { start: first + start, end: first + i, kind: k.to_string() });
        }
        if prefix == "B" || prefix == "I" {
            open = Some((i, kind));
        }
    }
    if let Some((start, k)) = open {
        out.push(Chunk { start: first + start, end: first + tags.len(), kind: k.to_string() });
    }
    out
}

/// The chunk type an entity kind is scored as, or `None` when it is not scored.
pub fn chunk_type(kind: EntityKind) -> Option<&'static str> {
    match kind {
        EntityKind::Per => Some("PERS"),
        EntityKind::Org => Some("ORG"),
        EntityKind::Gpe | EntityKind::Loc => Some("LOC"),
        _ => None,
    }
}

/// The text of sentences as [`evaluate_sentences`] tags it, and the byte span of every token.
pub fn rebuild_text(sentences: &[Sentence]) -> (String, Vec<(usize, usize)>) {
    let mut text = String::new();
    let mut spans = Vec::new();
    for (s, sentence) in sentences.iter().enumerate() {
        if s > 0 {
            text.push('\n');
        }
        for (t, token) in sentence.tokens.iter().enumerate() {
            if t > 0 {
                text.push(' ');
            }
            let start = text.len();
            text.push_str(token);
            spans.push((start, text.len()));
        }
    }
    (text, spans)
}

/// Predicted chunks from byte spans of mentions: each `(start, end, type)` covers the tokens
/// (byte spans `tokens`, sorted) it overlaps; a token already covered by an earlier mention is
/// not taken again. Mentions must come sorted by position.
pub fn predicted_chunks(
    tokens: &[(usize, usize)],
    mentions: &[(usize, usize, &str)],
) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut taken_until = 0; // tokens before this index are covered
    for &(start, end, kind) in mentions {
        // First token whose end is after the mention start.
        let first = tokens.partition_point(|&(_, e)| e <= start).max(taken_until);
        let last = tokens.partition_point(|&(s, _)| s < end);
        if first < last {
            out.push(Chunk { start: first, end: last, kind: kind.to_string() });
            taken_until = last;
        }
    }
    out
}

/// Scores predicted chunks against gold chunks: exact `(start, end, type)` matches, micro over
/// the types of [`TYPES`] and per type. Chunks of other types are ignored.
pub fn score(gold: &[Chunk], predicted: &[Chunk]) -> ConllReport {
    let scored = |c: &&Chunk| TYPES.contains(&c.kind.as_str());
    let gold_set: HashSet<&Chunk> = gold.iter().filter(scored).collect();
    let pred_set: HashSet<&Chunk> = predicted.iter().filter(scored).collect();
    let mut counts: BTreeMap<String, (usize, usize, usize)> =
        TYPES.iter().map(|t| (t.to_string(), (0, 0, 0))).collect();
    for c in &pred_set {
        let e = counts.entry(c.kind.clone()).or_default();
        if gold_set.contains(c) {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    for c in &gold_set {
        if !pred_set.contains(c) {
            counts.entry(c.kind.clone()).or_default().2 += 1;
        }
    }
    let (tp, fp, fn_) =
        counts.values().fold((0, 0, 0), |(a, b, c), &(x, y, z)| (a + x, b + y, c + z));
    ConllReport {
        gold_chunks: gold_set.len(),
        predicted_chunks: pred_set.len(),
        gold_ignored: gold.len() - gold_set.len(),
        scores: Scores {
            micro: prf(tp, fp, fn_),
            per_type: counts.into_iter().map(|(k, (tp, fp, fn_))| (k, prf(tp, fp, fn_))).collect(),
        },
        ..ConllReport::default()
    }
}

fn prf(tp: usize, fp: usize, fn_: usize) -> Prf {
    Prf::from_counts(tp, fp, fn_)
}

/// Tags the rebuilt text of `sentences` (one document: tokens joined by spaces, sentences by
/// newlines) with `extractor` and scores it. With `errors`, the report lists the false positive
/// and false negative chunks.
///
/// # Errors
/// Fails only when the text is longer than the extractor accepts (4 GiB).
pub fn evaluate_sentences(
    extractor: &Extractor,
    sentences: &[Sentence],
    errors: bool,
) -> Result<ConllReport> {
    let (text, spans) = rebuild_text(sentences);
    let mut gold = Vec::new();
    let mut first = 0;
    for sentence in sentences {
        gold.extend(gold_chunks(&sentence.tags, first));
        first += sentence.tokens.len();
    }
    let mentions = extractor.extract(&text)?;
    let mut ignored = 0;
    let scored: Vec<(usize, usize, &str)> = mentions
        .iter()
        .filter_map(|m| {
            let t = chunk_type(m.kind());
            if t.is_none() {
                ignored += 1;
            }
            t.map(|t| (m.start, m.end, t))
        })
        .collect();
    let predicted = predicted_chunks(&spans, &scored);
    let mut report = score(&gold, &predicted);
    report.sentences = sentences.len();
    report.tokens = spans.len();
    report.predicted_ignored = ignored;
    if errors {
        let tokens: Vec<&str> =
            sentences.iter().flat_map(|s| &s.tokens).map(String::as_str).collect();
        let describe =
            |c: &Chunk| ChunkError { chunk: c.clone(), text: tokens[c.start..c.end].join(" ") };
        let scored = |c: &&Chunk| TYPES.contains(&c.kind.as_str());
        let gold_set: HashSet<&Chunk> = gold.iter().filter(scored).collect();
        let pred_set: HashSet<&Chunk> = predicted.iter().filter(scored).collect();
        report.false_positives = predicted
            .iter()
            .filter(scored)
            .filter(|c| !gold_set.contains(c))
            .map(describe)
            .collect();
        report.false_negatives =
            gold.iter().filter(scored).filter(|c| !pred_set.contains(c)).map(describe).collect();
    }
    Ok(report)
}

/// Reads a CoNLL file and scores `extractor` on it (see [`evaluate_sentences`]).
///
/// # Errors
/// As [`read_conll`] and [`evaluate_sentences`].
pub fn evaluate_file(extractor: &Extractor, path: &Path, errors: bool) -> Result<ConllReport> {
    evaluate_sentences(extractor, &read_conll(path)?, errors)
}

impl ConllReport {
    /// A plain-text table of the scores, as `alam eval --conll` prints it.
    pub fn to_table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "sentences: {}, tokens: {}, gold chunks: {} (+{} MISC/other not scored), predicted chunks: {} (+{} NORP/PRODUCT/EVENT mentions not scored)",
            self.sentences,
            self.tokens,
            self.gold_chunks,
            self.gold_ignored,
            self.predicted_chunks,
            self.predicted_ignored
        );
        let _ = writeln!(
            s,
            "\n{:<8} {:>6} {:>6} {:>6} {:>9} {:>9} {:>9}",
            "exact", "tp", "fp", "fn", "precision", "recall", "f1"
        );
        let rows = self.scores.per_type.iter().map(|(k, v)| (k.as_str(), v));
        for (label, p) in rows.chain([("micro", &self.scores.micro)]) {
            let _ = writeln!(
                s,
                "{label:<8} {:>6} {:>6} {:>6} {:>9.4} {:>9.4} {:>9.4}",
                p.tp, p.fp, p.fn_, p.precision, p.recall, p.f1
            );
        }
        for (title, list) in
            [("false positives", &self.false_positives), ("false negatives", &self.false_negatives)]
        {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title}: {}", list.len());
            for e in list {
                let _ = writeln!(s, "  {}\t{}\t{}", e.chunk.start, e.chunk.kind, e.text);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gazetteer::Gazetteer;

    const GAZETTEER: &str = "id\ttype\tname_ar\n\
        lebanon\tGPE\tلبنان\n\
        un\tORG\tالأمم المتحدة\n\
        aoun\tPER\tميشال عون\n\
        lebanese\tNORP\tاللبناني\n\
        fifa\tEVENT\tكأس العالم\n";

    fn extractor() -> Extractor {
        Extractor::new(Gazetteer::from_tsv("t.tsv", GAZETTEER).unwrap()).unwrap()
    }

    fn chunk(start: usize, end: usize, kind: &str) -> Chunk {
        Chunk { start, end, kind: kind.into() }
    }

    #[test]
    fn gold_chunks_read_like_conlleval() {
        let tags: Vec<String> = ["B-PERS", "I-PERS", "I-LOC", "O", "I-ORG", "B-ORG", "B-MISC"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            gold_chunks(&tags, 10),
            [
                chunk(10, 12, "PERS"),
                chunk(12, 13, "LOC"),
                chunk(14, 15, "ORG"),
                chunk(15, 16, "ORG"),
                chunk(16, 17, "MISC"),
            ]
        );
    }

    #[test]
    fn mentions_cover_the_tokens_they_overlap() {
        // "ab cd ef": a mention inside a token (clitic outside it) takes the whole token.
        let tokens = [(0, 2), (3, 5), (6, 8)];
        assert_eq!(predicted_chunks(&tokens, &[(1, 2, "LOC")]), [chunk(0, 1, "LOC")]);
        assert_eq!(predicted_chunks(&tokens, &[(4, 8, "ORG")]), [chunk(1, 3, "ORG")]);
        // Two mentions in one token: the first keeps it.
        assert_eq!(
            predicted_chunks(&tokens, &[(0, 1, "LOC"), (1, 2, "PERS"), (3, 5, "PERS")]),
            [chunk(0, 1, "LOC"), chunk(1, 2, "PERS")]
        );
    }

    #[test]
    fn exact_chunks_only() {
        let gold = [chunk(0, 2, "PERS"), chunk(3, 4, "LOC"), chunk(5, 6, "MISC")];
        let predicted = [chunk(0, 1, "PERS"), chunk(3, 4, "LOC"), chunk(5, 6, "ORG")];
        let r = score(&gold, &predicted);
        assert_eq!((r.scores.micro.tp, r.scores.micro.fp, r.scores.micro.fn_), (1, 2, 1));
        assert_eq!(r.gold_chunks, 2);
        assert_eq!(r.gold_ignored, 1);
        assert_eq!(r.scores.per_type["PERS"].fn_, 1);
        assert_eq!(r.scores.per_type["ORG"].fp, 1);
        assert!((r.scores.micro.f1 - 0.4).abs() < 1e-9);
    }

    #[test]
    fn end_to_end_clitics_misc_and_norp() {
        let data = "\
قال O
الرئيس O
اللبناني O
ميشال B-PERS
عون I-PERS
في O
بلبنان B-LOC
إن O
الأمم B-ORG
المتحدة I-ORG

شاهد O
كأس B-MISC
العالم I-MISC
وميشال B-PERS
. O
";
        let sentences = parse_conll("t", data).unwrap();
        assert_eq!(sentences.len(), 2);
        let r = evaluate_sentences(&extractor(), &sentences, true).unwrap();
        // ميشال عون, لبنان in بلبنان, الأمم المتحدة: exact. اللبناني (NORP) and كأس العالم
        // (EVENT; gold MISC) are neither predicted nor gold chunks. وميشال is missed.
        assert_eq!(
            (r.scores.micro.tp, r.scores.micro.fp, r.scores.micro.fn_),
            (3, 0, 1),
            "{}",
            r.to_table()
        );
        assert_eq!(r.gold_ignored, 1);
        assert_eq!(r.predicted_ignored, 2);
        assert_eq!(r.false_negatives[0].text, "وميشال");
        assert_eq!(r.scores.per_type["LOC"].tp, 1);
    }

    #[test]
    fn a_mention_over_part_of_a_gold_chunk_is_wrong() {
        let data = "مجلس B-ORG\nالأمم I-ORG\nالمتحدة I-ORG\n";
        let r = evaluate_sentences(&extractor(), &parse_conll("t", data).unwrap(), false).unwrap();
        assert_eq!((r.scores.micro.tp, r.scores.micro.fp, r.scores.micro.fn_), (0, 1, 1));
    }

    #[test]
    fn bad_lines_are_errors() {
        assert!(parse_conll("t", "token\n").is_err());
        assert!(parse_conll("t", "token X-PER\n").is_err());
        assert_eq!(parse_conll("t", " O\nكلمة O\n").unwrap()[0].tokens, ["كلمة"]);
    }
}
