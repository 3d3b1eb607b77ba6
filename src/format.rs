//! Output formats: the JSONL line of a document, brat standoff and CoNLL.
//!
//! - **brat**: per document, `<id>.txt` (the text as is) and `<id>.ann` with one `T` line per
//!   mention (`T1<TAB>GPE 12 18<TAB>موسكو`, code-point offsets as brat expects; a mention that
//!   crosses a line break is written as fragments `0 8;9 13`) and an `AnnotatorNotes` line with
//!   the entity id (`#1<TAB>AnnotatorNotes T1<TAB>moscow`).
//! - **CoNLL**: a `-DOCSTART-<TAB>id<TAB><TAB>O` line, then one token per line:
//!   `token<TAB>start<TAB>end<TAB>tag`, with UTF-8 byte offsets into the original text and a BIO
//!   tag (`B-GPE`, `I-GPE`, `O`); tokens are runs of letters, digits and marks or single
//!   punctuation characters, cut at mention boundaries (so a proclitic is its own `O` token); a
//!   blank line follows each sentence (after . ! ؟ ? and line breaks) and ends the document.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use crate::batch::{LineWriter, Output, Sink};
use crate::chars::is_word_char;
use crate::extractor::{EntityRef, Mention, MentionRecord};
use crate::relation::{Relation, RelationRecord};
use crate::sentence::SentenceCursor;

/// The JSONL line of a document (without the line end): `{"id", "entities", "relations"}`, the
/// entities as [`Mention::to_record`] with their sentence index, the relations as
/// [`Relation::to_record`]. The bytes are exactly those of serde_json serializing the records
/// (a test compares them), written directly: the entity records are most of `alam tag`'s
/// output, the relations' evidence sentences much of the rest, and serde_json escapes every
/// field name and value byte by byte.
///
/// # Errors
/// Fails when the id cannot be serialized (it always can).
pub(crate) fn jsonl_line(
    id: &serde_json::Value,
    text: &str,
    mentions: &[Mention<'_>],
    spans: &[std::ops::Range<usize>],
    relations: Option<&[Relation<'_>]>,
) -> serde_json::Result<String> {
    // Allocated once: 320 bytes a mention hold the entity records (273 on average on news; no
    // line of 46 MB of it outgrew them), and a relation's evidence sentence with 160 bytes its
    // other fields.
    let relations_len: usize = relations.map_or(0, |rs| {
        16 + rs.iter().map(|r| 160 + r.sentence_span.end - r.sentence_span.start).sum::<usize>()
    });
    let mut out = String::with_capacity(64 + 320 * mentions.len() + relations_len);
    out.push_str("{\"id\":");
    out.push_str(&serde_json::to_string(id)?);
    out.push_str(",\"entities\":[");
    let mut numbers = itoa::Buffer::new();
    let mut sentence = SentenceCursor::new(spans);
    // The mention's text as a JSON string: the alias is often the same.
    let mut quoted = String::new();
    for (i, m) in mentions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // The field values are the record's (Mention::to_record); only the writing is here.
        let r = m.to_record(text);
        let mut number = |out: &mut String, key: &str, n: usize| {
            out.push_str(key);
            out.push_str(numbers.format(n));
        };
        number(&mut out, "{\"start\":", r.start);
        number(&mut out, ",\"end\":", r.end);
        number(&mut out, ",\"char_start\":", r.char_start);
        number(&mut out, ",\"char_end\":", r.char_end);
        out.push_str(",\"text\":");
        quoted.clear();
        json_str(&mut quoted, r.text);
        out.push_str(&quoted);
        // The entity's fields are the same in every record of a listed entity: written once.
        match &m.entity {
            EntityRef::Listed(e) => out.push_str(e.output(|| {
                let mut fields = String::new();
                entity_fields(&mut fields, &r);
                fields
            })),
            EntityRef::Guessed(_) => entity_fields(&mut out, &r),
        }
        match r.clitic {
            "" => out.push_str(",\"clitic\":\"\""),
            clitic => {
                out.push_str(",\"clitic\":");
                json_str(&mut out, clitic);
            }
        }
        out.push_str(",\"alias\":");
        if r.alias == r.text {
            out.push_str(&quoted);
        } else {
            json_str(&mut out, r.alias);
        }
        out.push_str(",\"alternatives\":[");
        for (k, alternative) in r.alternatives.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            json_str(&mut out, alternative);
        }
        number(&mut out, "],\"sentence\":", sentence.index(m.start));
        if r.guessed {
            out.push_str(",\"guessed\":true");
        }
        out.push('}');
    }
    out.push(']');
    if let Some(relations) = relations {
        out.push_str(",\"relations\":[");
        for (i, r) in relations.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            relation_fields(&mut out, &mut numbers, &r.to_record(text));
        }
        out.push(']');
    }
    out.push('}');
    Ok(out)
}

