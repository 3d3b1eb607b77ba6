//! Sentence spans: the scope of relations (ARABIC.md section 5).
//!
//! A sentence ends at `.` `!` `؟` `?` `…` and at every line break; `،` (comma) and `؛`
//! (semicolon) do not end one. A run of end marks (`..`, `؟!`) ends one sentence, and the
//! closing quotes or brackets written right after it (`."`, `.»`, `؟)`) belong to it. A dot does
//! not end a sentence between two ASCII letters or digits (`2.5`, `aljazeera.net`, `U.S`) nor
//! after a one-letter word (`د. محمد`, `U.S.`): numbers, addresses and abbreviations.
//!
//! Spans are byte ranges into the original text, trimmed of white space at both ends, in text
//! order, never overlapping; the white space between sentences belongs to none.
//!
//! ```
//! let text = "زار لافروف الجزائر. وقال إن النمو بلغ 2.5 بالمئة؟!\nثم عاد";
//! let spans = alam::sentences(text);
//! let texts: Vec<&str> = spans.iter().map(|r| &text[r.clone()]).collect();
//! assert_eq!(texts, ["زار لافروف الجزائر.", "وقال إن النمو بلغ 2.5 بالمئة؟!", "ثم عاد"]);
//! assert_eq!(alam::sentence_index(&spans, text.find("ثم").unwrap()), 2);
//! ```

use std::ops::Range;

use crate::chars::is_word_char;

/// Does `c` end a sentence by itself (a line break), whatever stands around it?
#[inline]
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}')
}

/// Is `c` an end mark (. ! ؟ ? …)?
#[inline]
fn is_end_mark(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '؟' | '…')
}

/// Closing quotes and brackets that belong to the sentence they follow.
#[inline]
fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '»' | '”' | '’' | '›' | ')' | ']' | '}')
}

/// Is the dot at byte `i` of `text` part of a number, an address or an abbreviation, rather
/// than a sentence end?
fn dot_is_inside(text: &str, i: usize) -> bool {
    let before = text[..i].chars().next_back();
    let after = text[i + 1..].chars().next();
    // 2.5, aljazeera.net, v1.2: ASCII letters or digits on both sides.
    if before.is_some_and(|c| c.is_ascii_alphanumeric())
        && after.is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return true;
    }
    // د. محمد, U.S.: a one-letter word before the dot.
    let mut back = text[..i].chars().rev();
    match (back.next(), back.next()) {
        (Some(c), prev) if is_letter(c) => prev.is_none_or(|p| !is_word_char(p)),
        _ => false,
    }
}

/// `c.is_alphabetic()`, with the two-byte characters (the Arabic block among them: the letter
/// before most dots of Arabic news) from a table computed once instead of Unicode's tables.
fn is_letter(c: char) -> bool {
    static TWO_BYTE: std::sync::OnceLock<[bool; 0x780]> = std::sync::OnceLock::new();
    match c as u32 {
        0..0x80 => c.is_ascii_alphabetic(),
        cp @ 0x80..0x800 => TWO_BYTE.get_or_init(|| {
            std::array::from_fn(|i| {
                char::from_u32(0x80 + i as u32).is_some_and(char::is_alphabetic)
            })
        })[(cp - 0x80) as usize],
        _ => c.is_alphabetic(),
    }
}

/// The bytes that flag a candidate: the ASCII line breaks and end marks, the lead bytes C2 and
/// E2, and 0x9F, the second byte of ؟.
const FLAGGED: [u8; 8] = [b'\n', b'.', b'?', b'\r', b'!', 0x9F, 0xC2, 0xE2];

/// Where the candidate flagged by the byte at `i` starts: `i`, or the byte before for 0x9F, a
/// continuation byte (؟ is two bytes).
#[inline]
fn candidate_at(bytes: &[u8], i: usize) -> usize {
    if bytes[i] == 0x9F {
        i.saturating_sub(1)
    } else {
        i
    }
}

/// The start of every character of `bytes` that may end a sentence, in order: the ASCII line
/// breaks and end marks, the characters led by C2 (U+0085) and E2 (U+2026, U+2028, U+2029), and
/// the character ended by 0x9F (؟ is D8 9F; D8 also starts most Arabic letters, 0x9F is rare):
/// where a [`FLAGGED`] byte is. Three SIMD `memchr` searches merged, so ordinary text costs a
/// fraction of a cycle per byte; the caller checks each candidate. Used where the processor has
/// no AVX2 ([`candidates`]), and by the tests as the reference of the vector path.
struct Candidates<'a> {
    bytes: &'a [u8],
    streams: [std::iter::Peekable<memchr::Memchr3<'a>>; 3],
}

