//! Folding Arabic text for matching, with a map back to the original bytes.
//!
//! Every fold of ARABIC.md section 1 is one arm of [`fold_char`], each behind a switch of
//! [`NormalizeOptions`] (all on by default). One pass over the text produces the folded text
//! and, for each folded byte, the byte offset in the original text where its source character
//! starts. The same function folds gazetteer names and documents, so a name and its mention in
//! a text always fold alike.
//!
//! ```
//! use alam::{normalize, NormalizeOptions};
//!
//! let text = "بـإفريقيا";
//! let n = normalize(text, &NormalizeOptions::default()).unwrap();
//! assert_eq!(n.text(), "بافريقيا");
//! // The folded "افريقيا" starts at folded byte 2; in the original it starts after "بـ".
//! let (start, end) = n.original_span(text, 2, n.text().len());
//! assert_eq!(&text[start..end], "إفريقيا");
//! ```

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Which folds to apply. Every switch is on by default; turning one off keeps those characters
/// as they are, in names and texts alike.
///
/// ```
/// use alam::{fold, NormalizeOptions};
///
/// let mut options = NormalizeOptions::default();
/// options.teh_marbuta = false;
/// assert_eq!(fold("سورية", &options), "سورية");
/// assert_eq!(fold("سورية", &NormalizeOptions::default()), "سوريه");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NormalizeOptions {
    /// Remove short vowels, tanwin, shadda, sukun and the dagger alef (U+064B..U+065F, U+0670).
    pub harakat: bool,
    /// Remove Quranic annotation marks (U+0610..U+061A, U+06D6..U+06ED).
    pub quranic: bool,
    /// Remove tatweel (U+0640).
    pub tatweel: bool,
    /// Fold أ إ آ ٱ to ا.
    pub alef: bool,
    /// Fold alef maksura ى to ي.
    pub alef_maksura: bool,
    /// Fold teh marbuta ة to ه.
    pub teh_marbuta: bool,
    /// Fold ؤ to و and ئ to ي.
    pub hamza: bool,
    /// Fold Persian and Urdu letters: ک to ك, ی and ے to ي.
    pub persian: bool,
    /// Replace presentation forms (U+FB50..U+FDFF, U+FE70..U+FEFE) by their NFKC letters.
    pub presentation_forms: bool,
    /// Fold Arabic-Indic and Persian digits to 0..9.
    pub digits: bool,
    /// Remove invisible marks: ZWNJ, ZWJ, ZWSP, word joiner, LRM, RLM, ALM, BOM, soft hyphen
    /// and the bidirectional embedding and isolate controls.
    pub invisible: bool,
    /// Fold Latin A-Z to a-z.
    pub latin_case: bool,
    /// Fold the Unicode dashes U+2010..U+2015 and the minus sign U+2212 to `-`.
    pub dashes: bool,
    /// Fold every run of white space (tabs, line breaks, NBSP, thin spaces...) to one space.
    pub spaces: bool,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            harakat: true,
            quranic: true,
            tatweel: true,
            alef: true,
            alef_maksura: true,
            teh_marbuta: true,
            hamza: true,
            persian: true,
            presentation_forms: true,
            digits: true,
            invisible: true,
            latin_case: true,
            dashes: true,
            spaces: true,
        }
    }
}

/// What one character folds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fold {
    /// The character stays.
    Keep,
    /// The character is removed.
    Drop,
    /// The character is replaced by another.
    To(char),
    /// The character is white space: a run of them becomes one space.
    Space,
    /// A presentation form: replaced by its NFKC decomposition, folded in turn.
    Expand,
}

