//! Throughput of each stage, on the seed articles and (when present) 8 MB of real news text.
//!
//! Groups: `normalize` (folding with its offset map, into reused buffers; `normalize_fresh`
//! allocating them each call), `extract` (the whole pipeline with the
//! embedded default gazetteer), `baseline_aho_corasick` (a bare automaton over the default names
//! as written, scanning the unnormalized text: the same-run floor the pipeline is compared
//! against) and `build` (parsing the gazetteer and compiling the extractor).
//!
//! Inputs: `seeds` is the five `seeds/*.txt` articles concatenated (~31 KB), `seeds_1mb` that text
//! repeated to ~1 MB, and `saudinewsnet_8mb` the first ~8 MB of
//! `../shared/data/saudinewsnet/saudinewsnet.txt.gz`, decompressed with `gzip -dc`; it is skipped
//! with a notice when the file or gzip is missing.
//!
//! ```text
//! cargo bench --bench extract                        # everything, about a minute
//! cargo bench --bench extract -- extract/            # one group
//! cargo bench --bench extract -- --save-baseline before
//! cargo bench --bench extract -- --baseline before   # compare with the saved run
//! ```

use std::hint::black_box;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use aho_corasick::{AhoCorasick, MatchKind};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use alam::{normalize, Extractor, Gazetteer, NormalizeOptions, Normalized};

mod common;
use common::{repeat_to, seed_text};

/// Size of the repeated seed text.
const ONE_MB: usize = 1 << 20;
/// How much of the news corpus to read.
const CORPUS_BYTES: usize = 8 << 20;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The first ~8 MB of the SaudiNewsNet corpus, cut after the last whole line. `flate2` is not a
/// dependency, so `gzip -dc` decompresses; the pipe is dropped once enough text is read.
fn news_text() -> Result<String, String> {
    let path = manifest_dir().join("../shared/data/saudinewsnet/saudinewsnet.txt.gz");
    if !path.is_file() {
        return Err(format!("{} not found", path.display()));
    }
    let mut child = Command::new("gzip")
        .arg("-dc")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    let mut bytes = Vec::with_capacity(CORPUS_BYTES);
    let stdout = child.stdout.take().ok_or("no gzip stdout")?;
    let read = stdout.take(CORPUS_BYTES as u64).read_to_end(&mut bytes);
    // Closing the pipe early makes gzip exit on SIGPIPE: only a short read is a failure.
    let status = child.wait().map_err(|e| format!("gzip: {e}"))?;
    read.map_err(|e| format!("reading gzip output: {e}"))?;
    if bytes.len() < CORPUS_BYTES && !status.success() {
        return Err(format!("gzip -dc {} failed: {status}", path.display()));
    }
    if let Some(last) = bytes.iter().rposition(|&b| b == b'\n') {
        bytes.truncate(last + 1);
    }
    String::from_utf8(bytes).map_err(|e| format!("corpus is not UTF-8: {e}"))
}

/// The benchmark inputs: (name, text).
fn inputs() -> Vec<(&'static str, String)> {
    let seeds = seed_text();
    let mut inputs = vec![("seeds", seeds.clone()), ("seeds_1mb", repeat_to(&seeds, ONE_MB))];
    match news_text() {
        Ok(text) => inputs.push(("saudinewsnet_8mb", text)),
        Err(why) => eprintln!("skipping saudinewsnet: {why}"),
    }
    for (name, text) in &inputs {
        eprintln!("input {name}: {} bytes, {} chars", text.len(), text.chars().count());
    }
    inputs
}

fn embedded() -> Gazetteer {
    Gazetteer::embedded().expect("the embedded gazetteer loads")
}

fn configure(c: Criterion) -> Criterion {
    c.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4))
}

