//! The vector blocks of the fast folding pass (64 bytes at a time, where the processor has AVX2)
//! against the plain reference pass, on texts made like news: runs of Arabic words of every
//! length, with the letters that fold in place (أ ة ى...), the odd haraka or tatweel, single
//! spaces, punctuation, guillemets, Latin words and digits, and now and then a character that
//! the blocks leave to the scalar loop. Each text is also tried behind every prefix length
//! from 0 to 64 bytes, so that its characters fall on every position of a block.
//!
//! The case count is proptest's default (256) and follows `PROPTEST_CASES`:
//!
//! ```text
//! PROPTEST_CASES=20000 cargo test --release --test normalize_blocks
//! ```

use alam::{fold, normalize, NormalizeOptions, Normalized};
use proptest::prelude::*;

/// One Arabic letter: mostly ones the fold keeps, often ones it changes in place.
fn letter() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => (0x0628u32..=0x063A).prop_map(|c| char::from_u32(c).unwrap_or('ب')),
        8 => (0x0641u32..=0x064A).prop_map(|c| char::from_u32(c).unwrap_or('ب')),
        4 => prop::sample::select(&['ا', 'ل', 'و', 'ي', 'ن', 'م'][..]),
        4 => prop::sample::select(
            &['أ', 'إ', 'آ', 'ٱ', 'ى', 'ة', 'ؤ', 'ئ', 'ک', 'ی', 'ے', 'ء'][..]
        ),
        1 => (0x0671u32..=0x06D3).prop_map(|c| char::from_u32(c).unwrap_or('ب')),
    ]
}

/// What may follow a letter inside a word: mostly nothing, sometimes a mark that the fold
/// removes, rarely two.
fn after_letter() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        30 => Just(""),
        2 => prop::sample::select(&["\u{064E}", "\u{064F}", "\u{0650}", "\u{0651}", "\u{0652}",
            "\u{064B}", "\u{0670}", "\u{0640}"][..]),
        1 => prop::sample::select(&["\u{0651}\u{064E}", "\u{0640}\u{0640}", "\u{064E}\u{0640}"][..]),
    ]
}

/// An Arabic word of 1 to 40 letters (the long ones cross blocks).
fn arabic_word() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec((letter(), after_letter()), 1..9),
        1 => prop::collection::vec((letter(), after_letter()), 9..40),
    ]
    .prop_map(|letters| {
        letters.into_iter().flat_map(|(c, mark)| std::iter::once(c).chain(mark.chars())).collect()
    })
}

/// A word of another kind: Latin, digits (ASCII, Arabic-Indic), punctuation glued to it.
fn other_word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z]{1,12}",
        2 => "[0-9]{1,6}",
        1 => "[٠-٩]{1,4}",
        1 => "[a-z]{1,5}[0-9]{1,3}",
    ]
}

/// What separates words: mostly one space, sometimes punctuation, guillemets, line breaks,
/// white space runs, or a character outside the blocks' classes.
fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        40 => Just(" "),
        3 => prop::sample::select(&["، ", ". ", ": ", "؛ ", "؟ ", "! ", " (", ") ", " - ", "/"][..]),
        3 => prop::sample::select(&[" «", "» ", "«", "»", " \"", "\" "][..]),
        2 => prop::sample::select(&["\n", ".\n", "\n\n", "  ", " \n", "\t", "\r\n"][..]),
        1 => prop::sample::select(&["\u{A0}", " \u{A0}", "\u{AD}", "\u{B7}", "\u{B0}", "\u{D7}",
            "\u{E9}", "\u{3B1}", "\u{5D0}"][..]),
        1 => prop::sample::select(&[" \u{201C}", "\u{201D} ", " \u{2013} ", "\u{200F}",
            "\u{200C}", "\u{FEFF}", "\u{FEFB}", "\u{2026}", "\u{1F600}"][..]),
    ]
}

/// A news-like text: words and separators, a few bytes to a few kilobytes.
fn news() -> impl Strategy<Value = String> {
    let word = prop_oneof![5 => arabic_word(), 1 => other_word()];
    prop::collection::vec((word, separator()), 0..300).prop_map(|parts| {
        let mut text = String::new();
        for (word, separator) in parts {
            text.push_str(&word);
            text.push_str(separator);
        }
        text
    })
}

/// Mostly the default options, as in use, sometimes one switch off.
fn options() -> impl Strategy<Value = NormalizeOptions> {
    (0usize..20).prop_map(|k| {
        let mut o = NormalizeOptions::default();
        match k {
            0 => o.harakat = false,
            1 => o.tatweel = false,
            2 => o.alef = false,
            3 => o.teh_marbuta = false,
            4 => o.persian = false,
            5 => o.digits = false,
            6 => o.invisible = false,
            7 => o.latin_case = false,
            8 => o.spaces = false,
            9 => o.alef_maksura = false,
            10 => o.hamza = false,
            _ => {}
        }
        o
    })
}

/// The fast pass and the reference agree on `text`: folded text, word starts and ends, and the
/// original offset of every folded position; and the fold without a map is the same text.
fn check(text: &str, options: &NormalizeOptions) -> Result<(), TestCaseError> {
    let reference = Normalized::reference(text, options).unwrap();
    let fast = normalize(text, options).unwrap();
    prop_assert_eq!(fast.text(), reference.text(), "folded text of {:?}", text);
    prop_assert_eq!(fast.word_starts(), reference.word_starts(), "word starts of {:?}", text);
    prop_assert_eq!(fast.word_ends(), reference.word_ends(), "word ends of {:?}", text);
    for pos in 0..=reference.text().len() {
        prop_assert_eq!(
            fast.original_start(pos),
            reference.original_start(pos),
            "original_start({}) of {:?}",
            pos,
            text
        );
    }
    prop_assert_eq!(fold(text, options), reference.text(), "fold of {:?}", text);
    Ok(())
}

proptest! {
    #[test]
    fn blocks_match_reference(text in news(), options in options(), shift in 0usize..8) {
        check(&text, &options)?;
        // The same text behind prefixes of every length: ASCII, two-byte letters, or a space
        // (which may collapse with white space at the start of the text).
        for len in (shift..=64).step_by(8) {
            let prefix = match len % 3 {
                0 => "x".repeat(len),
                1 => format!("{} ", "ب".repeat(len / 2)),
                _ => " ".repeat(len),
            };
            check(&format!("{prefix}{text}"), &options)?;
        }
    }
}
