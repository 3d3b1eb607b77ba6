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

/// What [`run_reference`] does with one character: [`fold_char`] cached for ASCII and the Arabic
/// block (U+0600..U+06FF), so that most characters cost one table lookup. The fast entries of
/// [`run`] are made the same way, for ASCII and every two-byte character.
#[derive(Clone, Copy, Debug)]
enum Act {
    /// Copy the source bytes as they are.
    Copy { word: bool },
    /// Write one ASCII byte.
    Ascii { byte: u8, word: bool },
    /// Write a two-byte character.
    Two { bytes: [u8; 2], word: bool },
    /// Write nothing.
    Drop,
    /// White space: one space for a run.
    Space,
    /// Not cached: call [`fold_char`].
    Slow,
}

/// [`fold_char`] under one set of options, as tables. The tables are derived from `fold_char`,
/// which stays the one place the folds are defined.
#[derive(Clone, Debug)]
pub(crate) struct FoldTable {
    options: NormalizeOptions,
    ascii: [Act; 128],
    arabic: [Act; 256],
    /// [`run`]'s entries for ASCII, indexed by the byte (see [`fast_entry`]).
    fast_ascii: [u32; 128],
    /// [`run`]'s entries for every two-byte character (U+0080..U+07FF), indexed by the two
    /// UTF-8 bytes as a big-endian `u16` minus [`TWO_BASE`] (lead bytes 0xC2..0xDF); the slots
    /// of impossible second bytes stop.
    fast_two: [u32; TWO_LEN],
}

/// The first two-byte UTF-8 sequence (lead byte 0xC2), as a big-endian `u16`: the index base of
/// `FoldTable::fast_two`.
const TWO_BASE: usize = 0xC200;
/// The slots of `FoldTable::fast_two`: lead bytes 0xC2..0xDF, any second byte.
const TWO_LEN: usize = 0xE000 - TWO_BASE;

// The fast entries of FoldTable, for scan(): the fold of a cached character as one u32. A word
// character that the fold keeps is 0 (the common case, one test); otherwise these flags, with
// the folded bytes (little-endian) under CHANGED and their number under SHRINK.

/// Not a word character that keeps its length: the loop inside a word stops.
const STOP: u32 = 1 << 31;
/// Not cached (the general path folds it): the fast loop stops.
const EXIT: u32 = 1 << 30;
/// Folds to a character that is not a word character.
const NONWORD: u32 = 1 << 29;
/// White space: folds to one space, and is dropped after white space.
const SPACE: u32 = 1 << 28;
/// The folded bytes differ from the source bytes; they are in bits 0..16.
const CHANGED: u32 = 1 << 27;
/// Folds to fewer bytes than it has (removed, or an Arabic-Indic digit); their number is in
/// bits 24..26.
const SHRINK: u32 = 1 << 26;
/// Where [`SHRINK`] keeps the number of folded bytes.
const SHRINK_SHIFT: u32 = 24;

/// The fast entry of the character with UTF-8 bytes `source` (one or two) that folds by `act`.
fn fast_entry(act: Act, source: &[u8]) -> u32 {
    let (folded, word, space): (&[u8], bool, bool) = match &act {
        Act::Copy { word } => (source, *word, false),
        Act::Ascii { byte, word } => (std::slice::from_ref(byte), *word, false),
        Act::Two { bytes, word } => (bytes, *word, false),
        Act::Space => (b" ", false, true),
        Act::Drop => (&[], false, false),
        Act::Slow => return STOP | EXIT,
    };
    if folded.len() > source.len() {
        // Never for ASCII, but scan() could not write it in place.
        return STOP | EXIT;
    }
    let mut entry = 0;
    if folded != source {
        entry |= CHANGED | folded.iter().rev().fold(0, |acc, &b| acc << 8 | u32::from(b));
    }
    if !word {
        entry |= STOP | NONWORD;
    }
    if space {
        entry |= SPACE;
    }
    if folded.len() < source.len() {
        entry |= STOP | SHRINK | (folded.len() as u32) << SHRINK_SHIFT;
    }
    entry
}

