//! Gazetteers of 10k, 100k and 1M names: build time, automaton memory and extraction throughput,
//! for alam and for the bare automata it could be built on.
//!
//! Each size N is N distinct names: the written names of the default gazetteer without generated
//! variants (about 9,200, so the seed articles still have real hits), then Arabic-looking names
//! made by a seeded LCG from the letters U+0621..U+063A and U+0641..U+064A (no tatweel, no
//! harakat), 1 to 3 words of 3 to 8 letters, distinct after alam's folding. alam loads them as
//! `Gazetteer::embedded_base` plus one synthetic TSV parsed from memory (`Gazetteer::add_tsv`);
//! the bare automata get the same N names as written.
//!
//! Engines: `alam` (the default `Extractor`: the name index looked up from word starts), `alam_dfa` (`.dfa(true)`, only where alam really
//! builds a DFA: up to 20,000 folded names, so at 10k only), `ac_noncontiguous_nfa`,
//! `ac_contiguous_nfa` and `ac_dfa` (bare `aho_corasick::AhoCorasick` of that kind,
//! leftmost-longest; no `ac_dfa` at 1M: 3 minutes and 8 GiB), `daachorse_charwise` and
//! `daachorse_bytewise` (leftmost-longest double-array automata; no bytewise at 1M).
//!
//! Groups, one benchmark per engine:
//! - `scale_extract/{N}`: `Extractor::extract`, `find_iter` or `leftmost_find_iter` over the five
//!   seed articles repeated to 1 MiB, unnormalized; throughput in bytes of text;
//! - `scale_build/{N}`: building from the names (alam: from a parsed `Gazetteer`, whose clone is
//!   not timed); throughput in bytes of names. At 10k and 100k only (not `ac_dfa` at 100k): the
//!   1M builds take tens of seconds each, and criterion wants ten of them.
//!
//! Every engine is also built once per size and measured apart, which is where the 1M build
//! times come from. Each such build prints a line to stderr,
//! `scale N=... ENGINE memory=... bytes (... MiB) build=... ms cpu=... ms peak_rss_delta=...
//! matches=...`, and adds to `$CARGO_TARGET_DIR/criterion/scale-memory.json` (`target/` when
//! unset), rewritten after each build, `[{"name", "unit", "value"}]` figures:
//! `scale_memory/{N}/{ENGINE}` (bytes: `AhoCorasick::memory_usage`, daachorse `heap_bytes`,
//! alam `Extractor::automaton_memory`), `scale_peak_rss/{N}/{ENGINE}` (bytes the process's peak
//! resident set rose during the build; Linux only, and a lower bound since the allocator reuses
//! freed memory) and `scale_build_ms/{N}/{ENGINE}` (ms of wall time). `matches` counts alam's
//! mentions, or the leftmost-longest matches of the bare automata.
//!
//! ```text
//! cargo bench --bench scale                          # every size: about 5 minutes on 2 cores
//! ALAM_SCALE_MAX=100000 cargo bench --bench scale    # 10k and 100k only: about 2 minutes
//! ALAM_SCALE_MAX=10000 cargo bench --bench scale -- scale_extract/
//! ```
//!
//! `ALAM_SCALE_MAX` drops the sizes above it before anything is generated; a criterion filter
//! after `--` only skips timing: every size left is still generated and built once.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use daachorse::{
    CharwiseDoubleArrayAhoCorasick, CharwiseDoubleArrayAhoCorasickBuilder, DoubleArrayAhoCorasick,
    DoubleArrayAhoCorasickBuilder,
};

use alam::{fold, Extractor, Gazetteer, NormalizeOptions};

mod common;
use common::{repeat_to, seed_text};

/// The gazetteer sizes, in names.
const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
/// Size of the repeated seed text.
const ONE_MB: usize = 1 << 20;
/// alam compiles a DFA only up to this many folded names (`DFA_MAX_PATTERNS` in src/matcher.rs).
const ALAM_DFA_MAX: usize = 20_000;
/// The largest size with a bare aho-corasick DFA: at 1M names one build took 182 s and 8.1 GiB
/// (8.4 GiB peak), at 100k 9.3 s and 787 MiB (2 shared cores).
const AC_DFA_MAX: usize = 100_000;
/// The largest size with a bytewise daachorse automaton: at 1M names it took 37 s and peaked at
/// 1.9 GiB, over three times the charwise one, which stays.
const DAACHORSE_BYTEWISE_MAX: usize = 100_000;
/// The largest size whose builds criterion times (ten builds at least, plus warm-up): above it,
/// each build is timed once, apart, and only reported on stderr and in the JSON file.
const BUILD_BENCH_MAX: usize = 100_000;
/// The largest size whose bare aho-corasick DFA build criterion times (9 s a build at 100k).
const AC_DFA_BUILD_BENCH_MAX: usize = 10_000;

