//! Invariants shared by the fuzz targets. Each check panics (so libFuzzer records a crash) with
//! a message that says which invariant broke.

use std::sync::OnceLock;

use alam::{fold, Extractor, Gazetteer, Mention, NormalizeOptions};

/// The extractor over the embedded default gazetteer, built once per process.
pub fn embedded() -> &'static Extractor {
    static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();
    EXTRACTOR.get_or_init(|| {
        Extractor::new(Gazetteer::embedded().expect("embedded gazetteer"))
            .expect("embedded extractor")
    })
}

/// The proclitic runs a mention may report (README: و ف ب ل ك, وب, ول, ...).
const CLITICS: [&str; 12] = ["", "و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك"];

/// Is `c` an Arabic presentation form: one character that folds to several letters (ﻻ → لا),
/// so a span that must hold whole characters may fold to more than the name.
fn is_presentation_form(c: char) -> bool {
    matches!(c, '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFE}')
}

/// Every invariant of an extraction of `text`:
/// - offsets inside the text and on char boundaries of the original;
/// - mentions sorted and non-overlapping;
/// - `char_start`/`char_end` equal to the code-point counts of the byte offsets;
/// - the clitic is a known proclitic run;
/// - `text[start..end]` folds to the alias that matched, or to its لل form (الجزائر → لجزائر).
///   When the span starts or ends with a presentation form (one character folding to several
///   letters: ﻷ is ل + أ), the span must hold whole characters, so its fold may only be longer
///   than the alias by what that character adds: the alias must still be inside it;
/// - the linked entity is not among its own alternatives.
pub fn check_mentions(text: &str, mentions: &[Mention<'_>]) {
    let options = NormalizeOptions::default();
    let mut last_end = 0usize;
    let mut chars = 0usize;
    for m in mentions {
        assert!(m.start < m.end, "empty or reversed span {}..{}", m.start, m.end);
        assert!(m.end <= text.len(), "span {}..{} past the text ({})", m.start, m.end, text.len());
        assert!(
            text.is_char_boundary(m.start) && text.is_char_boundary(m.end),
            "span {}..{} not on char boundaries",
            m.start,
            m.end
        );
        assert!(m.start >= last_end, "mentions overlap or are unsorted at {}", m.start);
        chars += text[last_end..m.start].chars().count();
        assert_eq!(m.char_start, chars, "char_start of {}..{}", m.start, m.end);
        chars += text[m.start..m.end].chars().count();
        assert_eq!(m.char_end, chars, "char_end of {}..{}", m.start, m.end);
        last_end = m.end;
        assert!(CLITICS.contains(&m.clitic), "unknown clitic {:?}", m.clitic);
        let slice = &text[m.start..m.end];
        let surface = fold(slice, &options);
        let ligature =
            slice.starts_with(is_presentation_form) || slice.ends_with(is_presentation_form);
        if m.entity.is_guessed() {
            // A guessed person name: the slice folds to the guessed name or to its last word
            // (a whole ligature at an edge may add letters), never over a line break.
            let name = m.entity.name_ar();
            let last = name.rsplit(' ').next().unwrap_or(name);
            let exact = name == surface || name.ends_with(&format!(" {surface}"));
            assert!(exact || (ligature && surface.contains(last)), "{slice:?} for {name:?}");
            assert!(!slice.contains(['\n', '\r']), "{slice:?} runs over a line break");
            continue;
        }
        let alias = fold(m.alias, &options).trim().to_string();
        let contracted = alias.strip_prefix('ا').map(str::to_string);
        let exact = surface == alias || Some(&surface) == contracted.as_ref();
        let inside =
            surface.contains(&alias) || contracted.as_ref().is_some_and(|c| surface.contains(c));
        assert!(
            exact || (ligature && inside),
            "slice {slice:?} at {}..{} folds to {surface:?}, not to the alias {:?}",
            m.start,
            m.end,
            m.alias
        );
        assert!(
            m.alternatives.iter().all(|a| a.id() != m.entity.id()),
            "entity {} listed among its own alternatives",
            m.entity.id()
        );
    }
}
