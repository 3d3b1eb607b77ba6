//! Character classes on folded text: word characters, proclitic runs and the quotes that may
//! stand between a proclitic and a name. Shared by the matcher and the risky-name context rules.

use crate::normalize::is_removable_mark;

/// The proclitic runs that may start a word before a name (ARABIC.md section 2), longest first:
/// و ف ب ل ك alone, and و or ف followed by ب ل or ك.
pub(crate) const CLITIC_RUNS: [&str; 11] =
    ["وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك"];

/// Is `c` part of a word: a letter, a digit, or a mark that the fold kept.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_removable_mark(c)
}

/// Quotes and guillemets that may stand between a proclitic and a name: بـ"الفيلق الأفريقي".
#[inline]
pub(crate) fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '«' | '»' | '“' | '”' | '„' | '‘' | '’' | '‹' | '›')
}

/// Does a word start at byte `pos` of `text` (start of text, or after a non-word character)?
#[inline]
pub(crate) fn is_word_start(text: &str, pos: usize) -> bool {
    text[..pos].chars().next_back().is_none_or(|c| !is_word_char(c))
}

/// Does a word end at byte `pos` of `text` (end of text, or before a non-word character)?
#[inline]
pub(crate) fn is_word_end(text: &str, pos: usize) -> bool {
    text[pos..].chars().next().is_none_or(|c| !is_word_char(c))
}

/// The proclitic run that ends at byte `pos` and itself starts a word, if there is one.
/// Returns the run as a static string and its start.
pub(crate) fn clitic_before(text: &str, pos: usize) -> Option<(&'static str, usize)> {
    let before = &text[..pos];
    CLITIC_RUNS.iter().find_map(|run| {
        let start = pos.checked_sub(run.len())?;
        (before.ends_with(run) && is_word_start(text, start)).then_some((*run, start))
    })
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