/// A 64-bit linear congruential generator (Knuth's MMIX constants): deterministic, no dependency.
struct Lcg(u64);

impl Lcg {
    /// A number in `0..n`, from the high bits.
    fn below(&mut self, n: u32) -> u32 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (((self.0 >> 32) * u64::from(n)) >> 32) as u32
    }
}

/// The Arabic letters names are made of: hamza to ghain, feh to yeh.
fn letters() -> Vec<char> {
    ('\u{0621}'..='\u{063A}').chain('\u{0641}'..='\u{064A}').collect()
}

/// The inputs of one size.
struct Inputs {
    /// Every name as written, distinct: the default gazetteer's first, then the synthetic ones.
    names: Vec<String>,
    /// The default gazetteer plus one entity per synthetic name.
    gazetteer: Gazetteer,
    /// Bytes of name text.
    bytes: u64,
}

/// The default gazetteer without generated variants, and its distinct written names.
fn real() -> (Gazetteer, Vec<String>) {
    let gazetteer = Gazetteer::embedded_base().expect("the embedded gazetteer loads");
    let mut seen = std::collections::HashSet::new();
    let names: Vec<String> = gazetteer
        .entities()
        .iter()
        .flat_map(|e| e.names().map(|n| n.text().to_string()))
        .filter(|n| seen.insert(n.clone()))
        .collect();
    (gazetteer, names)
}

/// `n` distinct names: the real ones, then synthetic ones that fold unlike every name before.
fn inputs(n: usize, base: &Gazetteer, real: &[String]) -> Inputs {
    assert!(real.len() <= n, "{} real names do not fit in {n}", real.len());
    let options = NormalizeOptions::default();
    let letters = letters();
    let mut folded: std::collections::HashSet<String> =
        real.iter().map(|name| fold(name, &options)).collect();
    let mut names: Vec<String> = real.to_vec();
    let mut tsv = String::from("id\ttype\tname_ar\n");
    let mut rng = Lcg(0x5CA1_E5EED);
    let kinds = ["PER", "ORG", "GPE", "LOC"];
    let mut id = 0;
    while names.len() < n {
        let mut name = String::new();
        for w in 0..=rng.below(3) {
            if w > 0 {
                name.push(' ');
            }
            for _ in 0..3 + rng.below(6) {
                name.push(letters[rng.below(letters.len() as u32) as usize]);
            }
        }
        if folded.insert(fold(&name, &options)) {
            let _ = writeln!(tsv, "syn{id}\t{}\t{name}", kinds[id % kinds.len()]);
            names.push(name);
            id += 1;
        }
    }
    let mut gazetteer = base.clone();
    gazetteer.add_tsv("synthetic.tsv", &tsv).expect("the synthetic gazetteer parses");
    let bytes = names.iter().map(|s| s.len() as u64).sum();
    Inputs { names, gazetteer, bytes }
}

#[derive(Clone, Copy, Debug)]
enum Engine {
    Alam,
    AlamDfa,
    AcNoncontiguousNfa,
    AcContiguousNfa,
    AcDfa,
    DaachorseBytewise,
    DaachorseCharwise,
}

const ENGINES: [Engine; 7] = [
    Engine::Alam,
    Engine::AlamDfa,
    Engine::AcNoncontiguousNfa,
    Engine::AcContiguousNfa,
    Engine::AcDfa,
    Engine::DaachorseBytewise,
    Engine::DaachorseCharwise,
];