impl<'a> Candidates<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let [a, b, c, d, e, f, g, h] = FLAGGED;
        let streams = [
            memchr::memchr3_iter(a, b, c, bytes).peekable(),
            memchr::memchr3_iter(d, e, f, bytes).peekable(),
            memchr::memchr3_iter(g, h, g, bytes).peekable(),
        ];
        Candidates { bytes, streams }
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let (k, _) = self
            .streams
            .iter_mut()
            .enumerate()
            .filter_map(|(k, s)| s.peek().map(|&i| (k, i)))
            .min_by_key(|&(_, i)| i)?;
        let i = self.streams[k].next()?;
        Some(candidate_at(self.bytes, i))
    }
}

/// The positions [`Candidates`] gives, with AVX2 where the processor has it: one pass that
/// compares 64 bytes at a time with the eight flagged bytes, where the three `memchr` searches
/// restart at every hit (news has a line break, a dot or a quote every few dozen bytes).
fn candidates(bytes: &[u8]) -> Vec<usize> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2.
        return unsafe { avx2::candidates(bytes) };
    }
    // Reserved (an iterator of unknown length would grow it from empty).
    let mut out = reserved(bytes);
    out.extend(Candidates::new(bytes));
    out
}

/// Room for the candidates of `bytes`: news has a flagged byte every 75 bytes or so, so most
/// texts fit at once.
fn reserved(bytes: &[u8]) -> Vec<usize> {
    Vec::with_capacity(bytes.len() / 48)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// [`super::candidates`] with AVX2.
    ///
    /// # Safety
    /// The processor must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn candidates(bytes: &[u8]) -> Vec<usize> {
        let mut out = super::reserved(bytes);
        let mut push = |i: usize| out.push(super::candidate_at(bytes, i));
        let mut base = 0;
        while let Some(block) = bytes.get(base..base + 64) {
            let mut mask = flags(block.as_ptr()) | flags(block[32..].as_ptr()) << 32;
            while mask != 0 {
                push(base + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
            base += 64;
        }
        for (i, &b) in bytes.iter().enumerate().skip(base) {
            if super::FLAGGED.contains(&b) {
                push(i);
            }
        }
        out
    }

    /// The two nibble tables of the flagged bytes: each distinct high nibble of [`FLAGGED`]
    /// gets a bit (six of them, at most eight fit); the high table holds each high nibble's
    /// bit, the low table, for each low nibble, the bits of the high nibbles it is flagged
    /// with. A byte is flagged exactly where its two entries share a bit.
    ///
    /// [`FLAGGED`]: super::FLAGGED
    const NIBBLES: ([u8; 16], [u8; 16]) = {
        let (mut low, mut high) = ([0u8; 16], [0u8; 16]);
        let (mut next, mut i) = (1u8, 0);
        while i < super::FLAGGED.len() {
            let b = super::FLAGGED[i];
            let h = (b >> 4) as usize;
            if high[h] == 0 {
                high[h] = next;
                next <<= 1;
                assert!(next != 0, "more than eight high nibbles");
            }
            low[(b & 0x0F) as usize] |= high[h];
            i += 1;
        }
        (low, high)
    };

    /// One bit per byte of the 32 at `at`: set where the byte is flagged (two table lookups
    /// by nibble, where a comparison with each flagged byte took eight).
    ///
    /// # Safety
    /// AVX2, and 32 readable bytes at `at`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn flags(at: *const u8) -> u64 {
        // SAFETY: 32 readable bytes at `at` (the caller's promise), 16 in each table.
        let (v, low, high) = unsafe {
            (
                _mm256_loadu_si256(at.cast()),
                _mm256_broadcastsi128_si256(_mm_loadu_si128(NIBBLES.0.as_ptr().cast())),
                _mm256_broadcastsi128_si256(_mm_loadu_si128(NIBBLES.1.as_ptr().cast())),
            )
        };
        let nibble = _mm256_set1_epi8(0x0F);
        let low = _mm256_shuffle_epi8(low, _mm256_and_si256(v, nibble));
        let high = _mm256_shuffle_epi8(high, _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble));
        let none = _mm256_cmpeq_epi8(_mm256_and_si256(low, high), _mm256_setzero_si256());
        u64::from(!(_mm256_movemask_epi8(none) as u32))
    }
}

