//! Prints the byte frequency ranks of folded Arabic text, the table `person.rs` gives the
//! substring search of lone surnames (`ARABIC_BYTE_RANKS`): 0 for the rarest byte, 255 for the
//! most frequent.
//!
//! ```sh
//! cargo run --release --example byte_ranks -- ../shared/data/anercorp/ANERCorp.txt
//! ```
//!
//! The input is CoNLL (`token TAG` per line, as ANERcorp) or JSONL with a `text` field; its
//! text is folded with the default options before the bytes are counted.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: byte_ranks FILE (CoNLL: token per line; or JSONL with a \"text\" field)");
        return ExitCode::from(2);
    };
    let data = match std::fs::read_to_string(&path) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("byte_ranks: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let text: Vec<String> = if path.ends_with(".jsonl") {
        data.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|record| record["text"].as_str().map(String::from))
            .collect()
    } else {
        data.lines().filter_map(|line| line.split_whitespace().next()).map(String::from).collect()
    };
    let folded = alam::fold(&text.join(" "), &alam::NormalizeOptions::default());
    let mut counts = [0u64; 256];
    for &b in folded.as_bytes() {
        counts[usize::from(b)] += 1;
    }
    // Rarest first; bytes never seen, then ties, by value.
    let mut order: Vec<u8> = (0..=255).collect();
    order.sort_by_key(|&b| (counts[usize::from(b)], b));
    let mut ranks = [0u8; 256];
    for (rank, &b) in order.iter().enumerate() {
        ranks[usize::from(b)] = rank as u8;
    }
    println!("{ranks:?}");
    ExitCode::SUCCESS
}