impl FoldTable {
    pub(crate) fn new(options: &NormalizeOptions) -> FoldTable {
        let act = |c: char| match fold_char(c, options) {
            Fold::Keep => Act::Copy { word: is_word_char(c) },
            Fold::Drop => Act::Drop,
            Fold::Space => Act::Space,
            Fold::To(t) if t.is_ascii() => Act::Ascii { byte: t as u8, word: is_word_char(t) },
            Fold::To(t) if t.len_utf8() == 2 => {
                let mut bytes = [0u8; 2];
                t.encode_utf8(&mut bytes);
                Act::Two { bytes, word: is_word_char(t) }
            }
            Fold::To(_) | Fold::Expand => Act::Slow,
        };
        let mut ascii = [Act::Slow; 128];
        for (b, slot) in ascii.iter_mut().enumerate() {
            *slot = act(char::from(b as u8));
        }
        let mut arabic = [Act::Slow; 256];
        for (i, slot) in arabic.iter_mut().enumerate() {
            *slot = char::from_u32(0x0600 + i as u32).map_or(Act::Slow, act);
        }
        let mut fast_ascii = [0u32; 128];
        for (b, slot) in fast_ascii.iter_mut().enumerate() {
            *slot = fast_entry(ascii[b], &[b as u8]);
        }
        let mut fast_two = [STOP | EXIT; TWO_LEN];
        for cp in 0x80..0x800u32 {
            let Some(c) = char::from_u32(cp) else { continue };
            let mut bytes = [0u8; 2];
            c.encode_utf8(&mut bytes);
            fast_two[(usize::from(bytes[0]) << 8 | usize::from(bytes[1])) - TWO_BASE] =
                fast_entry(act(c), &bytes);
        }
        FoldTable { options: options.clone(), ascii, arabic, fast_ascii, fast_two }
    }

    pub(crate) fn options(&self) -> &NormalizeOptions {
        &self.options
    }
}

/// Is `c` part of a word: a letter, a digit, or a mark that the fold kept.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        (c as u8).is_ascii_alphanumeric()
    } else if cp < 0x800 {
        two_byte_word_table()[(cp - 0x80) as usize]
    } else {
        is_word_char_slow(c)
    }
}

fn is_word_char_slow(c: char) -> bool {
    c.is_alphanumeric() || is_removable_mark(c)
}

/// [`is_word_char_slow`] for the two-byte characters (U+0080..U+07FF, the Arabic block among
/// them), computed once.
fn two_byte_word_table() -> &'static [bool; 0x780] {
    static TABLE: std::sync::OnceLock<[bool; 0x780]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [false; 0x780];
        for (i, slot) in table.iter_mut().enumerate() {
            *slot = char::from_u32(0x80 + i as u32).is_some_and(is_word_char_slow);
        }
        table
    })
}

/// The state of one folding pass; with `MAP`, the offset anchors and word starts are kept too.
struct Sink<'a, const MAP: bool> {
    out: &'a mut Vec<u8>,
    anchors: &'a mut Vec<(u32, u32)>,
    starts: &'a mut Vec<u32>,
    last_space: bool,
    prev_word: bool,
    /// `original - folded` (wrapping) since the last anchor.
    delta: u32,
}

impl<const MAP: bool> Sink<'_, MAP> {
    fn put(&mut self, bytes: &[u8], word: bool, original: u32) {
        if MAP {
            if word && !self.prev_word {
                // Wraps only past u32::MAX bytes of folded text, which refill() then rejects.
                self.starts.push(self.out.len() as u32);
            }
            // Wraps only past u32::MAX bytes of folded text, which refill() then rejects.
            let here = self.out.len() as u32;
            if original.wrapping_sub(here) != self.delta {
                self.anchors.push((here, original));
                self.delta = original.wrapping_sub(here);
            }
        }
        self.prev_word = word;
        self.last_space = false;
        self.out.extend_from_slice(bytes);
    }

    fn space(&mut self, original: u32) {
        if !self.last_space {
            self.put(b" ", false, original);
            self.last_space = true;
        }
    }

    /// The slow path: one character through [`fold_char`].
    fn emit(&mut self, c: char, original: u32, o: &NormalizeOptions) {
        let mut buf = [0u8; 4];
        match fold_char(c, o) {
            Fold::Keep => self.put(c.encode_utf8(&mut buf).as_bytes(), is_word_char(c), original),
            Fold::Drop => {}
            Fold::To(to) => {
                self.put(to.encode_utf8(&mut buf).as_bytes(), is_word_char(to), original)
            }
            Fold::Space => self.space(original),
            Fold::Expand => {
                for d in std::iter::once(c).nfkc() {
                    // NFKC output holds no presentation forms, so this recursion stops here.
                    if d == c {
                        self.put(c.encode_utf8(&mut buf).as_bytes(), is_word_char(c), original);
                    } else {
                        self.emit(d, original, o);
                    }
                }
            }
        }
    }
}