/// A built automaton of any engine.
enum Built {
    Alam(Extractor),
    Ac(AhoCorasick),
    Bytewise(DoubleArrayAhoCorasick<u32>),
    Charwise(CharwiseDoubleArrayAhoCorasick<u32>),
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Alam => "alam",
            Engine::AlamDfa => "alam_dfa",
            Engine::AcNoncontiguousNfa => "ac_noncontiguous_nfa",
            Engine::AcContiguousNfa => "ac_contiguous_nfa",
            Engine::AcDfa => "ac_dfa",
            Engine::DaachorseBytewise => "daachorse_bytewise",
            Engine::DaachorseCharwise => "daachorse_charwise",
        }
    }

    /// Why this engine is not run at this size, if it is not. `surfaces` is the number of
    /// folded names of alam's automaton.
    fn skip(self, n: usize, surfaces: usize) -> Option<String> {
        match self {
            Engine::AlamDfa if surfaces > ALAM_DFA_MAX => Some(format!(
                "{surfaces} folded names: alam uses its name index above {ALAM_DFA_MAX}"
            )),
            Engine::AcDfa if n > AC_DFA_MAX => {
                Some(format!("over {AC_DFA_MAX} names the DFA takes minutes and gigabytes"))
            }
            Engine::DaachorseBytewise if n > DAACHORSE_BYTEWISE_MAX => Some(format!(
                "over {DAACHORSE_BYTEWISE_MAX} names only the charwise automaton is measured"
            )),
            _ => None,
        }
    }

    /// Builds the automaton; `gazetteer` is used by alam's engines only.
    fn build(self, names: &[String], gazetteer: Gazetteer) -> Built {
        let ac = |kind| {
            let automaton = AhoCorasick::builder()
                .kind(Some(kind))
                .match_kind(MatchKind::LeftmostLongest)
                .build(names)
                .expect("the aho-corasick automaton builds");
            Built::Ac(automaton)
        };
        match self {
            Engine::Alam => Built::Alam(Extractor::new(gazetteer).expect("alam builds")),
            Engine::AlamDfa => Built::Alam(
                Extractor::builder().dfa(true).build(gazetteer).expect("alam builds its DFA"),
            ),
            Engine::AcNoncontiguousNfa => ac(AhoCorasickKind::NoncontiguousNFA),
            Engine::AcContiguousNfa => ac(AhoCorasickKind::ContiguousNFA),
            Engine::AcDfa => ac(AhoCorasickKind::DFA),
            Engine::DaachorseBytewise => Built::Bytewise(
                DoubleArrayAhoCorasickBuilder::new()
                    .match_kind(daachorse::MatchKind::LeftmostLongest)
                    .build(names)
                    .expect("the bytewise daachorse automaton builds"),
            ),
            Engine::DaachorseCharwise => Built::Charwise(
                CharwiseDoubleArrayAhoCorasickBuilder::new()
                    .match_kind(daachorse::MatchKind::LeftmostLongest)
                    .build(names)
                    .expect("the charwise daachorse automaton builds"),
            ),
        }
    }

    /// Whether criterion times the build at this size (else it is timed once, apart).
    fn bench_build(self, n: usize) -> bool {
        match self {
            Engine::AcDfa => n <= AC_DFA_BUILD_BENCH_MAX,
            _ => n <= BUILD_BENCH_MAX,
        }
    }

    fn is_alam(self) -> bool {
        matches!(self, Engine::Alam | Engine::AlamDfa)
    }
}

impl Built {
    /// Heap bytes of the automaton.
    fn memory(&self) -> usize {
        match self {
            Built::Alam(e) => e.automaton_memory(),
            Built::Ac(a) => a.memory_usage(),
            Built::Bytewise(a) => a.heap_bytes(),
            Built::Charwise(a) => a.heap_bytes(),
        }
    }

    /// The matches in `text`: mentions for alam, leftmost-longest matches for the others.
    fn scan(&self, text: &str) -> usize {
        match self {
            Built::Alam(e) => e.extract(text).expect("text fits in u32").len(),
            Built::Ac(a) => a.find_iter(text).count(),
            Built::Bytewise(a) => a.leftmost_find_iter(text).count(),
            Built::Charwise(a) => a.leftmost_find_iter(text).count(),
        }
    }
}

/// A line of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`), where there is one.
fn proc_status(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak resident set to the current one (Linux 4.0+) and returns that size.
fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    proc_status("VmRSS:")
}

/// The CPU time of this process so far (user and system), from `/proc/self/stat`.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name: state is the 3rd field, utime the 14th, stime the 15th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux platform.
    Some(Duration::from_millis(ticks * 10))
}

/// One figure for the JSON file.
struct Figure {
    name: String,
    unit: &'static str,
    value: u64,
}

fn write_figures(figures: &[Figure]) {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let dir = target.join("criterion");
    let mut json = String::from("[\n");
    for (i, f) in figures.iter().enumerate() {
        let comma = if i + 1 < figures.len() { "," } else { "" };
        let _ = writeln!(
            json,
            "  {{\"name\": \"{}\", \"unit\": \"{}\", \"value\": {}}}{comma}",
            f.name, f.unit, f.value
        );
    }
    json.push_str("]\n");
    let path = dir.join("scale-memory.json");
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        eprintln!("scale: cannot write {}: {e}", path.display());
    }
}

