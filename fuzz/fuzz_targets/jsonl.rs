//! The JSONL record reader and the batch pipeline on an arbitrary byte stream.
//!
//! The bytes go through `alam::batch::tag_inputs` as one `Input::reader`, with small batches
//! (3 records) and a small maximum record size (1024 bytes), so size limits, batching and
//! line ends are all exercised.
//!
//! Invariants: no panic and no I/O error; one output line per input line, counted the way the
//! reader counts (split on `\n`; a final line without `\n` counts); every output line is a JSON
//! object with either an `entities` array (and an `id`) or an `error` string at its line number;
//! documents + errors in the stats equal the lines; a tagged record's id is the line's (as
//! serde_json reads it) or its line number; its mentions have offsets on char boundaries of its
//! text, and their `text` is `text[start..end]`.
#![no_main]

use std::io::Cursor;

use alam::batch::{tag_inputs, Input, JsonlSink, TagOptions};
use alam_fuzz::embedded;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MAX_RECORD: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let mut options = TagOptions::default();
    options.batch_records = 3;
    options.batch_bytes = 1024;
    options.max_record_bytes = MAX_RECORD;
    let mut out = Vec::new();
    let inputs = vec![Input::reader("fuzz", Cursor::new(data.to_vec()))];
    // Two workers for one input in eight (several batches tagged at once, written back in
    // order); one otherwise, since threads per input slow the fuzzer down.
    let threads = if data.len() % 8 == 7 { 2 } else { 1 };
    let stats =
        tag_inputs(embedded(), inputs, &options, threads, &mut JsonlSink::new(&mut out), None)
            .expect("an in-memory stream never fails");

    let mut input_lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if input_lines.last().is_some_and(|l| l.is_empty()) {
        input_lines.pop(); // the empty piece after a final '\n', or of an empty input
    }
    assert!(out.is_empty() || out.ends_with(b"\n"), "output does not end with a line end");
    let out = std::str::from_utf8(&out).expect("output is UTF-8");
    let output_lines: Vec<&str> = out.lines().collect();
    assert_eq!(output_lines.len(), input_lines.len(), "one output line per input line");
    assert_eq!(stats.documents + stats.errors, input_lines.len() as u64);

    for (i, (line, input)) in output_lines.iter().zip(&input_lines).enumerate() {
        let value: Value = serde_json::from_str(line).expect("output line is JSON");
        let record = value.as_object().expect("output line is an object");
        if let Some(error) = record.get("error") {
            assert!(error.is_string(), "error is a string: {line}");
            assert_eq!(record.get("line").and_then(Value::as_u64), Some(i as u64 + 1), "{line}");
            assert_eq!(record.get("file").and_then(Value::as_str), Some("fuzz"));
            continue;
        }
        assert!(record.contains_key("id"), "a document has an id: {line}");
        let entities = record.get("entities").and_then(Value::as_array).expect("entities");
        // The input line parsed: find its text and check the offsets against it.
        let input = input.strip_suffix(b"\r").unwrap_or(input);
        // A BOM before the record is not part of the JSON (alam skips it too).
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        assert!(input.len() <= MAX_RECORD, "a record over the limit was tagged");
        let parsed: Value = serde_json::from_slice(input).expect("a tagged line is JSON");
        let text = parsed["text"].as_str().expect("a tagged line has a text");
        // The id read from the line (without serde for plain records) is serde's, or the line
        // number: the output starts with it as serde_json writes it. (Compared as written:
        // serde_json reads a float back from its shortest form up to one unit in the last place
        // off, without its `float_roundtrip` feature.)
        let id = parsed.get("id").cloned().unwrap_or(Value::from(i as u64 + 1));
        let head = format!("{{\"id\":{},\"entities\":", serde_json::to_string(&id).unwrap());
        assert!(line.starts_with(&head), "{line} does not start with {head}");
        let mut last_end = 0;
        for e in entities {
            let start = e["start"].as_u64().expect("start") as usize;
            let end = e["end"].as_u64().expect("end") as usize;
            assert!(
                last_end <= start && start < end && end <= text.len(),
                "offsets {start}..{end}"
            );
            assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
            assert_eq!(e["text"].as_str(), Some(&text[start..end]));
            assert_eq!(e["char_start"].as_u64(), Some(text[..start].chars().count() as u64));
            assert_eq!(e["char_end"].as_u64(), Some(text[..end].chars().count() as u64));
            last_end = end;
        }
    }
});