/// The window of the fast loop of [`run`]: 64 source bytes copied ahead to the output, of which
/// the characters starting in the first [`LIMIT`] are folded.
const WINDOW: usize = 64;
/// Where characters may start in a window: before its last byte, so that the second byte of a
/// two-byte character is in the window too.
const LIMIT: usize = WINDOW - 1;
/// Pads the window at the end of the text: not UTF-8, so [`scan`] stops on it.
const PAD: u8 = 0xFF;

/// The fast entry of the character at `i` (ASCII or two-byte, U+0080..U+07FF), or [`EXIT`].
#[inline(always)]
fn entry_at(table: &FoldTable, bytes: &[u8], i: usize) -> u32 {
    match bytes.get(i) {
        Some(&b) if b < 0x80 => table.fast_ascii[usize::from(b)],
        Some(&b) => {
            let b2 = bytes.get(i + 1).copied().unwrap_or(0);
            let k = (usize::from(b) << 8 | usize::from(b2)).wrapping_sub(TWO_BASE);
            table.fast_two.get(k).copied().unwrap_or(EXIT)
        }
        None => EXIT,
    }
}

/// What [`scan`] carries from one window to the next.
struct ScanState {
    /// The last folded character is a word character (`prev_word` of [`run`]).
    prev_word: bool,
    /// The last folded character is a space that white space folded to (`last_space`).
    last_space: bool,
    /// `original - folded` here differs from the last anchor's: the next character written
    /// needs an anchor.
    pending: bool,
}

/// How many characters [`scan`] writes one by one after one that folds shorter, before it copies
/// the rest of the window again to fold it in place: a text with harakat on every letter is
/// written one by one, a text with a mark here and there mostly folded in place.
const REALIGN: u32 = 4;