fn benches(c: &mut Criterion) {
    // Every group runs on every input: the seeds, and the news corpus when it is there, which
    // shows behaviour on text the gazetteer was not written for (and that the branch predictor
    // has not learnt: the seeds repeat).
    let inputs = inputs();
    let options = NormalizeOptions::default();

    let extractor = Extractor::new(embedded()).expect("the default extractor builds");
    let mut group = c.benchmark_group("extract");
    for (name, text) in &inputs {
        // Warm up and make sure the input is meaningful before timing it.
        let found = extractor.extract(text).expect("text fits in u32").len();
        eprintln!("extract {name}: {found} mentions");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), text.as_str(), |b, text| {
            b.iter(|| {
                let mentions = extractor.extract(black_box(text)).expect("text fits in u32");
                mentions.iter().map(|m| m.start + m.end).sum::<usize>()
            })
        });
    }
    group.finish();

    // The same with the DFA word-start walker, which `alam tag` uses for inputs over 16 MB.
    let dfa = Extractor::builder().dfa(true).build(embedded()).expect("the DFA extractor builds");
    let mut group = c.benchmark_group("extract_dfa");
    for (name, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), text.as_str(), |b, text| {
            b.iter(|| {
                let mentions = dfa.extract(black_box(text)).expect("text fits in u32");
                mentions.iter().map(|m| m.start + m.end).sum::<usize>()
            })
        });
    }
    group.finish();

    // Every surface form of the default gazetteer as written: no folding, no clitics, no
    // boundary checks, no linking. What the pipeline costs on top of a bare automaton.
    let gazetteer = embedded();
    let mut patterns: Vec<&str> =
        gazetteer.entities().iter().flat_map(|e| e.names().map(|n| n.text())).collect();
    patterns.sort_unstable();
    patterns.dedup();
    let standard = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .expect("the standard automaton builds");
    let leftmost = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&patterns)
        .expect("the leftmost-longest automaton builds");
    eprintln!("baseline: {} patterns", patterns.len());
    let mut group = c.benchmark_group("baseline_aho_corasick");
    for (name, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("standard_overlapping", name),
            text.as_str(),
            |b, text| b.iter(|| standard.find_overlapping_iter(black_box(text)).count()),
        );
        group.bench_with_input(
            BenchmarkId::new("leftmost_longest", name),
            text.as_str(),
            |b, text| b.iter(|| leftmost.find_iter(black_box(text)).count()),
        );
    }
    group.finish();

    // Folding alone, measured after the groups above: run first, its tight loop left the
    // machine slower for the extract group that followed (113 instead of 190 MiB/s, the
    // same binary and text), so the extract figures depended on the order.
    //
    // `normalize` refills one `Normalized`, as the extractor does with its per-thread buffers:
    // the pass alone. `normalize_fresh` calls `normalize()`, which allocates its buffers anew:
    // on 8 MB that is some 26 MB of fresh pages a call, and whether glibc hands back reused
    // heap or new mapped pages depends on what ran before (1.1 million page faults and half the
    // throughput after the groups above, a few thousand when run alone), so only the refill
    // has a floor in `benches/thresholds.json`.
    let mut group = c.benchmark_group("normalize");
    for (name, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let mut normalized = Normalized::default();
        group.bench_with_input(BenchmarkId::from_parameter(name), text.as_str(), |b, text| {
            b.iter(|| {
                normalized.refill(black_box(text), &options).expect("text fits in u32");
                black_box(normalized.text().len())
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("normalize_fresh");
    for (name, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), text.as_str(), |b, text| {
            b.iter(|| {
                let n = normalize(black_box(text), &options).expect("text fits in u32");
                black_box(n.text().len())
            })
        });
    }
    group.finish();

    // Build cost, per byte of gazetteer TSV compiled.
    let tsv_bytes: u64 = std::fs::read_dir(manifest_dir().join("gazetteers"))
        .expect("gazetteers/ is readable")
        .map(|e| e.expect("gazetteers/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .map(|p| std::fs::metadata(p).expect("gazetteer file").len())
        .sum();
    let mut group = c.benchmark_group("build");
    group.throughput(Throughput::Bytes(tsv_bytes));
    group.bench_function("gazetteer_embedded", |b| b.iter(|| black_box(embedded()).len()));
    group.bench_function("extractor_new", |b| {
        b.iter(|| Extractor::new(black_box(embedded())).expect("the default extractor builds"))
    });
    group.finish();
}

criterion_group! {
    name = extract;
    config = configure(Criterion::default());
    targets = benches
}
criterion_main!(extract);
