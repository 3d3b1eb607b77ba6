//! The fast folding pass against the plain reference pass (`Normalized::reference`,
//! `Normalized::fold_reference`, hidden from the docs): same folded text, same word starts, same
//! map back to the original, for random texts and random options.
//!
//! The case count is proptest's default (256) and follows `PROPTEST_CASES`:
//!
//! ```text
//! PROPTEST_CASES=20000 cargo test --release --test normalize_fast
//! ```

use alam::{fold, normalize, NormalizeOptions, Normalized};
use proptest::prelude::*;
use proptest::sample::Index;

/// Pieces of text the fast pass treats differently, by kind.
fn piece() -> impl Strategy<Value = String> {
    let chars = |ranges: &'static [(u32, u32)]| {
        prop::sample::select(ranges).prop_flat_map(|(lo, hi)| {
            (lo..=hi).prop_map(|c| char::from_u32(c).map(String::from).unwrap_or_default())
        })
    };
    prop_oneof![
        // Arabic letters that the fold keeps, in words.
        12 => prop::collection::vec(0x0621u32..=0x064A, 1..12).prop_map(|cs| cs
            .into_iter()
            .filter_map(char::from_u32)
            .collect()),
        6 => Just(" ".to_string()),
        // Letters that fold to others: alef forms, alef maksura, teh marbuta, hamza, Persian.
        4 => prop::sample::select(&[
            "\u{0622}", "\u{0623}", "\u{0625}", "\u{0671}", "\u{0649}", "\u{0629}", "\u{0624}",
            "\u{0626}", "\u{06A9}", "\u{06CC}", "\u{06D2}", "\u{0627}", "\u{064A}", "\u{0647}",
        ][..]).prop_map(String::from),
        // Harakat, dagger alef, tatweel, Quranic marks.
        3 => chars(&[(0x064B, 0x065F), (0x0670, 0x0670), (0x0640, 0x0640), (0x0610, 0x061A),
            (0x06D6, 0x06ED)]),
        // Anything in the Arabic block.
        3 => chars(&[(0x0600, 0x06FF)]),
        // ASCII: letters, digits, punctuation, controls.
        3 => chars(&[(0x41, 0x5A), (0x61, 0x7A), (0x30, 0x39)]),
        2 => chars(&[(0x00, 0x7F)]),
        // Arabic-Indic and Persian digits.
        2 => chars(&[(0x0660, 0x0669), (0x06F0, 0x06F9)]),
        // White space of every kind, and runs of it.
        3 => chars(&[(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
            (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
            (0x3000, 0x3000)]),
        1 => prop::sample::select(&["  ", "\n\n", " \t ", "\r\n", "\u{A0} "][..])
            .prop_map(String::from),
        // Presentation forms (the BOM among them).
        2 => chars(&[(0xFB50, 0xFDFF), (0xFE70, 0xFEFF)]),
        // Invisible marks and dashes.
        2 => chars(&[(0x200B, 0x200F), (0x061C, 0x061C), (0xAD, 0xAD), (0x2060, 0x2060),
            (0x202A, 0x202E), (0x2066, 0x2069), (0x2010, 0x2015), (0x2212, 0x2212)]),
        // Two-byte characters (U+0080..U+07FF), all in the fast tables: guillemets, NBSP,
        // Latin-1 letters and signs, Latin Extended, IPA, combining marks, Greek, Cyrillic,
        // Armenian, Hebrew, Syriac, Thaana, NKo, and runs of them.
        3 => prop::sample::select(&["\u{AB}", "\u{BB}", "\u{A0}", "\u{85}", "\u{AD}", "\u{AB}\u{0628}",
            "\u{0628}\u{BB}", "\u{A0}\u{A0}", " \u{A0}", "\u{A0} ", "\u{E9}t\u{E9}", "\u{C9}",
            "\u{BB}.", "(\u{AB}"][..]).prop_map(String::from),
        3 => chars(&[(0x80, 0xFF), (0x100, 0x24F), (0x250, 0x2FF), (0x300, 0x36F),
            (0x370, 0x3FF), (0x400, 0x4FF), (0x500, 0x58F), (0x590, 0x5FF), (0x700, 0x74F),
            (0x750, 0x77F), (0x780, 0x7BF), (0x7C0, 0x7FF)]),
        1 => prop::collection::vec(0x80u32..=0x7FF, 1..12).prop_map(|cs| cs
            .into_iter()
            .filter_map(char::from_u32)
            .collect()),
        // Anything at all.
        1 => any::<char>().prop_map(String::from),
    ]
}

/// Texts from a few bytes to several windows of the fast loop (64 bytes), some made of one piece
/// repeated so that long runs cross window boundaries.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(piece(), 0..120).prop_map(|ps| ps.concat()),
        1 => (prop::collection::vec(piece(), 1..6), 1usize..40)
            .prop_map(|(ps, times)| ps.concat().repeat(times)),
    ]
}

