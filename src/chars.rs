//! Character classes on folded text: word characters, proclitic runs and the quotes that may
//! stand between a proclitic and a name. Shared by the matcher and the risky-name context rules.

pub(crate) use crate::normalize::is_word_char;

/// The proclitic runs that may start a word before a name (ARABIC.md section 2), longest first:
/// و ف ب ل ك alone, and و or ف followed by ب ل or ك.
pub(crate) const CLITIC_RUNS: [&str; 11] =
    ["وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك"];

/// Quotes and guillemets that may stand between a proclitic and a name: بـ"الفيلق الأفريقي".
#[inline]
pub(crate) fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '«' | '»' | '“' | '”' | '„' | '‘' | '’' | '‹' | '›')
}

/// Does a word start at byte `pos` of `text` (start of text, or after a non-word character)?
#[inline]
pub(crate) fn is_word_start(text: &str, pos: usize) -> bool {
    !word_char_before(text, pos)
}

/// Does a word end at byte `pos` of `text` (end of text, or before a non-word character)?
#[inline]
pub(crate) fn is_word_end(text: &str, pos: usize) -> bool {
    !word_char_at(text, pos)
}

/// Whether the two-byte character `lead, cont` (U+0080..U+07FF: `lead` in 0xC2..0xE0) is a
/// word character: a bit of the table [`is_word_char`] reads, with no decoding.
#[inline]
fn two_byte_word(lead: u8, cont: u8) -> bool {
    let cp = usize::from(lead & 0x1F) << 6 | usize::from(cont & 0x3F);
    crate::normalize::two_byte_word_char(cp - 0x80)
}

/// Whether the character that starts at byte `pos` (a char boundary) is a word character;
/// `false` at the end. ASCII and two-byte characters (the Arabic block) without decoding.
#[inline]
fn word_char_at(text: &str, pos: usize) -> bool {
    let bytes = text.as_bytes();
    match bytes.get(pos) {
        None => false,
        Some(&b) if b < 0x80 => b.is_ascii_alphanumeric(),
        Some(&b) if (0xC2..0xE0).contains(&b) => {
            bytes.get(pos + 1).is_some_and(|&c| two_byte_word(b, c))
        }
        Some(_) => text[pos..].chars().next().is_some_and(is_word_char),
    }
}

/// Whether the character that ends at byte `pos` (a char boundary) is a word character;
/// `false` at the start.
#[inline]
pub(crate) fn word_char_before(text: &str, pos: usize) -> bool {
    let bytes = text.as_bytes();
    let Some(&last) = pos.checked_sub(1).and_then(|i| bytes.get(i)) else { return false };
    if last < 0x80 {
        return last.is_ascii_alphanumeric();
    }
    // A lead byte is never a continuation byte: a lead of two before `pos` is a two-byte char.
    if let Some(&lead) = pos.checked_sub(2).and_then(|i| bytes.get(i)) {
        if (0xC2..0xE0).contains(&lead) {
            return two_byte_word(lead, last);
        }
    }
    text[..pos].chars().next_back().is_some_and(is_word_char)
}

/// The proclitic letter (و ف ب ل ك) whose two UTF-8 bytes start at byte `at` of `bytes`, if
/// one does: a table lookup on the bytes, no decoding, and no branch on which letter it is
/// (about a quarter of the words of news start with one of them, unpredictably).
#[inline]
pub(crate) fn proclitic_at(bytes: &[u8], at: usize) -> Option<char> {
    const LETTERS: [Option<char>; 6] =
        [None, Some('و'), Some('ف'), Some('ب'), Some('ل'), Some('ك')];
    LETTERS[proclitic_code(bytes, at) as usize]
}

/// The proclitic letters' codes, indexed by the lead byte's low bit (0xD8 or 0xD9) and then the
/// second byte's six bits.
const PROCLITIC_CODES: [u8; 128] = {
    let mut codes = [0; 128];
    codes[64 | 0x08] = 1; // و U+0648: D9 88
    codes[64 | 0x01] = 2; // ف U+0641: D9 81
    codes[0x28] = 3; // ب U+0628: D8 A8
    codes[64 | 0x04] = 4; // ل U+0644: D9 84
    codes[64 | 0x03] = 5; // ك U+0643: D9 83
    codes
};

/// The end of the word that starts at byte `at` of `text` (the next non-word character, or
/// the end of the text).
pub(crate) fn word_end(text: &str, at: usize) -> usize {
    // ASCII and two-byte characters by their bytes (as `word_char_at`), the rest decoded.
    let bytes = text.as_bytes();
    let mut i = at;
    while let Some(&b) = bytes.get(i) {
        let len = match b {
            0..0x80 if b.is_ascii_alphanumeric() => 1,
            0xC2..0xE0 if bytes.get(i + 1).is_some_and(|&c| two_byte_word(b, c)) => 2,
            0..0xE0 => return i,
            _ => match text[i..].chars().next() {
                Some(c) if is_word_char(c) => c.len_utf8(),
                _ => return i,
            },
        };
        i += len;
    }
    i
}