/// The fast loop over one window of cached characters (ASCII, U+0080..U+07FF) at original
/// offset `at` and folded offset `here`: `dst` holds a copy of `src`. Characters that keep their
/// length are folded in place, with no anchor due. One that folds shorter (or is removed)
/// leaves the rest of the window behind by the bytes it lost: the characters after it are
/// written one by one, the first with an anchor as in [`run_reference`], until [`REALIGN`] in a
/// row kept their length; then the rest of `src` is copied again, behind, and folded in place.
/// Returns how many bytes of `src` were taken (at least [`LIMIT`], or less where it met an
/// uncached character or [`PAD`]) and how many of `dst` hold the folded text.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scan<const MAP: bool>(
    src: &[u8; WINDOW],
    dst: &mut [u8; WINDOW],
    table: &FoldTable,
    at: u32,
    here: u32,
    anchors: &mut Vec<(u32, u32)>,
    starts: &mut Vec<u32>,
    state: &mut ScanState,
) -> (usize, usize) {
    let ScanState { mut prev_word, mut last_space, mut pending } = *state;
    // The fast entry of the two-byte character at j, None if it is not in U+0080..U+07FF.
    let two = |j: usize| {
        let k = (usize::from(src[j]) << 8 | usize::from(src[j + 1])).wrapping_sub(TWO_BASE);
        table.fast_two.get(k).copied()
    };
    // The fast entry and length of the character at j, None if it is not cached.
    let entry = |j: usize| {
        let b = src[j];
        if b < 0x80 {
            Some((table.fast_ascii[usize::from(b)], 1))
        } else {
            two(j).map(|e| (e, 2))
        }
    };
    let mut j = 0;
    // The bytes lost so far: the folded form of src[j..] goes to dst[j - shift..].
    let mut shift = 0;
    'window: while j < LIMIT {
        // In place: dst[j - shift..WINDOW - shift] holds a copy of src[j..].
        while j < LIMIT {
            let Some((e, len)) = entry(j) else { break 'window };
            let space = e & SPACE != 0;
            if e & (EXIT | SHRINK) != 0 || (space && last_space) {
                break;
            }
            let p = j - shift;
            if e & CHANGED != 0 {
                dst[p] = e as u8;
                if len == 2 {
                    dst[p + 1] = (e >> 8) as u8;
                }
            }
            let word = e & NONWORD == 0;
            if MAP {
                if word && !prev_word {
                    starts.push(here.wrapping_add(p as u32));
                }
                if pending {
                    anchors.push((here.wrapping_add(p as u32), at.wrapping_add(j as u32)));
                }
            }
            pending = false;
            prev_word = word;
            last_space = space;
            j += len;
            if !word {
                continue;
            }
            if len == 1 {
                // Inside a Latin word or a number: the same for ASCII word characters.
                while let Some(&b) = src[..LIMIT].get(j).filter(|&&b| b < 0x80) {
                    let e = table.fast_ascii[usize::from(b)];
                    if e != 0 {
                        if e & STOP != 0 {
                            break;
                        }
                        dst[j - shift] = e as u8;
                    }
                    j += 1;
                }
                continue;
            }
            // Inside a word (so not after a space): two-byte word characters need no word
            // start and no space state, and a space then such a character starts a word.
            loop {
                while j < LIMIT {
                    let Some(e) = two(j) else { break };
                    if e != 0 {
                        if e & STOP != 0 {
                            break;
                        }
                        dst[j - shift] = e as u8;
                        dst[j - shift + 1] = (e >> 8) as u8;
                    }
                    j += 2;
                }
                // A space after a word character folds to itself whatever the options.
                if j + 1 < LIMIT && src[j] == b' ' {
                    if let Some(e) = two(j + 1) {
                        if e & STOP == 0 {
                            if MAP {
                                starts.push(here.wrapping_add((j + 1 - shift) as u32));
                            }
                            if e != 0 {
                                dst[j + 1 - shift] = e as u8;
                                dst[j + 2 - shift] = (e >> 8) as u8;
                            }
                            j += 3;
                            continue;
                        }
                    }
                }
                break;
            }
        }
        // One by one, from a character that folds shorter.
        let mut kept = 0;
        while j < LIMIT {
            let Some((e, len)) = entry(j) else { break 'window };
            if e & EXIT != 0 {
                break 'window;
            }
            let space = e & SPACE != 0;
            let folded = if space && last_space {
                0
            } else if e & SHRINK != 0 {
                (e >> SHRINK_SHIFT & 3) as usize
            } else {
                len
            };
            if folded > 0 {
                let p = j - shift;
                let word = e & NONWORD == 0;
                if MAP {
                    if word && !prev_word {
                        starts.push(here.wrapping_add(p as u32));
                    }
                    if pending {
                        anchors.push((here.wrapping_add(p as u32), at.wrapping_add(j as u32)));
                    }
                }
                let (x, y) =
                    if e & CHANGED != 0 { (e as u8, (e >> 8) as u8) } else { (src[j], src[j + 1]) };
                // p <= j < LIMIT: both fit. A second byte past a one-byte character is
                // written over by the next character, copied over, or cut.
                dst[p] = x;
                dst[p + 1] = y;
                prev_word = word;
                last_space = space;
            }
            pending = folded < len;
            shift += len - folded;
            j += len;
            if pending {
                kept = 0;
            } else {
                kept += 1;
                if kept == REALIGN {
                    dst[j - shift..WINDOW - shift].copy_from_slice(&src[j..]);
                    continue 'window;
                }
            }
        }
    }
    *state = ScanState { prev_word, last_space, pending };
    (j, j - shift)
}

/// [`scan`] over the end of a text, shorter than a window: padded, and folded apart so that `out`
/// grows only by what it keeps. Returns how many bytes of `rest` were taken.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn scan_end<const MAP: bool>(
    rest: &[u8],
    table: &FoldTable,
    at: u32,
    out: &mut Vec<u8>,
    anchors: &mut Vec<(u32, u32)>,
    starts: &mut Vec<u32>,
    state: &mut ScanState,
) -> usize {
    let mut src = [PAD; WINDOW];
    src[..rest.len()].copy_from_slice(rest);
    let mut dst = src;
    let (j, p) = scan::<MAP>(&src, &mut dst, table, at, out.len() as u32, anchors, starts, state);
    out.extend_from_slice(&dst[..p]);
    j
}