/// A relation record as serde_json writes it: `{"type", "head", "tail", "trigger", "role"?,
/// "country"?, "sentence", "evidence"}`.
fn relation_fields(out: &mut String, numbers: &mut itoa::Buffer, r: &RelationRecord<'_>) {
    out.push_str("{\"type\":\"");
    out.push_str(r.kind.as_str());
    out.push_str("\",\"head\":");
    out.push_str(numbers.format(r.head));
    out.push_str(",\"tail\":");
    out.push_str(numbers.format(r.tail));
    out.push_str(",\"trigger\":");
    match &r.trigger {
        Some(t) => {
            out.push_str("{\"start\":");
            out.push_str(numbers.format(t.start));
            out.push_str(",\"end\":");
            out.push_str(numbers.format(t.end));
            out.push_str(",\"text\":");
            json_str(out, t.text);
            out.push('}');
        }
        None => out.push_str("null"),
    }
    for (key, value) in [(",\"role\":", r.role), (",\"country\":", r.country)] {
        if let Some(v) = value {
            out.push_str(key);
            json_str(out, v);
        }
    }
    out.push_str(",\"sentence\":");
    out.push_str(numbers.format(r.sentence));
    out.push_str(",\"evidence\":");
    json_str(out, r.evidence);
    out.push('}');
}

/// The entity's fields of a mention record, from `"type"` to `"parent"`.
fn entity_fields(out: &mut String, r: &MentionRecord<'_>) {
    out.push_str(",\"type\":\"");
    out.push_str(r.kind.as_str());
    out.push_str("\",\"entity\":");
    json_str(out, r.entity);
    out.push_str(",\"name\":");
    json_str(out, r.name);
    for (key, value) in
        [(",\"name_en\":", r.name_en), (",\"qid\":", r.qid), (",\"parent\":", r.parent)]
    {
        out.push_str(key);
        match value {
            Some(v) => json_str(out, v),
            None => out.push_str("null"),
        }
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it: `"` and `\\`, the control
/// characters as `\n`, `\t`... or `\u00XX`, everything else as it is. 64 bytes at a time with
/// AVX-512 where the processor has it, else eight (a quoted phrase does not send the rest of a
/// sentence through the byte loop).
fn json_str(out: &mut String, s: &str) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::avx512() {
        return json_str_wide(out, s);
    }
    json_str_words(out, s);
}

/// [`json_str`] 64 bytes at a time: the bytes to escape of each are the bits of a mask
/// ([`wide::escapes`]), one masked load even for the last, shorter piece.
#[cfg(target_arch = "x86_64")]
fn json_str_wide(out: &mut String, s: &str) {
    out.push('"');
    let mut from = 0;
    for (c, chunk) in s.as_bytes().chunks(64).enumerate() {
        // SAFETY: crate::cpu::avx512() found AVX-512 F and BW (among others).
        let mut mask = unsafe { wide::escapes(chunk) };
        while mask != 0 {
            let i = 64 * c + mask.trailing_zeros() as usize;
            mask &= mask - 1;
            // Every escaped byte is ASCII, so the cuts fall on character boundaries.
            out.push_str(&s[from..i]);
            escape(out, chunk[i % 64]);
            from = i + 1;
        }
    }
    out.push_str(&s[from..]);
    out.push('"');
}

/// AVX-512's mask of the bytes JSON escapes.
#[cfg(target_arch = "x86_64")]
mod wide {
    use std::arch::x86_64::*;

    /// Bit `i` set where `chunk[i]` (at most 64 bytes) is below 0x20, a quote or a backslash.
    ///
    /// # Safety
    /// The processor has AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn escapes(chunk: &[u8]) -> u64 {
        let len = chunk.len().min(64);
        let within = if len == 0 { 0 } else { u64::MAX >> (64 - len) };
        // SAFETY: the masked load reads only the bytes of `within`, all in `chunk`; the
        // others are zero.
        let v = unsafe { _mm512_maskz_loadu_epi8(within, chunk.as_ptr().cast()) };
        let is = |b: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b as i8));
        _mm512_mask_cmplt_epu8_mask(within, v, _mm512_set1_epi8(0x20)) | is(b'"') | is(b'\\')
    }
}

