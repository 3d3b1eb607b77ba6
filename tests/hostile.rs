//! Hostile inputs: each has a test asserting its exact outcome (a result or an error record,
//! never a panic or a hang). Issue 7; the list and outcomes are in fuzz/RELIABILITY.md.
//!
//! The sizes the issue names run by default (a 100 MB line, a one-million-letter word, a million
//! harakat, a million aliases): the whole file takes about 25 s in a debug build on 2 cores.
//! `ALAM_HOSTILE_FULL=1` makes the linear-time test extract 100 MB instead of 20 MB.
//!
//! Tests named `regression_*` pin bugs found by fuzzing or by these tests: they assert the
//! correct behaviour.

use std::io::{self, Cursor, Read};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alam::batch::{tag_inputs, Input, JsonlSink, Stats, TagOptions};
use alam::{fold, normalize, ErrorKind, Extractor, Gazetteer, Mention, NormalizeOptions};
use proptest::prelude::*;
use serde_json::Value;

/// A small gazetteer of its own, so the exact counts below do not move with the default data.
const GAZETTEER: &str = "id\ttype\tname_ar\taliases\tflags\n\
    bamako\tGPE\tباماكو\tبماكو\t\n\
    moscow\tGPE\tموسكو\t\t\n\
    algeria\tGPE\tالجزائر\t\t\n\
    wagner\tORG\tمجموعة فاغنر\tفاغنر|فاجنر\t\n\
    africa_corps\tORG\tالفيلق الأفريقي\tفيلق أفريقيا\t\n\
    africa\tLOC\tأفريقيا\tإفريقيا\t\n\
    goita\tPER\tأسيمي غويتا\t~غويتا\t\n";

fn extractor() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| {
        Extractor::new(Gazetteer::from_tsv("hostile.tsv", GAZETTEER).unwrap()).unwrap()
    })
}

fn full() -> bool {
    std::env::var_os("ALAM_HOSTILE_FULL").is_some()
}

/// (entity id, mention text, clitic) of each mention.
fn found<'t>(text: &'t str, mentions: &[Mention<'_>]) -> Vec<(String, &'t str, &'static str)> {
    mentions.iter().map(|m| (m.entity.id().to_string(), m.text(text), m.clitic)).collect()
}

/// The invariants of every extraction: offsets on char boundaries, sorted, non-overlapping,
/// char offsets consistent, and the slice folds to the alias (or its لل form). A span that
/// starts or ends with a presentation form (one character folding to several letters, such as
/// ﻷ = ل + أ) holds the whole character, so its fold need only contain the alias.
fn check(text: &str, mentions: &[Mention<'_>]) {
    let options = NormalizeOptions::default();
    let (mut last_end, mut chars) = (0, 0);
    for m in mentions {
        assert!(m.start < m.end && m.end <= text.len(), "span {}..{}", m.start, m.end);
        assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
        assert!(m.start >= last_end, "overlap or unsorted at {}", m.start);
        chars += text[last_end..m.start].chars().count();
        assert_eq!(m.char_start, chars);
        chars += text[m.start..m.end].chars().count();
        assert_eq!(m.char_end, chars);
        last_end = m.end;
        let slice = m.text(text);
        let surface = fold(slice, &options);
        // The one slice that reads as more than the name: a proclitic and the name's first
        // letter in one character (ﻷ is ل + أ); the slice then starts with the clitic's end.
        let clitic = fold(m.clitic, &options);
        let first = slice.chars().next().map(|c| fold(&c.to_string(), &options));
        let mut surfaces = vec![surface.as_str()];
        if first.is_some_and(|f| f.chars().count() > 1) {
            surfaces.extend(
                clitic.char_indices().filter_map(|(i, _)| surface.strip_prefix(&clitic[i..])),
            );
        }
        if m.entity.is_guessed() {
            // A guessed person: the slice folds to the guessed name or to its last word, and
            // never runs over a line break.
            let name = m.entity.name_ar();
            let exact = surfaces.iter().any(|s| name == *s || name.ends_with(&format!(" {s}")));
            assert!(exact, "{slice:?} for {name:?}");
            assert!(!slice.contains(['\n', '\r']), "{slice:?} runs over a line break");
            continue;
        }
        let alias = fold(m.alias, &options).trim().to_string();
        let contracted = alias.strip_prefix('ا').unwrap_or(&alias);
        let exact = surfaces.iter().any(|s| *s == alias || *s == contracted);
        assert!(exact, "{slice:?} folds to {surface:?}, alias {alias:?}");
    }
}

/// A reader that yields each `(bytes, times)` segment repeated, in order, without ever holding
/// the whole stream: a 100 MB line costs a few KB here.
struct Repeat {
    segments: Vec<(Vec<u8>, u64)>,
    segment: usize,
    done: u64,
    offset: usize,
}

impl Repeat {
    fn new(segments: Vec<(Vec<u8>, u64)>) -> Repeat {
        Repeat { segments, segment: 0, done: 0, offset: 0 }
    }

    fn len(&self) -> u64 {
        self.segments.iter().map(|(b, n)| b.len() as u64 * n).sum()
    }
}

impl Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let Some((bytes, times)) = self.segments.get(self.segment) else { break };
            if self.done >= *times || bytes.is_empty() {
                (self.segment, self.done, self.offset) = (self.segment + 1, 0, 0);
                continue;
            }
            let take = (bytes.len() - self.offset).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&bytes[self.offset..self.offset + take]);
            n += take;
            self.offset += take;
            if self.offset == bytes.len() {
                (self.done, self.offset) = (self.done + 1, 0);
            }
        }
        Ok(n)
    }
}

