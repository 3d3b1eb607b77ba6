//! Turns the latest criterion run into figures a CI job can track, and checks same-run ratios.
//!
//! ```sh
//! cargo bench --bench extract --bench batch
//! cargo run --release --example bench_report -- --json bench-figures.json --check benches/thresholds.json
//! ```
//!
//! `--json PATH` writes `[{"name", "unit", "value"}]` (MB/s of input text, bigger is better),
//! the format github-action-benchmark's `customBiggerIsBetter` tool reads. `--check PATH` reads
//! floors for ratios between two benchmarks of the same run (`{"ratios": [{"name", "numerator",
//! "denominator", "floor"}]}`) and exits with status 1 when one falls below its floor. Ratios,
//! not absolute times, because shared machines drift.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Thresholds {
    ratios: Vec<Ratio>,
}

#[derive(Deserialize)]
struct Ratio {
    name: String,
    numerator: String,
    denominator: String,
    floor: f64,
}

/// Every benchmark of the latest run with a byte throughput: (id, MB/s).
fn figures(root: &Path) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "new") {
                    if let Some(figure) = read_figure(&path) {
                        out.push(figure);
                    }
                } else if path.file_name().is_some_and(|n| n != "base" && n != "report") {
                    stack.push(path);
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn read_figure(dir: &Path) -> Option<(String, f64)> {
    let benchmark: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("benchmark.json")).ok()?).ok()?;
    let estimates: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("estimates.json")).ok()?).ok()?;
    let bytes = benchmark["throughput"]["Bytes"].as_f64()?;
    let nanos = estimates["mean"]["point_estimate"].as_f64()?;
    let id = benchmark["full_id"].as_str()?.to_string();
    (nanos > 0.0).then(|| (id, bytes / nanos * 1e3))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut json_out: Option<PathBuf> = None;
    let mut check: Option<PathBuf> = None;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let mut root = target.join("criterion");
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned();
        match (args[i].as_str(), value) {
            ("--json", Some(v)) => json_out = Some(v.into()),
            ("--check", Some(v)) => check = Some(v.into()),
            ("--criterion-dir", Some(v)) => root = v.into(),
            (flag, _) => {
                eprintln!("bench_report: unknown or incomplete flag {flag:?}: use --json PATH, --check PATH, --criterion-dir DIR");
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    let figures = figures(&root);
    if figures.is_empty() {
        eprintln!(
            "bench_report: no criterion results under {}: run cargo bench first",
            root.display()
        );
        return ExitCode::from(2);
    }
    for (name, mbs) in &figures {
        println!("{name:<60} {mbs:>10.1} MB/s");
    }
    if let Some(path) = json_out {
        let list: Vec<Value> =
            figures.iter().map(|(name, v)| json!({"name": name, "unit": "MB/s", "value": (v * 10.0).round() / 10.0})).collect();
        if let Err(e) =
            std::fs::write(&path, serde_json::to_string_pretty(&list).unwrap_or_default() + "\n")
        {
            eprintln!("bench_report: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let Some(path) = check else { return ExitCode::SUCCESS };
    let thresholds: Thresholds = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench_report: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let get = |id: &str| figures.iter().find(|(n, _)| n == id).map(|(_, v)| *v);
    let mut failed = false;
    for r in &thresholds.ratios {
        match (get(&r.numerator), get(&r.denominator)) {
            (Some(a), Some(b)) => {
                let ratio = a / b;
                let ok = ratio >= r.floor;
                failed |= !ok;
                println!(
                    "{} {}: {ratio:.2} (floor {:.2}) = {a:.1} / {b:.1} MB/s",
                    if ok { "ok  " } else { "FAIL" },
                    r.name,
                    r.floor
                );
            }
            _ => println!(
                "skip {}: {} or {} was not measured in this run",
                r.name, r.numerator, r.denominator
            ),
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
