//! The extra cost of relations over entity tagging alone, in MB/s of input text.
//!
//! Groups: `extract` (entities only, the embedded default gazetteer), `extract_relations`
//! (entities, then relations with the embedded default rules), `relations_only` (relations on
//! mentions found beforehand: the relation stage by itself) and `build` (compiling the rules).
//! Inputs: `seeds`, the five `seeds/*.txt` articles concatenated (~31 KB), and `seeds_1mb`,
//! that text repeated to ~1 MB.
//!
//! ```text
//! cargo bench --bench relations
//! cargo bench --bench relations -- --save-baseline before
//! cargo bench --bench relations -- --baseline before
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use alam::{Extractor, Gazetteer, RelationExtractor, RuleSet};

mod common;
use common::{repeat_to, seed_text};

/// Size of the repeated seed text.
const ONE_MB: usize = 1 << 20;

fn configure(c: Criterion) -> Criterion {
    c.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4))
}

fn benches(c: &mut Criterion) {
    let seeds = seed_text();
    let inputs = [("seeds", seeds.clone()), ("seeds_1mb", repeat_to(&seeds, ONE_MB))];
    let extractor =
        Extractor::new(Gazetteer::embedded().expect("embedded gazetteer")).expect("extractor");
    let relations = RelationExtractor::embedded().expect("embedded rules");
    for (name, text) in &inputs {
        // Warm up and make sure the input is meaningful before timing it.
        let mentions = extractor.extract(text).expect("text fits in u32");
        let found = relations.extract(text, &mentions).expect("text fits in u32");
        eprintln!(
            "{name}: {} bytes, {} mentions, {} relations",
            text.len(),
            mentions.len(),
            found.len()
        );
    }

    let mut group = c.benchmark_group("extract");
    for (name, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), text.as_str(), |b, text| {
            b.iter(|| {
                let mentions = extractor.extract(black_box(text)).expect("text fits in u32");
                mentions.iter().map(|m| m.start + m.end).sum::<usize>()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("extract_relations");
    for (name, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), text.as_str(), |b, text| {
            b.iter(|| {
                let mentions = extractor.extract(black_box(text)).expect("text fits in u32");
                let found = relations.extract(text, &mentions).expect("text fits in u32");
                mentions.len() + found.iter().map(|r| r.head + r.tail).sum::<usize>()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("relations_only");
    for (name, text) in &inputs {
        let mentions = extractor.extract(text).expect("text fits in u32");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), text.as_str(), |b, text| {
            b.iter(|| {
                let found = relations.extract(black_box(text), &mentions).expect("fits");
                found.iter().map(|r| r.head + r.tail).sum::<usize>()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("build");
    group.bench_function("relation_extractor_embedded", |b| {
        b.iter(|| RelationExtractor::new(black_box(RuleSet::embedded().expect("rules"))))
    });
    group.finish();
}

criterion_group! {
    name = relations;
    config = configure(Criterion::default());
    targets = benches
}
criterion_main!(relations);
