//! Inputs shared by the benchmark suites.

use std::path::{Path, PathBuf};

/// The five seed articles concatenated, in file-name order.
pub fn seed_text() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("seeds/ is readable")
        .map(|e| e.expect("seeds/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds/*.txt");
    paths.iter().map(|p| std::fs::read_to_string(p).expect("seed is UTF-8")).collect()
}

/// `text` repeated until it reaches at least `len` bytes.
pub fn repeat_to(text: &str, len: usize) -> String {
    text.repeat(len.div_ceil(text.len().max(1)))
}
