//! Embeds every `gazetteers/*.tsv` file (sorted by name) as the default gazetteer, so that adding
//! an entity file needs no code change. Rule files live in `gazetteers/rules/` and are not
//! entity files.

use std::env;
use std::fmt::Write;
use std::path::{Path, PathBuf};

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
    let out =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("default_gazetteer.rs");
    std::fs::write(out, code).expect("write default_gazetteer.rs");
}