/// Tags a JSONL stream with the test gazetteer; returns the output lines as JSON and the stats.
fn tag_stream(input: impl Read + Send + 'static, options: &TagOptions) -> (Vec<Value>, Stats) {
    let mut out = Vec::new();
    let inputs = vec![Input::reader("hostile", input)];
    let stats = tag_inputs(extractor(), inputs, options, 2, &mut JsonlSink::new(&mut out), None)
        .expect("a stream in memory is read to the end");
    let text = String::from_utf8(out).expect("output is UTF-8");
    let lines = text.lines().map(|l| serde_json::from_str(l).expect("output lines are JSON"));
    (lines.collect(), stats)
}

fn tag_bytes(input: &[u8]) -> Vec<Value> {
    tag_stream(Cursor::new(input.to_vec()), &TagOptions::default()).0
}

/// The entity ids of a tagged record.
fn entity_ids(record: &Value) -> Vec<&str> {
    let entities = record["entities"].as_array().unwrap_or_else(|| panic!("tagged: {record}"));
    entities.iter().map(|e| e["entity"].as_str().unwrap()).collect()
}

const UNIT: &str = "وصلت قوات فاجنر إلى بلدات قرب وبَامَـاكو، وقال الفيلق الأفريقي إن موسكو باقية. ";

#[test]
fn hundred_megabyte_line_is_an_error_record_and_the_next_line_is_tagged() {
    // One JSONL line of 100 MB (over the default 64 MiB maximum), generated on the fly, then a
    // normal record.
    let unit = "في باماكو وموسكو ".repeat(32); // 992 bytes
    let repeats = 100_000_000 / unit.len() as u64;
    let head = br#"{"id":"big","text":""#.to_vec();
    let tail = b"\"}\n".to_vec();
    let line_len = head.len() as u64 + repeats * unit.len() as u64 + tail.len() as u64;
    assert!(line_len > 99_999_000);
    let next = r#"{"id":"next","text":"في موسكو"}"#.as_bytes().to_vec();
    let next_len = next.len() as u64;
    let reader = Repeat::new(vec![
        (head, 1),
        (unit.into_bytes(), repeats),
        (tail, 1),
        (next, 1),
        (b"\n".to_vec(), 1),
    ]);
    assert_eq!(reader.len(), line_len + next_len + 1);
    let started = Instant::now();
    let (out, stats) = tag_stream(reader, &TagOptions::default());
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0]["line"], 1);
    assert_eq!(out[0]["file"], "hostile");
    assert_eq!(
        out[0]["error"],
        format!(
            "record of {line_len} bytes is larger than the maximum of 67108864 bytes \
             (--max-record-size)"
        )
    );
    assert!(out[0].get("id").is_none(), "the id of a skipped line is not parsed");
    assert_eq!(out[1]["id"], "next");
    assert_eq!(entity_ids(&out[1]), ["moscow"]);
    assert_eq!((stats.documents, stats.errors), (1, 1));
    eprintln!("100 MB line: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn record_size_limit_counts_the_line_end() {
    // --max-record-size bounds a JSONL line with its line end ("\n", or "\r\n"): a record of
    // exactly the maximum is tagged only when it is the last line and has no line end.
    let mut options = TagOptions::default();
    options.max_record_bytes = 64;
    let record = |pad: usize| format!("{{\"id\":1,\"text\":\"باماكو{}\"}}", " ".repeat(pad));
    let at = |len: usize| record(len - record(0).len());
    let input = format!("{}\n{}\n{}\r\n{}", at(63), at(64), at(63), at(64));
    let (out, _) = tag_stream(Cursor::new(input.into_bytes()), &options);
    assert_eq!(out.len(), 4);
    assert_eq!(entity_ids(&out[0]), ["bamako"], "63 bytes + \\n");
    let too_large = "larger than the maximum of 64 bytes (--max-record-size)";
    assert_eq!(out[1]["error"], format!("record of 65 bytes is {too_large}"));
    assert_eq!(out[2]["error"], format!("record of 65 bytes is {too_large}"), "63 + \\r\\n");
    assert_eq!(entity_ids(&out[3]), ["bamako"], "64 bytes, no line end");
}