/// The proclitic run that ends at byte `pos` and itself starts a word, if there is one.
/// Returns the run as a static string and its start. The longest run wins (وب over ب).
pub(crate) fn clitic_before(text: &str, pos: usize) -> Option<(&'static str, usize)> {
    // Every proclitic letter is two bytes in UTF-8.
    let bytes = text.as_bytes();
    let letter = |at: usize| proclitic_at(bytes, at);
    let last = letter(pos.checked_sub(2)?)?;
    if let Some(first) = pos.checked_sub(4).and_then(letter) {
        if let Some(run) = pair_run(first, last).filter(|_| is_word_start(text, pos - 4)) {
            return Some((run, pos - 4));
        }
    }
    if is_word_start(text, pos - 2) {
        return Some((single_run(last), pos - 2));
    }
    None
}

/// The proclitic runs that start the word at `ws`, which must be a word start: the first
/// letter when it is a proclitic, then the first two when they make a run (وب, فل...), each
/// with where it ends: the positions after which [`clitic_before`] finds a run starting at `ws`,
/// found without looking before `ws` again.
#[inline(always)]
pub(crate) fn runs_at_word_start(bytes: &[u8], ws: usize) -> [Option<(&'static str, usize)>; 2] {
    let Some(first) = proclitic_at(bytes, ws) else { return [None, None] };
    let pair = proclitic_at(bytes, ws + 2).and_then(|second| pair_run(first, second));
    [Some((single_run(first), ws + 2)), pair.map(|run| (run, ws + 4))]
}

/// Whether the word at `ws` (a word start) starts with a one-letter and with a two-letter
/// proclitic run: the runs of [`runs_at_word_start`], found with table lookups and no branch on
/// the letters, for loops that decide many words before acting on any.
#[inline(always)]
pub(crate) fn run_kinds_at(bytes: &[u8], ws: usize) -> (bool, bool) {
    // Bit `6 * first + second` over the codes of `proclitic_code`: وب ول وك فب فل فك.
    const PAIRS: u64 = 0b111 << (6 + 3) | 0b111 << (12 + 3);
    let first = proclitic_code(bytes, ws);
    let second = proclitic_code(bytes, ws + 2);
    (first != 0, PAIRS >> (6 * first + second) & 1 == 1)
}

/// The code of the proclitic letter at `at` (1 و, 2 ف, 3 ب, 4 ل, 5 ك), 0 for anything else
/// (out of bounds too), found without branches.
#[inline(always)]
fn proclitic_code(bytes: &[u8], at: usize) -> u32 {
    let lead = bytes.get(at).copied().unwrap_or(0);
    let second = bytes.get(at + 1).copied().unwrap_or(0);
    let valid = u8::from(lead & 0xFE == 0xD8) & u8::from(second & 0xC0 == 0x80);
    u32::from(PROCLITIC_CODES[usize::from(lead & 1) << 6 | usize::from(second & 0x3F)] * valid)
}

/// The two-letter proclitic run of `first` then `second`, if they make one.
fn pair_run(first: char, second: char) -> Option<&'static str> {
    match (first, second) {
        ('و', 'ب') => Some("وب"),
        ('و', 'ل') => Some("ول"),
        ('و', 'ك') => Some("وك"),
        ('ف', 'ب') => Some("فب"),
        ('ف', 'ل') => Some("فل"),
        ('ف', 'ك') => Some("فك"),
        _ => None,
    }
}

/// The one-letter proclitic run of `letter` (one of و ف ب ل ك).
fn single_run(letter: char) -> &'static str {
    match letter {
        'و' => "و",
        'ف' => "ف",
        'ب' => "ب",
        'ل' => "ل",
        _ => "ك",
    }
}

