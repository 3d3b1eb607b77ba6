//! Runs the real `alam` binary: input formats and order, error records and exit statuses,
//! custom gazetteers, the `gazetteer` and `eval` subcommands, closed pipes and thread counts.
//!
//! Every test works in the repository root (paths such as `seeds/…` are relative to it) and
//! writes its own files under a fresh directory in the system temp dir, removed when it ends.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const HEADER: &str = "id\ttype\tname_ar\tname_en\taliases\tqid\tflags\tparent\n";

/// The repository root: the binary runs there so that `seeds/…` and `gazetteers/…` resolve.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `alam args…`, with its start-up cache in the build's temp dir rather than the user's.
fn alam_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alam"));
    cmd.args(args).current_dir(root());
    cmd.env("ALAM_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("alam-cache"));
    cmd
}

/// Runs `alam args…`, feeding `stdin` (from a separate thread, so a large input cannot deadlock
/// against a full stdout pipe), and returns (exit status, stdout, stderr).
fn run(args: &[&str], stdin: Option<&[u8]>) -> (i32, Vec<u8>, String) {
    run_with_env(args, stdin, &[])
}

/// [`run`] with the environment variables `env` set for alam.
fn run_with_env(
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> (i32, Vec<u8>, String) {
    let mut child = alam_command(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the alam binary");
    let writer = stdin.map(|bytes| {
        let bytes = bytes.to_vec();
        let mut pipe = child.stdin.take().expect("stdin is piped");
        std::thread::spawn(move || {
            // The child may exit without reading everything (a usage error): ignore EPIPE.
            let _ = pipe.write_all(&bytes);
        })
    });
    let output = child.wait_with_output().expect("cannot wait for alam");
    if let Some(writer) = writer {
        writer.join().expect("the stdin writer panicked");
    }
    let code =
        output.status.code().unwrap_or_else(|| panic!("alam {args:?} was killed by a signal"));
    (code, output.stdout, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A directory of its own under the system temp dir, removed on drop (also when a test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("alam-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cannot create the temp dir");
        TempDir(dir)
    }

    /// Writes `name` in the directory and returns its path as a string.
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("cannot write a temp file");
        path.to_str().expect("temp path is UTF-8").to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("alam printed invalid UTF-8")
}

/// Parses JSONL output: one JSON value per line; panics on anything else.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    utf8(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The entity ids of an output record, in order.
fn entity_ids(record: &Value) -> Vec<&str> {
    record["entities"]
        .as_array()
        .unwrap_or_else(|| panic!("no entities array in {record}"))
        .iter()
        .map(|e| e["entity"].as_str().expect("entity is a string"))
        .collect()
}

/// The seed articles, sorted: (id, path relative to the root).
fn seed_files() -> Vec<(String, String)> {
    let mut seeds: Vec<(String, String)> = std::fs::read_dir(root().join("seeds"))
        .expect("seeds/ is readable")
        .map(|e| e.expect("seeds/ entry").file_name().into_string().expect("UTF-8 file name"))
        .filter_map(|name| {
            let id = name.strip_suffix(".txt")?.to_string();
            Some((id, format!("seeds/{name}")))
        })
        .collect();
    seeds.sort();
    assert_eq!(seeds.len(), 5, "expected the five seed articles");
    seeds
}

/// The non-empty lines (paragraphs) of the seed articles, in file order.
fn seed_paragraphs() -> Vec<String> {
    let mut out = Vec::new();
    for (_, path) in seed_files() {
        let text = std::fs::read_to_string(root().join(path)).expect("seed is UTF-8");
        out.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
    }
    out
}

/// The seed sentences (paragraphs split after `.`), at least 20 bytes long.
fn seed_sentences() -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in seed_paragraphs() {
        for sentence in paragraph.split_inclusive('.') {
            let sentence = sentence.trim();
            if sentence.len() >= 20 {
                out.push(sentence.to_string());
            }
        }
    }
    out
}

/// `n` JSONL records {"id": i, "text": …} cycling through `texts`.
fn jsonl_records(texts: &[String], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let record = json!({"id": format!("r{i}"), "text": texts[i % texts.len()]});
        out.extend_from_slice(record.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[test]
fn tag_txt_file_offsets_and_fields() {
    let path = "seeds/000_f63bd2125ddc3fbc.txt";
    let content = std::fs::read_to_string(root().join(path)).unwrap();
    let chars: Vec<char> = content.chars().collect();
    let (code, stdout, stderr) = run(&["tag", path], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let records = json_lines(&stdout);
    assert_eq!(records.len(), 1, "one line per .txt file");
    let record = &records[0];
    assert_eq!(record["id"], "000_f63bd2125ddc3fbc");
    let entities = record["entities"].as_array().expect("entities is an array");
    assert!(!entities.is_empty(), "no entities found in {path}");

    let fields = [
        "start",
        "end",
        "char_start",
        "char_end",
        "text",
        "type",
        "entity",
        "name",
        "name_en",
        "qid",
        "parent",
        "clitic",
        "alias",
        "alternatives",
    ];
    let kinds = ["PER", "ORG", "GPE", "LOC", "NORP", "PRODUCT", "EVENT"];
    let mut previous_end = 0;
    for e in entities {
        for field in fields {
            assert!(e.get(field).is_some(), "field {field:?} missing in {e}");
        }
        let offset = |f: &str| e[f].as_u64().unwrap_or_else(|| panic!("{f} is not a number: {e}"));
        let (start, end) = (offset("start") as usize, offset("end") as usize);
        let (cs, ce) = (offset("char_start") as usize, offset("char_end") as usize);
        let text = e["text"].as_str().expect("text is a string");
        assert!(start < end && end <= content.len(), "bad byte span in {e}");
        assert!(content.is_char_boundary(start) && content.is_char_boundary(end), "{e}");
        assert_eq!(&content[start..end], text, "byte offsets of {e}");
        assert!(cs < ce && ce <= chars.len(), "bad char span in {e}");
        assert_eq!(chars[cs..ce].iter().collect::<String>(), text, "char offsets of {e}");
        assert_eq!(content[..start].chars().count(), cs, "char_start of {e}");
        assert!(start >= previous_end, "mentions overlap or are unsorted at {e}");
        previous_end = end;
        assert!(kinds.contains(&e["type"].as_str().unwrap_or("")), "bad type in {e}");
        for f in ["entity", "name", "clitic", "alias"] {
            assert!(e[f].is_string(), "{f} is not a string in {e}");
        }
        assert!(e["alternatives"].is_array(), "alternatives is not an array in {e}");
    }
    // The first mention of the article, checked against seeds/gold.
    assert_eq!(entities[0]["text"], "نصرة الإسلام والمسلمين");
    assert_eq!(entities[0]["entity"], "jnim");
    assert_eq!(entities[0]["char_start"], 35);
    assert_eq!(entities[0]["char_end"], 57);
}

#[test]
fn tag_several_txt_files_keeps_input_order() {
    let seeds = seed_files();
    // Deliberately not sorted: output follows the command line, not the file names.
    let order = [3, 0, 4, 1, 2];
    let args: Vec<&str> =
        std::iter::once("tag").chain(order.iter().map(|&i| seeds[i].1.as_str())).collect();
    let (code, stdout, stderr) = run(&args, None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let records = json_lines(&stdout);
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().expect("string id")).collect();
    let expected: Vec<&str> = order.iter().map(|&i| seeds[i].0.as_str()).collect();
    assert_eq!(ids, expected);
    for r in &records {
        assert!(!entity_ids(r).is_empty(), "no entities in {}", r["id"]);
    }
}

#[test]
fn tag_jsonl_error_records_keep_their_place() {
    let dir = TempDir::new("tag_jsonl_errors");
    let good_first = r#"{"id":"first","text":"وصلت قوات فاجنر إلى باماكو"}"#;
    let no_id = r#"{"text":"وقال مسؤول في موسكو إن الاتفاق قائم"}"#;
    let good_last = r#"{"id":"last","text":"ثم عاد الوفد إلى الجزائر"}"#;
    let mut input = Vec::new();
    for line in [good_first, no_id, r#"{"id":"broken","text":"#, "", r#"{"id":"no-text"}"#] {
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    input.extend_from_slice(b"{\"id\":\"bad-utf8\",\"text\":\"\xff\xfe\xd8\"}\n");
    input.extend_from_slice(good_last.as_bytes());
    input.push(b'\n');
    let path = dir.write("mixed.jsonl", &input);

    let (code, stdout, stderr) = run(&["tag", &path], None);
    assert_eq!(code, 1, "some records are errors; stderr: {stderr}");
    let records = json_lines(&stdout);
    assert_eq!(records.len(), 7, "one output line per input line:\n{}", utf8(&stdout));

    assert_eq!(records[0]["id"], "first");
    assert_eq!(entity_ids(&records[0]), ["wagner_group", "bamako"]);
    assert_eq!(records[1]["id"], 2, "a record without id gets its line number");
    assert_eq!(entity_ids(&records[1]), ["moscow"]);
    assert_eq!(records[6]["id"], "last");
    assert_eq!(entity_ids(&records[6]), ["algeria"]);
    for good in [0, 1, 6] {
        assert!(records[good].get("error").is_none(), "{}", records[good]);
    }

    for (index, line) in [(2, 3), (3, 4), (4, 5), (5, 6)] {
        let r = &records[index];
        assert_eq!(r["line"], line, "error record {r} should name line {line}");
        let error = r["error"].as_str().unwrap_or_else(|| panic!("no error string in {r}"));
        assert!(!error.is_empty(), "{r}");
        assert!(r.get("entities").is_none(), "an error record has no entities: {r}");
        let file = r["file"].as_str().unwrap_or_else(|| panic!("no file in {r}"));
        assert!(file.ends_with("mixed.jsonl"), "{r}");
    }
    assert!(records[2]["error"].as_str().unwrap().contains("JSON"), "{}", records[2]);
    assert!(records[3]["error"].as_str().unwrap().contains("empty"), "{}", records[3]);
    assert_eq!(records[4]["id"], "no-text", "the id of a record without text is kept");
    assert!(records[4]["error"].as_str().unwrap().contains("text"), "{}", records[4]);
    assert!(records[5]["error"].as_str().unwrap().contains("UTF-8"), "{}", records[5]);
    assert!(!stderr.is_empty(), "the error count is reported on stderr");

    // The good records alone: exit status 0, same output for them.
    let good = format!("{good_first}\n{no_id}\n{good_last}\n");
    let path = dir.write("good.jsonl", good);
    let (code, stdout, stderr) = run(&["tag", &path], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let records = json_lines(&stdout);
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["id"], "first");
    assert_eq!(records[1]["id"], 2);
    assert_eq!(records[2]["id"], "last");
    assert_eq!(entity_ids(&records[2]), ["algeria"]);
}

#[test]
fn tag_reads_stdin_without_path_and_with_dash() {
    let dir = TempDir::new("tag_stdin");
    let input = jsonl_records(&seed_sentences()[..40], 40);
    let (code, implicit, stderr) = run(&["tag"], Some(&input));
    assert_eq!(code, 0, "stderr: {stderr}");
    let (code, dash, stderr) = run(&["tag", "-"], Some(&input));
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(utf8(&implicit), utf8(&dash));
    let records = json_lines(&implicit);
    assert_eq!(records.len(), 40);
    assert!(records.iter().any(|r| !entity_ids(r).is_empty()), "no entities at all");
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["id"], format!("r{i}"));
    }
    // And the same bytes as the same records read from a file.
    let path = dir.write("same.jsonl", &input);
    let (code, from_file, stderr) = run(&["tag", &path], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(utf8(&from_file), utf8(&implicit));
}

#[test]
fn tag_with_only_a_custom_gazetteer() {
    let dir = TempDir::new("tag_custom_gazetteer");
    let gazetteer =
        dir.write("custom.tsv", format!("{HEADER}zorg_corp\tORG\tزورغ\tZorg\tزورج\t\t\t\n"));
    let text =
        dir.write("doc.txt", "قال زورغ في موسكو إن قوات فاغنر غادرت باماكو، وأكدت زورج ذلك.");

    let (code, stdout, stderr) =
        run(&["tag", "--no-default-gazetteer", "--gazetteer", &gazetteer, &text], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let records = json_lines(&stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], "doc");
    assert_eq!(entity_ids(&records[0]), ["zorg_corp", "zorg_corp"]);
    let texts: Vec<&Value> =
        records[0]["entities"].as_array().unwrap().iter().map(|e| &e["text"]).collect();
    assert_eq!(texts, ["زورغ", "زورج"]);

    // With the default gazetteer too, the default names come back.
    let (code, stdout, stderr) = run(&["tag", "--gazetteer", &gazetteer, &text], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let records = json_lines(&stdout);
    assert_eq!(
        entity_ids(&records[0]),
        ["zorg_corp", "moscow", "wagner_group", "bamako", "zorg_corp"]
    );
}

#[test]
fn tag_without_any_gazetteer_is_a_usage_error() {
    let (code, stdout, stderr) =
        run(&["tag", "--no-default-gazetteer"], Some(b"{\"text\":\"x\"}\n"));
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{}", utf8(&stdout));
    assert!(stderr.contains("--no-default-gazetteer"), "stderr: {stderr}");
}

#[test]
fn tag_with_a_malformed_gazetteer_names_file_and_line() {
    let dir = TempDir::new("tag_bad_gazetteer");
    let bad = dir.write(
        "bad.tsv",
        format!("{HEADER}zorg_corp\tORG\tزورغ\t\t\t\t\t\nthing\tXYZ\tشيء\t\t\t\t\t\n"),
    );
    let (code, stdout, stderr) = run(&["tag", "--gazetteer", &bad], Some(b"{\"text\":\"x\"}\n"));
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stdout.is_empty(), "{}", utf8(&stdout));
    assert!(stderr.contains("bad.tsv:3:"), "stderr should name bad.tsv:3: {stderr}");
    assert!(stderr.contains("XYZ"), "stderr should say what is wrong: {stderr}");
}

#[test]
fn tag_rejects_unsupported_and_missing_inputs() {
    let dir = TempDir::new("tag_bad_inputs");
    let csv = dir.write("table.csv", "id,text\n1,موسكو\n");
    let (code, stdout, stderr) = run(&["tag", &csv], None);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("table.csv"), "stderr: {stderr}");

    let missing = dir.0.join("missing.txt");
    let missing = missing.to_str().unwrap();
    let (code, stdout, stderr) = run(&["tag", "seeds/000_f63bd2125ddc3fbc.txt", missing], None);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stdout.is_empty(), "inputs are checked before any output");
    assert!(stderr.contains("missing.txt"), "stderr: {stderr}");

    let (code, _, stderr) = run(&["tag", "--threads", "0"], Some(b""));
    assert_eq!(code, 2, "stderr: {stderr}");
}

#[test]
fn gazetteer_names_lists_sorted_unique_forms() {
    let (code, stdout, stderr) = run(&["gazetteer", "names"], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let names: Vec<&str> = utf8(&stdout).lines().collect();
    for form in ["فاغنر", "فاجنر", "مجموعة فاغنر", "إفريقيا كوربس", "الفيلق الأفريقي", "الجزائر"]
    {
        assert!(names.contains(&form), "{form} missing from gazetteer names");
    }
    let unique: HashSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicate lines in gazetteer names");
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "gazetteer names is not sorted");
    assert!(names.iter().all(|n| !n.is_empty() && !n.contains('\t')));

    // Folded forms: hamza on yeh folds to yeh, and ال-names get their لل form (ل + الجزائر).
    let (code, stdout, stderr) = run(&["gazetteer", "names", "--normalized"], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let folded: Vec<&str> = utf8(&stdout).lines().collect();
    assert!(folded.contains(&"الجزاير"), "folded الجزائر missing");
    assert!(folded.contains(&"لجزاير"), "contracted لجزائر (folded لجزاير) missing");
    assert!(!folded.contains(&"الجزائر"), "--normalized prints names as written");
    let unique: HashSet<&str> = folded.iter().copied().collect();
    assert_eq!(unique.len(), folded.len(), "duplicate lines in --normalized");

    let (code, stdout, stderr) = run(&["gazetteer", "names", "--long"], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let long: Vec<&str> = utf8(&stdout).lines().collect();
    assert!(long.len() >= names.len());
    for line in &long {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 3, "expected form, id, type: {line:?}");
        assert!(fields.iter().all(|f| !f.is_empty()), "{line:?}");
    }
    assert!(long.contains(&"فاجنر\twagner_group\tORG"));
    assert!(long.contains(&"إفريقيا كوربس\tafrica_corps\tORG"));
}

#[test]
fn gazetteer_check_accepts_the_default_files() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("gazetteers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tsv"))
        .map(|n| format!("gazetteers/{n}"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    let args: Vec<&str> =
        ["gazetteer", "check"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let (code, stdout, stderr) = run(&args, None);
    assert_eq!(code, 0, "stdout: {}\nstderr: {stderr}", utf8(&stdout));
    let out = utf8(&stdout);
    for file in &files {
        let prefix = format!("{file}: ok");
        assert_eq!(out.lines().filter(|l| l.starts_with(&prefix)).count(), 1, "{file}:\n{out}");
    }
}

#[test]
fn gazetteer_check_reports_broken_files_and_duplicate_ids() {
    let dir = TempDir::new("gazetteer_check");
    let good = dir.write("good.tsv", format!("{HEADER}zorg_corp\tORG\tزورغ\tZorg\tزورج\t\t\t\n"));
    let bad = dir.write(
        "bad.tsv",
        format!("{HEADER}blip\tGPE\tبليب\t\t\t\t\t\nthing\tXYZ\tشيء\t\t\t\t\t\n"),
    );
    let (code, stdout, stderr) = run(&["gazetteer", "check", &good, &bad], None);
    assert_eq!(code, 1, "stderr: {stderr}");
    let out = utf8(&stdout);
    assert!(out.lines().any(|l| l.starts_with(&format!("{good}: ok"))), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{bad}:3: ")))
        .unwrap_or_else(|| panic!("no {bad}:3: line in:\n{out}"));
    assert!(line.contains("XYZ"), "{line}");

    let again = dir.write("again.tsv", format!("{HEADER}zorg_corp\tORG\tزورغ الثاني\t\t\t\t\t\n"));
    let (code, stdout, stderr) = run(&["gazetteer", "check", &good, &again], None);
    assert_eq!(code, 1, "stderr: {stderr}");
    let out = utf8(&stdout);
    let line = out
        .lines()
        .find(|l| l.contains("duplicate id"))
        .unwrap_or_else(|| panic!("no duplicate id line in:\n{out}"));
    assert!(line.starts_with(&format!("{again}:2: ")), "{line}");
    assert!(line.contains("zorg_corp") && line.contains(&format!("{good}:2")), "{line}");
}

#[test]
fn eval_scores_the_tagged_seeds() {
    let dir = TempDir::new("eval_seeds");
    let seeds = seed_files();
    let args: Vec<&str> =
        std::iter::once("tag").chain(seeds.iter().map(|s| s.1.as_str())).collect();
    let (code, predictions, stderr) = run(&args, None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let pred = dir.write("pred.jsonl", &predictions);

    let (code, table, stderr) = run(&["eval", "--gold", "seeds/gold", &pred], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(!table.is_empty());

    let (code, stdout, stderr) = run(&["eval", "--gold", "seeds/gold", &pred, "--json"], None);
    assert_eq!(code, 0, "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&stdout).expect("--json prints JSON");
    let f1 = report["strict"]["micro"]["f1"].as_f64().expect("strict.micro.f1");
    assert!(f1 >= 0.95, "strict micro F1 {f1} < 0.95");
    let entities = report["linking"]["entities"].as_u64().expect("linking.entities");
    assert!(entities > 0);
    assert_eq!(report["linking"]["consistent"].as_u64(), Some(entities), "{}", report["linking"]);
    assert_eq!(report["documents"], 5);
}

#[test]
fn tag_closed_pipe_exits_quietly_with_success() {
    let paragraphs = seed_paragraphs();
    let input = jsonl_records(&paragraphs, 20_000);
    let mut child = alam_command(&["tag"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start alam");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // alam stops reading once its output pipe is closed: the write then fails, as it should.
        let _ = stdin.write_all(&input);
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).expect("cannot read the first line");
    drop(stdout);
    let first: Value = serde_json::from_str(&first).expect("first line is JSON");
    assert_eq!(first["id"], "r0");

    // Never hang: give alam a generous deadline, then kill it and fail.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for alam") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("alam did not exit within 120 s after its stdout was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    writer.join().expect("the stdin writer panicked");
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
    assert_eq!(status.code(), Some(0), "closed pipe: status {status}, stderr: {stderr}");
    assert!(!stderr.contains("error"), "a closed pipe is quiet: {stderr}");
}

#[test]
fn tag_output_is_the_same_with_one_or_two_threads() {
    let input = jsonl_records(&seed_sentences(), 2_000);
    let (code, one, stderr) = run(&["tag", "--threads", "1"], Some(&input));
    assert_eq!(code, 0, "stderr: {stderr}");
    let (code, two, stderr) = run(&["tag", "--threads", "2"], Some(&input));
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(one.len(), two.len());
    assert!(one == two, "--threads 1 and --threads 2 differ");
    let records = json_lines(&one);
    assert_eq!(records.len(), 2_000);
    assert_eq!(records[1_999]["id"], "r1999");
    let mentions: usize = records.iter().map(|r| entity_ids(r).len()).sum();
    assert!(mentions > 1_000, "only {mentions} mentions in 2,000 seed sentences");
}

#[test]
fn help_mentions_the_exit_statuses() {
    for args in [&["--help"][..], &["tag", "--help"][..]] {
        let (code, stdout, stderr) = run(args, None);
        assert_eq!(code, 0, "alam {args:?}: {stderr}");
        let help = utf8(&stdout).to_lowercase();
        assert!(help.contains("exit status"), "alam {args:?}:\n{help}");
        for status in ["0 when", "1 when", "2 when"] {
            assert!(help.contains(status), "alam {args:?} does not explain status {status:?}");
        }
    }
}

/// The cache files `alam tag` left in `dir`.
fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect()
}

#[test]
fn tag_writes_then_reads_its_start_up_cache_with_the_same_output() {
    let tmp = TempDir::new("cache");
    let cache = tmp.0.join("cache");
    let seeds: Vec<String> = seed_files().into_iter().map(|(_, path)| path).collect();
    let tag = |extra: &[&str]| {
        let mut args = vec!["tag", "-q"];
        args.extend_from_slice(extra);
        args.extend(seeds.iter().map(String::as_str));
        let output = alam_command(&args).env("ALAM_CACHE_DIR", &cache).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(utf8(&output.stderr), "", "alam {args:?} printed to stderr");
        output.stdout
    };
    let fresh = tag(&["--no-cache"]);
    assert!(cache_files(&cache).is_empty(), "--no-cache writes no cache");
    assert!(fresh.len() > 1000);
    assert!(tag(&[]) == fresh, "the run that writes the cache");
    let files = cache_files(&cache);
    assert_eq!(files.len(), 1, "{files:?}");
    let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    assert!(tag(&[]) == fresh, "the run that reads the cache");
    assert_eq!(std::fs::metadata(&files[0]).unwrap().modified().unwrap(), written, "not rewritten");
    // A damaged file is rebuilt, and the output is the same.
    let mut data = std::fs::read(&files[0]).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x55;
    std::fs::write(&files[0], &data).unwrap();
    assert!(tag(&[]) == fresh, "the run that finds the cache damaged");
    assert_ne!(std::fs::read(&files[0]).unwrap(), data, "the damaged file was replaced");
    assert!(tag(&[]) == fresh);
    // A custom gazetteer never uses the default's cache.
    std::fs::remove_file(&files[0]).unwrap();
    let gazetteer = tmp.write("g.tsv", "id\ttype\tname_ar\nmy_town\tGPE\tبلدتي\n");
    tag(&["--gazetteer", &gazetteer]);
    assert!(cache_files(&cache).is_empty());
}

#[test]
fn tag_without_a_writable_cache_warns_and_tags() {
    let tmp = TempDir::new("cache-unwritable");
    // A file where the cache directory should be: nothing can be written under it.
    let blocker = tmp.write("not-a-dir", "x");
    let (code, stdout, stderr) = {
        let output = alam_command(&["tag", "seeds/000_f63bd2125ddc3fbc.txt"])
            .env("ALAM_CACHE_DIR", &blocker)
            .output()
            .unwrap();
        (output.status.code(), output.stdout, String::from_utf8_lossy(&output.stderr).into_owned())
    };
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("start-up cache not used") && stderr.contains("not-a-dir"), "{stderr}");
    assert_eq!(json_lines(&stdout).len(), 1);
    let output = alam_command(&["tag", "-q", "seeds/000_f63bd2125ddc3fbc.txt"])
        .env("ALAM_CACHE_DIR", &blocker)
        .output()
        .unwrap();
    assert_eq!(utf8(&output.stderr), "", "-q keeps it quiet");
    assert_eq!(output.stdout, stdout);
}

/// The AVX-512 paths (where this processor has them) and the AVX2 paths (`ALAM_NO_AVX512`) write
/// the same bytes: the seeds, and records whose texts have harakat, tatweel, quotes, control
/// characters and runs of white space for the fold, relations whose evidence the JSON escaping
/// writes, and names after more than sixteen words in one block of 64 bytes.
#[test]
fn tag_output_is_the_same_without_avx512() {
    let mut texts = seed_paragraphs();
    texts.push("قالَ الرئيسُ «بوتين» إنّ\t\"فاغنر\"\u{1}  ستبقى في مـــالي\\باماكو.\n".repeat(5));
    texts.push(
        "التقى الرئيس الروسي \"فلاديمير بوتين\"\\ بنظيره الفرنسي\t\u{1f} في موسكو.".to_string(),
    );
    // 27 word starts in the first 64 bytes, the last of them باماكو's (at byte 61).
    texts.push("a b c d e f g h i j k l m n o p q r s t u v w x y موسكو باماكو و z".into());
    let input = jsonl_records(&texts, texts.len() * 2);
    let seeds: Vec<String> = seed_files().into_iter().map(|(_, path)| path).collect();
    let mut args = vec!["tag", "-q", "-"];
    args.extend(seeds.iter().map(String::as_str));
    let outputs: Vec<Vec<u8>> = [&[][..], &[("ALAM_NO_AVX512", "1")][..]]
        .into_iter()
        .map(|env| {
            let (code, stdout, stderr) = run_with_env(&args, Some(&input), env);
            assert_eq!(code, 0, "{stderr}");
            stdout
        })
        .collect();
    let records = json_lines(&outputs[0]);
    let texts = |record: &Value| -> Vec<String> {
        let entities = record["entities"].as_array().expect("entities");
        entities.iter().map(|e| e["text"].as_str().expect("text").to_string()).collect()
    };
    // The names after the run of one-letter words, and the relations' evidence, are there.
    assert!(records.iter().any(|r| texts(r) == ["موسكو", "باماكو"]));
    assert!(records.iter().any(|r| {
        let relations = r["relations"].as_array().map_or(&[][..], |v| &v[..]);
        relations.iter().any(|x| x["evidence"].as_str().is_some_and(|e| e.contains("\\ ")))
    }));
    assert!(outputs[0] == outputs[1], "the outputs differ without AVX-512");
}