#[test]
fn twenty_megabytes_of_news_extract_every_mention_in_linear_time() {
    let e = extractor();
    let per_unit = e.extract(UNIT).unwrap();
    let expected = [
        ("wagner", "فاجنر", ""),
        ("bamako", "بَامَـاكو", "و"),
        ("africa_corps", "الفيلق الأفريقي", ""),
        ("moscow", "موسكو", ""),
    ];
    let expected: Vec<(String, &str, &str)> =
        expected.iter().map(|&(id, t, c)| (id.to_string(), t, c)).collect();
    assert_eq!(found(UNIT, &per_unit), expected);

    let big = if full() { 100 << 20 } else { 20 << 20 };
    let mut times = Vec::new();
    for size in [big / 10, big] {
        let repeats = size / UNIT.len();
        let text = UNIT.repeat(repeats);
        let started = Instant::now();
        let mentions = e.extract(&text).unwrap();
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(mentions.len(), repeats * per_unit.len(), "repeats x mentions per unit");
        for (i, m) in mentions.iter().enumerate().step_by(997) {
            let (r, k) = (i / per_unit.len(), i % per_unit.len());
            assert_eq!(m.start, r * UNIT.len() + per_unit[k].start);
            assert_eq!(m.char_start, r * UNIT.chars().count() + per_unit[k].char_start);
            assert_eq!(m.entity.id(), per_unit[k].entity.id());
        }
    }
    // Ten times the text may take ten times as long, not a hundred: allow a wide margin for a
    // shared machine, far below what a quadratic path would need.
    eprintln!("{} MB: {:.2} s, {} MB: {:.2} s", (big / 10) >> 20, times[0], big >> 20, times[1]);
    assert!(times[1] < 40.0 * times[0].max(0.02), "superlinear: {times:?}");
}

#[test]
fn one_million_letter_word_yields_no_mention_inside_it() {
    let e = extractor();
    let word = "ب".repeat(1_000_000);
    assert!(e.extract(&word).unwrap().is_empty());
    // A name glued to the end of the word is inside it: no mention. A name before it, or
    // after a space, is found.
    let glued = format!("{word}باماكو");
    assert!(e.extract(&glued).unwrap().is_empty());
    let text = format!("باماكو {word} موسكو {word}فاغنر");
    let mentions = e.extract(&text).unwrap();
    check(&text, &mentions);
    let ids: Vec<&str> = mentions.iter().map(|m| m.entity.id()).collect();
    assert_eq!(ids, ["bamako", "moscow"]);
    assert_eq!(mentions[1].start, "باماكو ".len() + word.len() + 1);
    // A word made of repeated names: every one is inside the word, none counts.
    let names = "موسكو".repeat(200_000);
    assert!(e.extract(&names).unwrap().is_empty());
    // Through the batch reader as a JSONL record (2 MB, under the maximum).
    let line = serde_json::json!({"id": "word", "text": text}).to_string() + "\n";
    let out = tag_bytes(line.as_bytes());
    assert_eq!(entity_ids(&out[0]), ["bamako", "moscow"]);
}

#[test]
fn a_million_harakat_in_a_row() {
    let e = extractor();
    let marks = "\u{064E}".repeat(1_000_000);
    // Marks alone: no mention.
    assert!(e.extract(&marks).unwrap().is_empty());
    assert_eq!(normalize(&marks, &NormalizeOptions::default()).unwrap().text(), "");
    // After a name, the marks belong to its last letter: the span swallows them all.
    let text = format!("في باماكو{marks} وموسكو");
    let mentions = e.extract(&text).unwrap();
    check(&text, &mentions);
    let start = "في ".len();
    assert_eq!((mentions[0].entity.id(), mentions[0].start), ("bamako", start));
    assert_eq!(mentions[0].end, start + "باماكو".len() + marks.len());
    assert_eq!(mentions[0].char_end, 3 + 6 + 1_000_000);
    assert_eq!((mentions[1].entity.id(), mentions[1].clitic), ("moscow", "و"));
    // Inside a name, between two letters: still the name.
    let inside = format!("با{marks}ماكو");
    let mentions = e.extract(&inside).unwrap();
    assert_eq!(found(&inside, &mentions), [("bamako".to_string(), inside.as_str(), "")]);
    // Before a name, after a space: the marks are dropped, the name starts a word.
    let before = format!("{marks} موسكو");
    let mentions = e.extract(&before).unwrap();
    assert_eq!(found(&before, &mentions), [("moscow".to_string(), "موسكو", "")]);
}

#[test]
fn nul_bytes_inside_text() {
    let e = extractor();
    // NUL is neither a letter nor white space: it separates words like punctuation.
    let text = "\0باماكو\0موسكو\0\0فاغنر\0";
    let mentions = e.extract(text).unwrap();
    check(text, &mentions);
    let ids: Vec<&str> = mentions.iter().map(|m| m.entity.id()).collect();
    assert_eq!(ids, ["bamako", "moscow", "wagner"]);
    assert_eq!(mentions[0].start, 1);
    // In JSONL, an escaped NUL is text; a raw NUL byte inside a string is invalid JSON.
    let input =
        b"{\"id\":1,\"text\":\"\\u0000\xd8\xa8\xd8\xa7\xd9\x85\xd8\xa7\xd9\x83\xd9\x88\\u0000\"}\n\
                  {\"id\":2,\"text\":\"\x00\"}\n";
    let out = tag_bytes(input);
    assert_eq!(entity_ids(&out[0]), ["bamako"]);
    assert_eq!(out[0]["entities"][0]["start"], 1);
    assert_eq!(out[1]["line"], 2);
    assert!(out[1]["error"].as_str().unwrap().starts_with("invalid JSON: control character"));
}