/// The first character at or after `from` that is no white space.
fn first_non_space(text: &str, from: usize) -> Option<usize> {
    text[from..].char_indices().find(|&(_, c)| !c.is_whitespace()).map(|(i, _)| from + i)
}

/// The sentences of `text`, as byte ranges into it (see the module docs for the rules).
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    // News sentences run to about 200 bytes: room for most texts at once.
    let mut out = Vec::with_capacity(text.len() / 128);
    // The start of the current sentence, once a character that is no white space is seen;
    // before that, where to look for it.
    let mut start: Option<usize> = None;
    let mut from = 0;
    for i in candidates(text.as_bytes()) {
        if i < from || !text.is_char_boundary(i) {
            continue; // taken by the last sentence's end marks and closers; or inside a char
        }
        let Some(c) = text[i..].chars().next() else { break };
        if !is_line_break(c) && !is_end_mark(c) {
            continue; // another character with a flagged byte (NBSP, a dash, ٟ...)
        }
        if start.is_none() {
            start = first_non_space(text, from).filter(|&s| s <= i);
        }
        if is_line_break(c) {
            if let Some(s) = start.take() {
                push_trimmed(text, s..i, &mut out);
            }
            from = i + c.len_utf8();
            continue;
        }
        if c == '.' && dot_is_inside(text, i) {
            continue;
        }
        let mut end = i + c.len_utf8();
        for d in text[end..].chars() {
            if is_end_mark(d) || is_closer(d) {
                end += d.len_utf8();
            } else {
                break;
            }
        }
        if let Some(s) = start.take() {
            push_trimmed(text, s..end, &mut out);
        }
        from = end;
    }
    if start.is_none() && from < text.len() {
        start = first_non_space(text, from);
    }
    if let Some(s) = start {
        push_trimmed(text, s..text.len(), &mut out);
    }
    out
}

/// The plain char-by-char version of [`sentences`], which the property test compares it with.
#[cfg(test)]
fn sentences_reference(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_line_break(c) {
            if let Some(s) = start.take() {
                push_trimmed(text, s..i, &mut out);
            }
            continue;
        }
        if start.is_none() {
            if c.is_whitespace() {
                continue;
            }
            start = Some(i);
        }
        let ends = is_end_mark(c) && !(c == '.' && dot_is_inside(text, i));
        if !ends {
            continue;
        }
        // The whole run of end marks, then the closers glued to it.
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if is_end_mark(d) || is_closer(d) {
                end = j + d.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        if let Some(s) = start.take() {
            push_trimmed(text, s..end, &mut out);
        }
    }
    if let Some(s) = start {
        push_trimmed(text, s..text.len(), &mut out);
    }
    out
}

fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let piece = &text[range.clone()];
    let trimmed = piece.trim_end();
    if !trimmed.is_empty() {
        out.push(range.start..range.start + trimmed.len());
    }
}

/// The index of the sentence that holds byte `pos`: the last sentence of `sentences` (as
/// returned by [`sentences`]) that starts at or before `pos`, or 0 when none does. A position in
/// the white space between two sentences gets the earlier one.
pub fn sentence_index(sentences: &[Range<usize>], pos: usize) -> usize {
    sentences.partition_point(|r| r.start <= pos).saturating_sub(1)
}

/// [`sentence_index`] for positions asked in text order (the mentions of a document): each
/// answer is found by stepping on from the last one, so a document's mentions cost one pass
/// over its sentences. A position before the last one asked is searched from the beginning.
#[derive(Debug)]
pub(crate) struct SentenceCursor<'s> {
    sentences: &'s [Range<usize>],
    at: usize,
}