/// The one pass shared by [`normalize`] and [`fold`]: windows of cached characters (ASCII and
/// the two-byte U+0080..U+07FF, most of a text) by [`scan`], each other character as in
/// [`run_reference`], which the tests compare this with. Only whole characters are written, so `out` stays UTF-8.
fn run<const MAP: bool>(
    text: &str,
    table: &FoldTable,
    out_vec: &mut Vec<u8>,
    anchors_vec: &mut Vec<(u32, u32)>,
    starts_vec: &mut Vec<u32>,
) {
    let mut out = std::mem::take(out_vec);
    let mut anchors = std::mem::take(anchors_vec);
    let mut starts = std::mem::take(starts_vec);
    let (out, anchors, starts) = (&mut out, &mut anchors, &mut starts);
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut last_space = false;
    let mut prev_word = false;
    // `original - folded` (wrapping) at the last anchor, 0 before the first.
    let mut delta = 0u32;
    let mut i = 0;
    while i < n {
        if entry_at(table, bytes, i) & EXIT == 0 {
            // Offsets fit in u32 (or wrap harmlessly) as in run_reference().
            let mut state = ScanState {
                prev_word,
                last_space,
                pending: MAP && (i as u32).wrapping_sub(out.len() as u32) != delta,
            };
            while i < n {
                let o = out.len();
                let j = match bytes[i..].first_chunk::<WINDOW>() {
                    Some(src) => {
                        // Copy ahead; scan() folds in place and the rest is cut.
                        out.extend_from_slice(src);
                        let dst = out[o..].first_chunk_mut().expect("a window was just added");
                        let (j, p) = scan::<MAP>(
                            src, dst, table, i as u32, o as u32, anchors, starts, &mut state,
                        );
                        out.truncate(o + p);
                        j
                    }
                    None => scan_end::<MAP>(
                        &bytes[i..],
                        table,
                        i as u32,
                        out,
                        anchors,
                        starts,
                        &mut state,
                    ),
                };
                i += j;
                if j < LIMIT {
                    break;
                }
            }
            (prev_word, last_space) = (state.prev_word, state.last_space);
            if MAP {
                delta = anchors.last().map_or(0, |&(f, o)| o.wrapping_sub(f));
            }
            if i >= n {
                break;
            }
        }
        // A character that is not cached: through fold_char().
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        let mut sink = Sink::<MAP> { out, anchors, starts, last_space, prev_word, delta };
        sink.emit(c, i as u32, &table.options);
        (last_space, prev_word, delta) = (sink.last_space, sink.prev_word, sink.delta);
        i += c.len_utf8();
    }
    *out_vec = std::mem::take(out);
    *anchors_vec = std::mem::take(anchors);
    *starts_vec = std::mem::take(starts);
}

