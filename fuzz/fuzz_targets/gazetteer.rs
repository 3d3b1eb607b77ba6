//! The gazetteer TSV loader on arbitrary bytes (decoded lossily, as `from_tsv` takes `&str`).
//!
//! Invariants: `Gazetteer::from_tsv` returns Ok or Err, never panics; an error is a gazetteer
//! error that names the file (`fuzz.tsv`) and a line inside the file (0 only when not tied to
//! one); a gazetteer that loads has unique ids, names that fold to two characters or more, builds
//! an extractor, and every name of it is found when it is the whole text (context rule off).
#![no_main]

use std::collections::HashSet;

use alam::{fold, ErrorKind, Extractor, Gazetteer, NormalizeOptions};
use alam_fuzz::check_mentions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tsv = String::from_utf8_lossy(data);
    let gazetteer = match Gazetteer::from_tsv("fuzz.tsv", &tsv) {
        Ok(g) => g,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.tsv"), "error does not name the file: {message}");
            match e.kind() {
                ErrorKind::Gazetteer { file, line, .. } => {
                    assert_eq!(file, "fuzz.tsv");
                    assert!(*line <= tsv.lines().count(), "line {line} past the end");
                }
                other => panic!("unexpected error kind {other:?}"),
            }
            return;
        }
    };
    let options = NormalizeOptions::default();
    let mut ids = HashSet::new();
    for entity in gazetteer.entities() {
        assert!(ids.insert(entity.id().to_string()), "duplicate id {}", entity.id());
        assert!(gazetteer.get(entity.id()).is_some());
        for name in entity.names() {
            let folded = fold(name.text(), &options);
            assert!(folded.trim().chars().count() >= 2, "name {:?} folds too short", name.text());
        }
    }
    let _ = gazetteer.conflicts();
    let extractor = Extractor::builder()
        .require_context(false)
        .build(gazetteer)
        .expect("a gazetteer that loads builds an extractor");
    for entity in extractor.gazetteer().entities().iter().take(32) {
        for name in entity.names().take(8) {
            let found = extractor.extract(name.text()).expect("short text");
            check_mentions(name.text(), &found);
            assert!(!found.is_empty(), "name {:?} of {} not found alone", name.text(), entity.id());
        }
    }
});
