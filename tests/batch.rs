//! Batch tagging: compressed inputs, directories, fields, formats that parse back, sharding,
//! atomic output, killed runs, and a property test that no record is lost or reordered.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use alam::batch::{tag_inputs, Input, JsonlSink, TagOptions};
use alam::{Extractor, Gazetteer};
use proptest::prelude::*;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alam-batch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn alam(args: &[&str], cwd: &Path) -> (i32, Vec<u8>, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_alam")).args(args).current_dir(cwd).output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// JSONL records: every non-empty paragraph of the seed articles.
fn seed_records() -> String {
    let mut out = String::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("seeds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (i, para) in std::fs::read_to_string(&path).unwrap().split('\n').enumerate() {
            if !para.trim().is_empty() {
                let record = serde_json::json!({"id": format!("{stem}_{i}"), "text": para});
                out.push_str(&record.to_string());
                out.push('\n');
            }
        }
    }
    out
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn gz_and_zst_inputs_equal_plain_input() {
    let dir = scratch("compressed");
    let records = seed_records();
    std::fs::write(dir.join("docs.jsonl"), &records).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(records.as_bytes()).unwrap();
    std::fs::write(dir.join("docs.jsonl.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.join("docs.jsonl.zst"), zstd::encode_all(records.as_bytes(), 3).unwrap())
        .unwrap();
    let seed = std::fs::read(root().join("seeds/000_f63bd2125ddc3fbc.txt")).unwrap();
    std::fs::write(dir.join("a.txt"), &seed).unwrap();
    std::fs::write(dir.join("b.txt.zst"), zstd::encode_all(&seed[..], 3).unwrap()).unwrap();

    let (code, plain, _) = alam(&["tag", "-q", "docs.jsonl"], &dir);
    assert_eq!(code, 0);
    assert!(lines(&plain).len() > 50);
    for compressed in ["docs.jsonl.gz", "docs.jsonl.zst"] {
        let (code, out, err) = alam(&["tag", "-q", compressed], &dir);
        assert_eq!(code, 0, "{compressed}: {err}");
        assert_eq!(out, plain, "{compressed} differs from the plain input");
    }
    let (_, a, _) = alam(&["tag", "-q", "a.txt"], &dir);
    let (_, b, _) = alam(&["tag", "-q", "b.txt.zst"], &dir);
    let (a, b) = (lines(&a), lines(&b));
    assert_eq!(a[0]["entities"], b[0]["entities"]);
    assert_eq!(b[0]["id"], "b", ".txt.zst ids drop both extensions");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn directories_are_searched_recursively_in_sorted_order() {
    let dir = scratch("dirs");
    std::fs::create_dir_all(dir.join("in/b")).unwrap();
    std::fs::write(dir.join("in/b/z.jsonl"), "{\"id\":\"z\",\"text\":\"موسكو\"}\n").unwrap();
    std::fs::write(dir.join("in/a.txt"), "باماكو").unwrap();
    std::fs::write(dir.join("in/readme.md"), "not an input").unwrap();
    let (code, out, err) = alam(&["tag", "in"], &dir);
    assert_eq!(code, 0, "{err}");
    let ids: Vec<Value> = lines(&out).iter().map(|l| l["id"].clone()).collect();
    assert_eq!(ids, [Value::from("a"), Value::from("z")]);
    assert!(err.contains("skipping 1 file"), "the skipped file is reported: {err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn text_and_id_fields_can_be_chosen() {
    let dir = scratch("fields");
    let input = "{\"doc\":\"d1\",\"body\":\"في باماكو\"}\n{\"body\":\"في موسكو\"}\n";
    std::fs::write(dir.join("in.jsonl"), input).unwrap();
    let (code, out, _) =
        alam(&["tag", "-q", "--text-field", "body", "--id-field", "doc", "in.jsonl"], &dir);
    assert_eq!(code, 0);
    let out = lines(&out);
    assert_eq!(out[0]["id"], "d1");
    assert_eq!(out[0]["entities"][0]["entity"], "bamako");
    assert_eq!(out[1]["id"], 2, "a record without the id field gets its line number");
    let (code, out, _) = alam(&["tag", "-q", "in.jsonl"], &dir);
    assert_eq!(code, 1, "the default text field is missing: error records");
    assert_eq!(lines(&out)[0]["error"], "missing \"text\" field");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn shards_together_equal_the_whole() {
    let dir = scratch("shards");
    std::fs::write(dir.join("docs.jsonl"), seed_records() + "broken\n").unwrap();
    let (_, whole, _) = alam(&["tag", "-q", "docs.jsonl"], &dir);
    let mut parts: Vec<String> = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let (code, out, _) = alam(&["tag", "-q", "--shard", &shard, "docs.jsonl"], &dir);
        assert!(code == 0 || code == 1);
        let text = String::from_utf8(out).unwrap();
        // Shard i holds exactly the records at positions i, i+3, ...
        let whole_lines: Vec<&str> = std::str::from_utf8(&whole).unwrap().lines().collect();
        let expected: Vec<&str> = whole_lines.iter().skip(i).step_by(3).copied().collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "shard {shard}");
        parts.extend(text.lines().map(String::from));
    }
    let mut whole: Vec<String> =
        std::str::from_utf8(&whole).unwrap().lines().map(String::from).collect();
    whole.sort();
    parts.sort();
    assert_eq!(parts, whole);
    for bad in ["3/3", "1/0", "x/2", "1"] {
        let (code, _, err) = alam(&["tag", "--shard", bad, "docs.jsonl"], &dir);
        assert_eq!(code, 2, "--shard {bad} must be refused: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Mentions of the JSONL output as (id, start, end, type, entity).
fn jsonl_mentions(out: &[u8]) -> Vec<(String, u64, u64, String, String)> {
    let mut all = Vec::new();
    for line in lines(out) {
        let id = line["id"].as_str().unwrap().to_string();
        for e in line["entities"].as_array().unwrap() {
            all.push((
                id.clone(),
                e["start"].as_u64().unwrap(),
                e["end"].as_u64().unwrap(),
                e["type"].as_str().unwrap().to_string(),
                e["entity"].as_str().unwrap().to_string(),
            ));
        }
    }
    all
}

#[test]
fn conll_parses_back_to_the_same_mentions() {
    let dir = scratch("conll");
    std::fs::write(dir.join("docs.jsonl"), seed_records()).unwrap();
    let (_, jsonl, _) = alam(&["tag", "-q", "docs.jsonl"], &dir);
    let expected: Vec<(String, u64, u64, String)> =
        jsonl_mentions(&jsonl).into_iter().map(|(id, s, e, t, _)| (id, s, e, t)).collect();
    let (code, conll, _) = alam(&["tag", "-q", "--format", "conll", "docs.jsonl"], &dir);
    assert_eq!(code, 0);
    let conll = String::from_utf8(conll).unwrap();
    let mut got: Vec<(String, u64, u64, String)> = Vec::new();
    let mut doc = String::new();
    let mut open: Option<(u64, u64, String)> = None;
    let mut docs = 0;
    let close = |open: &mut Option<(u64, u64, String)>, got: &mut Vec<_>, doc: &str| {
        if let Some((s, e, t)) = open.take() {
            got.push((doc.to_string(), s, e, t));
        }
    };
    for line in conll.lines() {
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "four columns: {line:?}");
        if cols[0] == "-DOCSTART-" {
            close(&mut open, &mut got, &doc);
            doc = cols[1].to_string();
            docs += 1;
            continue;
        }
        let (start, end): (u64, u64) = (cols[1].parse().unwrap(), cols[2].parse().unwrap());
        let tag = cols[3];
        if let Some(kind) = tag.strip_prefix("B-") {
            close(&mut open, &mut got, &doc);
            open = Some((start, end, kind.to_string()));
        } else if let Some(kind) = tag.strip_prefix("I-") {
            let o = open.as_mut().expect("I- follows B- or I-");
            assert_eq!(o.2, kind);
            o.1 = end;
        } else {
            assert_eq!(tag, "O");
            close(&mut open, &mut got, &doc);
        }
    }
    close(&mut open, &mut got, &doc);
    assert_eq!(docs, lines(&jsonl).len());
    assert_eq!(got, expected);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn brat_parses_back_to_the_same_mentions() {
    let dir = scratch("brat");
    let records = seed_records() + "{\"id\":\"split\",\"text\":\"في بوركينا\\nفاسو\"}\nbroken\n";
    std::fs::write(dir.join("docs.jsonl"), records).unwrap();
    let (_, jsonl, _) = alam(&["tag", "-q", "docs.jsonl"], &dir);
    let (code, _, err) = alam(&["tag", "--format", "brat", "--output", "out", "docs.jsonl"], &dir);
    assert_eq!(code, 1, "one broken record");
    assert!(err.contains("docs.jsonl:") && err.contains("invalid JSON"), "{err}");
    let (code, _, err) = alam(&["tag", "--format", "brat", "docs.jsonl"], &dir);
    assert_eq!(code, 2, "brat needs --output: {err}");
    for line in lines(&jsonl) {
        let Some(id) = line["id"].as_str() else { continue };
        let text = std::fs::read_to_string(dir.join(format!("out/{id}.txt"))).unwrap();
        let ann = std::fs::read_to_string(dir.join(format!("out/{id}.ann"))).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let mut got = Vec::new();
        let mut ids = BTreeMap::new();
        for l in ann.lines() {
            let cols: Vec<&str> = l.split('\t').collect();
            if l.starts_with('T') {
                let (kind, spans) = cols[1].split_once(' ').unwrap();
                let spans: Vec<(usize, usize)> = spans
                    .split(';')
                    .map(|s| {
                        let (a, b) = s.split_once(' ').unwrap();
                        (a.parse().unwrap(), b.parse().unwrap())
                    })
                    .collect();
                let shown: Vec<String> =
                    spans.iter().map(|&(a, b)| chars[a..b].iter().collect()).collect();
                assert_eq!(shown.join(" "), cols[2], "brat text field");
                got.push((spans[0].0, spans.last().unwrap().1, kind.to_string()));
            } else if l.starts_with('#') && cols[1].starts_with("AnnotatorNotes T") {
                ids.insert(
                    cols[1].trim_start_matches("AnnotatorNotes ").to_string(),
                    cols[2].to_string(),
                );
            }
        }
        let expected: Vec<(usize, usize, String)> = line["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["char_start"].as_u64().unwrap() as usize,
                    e["char_end"].as_u64().unwrap() as usize,
                    e["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(got, expected, "document {id}");
        assert_eq!(ids.len(), expected.len());
    }
    let split = std::fs::read_to_string(dir.join("out/split.ann")).unwrap();
    assert!(split.contains("GPE 3 10;11 15\tبوركينا فاسو"), "{split}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn output_file_is_written_atomically() {
    let dir = scratch("atomic");
    let out = dir.join("out.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_alam"))
        .args(["tag", "-q", "--output", out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..3000 {
        writeln!(stdin, "{{\"id\":{i},\"text\":\"وصل الوفد إلى باماكو\"}}").unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!out.exists(), "the output must not appear before the run ends");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "a killed run leaves no file at the output path");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".alam-partial-"),
            "only a hidden partial file may remain: {name}"
        );
    }

    // A run that ends renames the complete output into place.
    std::fs::write(dir.join("in.jsonl"), seed_records()).unwrap();
    let (code, stdout, _) = alam(&["tag", "-q", "--output", "done.jsonl", "in.jsonl"], &dir);
    assert_eq!(code, 0);
    assert!(stdout.is_empty());
    let (_, direct, _) = alam(&["tag", "-q", "in.jsonl"], &dir);
    assert_eq!(std::fs::read(dir.join("done.jsonl")).unwrap(), direct);

    // Over an existing output (swapped into place on Linux, renamed elsewhere), the new output
    // replaces the old one and nothing else is left beside it.
    std::fs::write(dir.join("one.jsonl"), "{\"id\":\"x\",\"text\":\"زار باماكو\"}\n").unwrap();
    let (code, _, _) = alam(&["tag", "-q", "--output", "done.jsonl", "one.jsonl"], &dir);
    assert_eq!(code, 0);
    let (_, one, _) = alam(&["tag", "-q", "one.jsonl"], &dir);
    assert_eq!(std::fs::read(dir.join("done.jsonl")).unwrap(), one);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with(".alam-partial-"))
        .collect();
    names.sort();
    assert_eq!(names, ["done.jsonl", "in.jsonl", "one.jsonl"]);
    let partial = std::fs::read_dir(&dir).unwrap().count() - names.len();
    assert_eq!(partial, 1, "only the killed run's partial file is left");
    // A symlink to the output: the file it points to is replaced, the link stays.
    std::os::unix::fs::symlink("done.jsonl", dir.join("link.jsonl")).unwrap();
    let (code, _, _) = alam(&["tag", "-q", "--output", "link.jsonl", "in.jsonl"], &dir);
    assert_eq!(code, 0);
    assert!(std::fs::symlink_metadata(dir.join("link.jsonl")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(dir.join("done.jsonl")).unwrap(), direct);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn output_to_a_pipe_or_device_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("fifo");
    std::fs::write(dir.join("in.jsonl"), seed_records()).unwrap();
    let (_, direct, _) = alam(&["tag", "-q", "in.jsonl"], &dir);

    // A FIFO: renaming a temporary file over it would replace the pipe and its reader would
    // never see a byte.
    let fifo = dir.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let (code, stdout, err) = alam(&["tag", "-q", "-o", "pipe", "in.jsonl"], &dir);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty());
    // Checked first: had the pipe been replaced, its reader would wait forever to open it.
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert_eq!(reader.join().unwrap(), direct, "the reader of the pipe gets the whole output");

    // /dev/null: the classic way to time a run without keeping its output.
    let null = Path::new("/dev/null");
    if std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device()) {
        let (code, _, err) = alam(&["tag", "-q", "-o", "/dev/null", "in.jsonl"], &dir);
        assert_eq!(code, 0, "{err}");
        let meta = std::fs::symlink_metadata(null).unwrap();
        assert!(meta.file_type().is_char_device(), "/dev/null must stay a device");
    }

    // A symlink to a file: the file it points to gets the output, the link stays a link.
    std::fs::write(dir.join("target.jsonl"), "old").unwrap();
    std::os::unix::fs::symlink("target.jsonl", dir.join("link.jsonl")).unwrap();
    let (code, _, err) = alam(&["tag", "-q", "-o", "link.jsonl", "in.jsonl"], &dir);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(dir.join("link.jsonl")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(dir.join("target.jsonl")).unwrap(), direct);

    // A directory is refused before any work, naming the path.
    let (code, _, err) = alam(&["tag", "-q", "-o", ".", "in.jsonl"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(".: is a directory"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn stats_file_and_summary() {
    let dir = scratch("stats");
    std::fs::write(dir.join("in.jsonl"), "{\"id\":1,\"text\":\"باماكو وموسكو\"}\n{\n").unwrap();
    let (code, _, err) = alam(&["tag", "--stats", "s.json", "in.jsonl"], &dir);
    assert_eq!(code, 1);
    assert!(err.contains("1 documents, 1 errors, 2 mentions (GPE 2)"), "{err}");
    let stats: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("s.json")).unwrap()).unwrap();
    assert_eq!(stats["documents"], 1);
    assert_eq!(stats["errors"], 1);
    assert_eq!(stats["mentions"]["GPE"], 2);
    let (_, _, quiet) = alam(&["tag", "-q", "in.jsonl"], &dir);
    assert!(quiet.is_empty(), "--quiet silences stderr: {quiet}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unreadable_input_is_status_2() {
    let dir = scratch("unreadable");
    std::fs::write(dir.join("bad.jsonl.gz"), b"this is not gzip").unwrap();
    let (code, _, err) = alam(&["tag", "bad.jsonl.gz"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.jsonl.gz"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn extractor() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(Gazetteer::embedded().unwrap()).unwrap())
}

/// A record line: good, or broken in one of several ways.
fn record_line() -> impl Strategy<Value = (bool, Vec<u8>)> {
    let texts =
        vec!["وصل الوفد إلى باماكو", "قال لافروف للجزائر", "فاغنر وفيلق أفريقيا", "لا شيء هنا", ""];
    prop_oneof![
        4 => (prop::sample::select(texts), 0u32..1000).prop_map(|(t, id)| {
            (true, serde_json::json!({"id": id, "text": t}).to_string().into_bytes())
        }),
        1 => Just((false, b"{\"id\": 1, \"text\": ".to_vec())),
        1 => Just((false, b"".to_vec())),
        1 => Just((false, b"{\"id\": 2}".to_vec())),
        1 => Just((false, vec![b'{', 0xff, 0xfe, b'}'])),
        1 => Just((false, b"[1, 2]".to_vec())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_record_is_lost_or_reordered(records in prop::collection::vec(record_line(), 0..60), threads in 1usize..4) {
        let mut input = Vec::new();
        for (_, line) in &records {
            input.extend_from_slice(line);
            input.push(b'\n');
        }
        let mut options = TagOptions::default();
        options.batch_records = 7; // many small batches
        let mut out = Vec::new();
        let stats = tag_inputs(
            extractor(),
            vec![Input::reader("mem", Cursor::new(input))],
            &options,
            threads,
            &mut JsonlSink::new(&mut out),
            None,
        ).unwrap();
        let out: Vec<Value> = std::str::from_utf8(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(out.len(), records.len());
        let good = records.iter().filter(|r| r.0).count() as u64;
        prop_assert_eq!(stats.documents, good);
        prop_assert_eq!(stats.errors, records.len() as u64 - good);
        for (i, ((ok, line), got)) in records.iter().zip(&out).enumerate() {
            if *ok {
                let record: Value = serde_json::from_slice(line).unwrap();
                let text = record["text"].as_str().unwrap();
                let alone: Vec<Value> = extractor().extract(text).unwrap().iter()
                    .map(|m| serde_json::to_value(m.to_record(text)).unwrap()).collect();
                prop_assert_eq!(&got["id"], &record["id"]);
                // The batch path adds each mention's sentence index; the rest is the same.
                let mut entities = got["entities"].as_array().unwrap().clone();
                for e in &mut entities {
                    prop_assert!(e.as_object_mut().unwrap().remove("sentence").is_some());
                }
                prop_assert_eq!(&entities, &alone);
            } else {
                prop_assert_eq!(got["line"].as_u64(), Some(i as u64 + 1));
                prop_assert!(got["error"].is_string());
            }
        }
    }
}

#[test]
fn records_over_the_size_limit_become_error_records() {
    let dir = scratch("limit");
    let big = "ب".repeat(5000);
    let input = format!(
        "{{\"id\":1,\"text\":\"باماكو\"}}\n{{\"id\":2,\"text\":\"{big}\"}}\n{{\"id\":3,\"text\":\"موسكو\"}}\n"
    );
    std::fs::write(dir.join("in.jsonl"), input).unwrap();
    std::fs::write(dir.join("big.txt"), &big).unwrap();
    let (code, out, _) =
        alam(&["tag", "-q", "--max-record-size", "4K", "in.jsonl", "big.txt"], &dir);
    assert_eq!(code, 1);
    let out = lines(&out);
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["entities"][0]["entity"], "bamako");
    assert_eq!(out[1]["line"], 2);
    assert!(out[1]["error"].as_str().unwrap().contains("larger than the maximum of 4096 bytes"));
    assert_eq!(out[2]["entities"][0]["entity"], "moscow", "the record after a giant line is read");
    assert_eq!(out[3]["id"], "big");
    assert!(out[3]["error"].as_str().unwrap().contains("10000 bytes"));
    for bad in ["0", "12Q", "x"] {
        let (code, _, _) = alam(&["tag", "--max-record-size", bad, "in.jsonl"], &dir);
        assert_eq!(code, 2, "--max-record-size {bad}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn relations_are_written_and_the_graph_is_built() {
    let dir = scratch("relations");
    let seed = root().join("seeds/000_f63bd2125ddc3fbc.txt");
    let (code, out, err) = alam(&["tag", "-q", seed.to_str().unwrap()], &dir);
    assert_eq!(code, 0, "{err}");
    let record = &lines(&out)[0];
    let entities = record["entities"].as_array().unwrap();
    let relations = record["relations"].as_array().expect("a relations field");
    assert!(!relations.is_empty());
    for r in relations {
        let (h, t) = (r["head"].as_u64().unwrap() as usize, r["tail"].as_u64().unwrap() as usize);
        assert!(h < entities.len() && t < entities.len(), "{r}");
        assert_eq!(entities[h]["sentence"], entities[t]["sentence"], "same sentence: {r}");
        assert!(r["type"].is_string());
    }
    assert!(
        relations.iter().any(|r| r["type"] == "affiliated_with"
            && entities[r["head"].as_u64().unwrap() as usize]["entity"] == "jnim"),
        "JNIM is linked to al-Qaeda in the first sentence"
    );
    let (_, plain, _) = alam(&["tag", "-q", "--no-relations", seed.to_str().unwrap()], &dir);
    assert!(lines(&plain)[0].get("relations").is_none());

    // brat carries them as relation lines.
    let (code, _, _) =
        alam(&["tag", "-q", "--format", "brat", "-o", "brat", seed.to_str().unwrap()], &dir);
    assert_eq!(code, 0);
    let ann = std::fs::read_to_string(dir.join("brat/000_f63bd2125ddc3fbc.ann")).unwrap();
    assert!(
        ann.lines().any(|l| l.starts_with('R') && l.contains("Arg1:T") && l.contains("Arg2:T")),
        "{ann}"
    );

    // The corpus graph from the JSONL output.
    std::fs::write(dir.join("tagged.jsonl"), &out).unwrap();
    let (code, _, err) = alam(&["graph", "-o", "graph", "tagged.jsonl"], &dir);
    assert_eq!(code, 0, "{err}");
    let nodes = std::fs::read_to_string(dir.join("graph/nodes.csv")).unwrap();
    let edges = std::fs::read_to_string(dir.join("graph/edges.csv")).unwrap();
    assert!(nodes.starts_with("Id,Label,"));
    assert!(nodes.lines().any(|l| l.starts_with("bamako,")));
    assert!(edges.starts_with("Source,Target,Type,"));
    assert!(edges.lines().any(|l| l.starts_with("jnim,") && l.contains("affiliated_with")));
    let graph: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("graph/graph.json")).unwrap())
            .unwrap();
    assert!(graph.is_object());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Batches finish out of order when one record is far longer than the next ones (each record
/// its own batch, several tagged at once): the output still comes in input order, every record
/// once.
#[test]
fn long_and_short_records_come_out_in_input_order() {
    let long = "وصل الوفد إلى باماكو ثم غادر إلى موسكو. ".repeat(4000);
    let mut input = String::new();
    for i in 0..24 {
        let text = if i % 8 == 0 { long.as_str() } else { "قال لافروف للجزائر" };
        input.push_str(&serde_json::json!({"id": i, "text": text}).to_string());
        input.push('\n');
    }
    let tag = |threads: usize| {
        let mut options = TagOptions::default();
        options.batch_records = 1;
        let mut out = Vec::new();
        tag_inputs(
            extractor(),
            vec![Input::reader("mem", Cursor::new(input.clone().into_bytes()))],
            &options,
            threads,
            &mut JsonlSink::new(&mut out),
            None,
        )
        .unwrap();
        out
    };
    let one = tag(1);
    let ids: Vec<u64> = std::str::from_utf8(&one)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (0..24).collect::<Vec<u64>>());
    for threads in [2, 3] {
        assert!(tag(threads) == one, "{threads} threads");
    }
}

/// `n` JSONL records naming Bamako, with ids 0 to n - 1.
fn bamako_records(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{{\"id\":{i},\"text\":\"وصل الوفد إلى باماكو\"}}\n"))
        .collect::<String>()
        .into_bytes()
}

/// A sink that answers each record it is given with `on_write` (and writes nothing).
struct OnWrite<F>(F);

impl<F: FnMut() -> std::io::Result<()> + Send> alam::batch::Sink for OnWrite<F> {
    fn write(&mut self, _: &alam::batch::Output) -> std::io::Result<()> {
        (self.0)()
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tags one JSONL reader, named `mem`, in batches of `batch_records` on `threads` workers.
fn tag_reader(
    reader: impl std::io::Read + Send + 'static,
    batch_records: usize,
    threads: usize,
    sink: &mut dyn alam::batch::Sink,
) -> alam::Result<alam::batch::Stats> {
    let mut options = TagOptions::default();
    options.batch_records = batch_records;
    tag_inputs(extractor(), vec![Input::reader("mem", reader)], &options, threads, sink, None)
}

/// An input that fails after some lines: the lines read before the failure are tagged and
/// written, in order, and the run ends with the read error, naming the input and the line,
/// with any number of threads.
#[test]
fn a_read_error_ends_the_run_after_the_lines_before_it() {
    struct Broken(Cursor<Vec<u8>>);
    impl std::io::Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1000);
            match self.0.read(&mut buf[..n])? {
                0 => Err(std::io::Error::other("device gone")),
                n => Ok(n),
            }
        }
    }
    for threads in [1, 2, 4] {
        let mut out = Vec::new();
        let input = Broken(Cursor::new(bamako_records(200)));
        let result = tag_reader(input, 7, threads, &mut JsonlSink::new(&mut out));
        let err = result.expect_err("the read error");
        let message = err.to_string();
        assert!(message.contains("mem") && message.contains("device gone"), "{message}");
        assert!(message.contains("after line 200"), "{message}");
        let ids: Vec<u64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, (0..200).collect::<Vec<u64>>(), "{threads} threads");
    }
}

/// A sink that panics (a library user's bug) ends the run with an error, with any number of
/// threads: no worker is left waiting for a batch that will never be written.
#[test]
fn a_panicking_sink_ends_the_run_with_an_error() {
    for threads in [1, 2, 4] {
        let mut written = 0;
        let mut panicking = OnWrite(|| {
            written += 1;
            assert!(written < 10, "the sink gives up");
            Ok(())
        });
        let result = tag_reader(Cursor::new(bamako_records(300)), 3, threads, &mut panicking);
        let err = result.expect_err("an error, not a hang or a panic");
        assert!(err.to_string().contains("panicked"), "{threads} threads: {err}");
    }
}

/// A sink that fails after a few records stops the run with its error, with any number of
/// threads (no worker or reader left waiting).
#[test]
fn a_failing_sink_stops_the_run() {
    for threads in [1, 2, 4] {
        let mut left = 10;
        let mut failing = OnWrite(|| {
            if left == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            left -= 1;
            Ok(())
        });
        let result = tag_reader(Cursor::new(bamako_records(500)), 3, threads, &mut failing);
        let err = result.expect_err("the sink's error");
        assert!(err.to_string().contains("disk full"), "{threads} threads: {err}");
    }
}