/// The plain pass that [`run`] replaced, kept as the reference that tests compare it with
/// ([`Normalized::reference`], [`Normalized::fold_reference`]): table lookups for ASCII and the
/// Arabic block, [`fold_char`] for the rest. Only whole characters are written, so `out` stays UTF-8.
/// The hot loop keeps its state in locals (the compiler keeps them in registers) and hands it to
/// a [`Sink`] only for the rare slow characters.
fn run_reference<const MAP: bool>(
    text: &str,
    table: &FoldTable,
    out_vec: &mut Vec<u8>,
    anchors_vec: &mut Vec<(u32, u32)>,
    starts_vec: &mut Vec<u32>,
) {
    // Owned locals, not references: the compiler can then keep their pointers and lengths in
    // registers across the loop (measured: a third fewer instructions).
    let mut out = std::mem::take(out_vec);
    let mut anchors = std::mem::take(anchors_vec);
    let mut starts = std::mem::take(starts_vec);
    let (out, anchors, starts) = (&mut out, &mut anchors, &mut starts);
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut last_space = false;
    let mut prev_word = false;
    let mut delta = 0u32;
    let mut i = 0;
    // One character written by the fast path: its bytes, whether it is a word character.
    macro_rules! put {
        ($word:expr, $at:expr, $($b:expr),+) => { put!(@ $word, false, $at, $($b),+) };
        (@ $word:expr, $space:expr, $at:expr, $($b:expr),+) => {{
            let word = $word;
            if MAP {
                // Wraps only past u32::MAX bytes of folded text, which refill() rejects.
                let here = out.len() as u32;
                if word && !prev_word {
                    starts.push(here);
                }
                if $at.wrapping_sub(here) != delta {
                    anchors.push((here, $at));
                    delta = $at.wrapping_sub(here);
                }
            }
            $( out.push($b); )+
            prev_word = word;
            last_space = $space;
        }};
    }
    while i < n {
        let b = bytes[i];
        // Callers guarantee text.len() <= u32::MAX, so offsets fit.
        let at = i as u32;
        if b < 0x80 {
            match table.ascii[b as usize] {
                Act::Copy { word } => put!(word, at, b),
                Act::Ascii { byte, word } => put!(word, at, byte),
                Act::Space => {
                    if !last_space {
                        put!(@ false, true, at, b' ');
                    }
                }
                Act::Drop => {}
                Act::Two { .. } | Act::Slow => {
                    let mut sink =
                        Sink::<MAP> { out, anchors, starts, last_space, prev_word, delta };
                    sink.emit(char::from(b), at, &table.options);
                    (last_space, prev_word, delta) = (sink.last_space, sink.prev_word, sink.delta);
                }
            }
            i += 1;
            continue;
        }
        if b & 0xFC == 0xD8 && i + 1 < n {
            // U+0600..U+06FF is 0xD8..0xDB followed by one continuation byte.
            let b2 = bytes[i + 1];
            match table.arabic[((b as usize & 0x03) << 6) | (b2 as usize & 0x3F)] {
                Act::Copy { word } => put!(word, at, b, b2),
                Act::Two { bytes: [x, y], word } => put!(word, at, x, y),
                Act::Ascii { byte, word } => put!(word, at, byte),
                Act::Drop => {}
                Act::Space => {
                    if !last_space {
                        put!(@ false, true, at, b' ');
                    }
                }
                Act::Slow => {
                    let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
                    let mut sink =
                        Sink::<MAP> { out, anchors, starts, last_space, prev_word, delta };
                    sink.emit(c, at, &table.options);
                    (last_space, prev_word, delta) = (sink.last_space, sink.prev_word, sink.delta);
                }
            }
            i += 2;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        let mut sink = Sink::<MAP> { out, anchors, starts, last_space, prev_word, delta };
        sink.emit(c, at, &table.options);
        (last_space, prev_word, delta) = (sink.last_space, sink.prev_word, sink.delta);
        i += c.len_utf8();
    }
    *out_vec = std::mem::take(out);
    *anchors_vec = std::mem::take(anchors);
    *starts_vec = std::mem::take(starts);
}

/// Turns bytes that [`run`] (or [`run_reference`]) wrote back into a `String`.
fn into_string(bytes: Vec<u8>) -> String {
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    // SAFETY: run() copies whole UTF-8 sequences of a `&str` (an ASCII byte, the two bytes of
    // a two-byte character) or writes `char::encode_utf8` output, so `bytes` is UTF-8.
    // scan() copies whole windows ahead but cuts them after the last character it took, writes
    // table bytes that are `encode_utf8` output, and writes the byte after a one-byte character
    // only where the next character, a copy or the cut covers it. tests/normalize_fast.rs
    // compares the bytes with run_reference()'s. Validating again cost a fifth of the folding
    // time.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// The fold table of the default options, built once.
fn default_table() -> &'static FoldTable {
    static TABLE: std::sync::OnceLock<FoldTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| FoldTable::new(&NormalizeOptions::default()))
}

