//! Embeds every `gazetteers/*.tsv` file (sorted by name) as the default gazetteer, so that adding
//! an entity file needs no code change. Rule files live in `gazetteers/rules/` and are not
//! entity files.
//!
//! Also lays out the hash table of the shipped common words (`gazetteers/rules/common_words.txt`,
//! looked up by `src/commonwords.rs`), so that no run builds a set of them.

use std::env;
use std::fmt::Write;
use std::path::{Path, PathBuf};

include!("src/wordhash.rs");

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("gazetteers");
    println!("cargo:rerun-if-changed=gazetteers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("gazetteers/ must exist")
        .map(|e| e.expect("readable gazetteers/ entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut code =
        String::from("/// The default gazetteer files: `(file name, contents)`, sorted by name.\n");
    code.push_str("pub(crate) const DEFAULT_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name");
        writeln!(
            code,
            "    (\"gazetteers/{name}\", include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to String");
    }
    code.push_str("];\n");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("default_gazetteer.rs"), code).expect("write default_gazetteer.rs");
    println!("cargo:rerun-if-changed=src/wordhash.rs");
    common_words(&dir.join("rules/common_words.txt"), &out_dir.join("common_words.rs"));
}

/// Slots of the common words' table: a power of two at least this many times the words (linear
/// probing stays short).
const SLOTS_PER_WORD: usize = 2;

/// Writes the common words' table: the file's text, and for each slot 0 (empty) or a word's
/// start in the text and its length, `start << 8 | len`, at the slot its hash gives or, taken,
/// the next free one.
fn common_words(path: &Path, out: &Path) {
    let text = std::fs::read_to_string(path).expect("gazetteers/rules/common_words.txt");
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut start = 0;
    for line in text.split('\n') {
        let word = line.trim();
        if !word.is_empty() && !word.starts_with('#') {
            let at = start + (line.len() - line.trim_start().len());
            words.push((at, word));
        }
        start += line.len() + 1;
    }
    let n = (words.len() * SLOTS_PER_WORD).next_power_of_two();
    let mut slots = vec![0u32; n];
    let mut longest_probe = 0;
    let mut seen = std::collections::HashSet::new();
    for &(at, word) in &words {
        if !seen.insert(word) {
            continue;
        }
        assert!(word.len() < 256 && at > 0 && at < 1 << 24, "{word:?} at {at} does not fit a slot");
        let mut i = word_hash(word.as_bytes()) as usize & (n - 1);
        let mut probe = 0;
        while slots[i] != 0 {
            i = (i + 1) & (n - 1);
            probe += 1;
        }
        longest_probe = longest_probe.max(probe);
        slots[i] = ((at as u32) << 8) | word.len() as u32;
    }
    assert!(longest_probe < 64, "the word hash clusters: a probe of {longest_probe} slots");
    let mut code = String::new();
    writeln!(code, "/// The text of `gazetteers/rules/common_words.txt`.")
        .expect("write to String");
    writeln!(code, "const TEXT: &str = include_str!({:?});", path.display().to_string())
        .expect("write to String");
    writeln!(code, "/// The table: `start << 8 | len` of a word of `TEXT`, or 0.").expect("write");
    writeln!(code, "static SLOTS: [u32; {n}] = [").expect("write to String");
    for row in slots.chunks(16) {
        let row: Vec<String> = row.iter().map(u32::to_string).collect();
        writeln!(code, "    {},", row.join(", ")).expect("write to String");
    }
    code.push_str("];\n");
    std::fs::write(out, code).expect("write common_words.rs");
}