/// Every switch of [`NormalizeOptions`], at random (mostly on, as in use).
fn options() -> impl Strategy<Value = NormalizeOptions> {
    prop::collection::vec(prop::bool::weighted(0.8), 14).prop_map(|on| {
        let mut o = NormalizeOptions::default();
        let switches: [&mut bool; 14] = [
            &mut o.harakat,
            &mut o.quranic,
            &mut o.tatweel,
            &mut o.alef,
            &mut o.alef_maksura,
            &mut o.teh_marbuta,
            &mut o.hamza,
            &mut o.persian,
            &mut o.presentation_forms,
            &mut o.digits,
            &mut o.invisible,
            &mut o.latin_case,
            &mut o.dashes,
            &mut o.spaces,
        ];
        for (switch, on) in switches.into_iter().zip(on) {
            *switch = on;
        }
        o
    })
}

/// `fast` and `reference` agree on everything a caller can see.
fn assert_same(text: &str, fast: &Normalized, reference: &Normalized, spans: &[(Index, Index)]) {
    assert_eq!(fast.text(), reference.text(), "folded text of {text:?}");
    assert_eq!(fast.word_starts(), reference.word_starts(), "word starts of {text:?}");
    assert_eq!(fast.word_ends(), reference.word_ends(), "word ends of {text:?}");
    let folded = reference.text();
    for pos in 0..=folded.len() {
        assert_eq!(
            fast.original_start(pos),
            reference.original_start(pos),
            "original_start({pos}) of {text:?} folded to {folded:?}"
        );
    }
    let boundaries: Vec<usize> =
        (0..=folded.len()).filter(|&p| folded.is_char_boundary(p)).collect();
    if boundaries.len() >= 2 {
        for (a, b) in spans {
            let (a, b) = (a.index(boundaries.len()), b.index(boundaries.len()));
            let (start, end) = (boundaries[a.min(b)], boundaries[a.max(b)]);
            if start < end {
                assert_eq!(
                    fast.original_span(text, start, end),
                    reference.original_span(text, start, end),
                    "original_span({start}, {end}) of {text:?} folded to {folded:?}"
                );
            }
        }
    }
}

proptest! {
    #[test]
    fn fast_pass_matches_reference(
        text in text(),
        options in options(),
        previous in text(),
        spans in prop::collection::vec((any::<Index>(), any::<Index>()), 0..16),
    ) {
        let reference = Normalized::reference(&text, &options).unwrap();
        let fast = normalize(&text, &options).unwrap();
        assert_same(&text, &fast, &reference, &spans);
        // Refilling a value that held another text gives the same.
        let mut reused = normalize(&previous, &options).unwrap();
        reused.refill(&text, &options).unwrap();
        assert_same(&text, &reused, &reference, &spans);
        // The fold without a map is the same text.
        prop_assert_eq!(fold(&text, &options), Normalized::fold_reference(&text, &options));
        prop_assert_eq!(fold(&text, &options), reference.text());
    }
}

/// The seed articles, whole, under the default options and with each switch off.
#[test]
fn seeds_match_reference() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let text: String = paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    let mut all = vec![NormalizeOptions::default()];
    for k in 0..14 {
        let mut o = NormalizeOptions::default();
        let switch = match k {
            0 => &mut o.harakat,
            1 => &mut o.quranic,
            2 => &mut o.tatweel,
            3 => &mut o.alef,
            4 => &mut o.alef_maksura,
            5 => &mut o.teh_marbuta,
            6 => &mut o.hamza,
            7 => &mut o.persian,
            8 => &mut o.presentation_forms,
            9 => &mut o.digits,
            10 => &mut o.invisible,
            11 => &mut o.latin_case,
            12 => &mut o.dashes,
            _ => &mut o.spaces,
        };
        *switch = false;
        all.push(o);
    }
    for options in &all {
        let reference = Normalized::reference(&text, options).unwrap();
        let fast = normalize(&text, options).unwrap();
        assert_same(&text, &fast, &reference, &[]);
        assert_eq!(fold(&text, options), reference.text());
    }
}

/// Window edges: a two-byte letter across byte 63/64, spaces and drops at the edges, texts of
/// every length around one and two windows.
#[test]
fn window_edges_match_reference() {
    let units = [
        "ب", "a", " ", "\u{064E}", "ة", "\n", "  ", "٣", "\u{FEFB}", "\u{200F}", "\u{A0}", "«",
        "é", "\u{AD}", "Ж",
    ];
    let options = NormalizeOptions::default();
    for &first in &units {
        for &second in &units {
            for len in 0..140 {
                let mut text = String::new();
                while text.len() < len {
                    text.push_str(if text.len() % 7 == 3 { second } else { first });
                }
                let reference = Normalized::reference(&text, &options).unwrap();
                let fast = normalize(&text, &options).unwrap();
                assert_same(&text, &fast, &reference, &[]);
            }
        }
    }
}