/// The fold table: one arm per row of ARABIC.md section 1.
#[inline]
fn fold_char(c: char, o: &NormalizeOptions) -> Fold {
    match c {
        // Fast path: ASCII letters, digits and punctuation other than A-Z and white space.
        'a'..='z' | '0'..='9' => Fold::Keep,
        // Latin capitals: T-72B3 and t-72b3 are one name.
        'A'..='Z' if o.latin_case => Fold::To(c.to_ascii_lowercase()),
        // Harakat (fathatan..sukun, maddah, hamza marks, subscript alef...) and the dagger alef:
        // the same name appears with and without them.
        '\u{064B}'..='\u{065F}' | '\u{0670}' if o.harakat => Fold::Drop,
        // Quranic annotation marks, seen in pasted text.
        '\u{0610}'..='\u{061A}' | '\u{06D6}'..='\u{06ED}' if o.quranic => Fold::Drop,
        // Tatweel: decoration, بـاماكو = باماكو.
        '\u{0640}' if o.tatweel => Fold::Drop,
        // Alef with hamza above/below, madda, wasla: أفريقيا / إفريقيا / افريقيا are one word.
        '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0671}' if o.alef => Fold::To('\u{0627}'),
        // Alef maksura is written for final yeh and the reverse.
        '\u{0649}' if o.alef_maksura => Fold::To('\u{064A}'),
        // Teh marbuta is written as heh: سورية / سوريه.
        '\u{0629}' if o.teh_marbuta => Fold::To('\u{0647}'),
        // Hamza on waw and on yeh.
        '\u{0624}' if o.hamza => Fold::To('\u{0648}'),
        '\u{0626}' if o.hamza => Fold::To('\u{064A}'),
        // Persian keheh, Farsi yeh and yeh barree, typed on Persian keyboards.
        '\u{06A9}' if o.persian => Fold::To('\u{0643}'),
        '\u{06CC}' | '\u{06D2}' if o.persian => Fold::To('\u{064A}'),
        // The BOM (U+FEFF) sits inside presentation forms B, so it comes first.
        '\u{FEFF}' if o.invisible => Fold::Drop,
        // Presentation forms, from text extracted from PDFs: ﻻ is لا.
        '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFE}' if o.presentation_forms => Fold::Expand,
        // Arabic-Indic and extended (Persian) digits: بامكس ٢٠٢٥ = بامكس 2025.
        '\u{0660}'..='\u{0669}' if o.digits => Fold::To(digit(c as u32 - 0x0660)),
        '\u{06F0}'..='\u{06F9}' if o.digits => Fold::To(digit(c as u32 - 0x06F0)),
        // Invisible marks that sit inside words in web text: ZWSP, ZWNJ, ZWJ, LRM, RLM, ALM,
        // soft hyphen, word joiner, and the bidi embeddings, overrides and isolates.
        '\u{200B}'..='\u{200F}'
        | '\u{061C}'
        | '\u{00AD}'
        | '\u{2060}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
            if o.invisible =>
        {
            Fold::Drop
        }
        // Dashes and the minus sign: BTR‑82A with a non-breaking hyphen.
        '\u{2010}'..='\u{2015}' | '\u{2212}' if o.dashes => Fold::To('-'),
        // White space of every kind, line breaks included: names split across lines.
        c if o.spaces && c.is_whitespace() => Fold::Space,
        _ => Fold::Keep,
    }
}

#[inline]
fn digit(value: u32) -> char {
    char::from_digit(value, 10).unwrap_or('0')
}

/// Where the folded characters go: a string, and optionally the offset map.
struct Sink<'a> {
    out: &'a mut String,
    map: Option<&'a mut Vec<u32>>,
    last_space: bool,
}

impl Sink<'_> {
    #[inline]
    fn push(&mut self, c: char, original: u32) {
        self.out.push(c);
        if let Some(map) = self.map.as_deref_mut() {
            for _ in 0..c.len_utf8() {
                map.push(original);
            }
        }
        self.last_space = c == ' ';
    }

    #[inline]
    fn emit(&mut self, c: char, original: u32, o: &NormalizeOptions) {
        match fold_char(c, o) {
            Fold::Keep => self.push(c, original),
            Fold::Drop => {}
            Fold::To(to) => self.push(to, original),
            Fold::Space => {
                if !self.last_space {
                    self.push(' ', original);
                }
            }
            Fold::Expand => {
                for d in std::iter::once(c).nfkc() {
                    // NFKC output holds no presentation forms, so this recursion stops here.
                    if d == c {
                        self.push(c, original);
                    } else {
                        self.emit(d, original, o);
                    }
                }
            }
        }
    }
}