impl<'s> SentenceCursor<'s> {
    pub(crate) fn new(sentences: &'s [Range<usize>]) -> SentenceCursor<'s> {
        SentenceCursor { sentences, at: 0 }
    }

    /// [`sentence_index`] of `pos`.
    pub(crate) fn index(&mut self, pos: usize) -> usize {
        let s = self.sentences;
        if s.get(self.at).is_some_and(|r| r.start > pos) {
            self.at = sentence_index(s, pos);
            return self.at;
        }
        while s.get(self.at + 1).is_some_and(|r| r.start <= pos) {
            self.at += 1;
        }
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The cursor answers as [`sentence_index`] does, for positions in any order (text order
        /// is the usual case, so half the runs sort them).
        #[test]
        fn the_cursor_is_sentence_index(
            mut starts in proptest::collection::vec(0usize..100, 0..12),
            mut positions in proptest::collection::vec(0usize..110, 0..30),
            sorted in proptest::bool::ANY,
        ) {
            starts.sort_unstable();
            starts.dedup();
            let spans: Vec<Range<usize>> = starts.iter().map(|&s| s..s + 1).collect();
            if sorted {
                positions.sort_unstable();
            }
            let mut cursor = SentenceCursor::new(&spans);
            for pos in positions {
                proptest::prop_assert_eq!(cursor.index(pos), sentence_index(&spans, pos), "{}", pos);
            }
        }
    }

    fn split(text: &str) -> Vec<&str> {
        sentences(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn is_letter_is_is_alphabetic() {
        for c in (0..0x3000).filter_map(char::from_u32) {
            assert_eq!(is_letter(c), c.is_alphabetic(), "{c:?}");
        }
    }

    proptest::proptest! {
        /// The byte-scanning version finds exactly the sentences of the char-by-char one (texts
        /// past 64 bytes go through the vector path).
        #[test]
        fn fast_split_equals_the_reference(
            text in proptest::string::string_regex(
                "[ \t\n\r\u{85}\u{2028}\u{2029}\u{A0}.!?؟…،\"'»”’›)\\]}«(a-z0-9مالياة دU😀‟ٟ\u{A0}—]{0,160}"
            ).unwrap()
        ) {
            proptest::prop_assert_eq!(sentences(&text), sentences_reference(&text));
        }

        /// The vector candidates are the three merged `memchr` searches' (with every flagged
        /// byte among the characters, around the 64-byte block edges).
        #[test]
        fn vector_candidates_are_the_memchr_candidates(
            text in proptest::string::string_regex("[ .!?؟…\n\r\u{85}\u{A0}aمٟ—”]{0,200}").unwrap()
        ) {
            let bytes = text.as_bytes();
            proptest::prop_assert_eq!(candidates(bytes), Candidates::new(bytes).collect::<Vec<_>>());
        }
    }

    /// Every byte value, in both orders (the vector path takes any bytes): flagged by the
    /// vector pass exactly where the `memchr` searches flag it.
    #[test]
    fn every_byte_value_is_flagged_as_the_searches_flag_it() {
        let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        assert_eq!(candidates(&bytes), Candidates::new(&bytes).collect::<Vec<_>>());
    }

    #[test]
    fn ends_and_non_ends() {
        let rows: &[(&str, &[&str])] = &[
            ("زار مالي. ثم عاد", &["زار مالي.", "ثم عاد"]),
            ("U.S. forces", &["U.S. forces"]),
            ("هل زار؟ نعم! حسنا? طيب", &["هل زار؟", "نعم!", "حسنا?", "طيب"]),
            ("مالي، النيجر؛ تشاد.", &["مالي، النيجر؛ تشاد."]),
            ("سطر\nسطر آخر\r\n\nثالث", &["سطر", "سطر آخر", "ثالث"]),
            ("بلغ 2.5 بالمئة.", &["بلغ 2.5 بالمئة."]),
            ("موقع aljazeera.net نشر", &["موقع aljazeera.net نشر"]),
            ("قال د. محمد إن", &["قال د. محمد إن"]),
            ("بمالي.. حصار باماكو", &["بمالي..", "حصار باماكو"]),
            ("قال: \"انتهى.\" ثم", &["قال: \"انتهى.\"", "ثم"]),
            ("«انتهى؟!» ثم", &["«انتهى؟!»", "ثم"]),
            ("تعبيره.تصاعد", &["تعبيره.", "تصاعد"]),
            ("عام 2021. وفي", &["عام 2021.", "وفي"]),
            ("  \n ", &[]),
            ("", &[]),
            ("بلا نهاية", &["بلا نهاية"]),
        ];
        for (text, expected) in rows {
            assert_eq!(split(text), *expected, "help: splitting {text:?}");
        }
    }

    #[test]
    fn index_of_positions() {
        let text = "زار. عاد. ثم";
        let s = sentences(text);
        assert_eq!(s.len(), 3);
        assert_eq!(sentence_index(&s, 0), 0);
        assert_eq!(sentence_index(&s, text.find("عاد").unwrap()), 1);
        assert_eq!(sentence_index(&s, text.len()), 2);
        assert_eq!(sentence_index(&[], 5), 0);
    }
}