/// Appends the JSON escape of `b` (below 0x20, a quote or a backslash) as serde_json writes it.
fn escape(out: &mut String, b: u8) {
    let escaped = match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0C => "\\f",
        _ => "",
    };
    if escaped.is_empty() {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push_str("\\u00");
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    } else {
        out.push_str(escaped);
    }
}

/// [`json_str`] eight bytes at a time, in a `u64`.
fn json_str_words(out: &mut String, s: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether a word holds a byte below 0x20, a quote or a backslash. Each test marks the
    // zero bytes of a word exactly: no carry crosses a byte (a borrow would: ل before a
    // space looked like a control character), so words of plain text never take the byte loop.
    let zero = |x: u64| !(((x & !HIGHS) + !HIGHS) | x | !HIGHS);
    let special = |w: u64| {
        zero(w & (ONES * 0xE0))
            | zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            != 0
    };
    out.push('"');
    let bytes = s.as_bytes();
    // `from`: the first byte not yet written; `at`: the first byte not yet looked at.
    let (mut from, mut at) = (0, 0);
    while at < bytes.len() {
        let to = (at + 8).min(bytes.len());
        // The next eight bytes; for the last ones, the last eight bytes (those before them
        // were looked at already), or in a shorter string its bytes padded with bytes that
        // need no escape.
        let word = match bytes.get(at..at + 8).or_else(|| bytes.get(bytes.len().wrapping_sub(8)..))
        {
            Some(chunk) => u64::from_le_bytes(chunk.try_into().expect("eight bytes")),
            None => bytes
                .iter()
                .enumerate()
                .fold(HIGHS, |w, (k, &b)| w & !(0xFF << (8 * k)) | u64::from(b) << (8 * k)),
        };
        if !special(word) {
            at = to;
            continue;
        }
        // A word that may hold a byte to escape: one byte at a time.
        for (i, &b) in bytes.iter().enumerate().take(to).skip(at) {
            if b >= 0x20 && b != b'"' && b != b'\\' {
                continue;
            }
            // Every escaped byte is ASCII, so the cuts fall on character boundaries.
            out.push_str(&s[from..i]);
            escape(out, b);
            from = i + 1;
        }
        at = to;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

/// The brat `.ann` content for a document.
pub(crate) fn brat_ann(text: &str, mentions: &[Mention<'_>]) -> String {
    let mut ann = String::new();
    for (i, m) in mentions.iter().enumerate() {
        let n = i + 1;
        // Fragments split at line breaks, in code points.
        let mut fragments = Vec::new();
        let mut char_pos = m.char_start;
        let mut start = char_pos;
        for c in m.text(text).chars() {
            if c == '\n' || c == '\r' {
                if char_pos > start {
                    fragments.push((start, char_pos));
                }
                start = char_pos + 1;
            }
            char_pos += 1;
        }
        if char_pos > start {
            fragments.push((start, char_pos));
        }
        let spans: Vec<String> = fragments.iter().map(|(s, e)| format!("{s} {e}")).collect();
        let shown: String =
            m.text(text).chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
        let _ = writeln!(ann, "T{n}\t{} {}\t{shown}", m.kind(), spans.join(";"));
        let _ = writeln!(ann, "#{n}\tAnnotatorNotes T{n}\t{}", m.entity.id());
    }
    ann
}

/// The CoNLL block for a document.
pub(crate) fn conll(id: &str, text: &str, mentions: &[Mention<'_>]) -> String {
    let safe_id: String = id.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    let mut out = format!("-DOCSTART-\t{safe_id}\t\tO\n\n");
    let mut m = mentions.iter().peekable();
    let mut sentence_open = false;
    let mut token_start: Option<usize> = None;
    let cuts: HashSet<usize> = mentions.iter().flat_map(|m| [m.start, m.end]).collect();

    let emit = |out: &mut String,
                start: usize,
                end: usize,
                m: &mut std::iter::Peekable<std::slice::Iter<'_, Mention<'_>>>| {
        while m.peek().is_some_and(|x| x.end <= start) {
            m.next();
        }
        let tag = match m.peek() {
            Some(x) if x.start <= start && end <= x.end => {
                let prefix = if x.start == start { "B" } else { "I" };
                format!("{prefix}-{}", x.kind())
            }
            _ => "O".to_string(),
        };
        let _ = writeln!(out, "{}\t{start}\t{end}\t{tag}", &text[start..end]);
    };
    for (i, c) in text.char_indices() {
        if cuts.contains(&i) {
            if let Some(s) = token_start.take() {
                emit(&mut out, s, i, &mut m);
            }
        }
        if is_word_char(c) {
            if token_start.is_none() {
                token_start = Some(i);
                sentence_open = true;
            }
            continue;
        }
        if let Some(s) = token_start.take() {
            emit(&mut out, s, i, &mut m);
        }
        if c.is_whitespace() || c.is_control() || is_invisible(c) {
            if (c == '\n' || c == '\r') && sentence_open {
                out.push('\n');
                sentence_open = false;
            }
            continue;
        }
        emit(&mut out, i, i + c.len_utf8(), &mut m);
        sentence_open = true;
        if matches!(c, '.' | '!' | '؟' | '?') {
            out.push('\n');
            sentence_open = false;
        }
    }
    if let Some(s) = token_start.take() {
        emit(&mut out, s, text.len(), &mut m);
    }
    if sentence_open {
        out.push('\n');
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{061C}')
}

/// Writes brat `<id>.txt` / `<id>.ann` pairs into a directory. Ids are made safe as file names
/// (path separators and control characters become `_`), and a repeated id gets a `-2`, `-3`...
/// suffix. Error records go to a callback (brat has no place for them).
pub struct BratSink {
    dir: PathBuf,
    used: HashSet<String>,
    on_error: ErrorCallback,
}

/// Receives the message (`file:line: error`) of each record that could not be tagged.
pub type ErrorCallback = Box<dyn FnMut(&str) + Send>;

impl BratSink {
    /// A sink into `dir`, which is created if missing.
    ///
    /// # Errors
    /// Fails when the directory cannot be created.
    pub fn new(dir: PathBuf, on_error: ErrorCallback) -> io::Result<BratSink> {
        std::fs::create_dir_all(&dir)?;
        Ok(BratSink { dir, used: HashSet::new(), on_error })
    }

    fn file_stem(&mut self, id: &str) -> String {
        let mut stem: String = id
            .chars()
            .map(|c| if c == '/' || c == '\\' || c.is_control() || c == ':' { '_' } else { c })
            .collect();
        if stem.is_empty() || stem.starts_with('.') {
            stem.insert(0, '_');
        }
        let mut candidate = stem.clone();
        let mut n = 1;
        while !self.used.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{stem}-{n}");
        }
        candidate
    }
}

impl Sink for BratSink {
    fn write(&mut self, output: &Output) -> io::Result<()> {
        match output {
            Output::Brat { id, text, ann } => {
                let stem = self.file_stem(id);
                std::fs::write(self.dir.join(format!("{stem}.txt")), text)?;
                std::fs::write(self.dir.join(format!("{stem}.ann")), ann)
            }
            Output::Error { message, .. } => {
                (self.on_error)(message);
                Ok(())
            }
            _ => Err(io::Error::other("a BratSink takes brat output only")),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes CoNLL blocks to a writer; error records go to a callback.
pub struct ConllSink<W: io::Write + Send> {
    out: LineWriter<W>,
    on_error: ErrorCallback,
}

impl<W: io::Write + Send> ConllSink<W> {
    /// A sink over `out`, written in whole lines (see [`LineWriter`]).
    pub fn new(out: W, on_error: ErrorCallback) -> Self {
        ConllSink { out: LineWriter::new(out), on_error }
    }

    /// A sink over `out` that writes chunks of at most `chunk` bytes (see
    /// [`LineWriter::with_chunk`]).
    pub fn with_chunk(out: W, on_error: ErrorCallback, chunk: usize) -> Self {
        ConllSink { out: LineWriter::with_chunk(out, chunk), on_error }
    }
}

impl<W: io::Write + Send> Sink for ConllSink<W> {
    fn write(&mut self, output: &Output) -> io::Result<()> {
        match output {
            Output::Conll(block) => self.out.write_lines(block.as_bytes()),
            Output::Error { message, .. } => {
                (self.on_error)(message);
                Ok(())
            }
            _ => Err(io::Error::other("a ConllSink takes CoNLL output only")),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extractor::MentionRecord;
    use crate::relation::RelationExtractor;
    use crate::{sentence_index, sentences, Extractor, Gazetteer};
    use proptest::prelude::*;
    use serde::Serialize;

    /// The line as serde_json writes the records: what [`jsonl_line`] must equal.
    #[derive(Serialize)]
    struct DocRecord<'a> {
        id: &'a serde_json::Value,
        entities: Vec<MentionRecord<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        relations: Option<Vec<RelationRecord<'a>>>,
    }

    fn extractors() -> &'static (Extractor, RelationExtractor) {
        static BOTH: std::sync::OnceLock<(Extractor, RelationExtractor)> =
            std::sync::OnceLock::new();
        BOTH.get_or_init(|| {
            let extractor = Extractor::new(Gazetteer::embedded().unwrap()).unwrap();
            (extractor, RelationExtractor::embedded().unwrap())
        })
    }

    fn strings() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '"', '\\', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{0}', '\u{1}', '\u{1f}', '\u{7f}',
            '/', 'ا', '€', '😀', ' ', 'a',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), special], 0..90)
            .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        /// By the path this processor takes and by eight bytes at a time (the path of
        /// processors without AVX-512): the string serde_json writes.
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in strings()) {
            let expected = serde_json::to_string(&s).unwrap();
            let mut out = String::new();
            json_str(&mut out, &s);
            prop_assert_eq!(&out, &expected);
            out.clear();
            json_str_words(&mut out, &s);
            prop_assert_eq!(&out, &expected);
        }

        /// Texts of news sentences, guessed names and odd characters, with or without
        /// relations: the line is the one serde_json writes.
        #[test]
        fn lines_are_the_serde_json_records(
            parts in prop::collection::vec((0usize..9, strings()), 0..12),
            id in prop_oneof![
                Just(serde_json::json!("doc \"1\"")),
                Just(serde_json::json!(7)),
                Just(serde_json::json!(null))
            ],
            with_relations in any::<bool>(),
        ) {
            let pieces = [
                "التقى الرئيس الروسي فلاديمير بوتين بنظيره الفرنسي في موسكو. ",
                "وصل جاك دوبوا إلى باماكو، وقال دوبوا إن اللقاء كان مثمرا.\n",
                "قوات فاغنر في مالي و\"الفيلق الأفريقي\" التابع لوزارة الدفاع الروسية. ",
                "زار وزير الخارجية الروسي سيرغي لافروف الجزائر وللجزائر ",
                "بـ\"الفيلق الأفريقي\" ",
                "\t\u{1}«دوبوا» ",
                "الأمم المتحدة وأفريقيا وإفريقيا ",
                "",
                "\"",
            ];
            let mut text = String::new();
            for (k, s) in &parts {
                text.push_str(pieces[*k]);
                text.push_str(s);
            }
            let (extractor, rx) = extractors();
            let mentions = extractor.extract(&text).unwrap();
            let spans = sentences(&text);
            let relations = with_relations.then(|| rx.extract_in(&text, &spans, &mentions).unwrap());
            let records: Option<Vec<RelationRecord<'_>>> =
                relations.as_ref().map(|rs| rs.iter().map(|r| r.to_record(&text)).collect());
            let line = jsonl_line(&id, &text, &mentions, &spans, relations.as_deref()).unwrap();
            let entities = mentions
                .iter()
                .map(|m| {
                    let mut record = m.to_record(&text);
                    record.sentence = Some(sentence_index(&spans, m.start));
                    record
                })
                .collect();
            let expected = serde_json::to_string(&DocRecord { id: &id, entities, relations: records.clone() })
                .unwrap();
            prop_assert_eq!(line, expected);
        }
    }
}
