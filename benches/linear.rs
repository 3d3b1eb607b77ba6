//! Time-linear extraction: throughput over growing sizes, for news text and for hostile shapes.
//!
//! Each group extracts texts of 1, 4 and 16 MiB (64 MiB too with `ALAM_LINEAR_FULL=1`) built by
//! repeating one unit, and reports MiB/s. Extraction is linear when the MiB/s of a group stays
//! flat as the size grows: a quadratic path shows as MiB/s falling by 4x per step. The shapes:
//!
//! - `news`: the five seed articles (the embedded default gazetteer);
//! - `dense`: names and clitics back to back (وبباماكو، لموسكو، فاغنر...);
//! - `risky_no_context`: a sure name and a risky name without context, repeated (each risky name
//!   is judged against the sure mentions before it);
//! - `long_word`: one word of letters with no space, and names glued inside it;
//! - `harakat`: names followed by long runs of harakat (spans swallow them);
//! - `pdf`: presentation forms and bidi marks around every letter;
//! - `quotes`: clitics before long runs of quotes (بـ""""الفيلق).
//!
//! ```text
//! cargo bench --bench linear
//! cargo bench --bench linear -- risky_no_context
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use alam::{Extractor, Gazetteer};

mod common;
use common::{repeat_to, seed_text};

const MIB: usize = 1 << 20;

/// A small gazetteer with a sure and a risky name of each kind that the shapes use.
const GAZETTEER: &str = "id\ttype\tname_ar\taliases\tflags\n\
    bamako\tGPE\tباماكو\tبماكو\t\n\
    moscow\tGPE\tموسكو\t\t\n\
    algeria\tGPE\tالجزائر\t\t\n\
    wagner\tORG\tمجموعة فاغنر\tفاغنر|فاجنر\t\n\
    africa_corps\tORG\tالفيلق الأفريقي\tفيلق أفريقيا\t\n\
    goita\tPER\tأسيمي غويتا\t~غويتا\t\n";

fn sizes() -> Vec<usize> {
    let mut sizes = vec![MIB, 4 * MIB, 16 * MIB];
    if std::env::var_os("ALAM_LINEAR_FULL").is_some() {
        sizes.push(64 * MIB);
    }
    sizes
}

/// Inserts `mark` after every character of `text`.
fn interleave(text: &str, mark: &str) -> String {
    let mut out = String::with_capacity(text.len() * (1 + mark.len()));
    for c in text.chars() {
        out.push(c);
        out.push_str(mark);
    }
    out
}

fn shapes() -> Vec<(&'static str, String, bool)> {
    let harakat = "\u{064E}".repeat(5_000);
    vec![
        ("news", seed_text(), true),
        ("dense", "وبباماكو لموسكو فاغنر، للجزائر والفيلق الأفريقي ".to_string(), false),
        ("risky_no_context", "باماكو غويتا. ".to_string(), false),
        ("long_word", "ب".repeat(50_000) + "باماكو" + &"م".repeat(50_000) + " ", false),
        ("harakat", format!("باماكو{harakat} وموسكو{harakat} "), false),
        ("pdf", interleave("ﻭﺻﻠﺖ ﻗﻮﺍﺕ ﻓﺎﺟﻨﺮ ﺇﻟﻰ ﺑﺎﻣﺎﻛﻮ ﻭﻣﻮﺳﻜﻮ. ", "\u{200F}"), false),
        ("quotes", format!("ب{}الفيلق الأفريقي ", "\"".repeat(1_000)), false),
    ]
}

fn linear(c: &mut Criterion) {
    let default = Extractor::new(Gazetteer::embedded().expect("embedded")).expect("build");
    let small =
        Extractor::new(Gazetteer::from_tsv("linear.tsv", GAZETTEER).expect("tsv")).expect("build");
    for (shape, unit, news) in shapes() {
        let extractor = if news { &default } else { &small };
        let mut group = c.benchmark_group(format!("linear/{shape}"));
        group.sample_size(10).warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(5));
        for size in sizes() {
            let text = repeat_to(&unit, size);
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(size / MIB), &text, |b, text| {
                b.iter(|| extractor.extract(black_box(text)).expect("under 4 GiB").len())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, linear);
criterion_main!(benches);