#[test]
fn bom_at_the_start_of_a_txt_file_and_of_a_jsonl_line() {
    // A .txt document keeps its BOM: it folds away, and offsets count it (3 bytes, 1 char),
    // as they count every byte of the file.
    let dir = std::env::temp_dir().join(format!("alam-hostile-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bom.txt");
    std::fs::write(&path, "\u{FEFF}باماكو وموسكو").unwrap();
    let mut out = Vec::new();
    let inputs = vec![Input::path(&path).unwrap()];
    tag_inputs(extractor(), inputs, &TagOptions::default(), 1, &mut JsonlSink::new(&mut out), None)
        .unwrap();
    let record: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(record["id"], "bom");
    assert_eq!(entity_ids(&record), ["bamako", "moscow"]);
    assert_eq!(record["entities"][0]["start"], 3);
    assert_eq!(record["entities"][0]["char_start"], 1);
    std::fs::remove_dir_all(&dir).unwrap();

    // A BOM before a JSONL record (files saved by Windows tools) is skipped; a BOM inside the
    // text is text.
    let input = "\u{FEFF}{\"id\":1,\"text\":\"باماكو\"}\n{\"id\":2,\"text\":\"\u{FEFF}موسكو\"}\n";
    let out = tag_bytes(input.as_bytes());
    assert_eq!(out[0]["id"], 1);
    assert_eq!(entity_ids(&out[0]), ["bamako"]);
    assert_eq!(entity_ids(&out[1]), ["moscow"]);
    assert_eq!(out[1]["entities"][0]["start"], 3);
}

#[test]
fn crlf_line_ends_in_jsonl() {
    let input = "{\"id\":1,\"text\":\"باماكو\"}\r\n{\"text\":\"موسكو\"}\r\n\r\n{\"id\":4,\"text\":\"فاغنر\"}\r";
    let out = tag_bytes(input.as_bytes());
    assert_eq!(out.len(), 4);
    assert_eq!(entity_ids(&out[0]), ["bamako"]);
    assert_eq!(out[0]["entities"][0]["end"], "باماكو".len(), "no \\r in the text");
    assert_eq!(out[1]["id"], 2, "line numbers count CRLF lines");
    assert_eq!(entity_ids(&out[1]), ["moscow"]);
    // A line that is only "\r\n" is an empty line.
    assert_eq!(out[2]["line"], 3);
    assert_eq!(out[2]["error"], "empty line: expected a JSON record");
    // A final line ending in a bare "\r": the "\r" is JSON white space.
    assert_eq!(entity_ids(&out[3]), ["wagner"]);
}

#[test]
fn escaped_lone_surrogate_is_an_error_record_at_its_line() {
    // serde_json rejects an escaped surrogate that is not half of a pair: an error record at its
    // line, and the lines around it are tagged.
    let input = "{\"id\":1,\"text\":\"باماكو\"}\n{\"id\":2,\"text\":\"\\ud800\"}\n\
                 {\"id\":3,\"text\":\"\\ud800 موسكو\"}\n{\"id\":4,\"text\":\"\\udc00\"}\n\
                 {\"id\":5,\"text\":\"\\ud83d\\ude00 موسكو\"}\n";
    let out = tag_bytes(input.as_bytes());
    assert_eq!(out.len(), 5);
    assert_eq!(entity_ids(&out[0]), ["bamako"]);
    for (i, error) in [
        (1, "invalid JSON: unexpected end of hex escape at line 1 column 23"),
        (2, "invalid JSON: unexpected end of hex escape at line 1 column 23"),
        (3, "invalid JSON: lone leading surrogate in hex escape at line 1 column 22"),
    ] {
        assert_eq!(out[i]["line"], i + 1);
        assert_eq!(out[i]["error"], error, "line {}", i + 1);
        assert!(out[i].get("id").is_none(), "the id of invalid JSON is unknown");
    }
    // A valid surrogate pair is one character (U+1F600, 4 bytes).
    assert_eq!(entity_ids(&out[4]), ["moscow"]);
    assert_eq!(out[4]["entities"][0]["start"], 5);
    assert_eq!(out[4]["entities"][0]["char_start"], 2);
}

#[test]
fn deeply_nested_json_is_an_error_record_without_stack_overflow() {
    let deep = 10_000;
    let nested = format!("{}{}", "[".repeat(deep), "]".repeat(deep));
    let input = format!(
        "{{\"id\":1,\"text\":{nested}}}\n{{\"id\":{nested},\"text\":\"باماكو\"}}\n{nested}\n\
         {}\n{{\"id\":5,\"text\":\"موسكو\"}}\n",
        "{\"a\":".repeat(deep)
    );
    let out = tag_bytes(input.as_bytes());
    assert_eq!(out.len(), 5);
    for (i, record) in out[..4].iter().enumerate() {
        assert_eq!(record["line"], i + 1);
        let error = record["error"].as_str().unwrap();
        assert!(
            error.starts_with("invalid JSON: recursion limit exceeded"),
            "line {}: {error}",
            i + 1
        );
    }
    assert_eq!(entity_ids(&out[4]), ["moscow"]);
}

#[test]
fn ten_thousand_character_id_is_kept_as_is() {
    let id = "م".repeat(5_000) + &"x".repeat(5_000);
    let input = serde_json::json!({"id": id, "text": "في باماكو"}).to_string() + "\n";
    let out = tag_bytes(input.as_bytes());
    assert_eq!(out[0]["id"].as_str().unwrap(), id);
    assert_eq!(entity_ids(&out[0]), ["bamako"]);
    // Also in an error record.
    let input = serde_json::json!({"id": id, "text": 5}).to_string() + "\n";
    let out = tag_bytes(input.as_bytes());
    assert_eq!(out[0]["id"].as_str().unwrap(), id);
    assert_eq!(out[0]["error"], "field \"text\" is not a string");
}

fn gazetteer_error(rows: &str) -> (usize, String) {
    let tsv = format!("id\ttype\tname_ar\taliases\n{rows}");
    match Gazetteer::from_tsv("names.tsv", &tsv).unwrap_err().kind() {
        ErrorKind::Gazetteer { file, line, message } => {
            assert_eq!(file, "names.tsv");
            (*line, message.clone())
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn alias_that_folds_to_nothing_or_to_one_letter_is_a_loader_error() {
    // Only harakat (and tatweel): folds to nothing.
    let (line, message) = gazetteer_error("mali\tGPE\tمالي\t\u{064E}\u{0651}\u{0640}\u{0652}\n");
    assert_eq!(line, 2);
    assert!(message.starts_with("empty alias"), "{message}");
    // Invisible marks only: nothing either.
    let (_, message) = gazetteer_error("mali\tGPE\tمالي\t\u{200F}\u{200C}\u{FEFF}\n");
    assert!(message.starts_with("empty alias"), "{message}");
    // One letter with harakat and tatweel around it.
    let (line, message) = gazetteer_error("x\tGPE\tمالي\t\n\nmali\tGPE\tمالي\tمُـ\n");
    assert_eq!(line, 4);
    assert!(message.contains("folds to a single character"), "{message}");
    // The canonical name too.
    let (_, message) = gazetteer_error("mali\tGPE\tًٌ\t\n");
    assert!(message.starts_with("empty canonical name"), "{message}");
    let (_, message) = gazetteer_error("mali\tGPE\tأ\t\n");
    assert!(message.contains("folds to a single character"), "{message}");
}

/// A gazetteer row with a million aliases: about 17 s and 420 MB in a debug build (2 s to load,
/// 15 s to build the extractor), the slowest test of this file.
#[test]
fn gazetteer_with_a_million_aliases_for_one_entity() {
    // Distinct aliases: four letters of a 28-letter alphabet (no letter that folds to
    // another) after "ن" or "ه" (28^4 = 614,656 per leading letter).
    let letters: Vec<char> = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي".chars().collect();
    let count = 1_000_000;
    let alias = |mut i: usize| {
        let mut s = String::from(if i < 614_656 { "ن" } else { "ه" });
        i %= 614_656;
        for _ in 0..4 {
            s.push(letters[i % letters.len()]);
            i /= letters.len();
        }
        s
    };
    assert_eq!(letters.len(), 28);
    let started = Instant::now();
    let mut tsv = String::with_capacity(count * 12);
    tsv.push_str("id\ttype\tname_ar\taliases\nmany\tGPE\tباماكو\t");
    for i in 0..count {
        if i > 0 {
            tsv.push('|');
        }
        tsv.push_str(&alias(i));
    }
    tsv.push('\n');
    let gazetteer = Gazetteer::from_tsv("many.tsv", &tsv).unwrap();
    assert_eq!(gazetteer.get("many").unwrap().names().count(), count + 1);
    let loaded = started.elapsed();
    let extractor = Extractor::new(gazetteer).unwrap();
    let built = started.elapsed();
    let last = alias(count - 1);
    let text = format!("قال {} و{} ثم باماكو.", alias(0), last);
    let mentions = extractor.extract(&text).unwrap();
    check(&text, &mentions);
    let got: Vec<(&str, &str)> = mentions.iter().map(|m| (m.text(&text), m.alias)).collect();
    assert_eq!(got, [(alias(0).as_str(), alias(0).as_str()), (&last, &last), ("باماكو", "باماكو")]);
    eprintln!(
        "{count} aliases: loaded in {:.1} s, extractor built in {:.1} s",
        loaded.as_secs_f64(),
        (built - loaded).as_secs_f64()
    );
}

/// Inserts `mark` after every character of `text`.
fn interleave(text: &str, mark: &str) -> String {
    text.chars().flat_map(|c| std::iter::once(c.to_string()).chain([mark.to_string()])).collect()
}

#[test]
fn presentation_forms_and_direction_marks_everywhere() {
    let e = extractor();
    // Text pasted from a PDF: every letter in a presentation form.
    let pdf = "ﻭﺻﻠﺖ ﻗﻮﺍﺕ ﻓﺎﺟﻨﺮ ﺇﻟﻰ ﺑﺎﻣﺎﻛﻮ ﻭﻣﻮﺳﻜﻮ.";
    let mentions = e.extract(pdf).unwrap();
    check(pdf, &mentions);
    let expected = [
        ("wagner".to_string(), "ﻓﺎﺟﻨﺮ", ""),
        ("bamako".to_string(), "ﺑﺎﻣﺎﻛﻮ", ""),
        ("moscow".to_string(), "ﻣﻮﺳﻜﻮ", "و"),
    ];
    assert_eq!(found(pdf, &mentions), expected);
    // Every bidi mark after every character of a news sentence, and of the PDF text.
    let marks = [
        "\u{200E}", "\u{200F}", "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}",
        "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
    ];
    for mark in marks {
        for base in [UNIT, pdf] {
            let text = interleave(base, mark);
            let mentions = e.extract(&text).unwrap();
            check(&text, &mentions);
            assert_eq!(mentions.len(), 4 - usize::from(base == pdf), "mark {mark:?}: {text}");
            // A mark right after a name is not part of it; the name's first letter starts it.
            for m in &mentions {
                assert!(!m.text(&text).ends_with(mark), "{:?}", m.text(&text));
                assert!(!m.text(&text).starts_with(mark), "{:?}", m.text(&text));
            }
        }
    }
    // All of them at once around every character.
    let all: String = marks.concat();
    let text = interleave(UNIT, &all);
    let mentions = e.extract(&text).unwrap();
    check(&text, &mentions);
    let ids: Vec<&str> = mentions.iter().map(|m| m.entity.id()).collect();
    assert_eq!(ids, ["wagner", "bamako", "africa_corps", "moscow"]);
}

#[test]
fn ligature_of_clitic_and_name_keeps_the_whole_character_in_the_span() {
    // ﻷ (U+FEF7) is lam + alef with hamza: ل the clitic and أ the first letter of أفريقيا. A
    // span cannot split a character, so the mention covers the ligature; the clitic is still
    // reported.
    let e = extractor();
    let text = "ﻷﻓﺮﻳﻘﻴﺎ";
    let mentions = e.extract(text).unwrap();
    assert_eq!(mentions.len(), 1);
    assert_eq!((mentions[0].entity.id(), mentions[0].clitic), ("africa", "ل"));
    assert_eq!((mentions[0].start, mentions[0].end), (0, text.len()));
}

/// U+FDFA and U+FDFB are single characters whose NFKC expansion is several words
/// (صلى الله عليه وسلم, جل جلاله). A name that is one of those words ends inside the character:
/// the extractor must not panic, and since no slice of the text reads as the name, it reports
/// nothing there (it once reported the whole character).
#[test]
fn regression_name_inside_a_multi_word_ligature() {
    let tsv = "id\ttype\tname_ar\nallah\tPER\tجل\nsalla\tPER\tعليه وسلم\n";
    let e = Extractor::new(Gazetteer::from_tsv("ligature.tsv", tsv).unwrap()).unwrap();
    for text in ["\u{FDFB}", "قال \u{FDFB} ثم", "\u{FDFA}"] {
        let mentions = std::panic::catch_unwind(|| e.extract(text).unwrap().len());
        let mentions = mentions.unwrap_or_else(|_| panic!("extract panicked on {text:?}"));
        assert_eq!(mentions, 0, "{text:?}");
    }
    // The names written out are found.
    let text = "صلى الله عليه وسلم، جل جلاله";
    let ids: Vec<String> = e.extract(text).unwrap().iter().map(|m| m.entity.id().into()).collect();
    assert_eq!(ids, ["salla", "allah"]);
}

/// A guessed person name ended inside ﷺ (U+FDFA, صلى الله عليه وسلم): its span was the whole
/// character, which reads as more than the name (found by `arabic_noise_keeps_invariants`).
/// Guesses, like listed names, are now dropped when they start or end inside one character.
#[test]
fn regression_guessed_person_inside_a_multi_word_ligature() {
    let text = "\u{FCFD}\u{FE78}ا\u{FDFA}";
    let mentions = embedded().extract(text).unwrap();
    check(text, &mentions);
    assert!(mentions.iter().all(|m| !m.text(text).contains('\u{FDFA}')), "{mentions:?}");
    // The same words written out give the guess its own span.
    let n = normalize(text, &NormalizeOptions::default()).unwrap();
    let written = n.text().to_string();
    let mentions = embedded().extract(&written).unwrap();
    check(&written, &mentions);
    let found: Vec<(&str, &str)> =
        mentions.iter().map(|m| (m.text(&written), m.entity.id())).collect();
    assert_eq!(found, [("شي اصلي الله", "guess:شي_اصلي_الله")]);
}

/// U+FFFF was the name trie's end marker (crawdad's; the relation triggers' trie still reserves
/// it): read after a name in a text, the walk reported the name again one character longer, and
/// the mention took the U+FFFF in (found by the extract fuzz target once it compared the walks
/// with the full scan). In a gazetteer name or a relation trigger it made the build fail with no
/// file or line; now the loaders say where.
#[test]
fn regression_u_ffff_after_a_name_and_inside_names() {
    let text = "زار مالي\u{FFFF} أمس، ثم زار\u{FFFF}مالي وباماكو\u{FFFF}";
    let mentions = embedded().extract(text).unwrap();
    check(text, &mentions);
    let spans: Vec<(&str, &str)> = mentions.iter().map(|m| (m.text(text), m.entity.id())).collect();
    assert_eq!(spans, [("مالي", "mali"), ("مالي", "mali"), ("باماكو", "bamako")]);
    let full = Extractor::builder().full_scan(true).build(Gazetteer::embedded().unwrap()).unwrap();
    assert_eq!(found(text, &full.extract(text).unwrap()), found(text, &mentions));

    let (line, message) = gazetteer_error("x\tGPE\tمالي\t\nmali\tGPE\tمالي\tما\u{FFFF}لي\n");
    assert_eq!(line, 3);
    assert!(message.contains("contains U+FFFF"), "{message}");
    let (line, message) = gazetteer_error("mali\tGPE\t\u{FFFF}مالي\t\n");
    assert_eq!(line, 2);
    assert!(message.contains("canonical name") && message.contains("U+FFFF"), "{message}");

    let rules = "type\ttriggers\thead\ttail\torder\tgap\tnegation\trole\tflags\tnote\n\
                 affiliated_with\tفرع|بايع\u{FFFF}\tORG\tORG\thead trigger tail\t1,1\t\t\t\tX\n";
    match alam::RuleSet::from_tsv("rules.tsv", rules).map(|_| ()).unwrap_err().kind() {
        ErrorKind::Rule { file, line, message } => {
            assert_eq!((file.as_str(), *line), ("rules.tsv", 2));
            assert!(message.contains("U+FFFF"), "{message}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

/// `Normalized::original_span` documents panics only for an empty or out-of-range span; a span
/// that ends inside the expansion of a presentation form (ﻻ folds to لا) must map to the whole
/// character.
#[test]
fn regression_original_span_inside_a_ligature() {
    let text = "\u{FEFB}";
    let n = normalize(text, &NormalizeOptions::default()).unwrap();
    assert_eq!(n.text(), "لا");
    let span = std::panic::catch_unwind(|| n.original_span(text, 0, "ل".len()));
    assert_eq!(span.ok(), Some((0, text.len())));
}

/// Feeds `records` copies of `line` to `alam tag -q` through stdin, reads `before_kill` bytes of
/// its stdout, stops reading for a moment (the pipe fills and the writer blocks mid-write),
/// kills it (SIGKILL), and returns everything stdout held.
fn killed_run_output(line: &str, records: usize, before_kill: usize, args: &[&str]) -> Vec<u8> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alam"))
        .args(["tag", "-q", "--threads", "1"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let line = line.to_string();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        for _ in 0..records {
            if stdin.write_all(line.as_bytes()).is_err() {
                break; // killed
            }
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut out = vec![0u8; before_kill];
    stdout.read_exact(&mut out).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    stdout.read_to_end(&mut out).unwrap();
    feeder.join().unwrap();
    out
}

/// Every complete line of a killed run's stdout is a whole JSON record; returns the bytes after
/// the last line end.
fn complete_lines_parse(out: &[u8]) -> &[u8] {
    let end = out.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    for line in out[..end].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let record: Value = serde_json::from_slice(line).expect("a complete line is JSON");
        assert!(record["entities"].is_array(), "{record}");
    }
    &out[end..]
}

#[test]
fn killed_run_complete_lines_are_whole_records() {
    // Kill at a moment that varies from run to run; whatever stdout held, every complete line
    // parses. (Whether a cut line can remain after the last one is the regression test below.)
    let line = serde_json::json!({"id": "x", "text": UNIT.repeat(2)}).to_string() + "\n";
    let moment = 1 + (std::process::id() as usize * 7919) % 200_000;
    let out = killed_run_output(&line, 200_000, moment, &[]);
    assert!(out.len() >= moment);
    let rest = complete_lines_parse(&out);
    eprintln!(
        "killed after {} bytes of stdout; {} bytes after the last line end",
        out.len(),
        rest.len()
    );
}

/// The issue requires that a run killed at any moment leaves stdout with only whole lines. The
/// output lines here are about 2 KB, under PIPE_BUF (4096), so writes of whole lines up to that
/// size appear whole or not at all. (Until b3e4863, `alam tag` wrote through a 64 KiB
/// `BufWriter` whose flushes blocked on the full pipe and were cut by the kill.)
#[test]
fn regression_killed_run_leaves_only_whole_lines_on_stdout() {
    let line = serde_json::json!({"id": "x", "text": UNIT.repeat(2)}).to_string() + "\n";
    for before_kill in [100_000, 200_000] {
        let out = killed_run_output(&line, 200_000, before_kill, &[]);
        let rest = complete_lines_parse(&out);
        assert!(
            rest.is_empty(),
            "killed after reading {before_kill} bytes: stdout ({} bytes) ends with a cut line of \
             {} bytes: {:?}...",
            out.len(),
            rest.len(),
            String::from_utf8_lossy(&rest[..rest.len().min(80)])
        );
    }
}

/// The same for `--format conll` (until ff433e7, `ConllSink` wrote through a 64 KiB `BufWriter`
/// and a killed CoNLL run to a pipe ended with a cut line).
#[test]
fn regression_killed_conll_run_leaves_only_whole_lines_on_stdout() {
    let line = serde_json::json!({"id": "x", "text": UNIT.repeat(2)}).to_string() + "\n";
    for before_kill in [100_000, 200_000] {
        let out = killed_run_output(&line, 200_000, before_kill, &["--format", "conll"]);
        let end = out.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for l in out[..end].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let l = std::str::from_utf8(l).expect("a complete line is UTF-8");
            assert_eq!(l.split('\t').count(), 4, "a complete CoNLL line has 4 columns: {l:?}");
        }
        let rest = &out[end..];
        assert!(
            rest.is_empty(),
            "killed after reading {before_kill} bytes: CoNLL stdout ({} bytes) ends with a cut \
             line of {} bytes: {:?}",
            out.len(),
            rest.len(),
            String::from_utf8_lossy(rest)
        );
    }
}

/// Seconds `extractor().extract(text)` takes: the best of `runs`.
fn best_time(text: &str, runs: usize) -> f64 {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            extractor().extract(text).unwrap();
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// A risky name with no context (no context word, no list neighbour of its type, its entity not
/// named before) is checked against every sure mention before it (`has_context` scans
/// `sure[..split]` for the same entity), so a long document of sure names and context-less risky
/// words (common words such as العين or كره are risky names) takes quadratic time. Four times the
/// text must take about four times as long, not sixteen.
#[test]
fn regression_risky_names_without_context_take_linear_time() {
    let unit = "باماكو غويتا. ";
    // Large enough that a run takes a tenth of a second, best of five: a busy machine's pauses
    // do not pass for quadratic time.
    let n = 20_000;
    let small = unit.repeat(n);
    let large = unit.repeat(4 * n);
    assert_eq!(extractor().extract(&large).unwrap().len(), 4 * n, "the bamako mentions only");
    let (t_small, t_large) = (best_time(&small, 5), best_time(&large, 5));
    eprintln!("{n} units: {t_small:.3} s, {} units: {t_large:.3} s", 4 * n);
    assert!(
        t_large < 8.0 * t_small.max(0.01),
        "4x the text took {:.1}x the time ({t_small:.3} s -> {t_large:.3} s): quadratic",
        t_large / t_small
    );
}

/// Pieces that make random bytes hit the matcher: names, clitics, marks, presentation forms,
/// bidi marks, quotes, and bytes that are not UTF-8.
const PIECES: [&str; 24] = [
    "باماكو",
    "موسكو",
    "الجزائر",
    "فاغنر",
    "مجموعة",
    "الفيلق الأفريقي",
    "غويتا",
    "أسيمي",
    "و",
    "ل",
    "ب",
    " ",
    "\n",
    "\u{064E}",
    "\u{0640}",
    "\u{200F}",
    "\u{2067}",
    "\u{FEFF}",
    "\u{FEFB}",
    "\u{FDFB}",
    "ﺑﺎﻣﺎﻛﻮ",
    "\"",
    "،",
    "\0",
];

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => (0..PIECES.len()).prop_map(|i| PIECES[i].as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 1..8),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn embedded() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(Gazetteer::embedded().unwrap()).unwrap())
}

proptest! {
    /// Arbitrary bytes, decoded lossily, through the whole extractor (the default gazetteer and
    /// the small one): no panic, valid offsets. `PROPTEST_CASES` raises the case count.
    #[test]
    fn arbitrary_bytes_through_the_whole_extractor(bytes in hostile_bytes()) {
        let text = String::from_utf8_lossy(&bytes);
        for e in [extractor(), embedded()] {
            let mentions = e.extract(&text).unwrap();
            check(&text, &mentions);
        }
    }
}

/// Many guessed person names in one long document (a dump concatenated into one record): each
/// full name adds a surname to look up later, so a lookup per surname per word would be
/// quadratic. Four times the text must take about four times as long.
#[test]
fn many_guessed_names_in_one_document_take_linear_time() {
    let letters: Vec<char> = "بتثجحخدذرزسشصضطظعغفقكلمنهوي".chars().collect();
    let text_of = |n: usize| {
        let mut text = String::new();
        for i in 0..n {
            let a = letters[i % letters.len()];
            let b = letters[(i / letters.len()) % letters.len()];
            let c = letters[(i / (letters.len() * letters.len())) % letters.len()];
            text.push_str(&format!("التقى جاك {a}{b}{c}وفيان بالوزير. وقال {a}{b}{c}وفيان إن. "));
        }
        text
    };
    let (small, large) = (text_of(5_000), text_of(20_000));
    let guessed =
        extractor().extract(&large).unwrap().iter().filter(|m| m.entity.is_guessed()).count();
    assert!(guessed >= 2 * 20_000 * 9 / 10, "{guessed} guessed mentions");
    let (t_small, t_large) = (best_time(&small, 5), best_time(&large, 5));
    eprintln!("5000 names: {t_small:.3} s, 20000 names: {t_large:.3} s");
    assert!(
        t_large < 8.0 * t_small.max(0.01),
        "4x the text took {:.1}x the time ({t_small:.3} s -> {t_large:.3} s): quadratic",
        t_large / t_small
    );
}
