//! The batch path (JSONL in, JSONL out) on real news at 1 and 2 threads, in MB/s of input: with
//! relations, as `alam tag` runs by default (`batch/threads/N`), and without them
//! (`batch_no_relations/threads/N`, as `alam tag --no-relations`), in memory; and the `alam tag`
//! command itself on the same records, a file in and a fresh file out, start-up included
//! (`cli/threads/N`); the command on the whole corpus, 99.8 MB of JSONL (`cli_corpus/threads/N`:
//! the end-to-end figure of the performance issue, on its real news JSONL, where start-up and
//! exit weigh as they do on a dump); and the command's start-up on one small file, with the
//! start-up cache and without (`cli_startup/cached`, `/no_cache`).
//!
//! Reads `../shared/data/saudinewsnet/saudinewsnet.txt.gz` (non-commercial license: never copied
//! into the project); when it is absent, the benchmark says so and falls back to the seed
//! articles repeated, so the numbers still mean something (`cli_corpus` is then skipped).

use std::hint::black_box;
use std::io::{BufWriter, Cursor, Read, Write};
use std::path::Path;
use std::time::Duration;

use alam::batch::{tag_inputs, Input, JsonlSink, TagOptions};
use alam::{Extractor, Gazetteer, RelationExtractor};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};

/// About this many bytes of JSONL input.
const TARGET: usize = 16 << 20;

/// The SaudiNewsNet dump (articles separated by blank lines), outside the project.
fn corpus_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/saudinewsnet/saudinewsnet.txt.gz")
}

/// One JSONL record of article `i`, as the benchmarks' inputs hold them.
fn record(out: &mut impl Write, i: usize, text: &str) {
    serde_json::to_writer(&mut *out, &serde_json::json!({"id": i, "text": text})).unwrap();
    out.write_all(b"\n").unwrap();
}

fn corpus() -> (String, Vec<u8>) {
    let path = corpus_path();
    let articles: Vec<String> = match std::fs::File::open(&path) {
        Ok(file) => {
            let mut text = String::new();
            let mut reader = flate2::read::GzDecoder::new(file).take(TARGET as u64 + (1 << 20));
            let _ = reader.read_to_string(&mut text);
            text.split("\n\n").map(str::to_string).collect()
        }
        Err(e) => {
            eprintln!(
                "skipping saudinewsnet ({}: {e}); using the seed articles repeated",
                path.display()
            );
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
            let mut seeds: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect();
            seeds.sort();
            seeds.iter().cycle().take(2000).cloned().collect()
        }
    };
    let mut jsonl = Vec::with_capacity(TARGET + (1 << 20));
    for (i, text) in articles.iter().enumerate() {
        if jsonl.len() >= TARGET {
            break;
        }
        record(&mut jsonl, i, text);
    }
    let name = if path.exists() { "saudinewsnet_16mb" } else { "seeds_repeated" };
    (name.to_string(), jsonl)
}

/// The whole corpus as JSONL in `path` (records as `corpus` makes its first 16 MB), its size
/// in bytes; `None` when the corpus is absent.
fn whole_corpus(path: &Path) -> Option<u64> {
    let mut text = String::new();
    let file = std::fs::File::open(corpus_path()).ok()?;
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    for (i, article) in text.split("\n\n").enumerate() {
        record(&mut out, i, article);
    }
    out.flush().unwrap();
    Some(std::fs::metadata(path).unwrap().len())
}

/// `alam tag` from `input` to a fresh `output` (removed before each run, outside the timing:
/// renaming over a large file frees its pages on the clock), with 1 and 2 threads.
fn command(group: &mut BenchmarkGroup<'_, WallTime>, input: &Path, output: &Path) {
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &threads| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let _ = std::fs::remove_file(output);
                    let started = std::time::Instant::now();
                    let status = std::process::Command::new(env!("CARGO_BIN_EXE_alam"))
                        .args(["tag", "-q", "--threads", &threads.to_string(), "-o"])
                        .arg(output)
                        .arg(input)
                        .status()
                        .unwrap();
                    total += started.elapsed();
                    assert!(status.success(), "alam tag failed: {status}");
                }
                total
            })
        });
    }
}

/// A group of ten samples of whole runs over `bytes` of input, in MB/s.
fn group<'c>(c: &'c mut Criterion, name: &str, bytes: usize) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(bytes as u64));
    group
}

fn bench(c: &mut Criterion) {
    let (name, jsonl) = corpus();
    eprintln!("batch corpus: {name}, {} bytes of JSONL", jsonl.len());
    // As `alam tag` builds them: with relations, the name walks mark the trigger words.
    let relations = RelationExtractor::embedded().unwrap();
    let linked = Extractor::builder().relations(&relations).build(Gazetteer::embedded().unwrap());
    let plain = Extractor::new(Gazetteer::embedded().unwrap()).unwrap();
    let mut with_relations = TagOptions::default();
    with_relations.relations = Some(relations.clone());
    for (group_name, extractor, options) in [
        ("batch", linked.unwrap(), with_relations),
        ("batch_no_relations", plain, TagOptions::default()),
    ] {
        let mut group = group(c, group_name, jsonl.len());
        for threads in [1usize, 2] {
            group.bench_with_input(
                // The id stays the same whichever corpus was found, so runs compare; the corpus
                // name is printed above.
                BenchmarkId::new("threads", threads),
                &threads,
                |b, &threads| {
                    b.iter(|| {
                        let input = Input::reader("bench", Cursor::new(jsonl.clone()));
                        let mut sink = JsonlSink::new(std::io::sink());
                        let stats =
                            tag_inputs(&extractor, vec![input], &options, threads, &mut sink, None)
                                .unwrap();
                        black_box(stats.documents)
                    })
                },
            );
        }
        group.finish();
    }

    // The command: the same records from a file to a fresh file.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, &jsonl).unwrap();
    let output = dir.path().join("out.jsonl");
    let mut group = group(c, "cli", jsonl.len());
    command(&mut group, &input, &output);
    group.finish();

    // The command on the whole corpus: one or two runs a sample, so ten samples flat.
    let whole = dir.path().join("corpus.jsonl");
    match whole_corpus(&whole) {
        Some(bytes) => {
            eprintln!("cli_corpus: the whole of saudinewsnet, {bytes} bytes of JSONL");
            let mut group = c.benchmark_group("cli_corpus");
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(8))
                .throughput(Throughput::Bytes(bytes));
            command(&mut group, &whole, &output);
            group.finish();
            let _ = std::fs::remove_file(&whole);
        }
        None => eprintln!("skipping cli_corpus: {} is absent", corpus_path().display()),
    }

    // Start-up: the command on one seed article (a few KB), with the start-up cache (read in a
    // few ms; the warm-up runs write it) and without it (the default gazetteer's extractor
    // built afresh), in a cache directory of the benchmark's own.
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/000_f63bd2125ddc3fbc.txt");
    let bytes = std::fs::metadata(&seed).unwrap().len();
    let cache = dir.path().join("cache");
    let mut group = c.benchmark_group("cli_startup");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(bytes));
    for (id, extra) in [("cached", None), ("no_cache", Some("--no-cache"))] {
        group.bench_function(id, |b| {
            b.iter(|| {
                let status = std::process::Command::new(env!("CARGO_BIN_EXE_alam"))
                    .args(["tag", "-q", "-o", "/dev/null"])
                    .args(extra)
                    .arg(&seed)
                    .env("ALAM_CACHE_DIR", &cache)
                    .status()
                    .unwrap();
                assert!(status.success(), "alam tag failed: {status}");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
