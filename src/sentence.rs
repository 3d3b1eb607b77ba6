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
        (Some(c), prev) if c.is_alphabetic() => prev.is_none_or(|p| !is_word_char(p)),
        _ => false,
    }
}

/// The sentences of `text`, as byte ranges into it (see the module docs for the rules).
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        if start.is_none() {
            // The next sentence starts at the next character that is no white space (line
            // breaks are white space).
            match text[i..].char_indices().find(|&(_, c)| !c.is_whitespace()) {
                Some((j, _)) => {
                    i += j;
                    start = Some(i);
                }
                None => break,
            }
        }
        // Only a few bytes can start a line break or an end mark: \n \r . ! ? and the lead
        // bytes of U+0085, U+061F (؟), U+2026 (…), U+2028 and U+2029. Arabic letters share ؟'s
        // lead byte, so the byte after it is checked before anything is decoded.
        let b = bytes[i];
        let special = match b {
            b'\n' | b'\r' | b'.' | b'!' | b'?' => true,
            0xC2 => bytes.get(i + 1) == Some(&0x85),
            0xD8 => bytes.get(i + 1) == Some(&0x9F),
            0xE2 => bytes.get(i + 1) == Some(&0x80),
            _ => false,
        };
        if !special {
            i += 1;
            continue;
        }
        let Some(c) = text[i..].chars().next() else { break };
        if is_line_break(c) {
            if let Some(s) = start.take() {
                push_trimmed(text, s..i, &mut out);
            }
            i += c.len_utf8();
            continue;
        }
        let ends = is_end_mark(c) && !(c == '.' && dot_is_inside(text, i));
        if !ends {
            i += c.len_utf8();
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
        i = end;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        sentences(text).into_iter().map(|r| &text[r]).collect()
    }

    proptest::proptest! {
        /// The byte-scanning version finds exactly the sentences of the char-by-char one.
        #[test]
        fn fast_split_equals_the_reference(
            text in proptest::string::string_regex(
                "[ \t\n\r\u{85}\u{2028}\u{2029}\u{A0}.!?؟…،\"'»”’›)\\]}«(a-z0-9مالياة دU]{0,60}"
            ).unwrap()
        ) {
            proptest::prop_assert_eq!(sentences(&text), sentences_reference(&text));
        }
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