/// The one pass shared by [`normalize`] and [`fold`].
fn run(text: &str, o: &NormalizeOptions, out: &mut String, map: Option<&mut Vec<u32>>) {
    let mut sink = Sink { out, map, last_space: false };
    for (i, c) in text.char_indices() {
        // Callers guarantee text.len() <= u32::MAX, so the offset fits.
        sink.emit(c, i as u32, o);
    }
}

/// Folds `text` without keeping an offset map: the form gazetteer names take.
///
/// ```
/// use alam::{fold, NormalizeOptions};
/// assert_eq!(fold("فَاغْنَر", &NormalizeOptions::default()), "فاغنر");
/// assert_eq!(fold("فاغـــنر", &NormalizeOptions::default()), "فاغنر");
/// ```
pub fn fold(text: &str, options: &NormalizeOptions) -> String {
    let mut out = String::with_capacity(text.len());
    run(text, options, &mut out, None);
    out
}

/// A folded text and the map from its bytes back to the original text.
#[derive(Clone, Debug, Default)]
pub struct Normalized {
    text: String,
    /// For each byte of `text`, the original byte offset where its source character starts;
    /// one more entry holds the original length.
    map: Vec<u32>,
}

/// Folds `text` in one pass and keeps the map back to original offsets.
///
/// # Errors
/// Fails when `text` is longer than `u32::MAX` bytes, the size the offset map can address.
pub fn normalize(text: &str, options: &NormalizeOptions) -> Result<Normalized> {
    let mut n = Normalized::default();
    n.refill(text, options)?;
    Ok(n)
}

impl Normalized {
    /// Normalizes `text` into this value, reusing its buffers.
    ///
    /// # Errors
    /// Fails when `text` is longer than `u32::MAX` bytes.
    pub fn refill(&mut self, text: &str, options: &NormalizeOptions) -> Result<()> {
        let len = u32::try_from(text.len()).map_err(|_| Error::text_too_large(text.len()))?;
        self.text.clear();
        self.map.clear();
        self.text.reserve(text.len());
        self.map.reserve(text.len() + 1);
        run(text, options, &mut self.text, Some(&mut self.map));
        self.map.push(len);
        Ok(())
    }

    /// The folded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The original byte offset where the character behind folded byte `pos` starts
    /// (`pos == text().len()` gives the original length).
    ///
    /// # Panics
    /// Panics when `pos > text().len()`.
    pub fn original_start(&self, pos: usize) -> usize {
        self.map[pos] as usize
    }

    /// Maps a folded span `start..end` (on char boundaries, `start < end`) back to the original:
    /// the start of the source character of `start`, and the end of the source character of
    /// `end - 1`, extended over harakat and tatweel that the fold removed right after it, so
    /// that `&original[s..e]` is exactly what the reader sees, marks included.
    ///
    /// # Panics
    /// Panics when `start >= end` or `end > text().len()`, or `original` is not the text this
    /// value was made from.
    pub fn original_span(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        assert!(start < end, "empty span");
        let s = self.map[start] as usize;
        let last = self.map[end - 1] as usize;
        let next = self.map[end] as usize;
        let mut e = last + original[last..].chars().next().map_or(0, char::len_utf8);
        // Swallow the marks that belong to the last letter (a final damma, a tatweel), but
        // nothing else the fold removed (an RLM is not part of the name).
        for c in original[e..next].chars() {
            if is_removable_mark(c) {
                e += c.len_utf8();
            } else {
                break;
            }
        }
        (s, e)
    }
}