/// A fold table for `options`: the shared default one when they are the defaults.
fn table_for(options: &NormalizeOptions) -> std::borrow::Cow<'static, FoldTable> {
    if *options == NormalizeOptions::default() {
        std::borrow::Cow::Borrowed(default_table())
    } else {
        std::borrow::Cow::Owned(FoldTable::new(options))
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
    fold_with(text, &table_for(options))
}

/// [`fold`] with a prepared table.
pub(crate) fn fold_with(text: &str, table: &FoldTable) -> String {
    let mut out = Vec::with_capacity(text.len());
    run::<false>(text, table, &mut out, &mut Vec::new(), &mut Vec::new());
    into_string(out)
}

/// A folding pass: [`run`] or [`run_reference`].
type Pass = fn(&str, &FoldTable, &mut Vec<u8>, &mut Vec<(u32, u32)>, &mut Vec<u32>);

/// A folded text and the map from its bytes back to the original text.
///
/// The map is sparse: most folds keep a character's length (ة → ه, أ → ا, A → a), so the
/// offset between folded and original text changes only where characters are removed, spaces
/// collapse or lengths differ. An anchor `(folded, original)` is stored at each such change, and a
/// lookup is a binary search: memory and time stay small next to a map entry per byte.
#[derive(Clone, Debug, Default)]
pub struct Normalized {
    text: String,
    /// `(folded char start, original char start)` wherever `original - folded` changes; the
    /// last anchor maps the end of the folded text to the end of the original.
    anchors: Vec<(u32, u32)>,
    /// The original length.
    len: u32,
    /// The byte offsets in `text` where words start (a word character after a non-word one).
    starts: Vec<u32>,
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
        self.refill_with(text, &table_for(options))
    }

    /// [`normalize`] by [`run_reference`], the plain pass that the fast one is tested against
    /// (`tests/normalize_fast.rs`). Not part of the API: the crate keeps its normalize module
    /// private, so the reference hangs on this re-exported type.
    ///
    /// # Errors
    /// As [`normalize`].
    #[doc(hidden)]
    pub fn reference(text: &str, options: &NormalizeOptions) -> Result<Normalized> {
        let mut n = Normalized::default();
        n.refill_by(text, &table_for(options), run_reference::<true>)?;
        Ok(n)
    }

    /// [`fold`] by [`run_reference`]; see [`Normalized::reference`]. Not part of the API.
    #[doc(hidden)]
    pub fn fold_reference(text: &str, options: &NormalizeOptions) -> String {
        let mut out = Vec::with_capacity(text.len());
        run_reference::<false>(
            text,
            &table_for(options),
            &mut out,
            &mut Vec::new(),
            &mut Vec::new(),
        );
        into_string(out)
    }

    /// [`Normalized::refill`] with a prepared table.
    pub(crate) fn refill_with(&mut self, text: &str, table: &FoldTable) -> Result<()> {
        self.refill_by(text, table, run::<true>)
    }

    /// [`Normalized::refill_with`] with the pass to run: [`run`] or [`run_reference`].
    fn refill_by(&mut self, text: &str, table: &FoldTable, pass: Pass) -> Result<()> {
        // The map and the word starts hold u32 offsets into the original and the folded text.
        let len = u32::try_from(text.len()).map_err(|_| Error::text_too_large(text.len()))?;
        let mut out = std::mem::take(&mut self.text).into_bytes();
        out.clear();
        out.reserve(text.len());
        self.anchors.clear();
        self.starts.clear();
        pass(text, table, &mut out, &mut self.anchors, &mut self.starts);
        self.len = len;
        // NFKC expansions of presentation forms can make the folded text longer than the
        // original; past u32::MAX its offsets would not fit (they wrapped harmlessly above).
        let Ok(folded_len) = u32::try_from(out.len()) else {
            self.starts.clear();
            self.anchors.clear();
            return Err(Error::text_too_large(text.len()));
        };
        if self
            .anchors
            .last()
            .is_none_or(|&(f, o)| len.wrapping_sub(folded_len) != o.wrapping_sub(f))
        {
            self.anchors.push((folded_len, len));
        }
        self.text = into_string(out);
        Ok(())
    }

    /// Heap bytes held by the buffers (their capacity, not their length).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.anchors.capacity() * std::mem::size_of::<(u32, u32)>()
            + self.starts.capacity() * std::mem::size_of::<u32>()
    }

    /// The byte offsets in the folded text where words start.
    #[doc(hidden)]
    pub fn word_starts(&self) -> &[u32] {
        &self.starts
    }

    /// The folded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first folded position whose character starts at or after original offset `orig`
    /// (the folded text's length when there is none): the inverse of
    /// [`Normalized::original_start`], by one binary search over the anchors.
    pub(crate) fn folded_start(&self, orig: usize) -> usize {
        let len = self.text.len();
        // The first anchor at or after `orig`, and the segment before it, where folded and
        // original characters line up byte for byte (identity before the first anchor).
        let j = self.anchors.partition_point(|&(_, o)| (o as usize) < orig);
        let next = self.anchors.get(j).map_or(len, |&(f, _)| f as usize);
        let (f, o) = j.checked_sub(1).map_or((0, 0), |i| self.anchors[i]);
        let mut p = f as usize + (orig - o as usize);
        while p < next && !self.text.is_char_boundary(p) {
            p += 1;
        }
        p.min(next)
    }

    /// The length in bytes of the original text this was folded from.
    pub fn original_len(&self) -> usize {
        self.len as usize
    }

    /// The original byte offset where the character behind folded byte `pos` starts
    /// (`pos == text().len()` gives the original length).
    ///
    /// # Panics
    /// Panics when `pos > text().len()`.
    pub fn original_start(&self, pos: usize) -> usize {
        self.locate(pos, None).0
    }

    /// [`Normalized::original_start`] of `pos`, and the number of anchors at or before the
    /// folded character of `pos`. With `after`, the same number for a position at or before
    /// `pos`: the anchors are then searched forward from there (a short span's end is a few
    /// anchors past its start at most) rather than by binary search.
    fn locate(&self, pos: usize, after: Option<usize>) -> (usize, usize) {
        assert!(pos <= self.text.len(), "position {pos} past the folded text");
        // Round down to the start of the folded character.
        let bytes = self.text.as_bytes();
        let mut p = pos;
        while p > 0 && p < bytes.len() && (bytes[p] & 0xC0) == 0x80 {
            p -= 1;
        }
        if p == self.text.len() {
            return (self.len as usize, self.anchors.len());
        }
        let i = match after {
            Some(from) => {
                from + self.anchors[from..].iter().take_while(|&&(f, _)| f as usize <= p).count()
            }
            None => self.anchors.partition_point(|&(f, _)| f as usize <= p),
        };
        match i.checked_sub(1).map(|i| self.anchors[i]) {
            // Between anchors, folded and original characters line up byte for byte.
            Some((f, o)) => ((o as usize) + (p - f as usize), i),
            None => (p, i),
        }
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
        let (s, i) = self.locate(start, None);
        let (last, i) = self.locate(end - 1, Some(i));
        let (next, _) = self.locate(end, Some(i));
        let mut e = last + original[last..].chars().next().map_or(0, char::len_utf8);
        // Swallow the marks that belong to the last letter (a final damma, a tatweel), but
        // nothing else the fold removed (an RLM is not part of the name).
        for c in original[e..next.max(e)].chars() {
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

    proptest::proptest! {
        /// `folded_start` is the smallest folded position whose `original_start` reaches the
        /// original offset, as a binary search over all positions finds it.
        #[test]
        fn folded_start_inverts_original_start(
            text in proptest::string::string_regex(
                "[ \t\nا-يأإآةىؤئـ\u{64B}-\u{652}\u{670}ﻷﷲﷻ٠-٩a-zA-Z.،\u{200C}\u{FEFF}\u{A0}«»]{0,40}"
            ).unwrap()
        ) {
            let n = normalize(&text, &NormalizeOptions::default()).unwrap();
            for orig in 0..=text.len() {
                let (mut lo, mut hi) = (0, n.text().len());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if n.original_start(mid) >= orig { hi = mid } else { lo = mid + 1 }
                }
                proptest::prop_assert_eq!(n.folded_start(orig), lo, "orig {} in {:?}", orig, text);
            }
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