/// Where a name that starts at byte `pos` may begin: the clitic reported for it and the start of
/// its token, or `None` when `pos` is inside a word. A clitic separated from the name by quotes
/// (بـ"الفيلق) is still reported, though the token then starts at the name.
pub(crate) fn name_start(text: &str, pos: usize) -> Option<(&'static str, usize)> {
    if is_word_start(text, pos) {
        let quotes_start = text[..pos]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_quote(c))
            .last()
            .map(|(i, _)| i);
        if let Some(q) = quotes_start {
            if let Some((run, _)) = clitic_before(text, q) {
                return Some((run, pos));
            }
        }
        return Some(("", pos));
    }
    clitic_before(text, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proclitic_letters_by_their_bytes() {
        for c in ['و', 'ف', 'ب', 'ل', 'ك'] {
            assert_eq!(proclitic_at(c.to_string().as_bytes(), 0), Some(c));
        }
        for c in ('\u{0}'..='\u{7FF}').filter(|c| !"وفبلك".contains(*c)) {
            let mut bytes = c.to_string().into_bytes();
            bytes.push(0x80);
            assert_eq!(proclitic_at(&bytes, 0), None, "{c:?}");
        }
        assert_eq!(proclitic_at("و".as_bytes(), 1), None);
        assert_eq!(proclitic_at(&[0xD9], 0), None);
    }

    proptest::proptest! {
        /// At a word start, the runs found forward are the runs `clitic_before` finds back from
        /// two and four bytes on.
        #[test]
        fn runs_at_word_starts_are_the_runs_found_back(
            letters in proptest::collection::vec(
                proptest::sample::select(&['و', 'ف', 'ب', 'ل', 'ك', 'ا', 'م', ' ', '«', 'a'][..]),
                0..12,
            )
        ) {
            let text: String = letters.into_iter().collect();
            let bytes = text.as_bytes();
            for ws in (0..text.len()).filter(|&p| text.is_char_boundary(p)) {
                if !is_word_start(&text, ws) || !text[ws..].chars().next().is_some_and(is_word_char) {
                    continue;
                }
                let back: Vec<(&str, usize)> = [ws + 2, ws + 4]
                    .into_iter()
                    .filter(|&p| p <= text.len() && text.is_char_boundary(p))
                    .filter_map(|p| clitic_before(&text, p).filter(|r| r.1 == ws).map(|r| (r.0, p)))
                    .collect();
                let forward: Vec<(&str, usize)> =
                    runs_at_word_start(bytes, ws).into_iter().flatten().collect();
                proptest::prop_assert_eq!(forward, back, "{:?} at {}", text, ws);
            }
        }
    }

    proptest::proptest! {
        /// The branch-free run kinds are the runs `runs_at_word_start` finds, at every position
        /// (word starts and others, near the end of the text too).
        #[test]
        fn run_kinds_are_the_runs_found(
            letters in proptest::collection::vec(
                proptest::sample::select(&['و', 'ف', 'ب', 'ل', 'ك', 'ا', 'م', ' ', 'ت', 'a', 'ـ'][..]),
                0..12,
            )
        ) {
            let text: String = letters.into_iter().collect();
            let bytes = text.as_bytes();
            for at in (0..text.len()).filter(|&p| text.is_char_boundary(p)) {
                let runs = runs_at_word_start(bytes, at);
                let kinds = run_kinds_at(bytes, at);
                proptest::prop_assert_eq!(kinds, (runs[0].is_some(), runs[1].is_some()), "{:?} at {}", text, at);
            }
        }
    }

    proptest::proptest! {
        /// The bytewise word end is the first character that is no word character, from every
        /// position: ASCII, the Arabic block with its harakat and punctuation, other two-byte,
        /// three- and four-byte characters.
        #[test]
        fn word_end_is_the_first_non_word_character(
            text in "[a-z0-9 .\u{A0}«»é؟،ـ\u{64B}\u{670}مالي١٢€漢\u{200C}😀-]{0,24}"
        ) {
            for at in (0..=text.len()).filter(|&p| text.is_char_boundary(p)) {
                let expected = text[at..].find(|c: char| !is_word_char(c)).map_or(text.len(), |i| at + i);
                proptest::prop_assert_eq!(word_end(&text, at), expected, "{:?} at {}", text, at);
            }
        }
    }

    #[test]
    fn word_boundaries_match_the_char_definitions() {
        let text = "a؟بـ«x» مالي‌١٢ é€漢😀 -";
        for pos in (0..=text.len()).filter(|&p| text.is_char_boundary(p)) {
            let before = text[..pos].chars().next_back().is_some_and(is_word_char);
            let at = text[pos..].chars().next().is_some_and(is_word_char);
            assert_eq!(is_word_start(text, pos), !before, "start at {pos}");
            assert_eq!(is_word_end(text, pos), !at, "end at {pos}");
        }
    }

    #[test]
    fn clitic_runs() {
        let rows: &[(&str, usize, Option<&str>)] = &[
            ("وباماكو", "و".len(), Some("و")),
            ("وبموسكو", "وب".len(), Some("وب")),
            ("لمالي", "ل".len(), Some("ل")),
            ("في باماكو", "في ".len(), Some("")),
            // "غاو" inside a longer word: the letters before are no proclitic run.
            ("مغاور", "م".len(), None),
            // Three letters are not a run.
            ("وببباماكو", "وببب".len(), None),
            ("ب\"الفيلق", "ب\"".len(), Some("ب")),
            ("ب \"الفيلق", "ب \"".len(), Some("")),
        ];
        for (text, pos, expected) in rows {
            assert_eq!(name_start(text, *pos).map(|(c, _)| c), *expected, "help: {text}");
        }
    }
}
