//! Folding and the offset map, on arbitrary bytes (decoded lossily).
//!
//! Invariants: `normalize(s).text() == fold(s)`; folding is idempotent; `original_start` is
//! monotone over every folded byte, lands on char boundaries of the original, gives one source
//! per folded char, and maps the end to `s.len()`; it is exact (each folded char is in the fold
//! of the original char it maps to); `original_span` of a span that ends where a source
//! character ends returns an in-bounds span on char boundaries from the source of its first
//! folded char to the end of the source of its last, never into the next source character;
//! the word starts and ends are the plain pass's, one end after each start, before the next.
#![no_main]

use alam::{fold, normalize, NormalizeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s: &str = &s;
    let options = NormalizeOptions::default();
    let folded = fold(s, &options);
    let n = normalize(s, &options).expect("text under 4 GiB");
    assert_eq!(n.text(), folded, "normalize and fold disagree");
    assert_eq!(fold(&folded, &options), folded, "fold is not idempotent");

    let len = n.text().len();
    let mut last = 0usize;
    for i in 0..=len {
        let o = n.original_start(i);
        assert!(o >= last, "map goes back at folded byte {i}");
        assert!(o <= s.len(), "map past the original at folded byte {i}");
        assert!(s.is_char_boundary(o), "map not on a char boundary at folded byte {i}");
        if i < len {
            assert!(o < s.len(), "folded byte {i} maps to the end of the original");
            if !n.text().is_char_boundary(i) {
                assert_eq!(o, n.original_start(i - 1), "bytes of one folded char map apart");
            }
        }
        last = o;
    }
    assert_eq!(n.original_start(len), s.len(), "last map entry is not the original length");

    // The word starts and ends, found by every path of the fast pass, are the plain pass's
    // (whose ends a unit proptest checks against the runs of word characters).
    let reference = alam::Normalized::reference(s, &options).expect("text under 4 GiB");
    assert_eq!(n.text(), reference.text(), "the fast and the plain pass fold apart");
    assert_eq!(n.word_starts(), reference.word_starts(), "word starts differ");
    assert_eq!(n.word_ends(), reference.word_ends(), "word ends differ");
    for (&start, &end) in n.word_starts().iter().zip(n.word_ends()) {
        assert!(start < end && end as usize <= len, "empty or outside word {start}..{end}");
    }
    for pair in n.word_ends().windows(2).zip(n.word_starts().iter().skip(1)) {
        assert!(pair.0[0] < *pair.1, "a word starts before the one before it ends");
    }

    // The map is exact: every folded character comes from the original character it maps to,
    // which folded alone yields it (a letter, its folded form, a space for white space, or one
    // letter of a presentation form's expansion).
    for (i, folded_char) in n.text().char_indices() {
        let o = n.original_start(i);
        let source = s[o..].chars().next().expect("maps inside the original");
        let alone = fold(source.encode_utf8(&mut [0u8; 4]), &options);
        assert!(
            alone.contains(folded_char),
            "folded {folded_char:?} at {i} maps to {source:?} at {o}, which folds to {alone:?}"
        );
    }

    // original_span over every word-like span that ends at a source boundary (the spans the
    // matcher asks for), bounded so a long input stays fast.
    let bounds: Vec<usize> = n.text().char_indices().map(|(i, _)| i).chain([len]).collect();
    let ends_source = |e: usize| e == len || n.original_start(e) != n.original_start(e - 1);
    for (k, &start) in bounds.iter().enumerate().take(64) {
        for &end in bounds[k + 1..].iter().take(16) {
            if !ends_source(end) {
                continue;
            }
            let (a, b) = n.original_span(s, start, end);
            assert!(a < b && b <= s.len(), "original_span {start}..{end} gave {a}..{b}");
            assert!(s.is_char_boundary(a) && s.is_char_boundary(b));
            assert_eq!(a, n.original_start(start));
            assert!(b >= n.original_start(end - 1), "span ends before its last source");
            assert!(b <= n.original_start(end), "span runs into the next source character");
        }
    }
});