/// Harakat, Quranic marks and tatweel: marks that belong to the letter before them.
pub(crate) fn is_removable_mark(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0610}'..='\u{061A}' | '\u{06D6}'..='\u{06ED}' | '\u{0640}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> String {
        fold(s, &NormalizeOptions::default())
    }

    /// One row per fold of ARABIC.md section 1: input, folded, and the switch that turns it off.
    #[test]
    fn fold_table() {
        type Switch = fn(&mut NormalizeOptions);
        let rows: &[(&str, &str, &str, Switch)] = &[
            ("harakat", "فَاغْنَرُ", "فاغنر", |o| o.harakat = false),
            ("tanwin and shadda", "روسيًّا", "روسيا", |o| o.harakat = false),
            ("dagger alef", "هٰذا", "هذا", |o| o.harakat = false),
            ("quranic marks", "قال\u{06D6}", "قال", |o| o.quranic = false),
            ("tatweel", "بـاماكو", "باماكو", |o| o.tatweel = false),
            ("alef hamza above", "أفريقيا", "افريقيا", |o| o.alef = false),
            ("alef hamza below", "إفريقيا", "افريقيا", |o| o.alef = false),
            ("alef madda", "آسيا", "اسيا", |o| o.alef = false),
            ("alef wasla", "ٱلنيجر", "النيجر", |o| o.alef = false),
            ("alef maksura", "موسى", "موسي", |o| o.alef_maksura = false),
            ("teh marbuta", "سورية", "سوريه", |o| o.teh_marbuta = false),
            ("hamza on waw", "رؤية", "رويه", |o| o.hamza = false),
            ("hamza on yeh", "الرئيس", "الرييس", |o| o.hamza = false),
            ("persian keheh", "کيدال", "كيدال", |o| o.persian = false),
            ("farsi yeh", "مالی", "مالي", |o| o.persian = false),
            ("yeh barree", "مالے", "مالي", |o| o.persian = false),
            ("presentation lam-alef", "\u{FEFB}", "لا", |o| o.presentation_forms = false),
            ("presentation letters", "\u{FE8D}\u{FEDF}\u{FEA0}", "الج", |o| {
                o.presentation_forms = false
            }),
            ("arabic-indic digits", "بامكس ٢٠٢٥", "بامكس 2025", |o| o.digits = false),
            ("persian digits", "۲۰۲۵", "2025", |o| o.digits = false),
            ("zwnj", "فاغ\u{200C}نر", "فاغنر", |o| o.invisible = false),
            ("zwj", "فاغ\u{200D}نر", "فاغنر", |o| o.invisible = false),
            ("lrm rlm alm", "\u{200E}مالي\u{200F}\u{061C}", "مالي", |o| {
                o.invisible = false
            }),
            ("bom", "\u{FEFF}مالي", "مالي", |o| o.invisible = false),
            ("soft hyphen", "ما\u{00AD}لي", "مالي", |o| o.invisible = false),
            ("bidi isolates", "\u{2067}مالي\u{2069}", "مالي", |o| o.invisible = false),
            ("latin case", "T-72B3", "t-72b3", |o| o.latin_case = false),
            ("non-breaking hyphen", "BTR\u{2011}82A", "btr-82a", |o| o.dashes = false),
            ("minus sign", "a\u{2212}b", "a-b", |o| o.dashes = false),
            ("nbsp", "بوركينا\u{00A0}فاسو", "بوركينا فاسو", |o| {
                o.spaces = false
            }),
            ("line break and tab", "بوركينا\n\t فاسو", "بوركينا فاسو", |o| {
                o.spaces = false
            }),
            ("thin spaces", "a\u{2009}\u{202F}b", "a b", |o| o.spaces = false),
        ];
        for (name, input, expected, off) in rows {
            assert_eq!(f(input), *expected, "help: fold row {name:?}");
            let mut options = NormalizeOptions::default();
            off(&mut options);
            assert_ne!(
                fold(input, &options),
                *expected,
                "help: the switch of row {name:?} does not turn the fold off"
            );
        }
    }

    #[test]
    fn map_points_to_source_characters() {
        let text = "بـإِفريقيا ﻻ";
        let n = normalize(text, &NormalizeOptions::default()).unwrap();
        assert_eq!(n.text(), "بافريقيا لا");
        for (i, _) in n.text().char_indices() {
            assert!(text.is_char_boundary(n.original_start(i)));
        }
        let (s, e) = n.original_span(text, 2, "بافريقيا".len());
        assert_eq!(&text[s..e], "إِفريقيا");
        // Both letters of the expanded lam-alef map to the one original character.
        let la = n.text().len() - "لا".len();
        let (s, e) = n.original_span(text, la, n.text().len());
        assert_eq!(&text[s..e], "ﻻ");
    }

    #[test]
    fn span_end_takes_trailing_marks_but_not_invisibles() {
        let text = "فاغنرُ\u{200F} و";
        let n = normalize(text, &NormalizeOptions::default()).unwrap();
        let (s, e) = n.original_span(text, 0, "فاغنر".len());
        assert_eq!(&text[s..e], "فاغنرُ");
    }
}