/// The sizes to run: `SIZES` up to `ALAM_SCALE_MAX` when it is set.
fn sizes() -> Vec<usize> {
    let max = match std::env::var("ALAM_SCALE_MAX") {
        Ok(v) => v.trim().replace('_', "").parse().expect("ALAM_SCALE_MAX is a number of names"),
        Err(_) => usize::MAX,
    };
    SIZES.into_iter().filter(|&n| n <= max).collect()
}

fn scale(c: &mut Criterion) {
    let text = repeat_to(&seed_text(), ONE_MB);
    let (base, real) = real();
    eprintln!("scale: {} real names, text {} bytes", real.len(), text.len());
    let mut figures = Vec::new();
    for n in sizes() {
        let started = Instant::now();
        let inputs = inputs(n, &base, &real);
        eprintln!(
            "scale N={n}: {} names, {} bytes of names, {} entities, generated in {} ms",
            inputs.names.len(),
            inputs.bytes,
            inputs.gazetteer.len(),
            started.elapsed().as_millis()
        );
        // The number of folded names decides whether alam builds a DFA.
        let mut surfaces = None;
        let (build_time, scan_time) = match n {
            0..=10_000 => (Duration::from_secs(1), Duration::from_secs(1)),
            _ => (Duration::from_secs(3), Duration::from_secs(2)),
        };
        for engine in ENGINES {
            if let Some(why) = engine.skip(n, surfaces.unwrap_or(0)) {
                eprintln!("scale N={n} {}: skipped, {why}", engine.name());
                continue;
            }
            // One build, measured apart: wall and CPU time, heap bytes, peak resident set.
            let gazetteer =
                if engine.is_alam() { inputs.gazetteer.clone() } else { Gazetteer::new() };
            let rss_before = reset_peak_rss();
            let cpu_before = cpu_time();
            let started = Instant::now();
            let built = engine.build(&inputs.names, gazetteer);
            let wall = started.elapsed();
            let cpu = cpu_time().zip(cpu_before).map(|(a, b)| a.saturating_sub(b));
            let peak = proc_status("VmHWM:").zip(rss_before).map(|(p, b)| p.saturating_sub(b));
            if let Built::Alam(e) = &built {
                surfaces.get_or_insert_with(|| e.surfaces().count());
            }
            let memory = built.memory();
            let found = built.scan(&text);
            let mib = |b: u64| format!("{:.1} MiB", b as f64 / f64::from(1 << 20));
            eprintln!(
                "scale N={n} {} memory={memory} bytes ({}) build={} ms cpu={} ms \
                 peak_rss_delta={} matches={found}",
                engine.name(),
                mib(memory as u64),
                wall.as_millis(),
                cpu.map_or("n/a".to_string(), |c| c.as_millis().to_string()),
                peak.map_or("n/a".to_string(), mib),
            );
            let id = |what: &str| format!("{what}/{n}/{}", engine.name());
            figures.push(Figure { name: id("scale_memory"), unit: "bytes", value: memory as u64 });
            if let Some(p) = peak {
                figures.push(Figure { name: id("scale_peak_rss"), unit: "bytes", value: p });
            }
            figures.push(Figure {
                name: id("scale_build_ms"),
                unit: "ms",
                value: wall.as_millis() as u64,
            });
            write_figures(&figures);

            let mut group = c.benchmark_group(format!("scale_extract/{n}"));
            group
                .sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(scan_time)
                .throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(
                BenchmarkId::from_parameter(engine.name()),
                text.as_str(),
                |b, text| b.iter(|| built.scan(black_box(text))),
            );
            group.finish();
            drop(built);

            if !engine.bench_build(n) {
                continue;
            }
            let mut group = c.benchmark_group(format!("scale_build/{n}"));
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(build_time)
                .throughput(Throughput::Bytes(inputs.bytes));
            group.bench_function(BenchmarkId::from_parameter(engine.name()), |b| {
                // The gazetteer alam consumes is cloned outside the timed part.
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let gazetteer = if engine.is_alam() {
                            inputs.gazetteer.clone()
                        } else {
                            Gazetteer::new()
                        };
                        let started = Instant::now();
                        let built = black_box(engine.build(&inputs.names, gazetteer));
                        total += started.elapsed();
                        drop(built);
                    }
                    total
                })
            });
            group.finish();
        }
    }
}

criterion_group!(benches, scale);
criterion_main!(benches);
