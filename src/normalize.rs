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
    /// The classes of the fast entries, for [`avx2::block`].
    sets: BlockSets,
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
        let sets = BlockSets::new(&fast_ascii, &fast_two);
        FoldTable { options: options.clone(), ascii, arabic, fast_ascii, fast_two, sets }
    }

    pub(crate) fn options(&self) -> &NormalizeOptions {
        &self.options
    }
}

/// The classes of the characters that [`avx2::block`] folds, as bit sets over a "block index"
/// from 0 to 511: ASCII bytes at 0..128, U+0080..U+00BF (lead byte 0xC2, the
/// guillemets of news text among them) at 128..192, the Arabic block U+0600..U+06FF (lead bytes
/// 0xD8..0xDB) at 256..512. An index `u` splits into a row `u >> 4` (0..32) and a column
/// `u & 15`; bit `k` of byte `column` of table `t` is row `8 * t + k`, so that a byte shuffle
/// (`PSHUFB`) by the columns looks up 32 characters in one instruction per table. Each table is
/// stored twice, for the two 128-bit lanes of an AVX2 register.
#[derive(Clone, Debug)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct BlockSets {
    /// Folds to a word character.
    word: [[u8; 32]; 4],
    /// Needs more than a copy: folds to other bytes, folds shorter, or is not cached
    /// ([`CHANGED`], [`SHRINK`], [`EXIT`]).
    special: [[u8; 32]; 4],
    /// White space ([`SPACE`]): rows 0..8, ASCII, the only white space that keeps its length.
    space: [u8; 32],
    /// `word` for a 64-byte table lookup (AVX-512 `VPERMB`): byte `16 * t + column` is byte
    /// `column` of table `t`.
    word_wide: [u8; 64],
    /// `special` as `word_wide`.
    special_wide: [u8; 64],
}

impl BlockSets {
    fn new(fast_ascii: &[u32; 128], fast_two: &[u32; TWO_LEN]) -> BlockSets {
        let two = |lead: usize, second: usize| fast_two[(lead << 8 | second) - TWO_BASE];
        let mut sets = BlockSets {
            word: [[0; 32]; 4],
            special: [[0; 32]; 4],
            space: [0; 32],
            word_wide: [0; 64],
            special_wide: [0; 64],
        };
        let ascii = fast_ascii.iter().copied().enumerate();
        let latin = (0..64).map(|x| (128 + x, two(0xC2, 0x80 | x)));
        let arabic = (0..256).map(|x| (256 + x, two(0xD8 | x >> 6, 0x80 | (x & 0x3F))));
        for (u, entry) in ascii.chain(latin).chain(arabic) {
            let (table, bit, column) = (u >> 7, 1u8 << (u >> 4 & 7), u & 15);
            let add = |tables: &mut [[u8; 32]; 4]| {
                tables[table][column] |= bit;
                tables[table][column + 16] |= bit;
            };
            if entry & (NONWORD | EXIT) == 0 {
                add(&mut sets.word);
            }
            if entry & (CHANGED | SHRINK | EXIT) != 0 {
                add(&mut sets.special);
            }
            if entry & SPACE != 0 && u < 128 {
                sets.space[column] |= bit;
                sets.space[column + 16] |= bit;
            }
        }
        for (t, c) in (0..4).flat_map(|t| (0..16).map(move |c| (t, c))) {
            sets.word_wide[16 * t + c] = sets.word[t][c];
            sets.special_wide[16 * t + c] = sets.special[t][c];
        }
        sets
    }
}

/// Is `c` part of a word: a letter, a digit, or a mark that the fold kept.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        (c as u8).is_ascii_alphanumeric()
    } else if cp < 0x800 {
        two_byte_word_char((cp - 0x80) as usize)
    } else {
        is_word_char_slow(c)
    }
}

/// [`is_word_char`] for U+0600 + `i`, `i` below 256 (the Arabic block).
#[inline(always)]
pub(crate) fn is_arabic_word_char(i: usize) -> bool {
    two_byte_word_char(0x600 - 0x80 + i)
}

/// [`is_word_char`] for U+0080 + `i`, `i` below 0x780: bit `i` of [`TWO_BYTE_WORD`].
#[inline(always)]
pub(crate) fn two_byte_word_char(i: usize) -> bool {
    TWO_BYTE_WORD[i / 64] >> (i % 64) & 1 == 1
}

fn is_word_char_slow(c: char) -> bool {
    c.is_alphanumeric() || is_removable_mark(c)
}

/// [`is_word_char_slow`] for the two-byte characters (U+0080..U+07FF, the Arabic block among
/// them), bit `i` for U+0080 + `i`: a constant, so that the hot loops that ask about every
/// character read it with no check that it was made (a test checks it against the Unicode
/// tables of the standard library; if they change, it prints the new table).
#[rustfmt::skip]
const TWO_BYTE_WORD: [u64; 30] = [
    0x762C_0400_0000_0000, 0xFF7F_FFFF_FF7F_FFFF, 0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF,
    0x0000_501F_0003_FFC3, 0x0000_0000_0000_0000, 0xBCDF_FFF8_0000_0020,
    0xFFFF_FFFB_FFFF_D740, 0xFFBF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FC03, 0xFFFF_FFFF_FFFF_FFFF,
    0xFFFE_FFFF_FFFF_FFFF, 0xFFFF_FFFF_027F_FFFF, 0xBFFF_0000_0000_01FF,
    0x0007_87FF_FFFF_00B6, 0xFFFF_FFFF_07FF_0000, 0xFFFF_C3FF_FFFF_FFFF,
    0xFFFF_FFFF_FFFF_FFFF, 0x9FFF_FFFF_FFEF_FFFF, 0xFFFF_FFFF_FFFF_0000,
    0xFFFF_FFFF_FFFF_E000, 0x0003_FFFF_FFFF_FFFF, 0x0430_07FF_FFFF_FFFF,
];

/// The state of one folding pass; with `MAP`, the offset anchors and word starts and ends are
/// kept too.
struct Sink<'a, const MAP: bool> {
    out: &'a mut Vec<u8>,
    anchors: &'a mut Vec<(u32, u32)>,
    starts: &'a mut Vec<u32>,
    ends: &'a mut Vec<u32>,
    last_space: bool,
    prev_word: bool,
    /// `original - folded` (wrapping) since the last anchor.
    delta: u32,
}

impl<const MAP: bool> Sink<'_, MAP> {
    fn put(&mut self, bytes: &[u8], word: bool, original: u32) {
        if MAP {
            // Wraps only past u32::MAX bytes of folded text, which refill() then rejects.
            if word && !self.prev_word {
                self.starts.push(self.out.len() as u32);
            } else if !word && self.prev_word {
                self.ends.push(self.out.len() as u32);
            }
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

/// When [`avx2::block`] stops within this many bytes of where it stopped before, the text has
/// marks on many letters: [`scan`] takes whole windows, one by one where it must, until one
/// window keeps its length; restarting a block at every mark would cost more. Otherwise
/// `block` skips a removed character itself, and `scan` hands back right after any other.
const DENSE: usize = 64;

/// The fast loop over one window of cached characters (ASCII, U+0080..U+07FF) at original
/// offset `at` and folded offset `here`: `dst` holds a copy of `src`. Characters that keep their
/// length are folded in place, with no anchor due. One that folds shorter (or is removed)
/// leaves the rest of the window behind by the bytes it lost: the characters after it are
/// written one by one, the first with an anchor as in [`run_reference`], until [`REALIGN`] in a
/// row kept their length; then the rest of `src` is copied again, behind, and folded in place.
/// Returns how many bytes of `src` were taken (at least [`LIMIT`], or less where it met an
/// uncached character or [`PAD`]) and how many of `dst` hold the folded text. With `HAND_BACK`
/// it returns instead of realigning, after the first character that keeps its length, for
/// [`avx2::block`] to go on from there.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scan<const MAP: bool, const HAND_BACK: bool>(
    src: &[u8; WINDOW],
    dst: &mut [u8; WINDOW],
    table: &FoldTable,
    at: u32,
    here: u32,
    anchors: &mut Vec<(u32, u32)>,
    starts: &mut Vec<u32>,
    ends: &mut Vec<u32>,
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
                } else if !word && prev_word {
                    ends.push(here.wrapping_add(p as u32));
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
                                ends.push(here.wrapping_add((j - shift) as u32));
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
                    } else if !word && prev_word {
                        ends.push(here.wrapping_add(p as u32));
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
                if HAND_BACK && kept == 1 {
                    break 'window;
                }
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

/// [`scan`] out of line, for the AVX2 pass: inlined there, it shares the registers with the
/// vector code and runs slower (measured: 15% on fully vocalized text). `hand_back` is
/// `HAND_BACK`.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn scan_apart<const MAP: bool>(
    src: &[u8; WINDOW],
    dst: &mut [u8; WINDOW],
    table: &FoldTable,
    at: u32,
    here: u32,
    anchors: &mut Vec<(u32, u32)>,
    starts: &mut Vec<u32>,
    ends: &mut Vec<u32>,
    state: &mut ScanState,
    hand_back: bool,
) -> (usize, usize) {
    if hand_back {
        scan::<MAP, true>(src, dst, table, at, here, anchors, starts, ends, state)
    } else {
        scan::<MAP, false>(src, dst, table, at, here, anchors, starts, ends, state)
    }
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
    ends: &mut Vec<u32>,
    state: &mut ScanState,
) -> usize {
    let mut src = [PAD; WINDOW];
    src[..rest.len()].copy_from_slice(rest);
    let mut dst = src;
    let here = out.len() as u32;
    let (j, p) = scan::<MAP, false>(&src, &mut dst, table, at, here, anchors, starts, ends, state);
    out.extend_from_slice(&dst[..p]);
    j
}

/// The vector fast path of [`run`], for x86-64 processors with AVX2 (checked at run time), in
/// AVX-512 registers where alam takes AVX-512 paths ([`crate::cpu::avx512`]: F, BW, VBMI and
/// VBMI2 among the subsets).
///
/// [`block`](avx2::block) folds a window of 64 bytes at once: it classifies every byte with
/// vector instructions ([`BlockSets`]; two halves of 32 bytes with AVX2, one register with
/// AVX-512), finds the word starts with bit operations on 64-bit masks, and fixes up only the
/// characters that fold to other bytes of the same length (أ → ا, ة → ه...: two or three per
/// window of news), one by one from their mask. Per character, the
/// scalar [`scan`] branches on every word end and every changed letter, which no predictor
/// learns in real text; here the branches are per window. A block stops at the first character
/// it cannot fold in place: it skips one that is removed (a haraka, a tatweel, white space after
/// white space) and leaves the others (shorter, not cached, or outside ASCII, U+0080..U+00BF and
/// the Arabic block) to `scan`.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{
        BlockSets, FoldTable, ScanState, CHANGED, EXIT, SHRINK, SHRINK_SHIFT, TWO_BASE, WINDOW,
    };

    /// Proof that the processor has AVX2 and POPCNT (every AVX2 processor has it), and with
    /// `Avx512` the AVX-512 subsets that [`classify_wide`] and [`compress_positions`] use: the
    /// only way to call [`block`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Vector {
        /// AVX2 and POPCNT: a block is classified in two halves of 32 bytes.
        Avx2(Private),
        /// And AVX-512 F, BW, VBMI and VBMI2 ([`crate::cpu::avx512`]): in one register of 64
        /// bytes.
        Avx512(Private),
    }

    /// Keeps [`Vector`]s from being made but by [`Vector::detect`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct Private(());

    impl Vector {
        /// The widest path this processor has, if any.
        pub(super) fn detect() -> Option<Vector> {
            let avx2 = Vector::detect_avx2()?;
            Some(if crate::cpu::avx512() { Vector::Avx512(Private(())) } else { avx2 })
        }

        /// The AVX2 path, where the processor has it (whether or not it has AVX-512).
        pub(super) fn detect_avx2() -> Option<Vector> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("popcnt"))
                .then_some(Vector::Avx2(Private(())))
        }
    }

    /// The classes of 32 bytes, one bit per byte.
    struct Classes {
        /// Not ASCII.
        high: u32,
        /// A lead byte of the Arabic block (0xD8..0xDB).
        arabic: u32,
        /// The lead byte 0xC2 (U+0080..U+00BF).
        latin: u32,
        /// A continuation byte (0x80..0xBF).
        cont: u32,
        /// The character starting here folds to a word character (valid at ASCII bytes and the
        /// lead bytes above).
        word: u32,
        /// The character starting here is special (see [`BlockSets::special`]).
        special: u32,
        /// White space (valid at ASCII bytes).
        space: u32,
    }

    /// The classes of 64 bytes, one bit per byte, as [`Classes`].
    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct Wide {
        high: u64,
        arabic: u64,
        latin: u64,
        cont: u64,
        word: u64,
        special: u64,
        space: u64,
    }

    impl Wide {
        /// The classes of `a` (the first 32 bytes) and `b` (the next 32).
        fn join(a: &Classes, b: &Classes) -> Wide {
            let join = |f: fn(&Classes) -> u32| u64::from(f(a)) | u64::from(f(b)) << 32;
            Wide {
                high: join(|c| c.high),
                arabic: join(|c| c.arabic),
                latin: join(|c| c.latin),
                cont: join(|c| c.cont),
                word: join(|c| c.word),
                special: join(|c| c.special),
                space: join(|c| c.space),
            }
        }
    }

    /// The classes of `src[..64]` (`src[64]` as the second byte of a character that starts at
    /// the last), by the path `vector` proves the processor has: [`classify`] twice, or
    /// [`classify_wide`]. The two give the same bits (a test compares them).
    #[inline(always)]
    pub(super) fn classes(vector: Vector, src: &[u8; WINDOW + 1], sets: &BlockSets) -> Wide {
        match vector {
            // SAFETY: a Vector exists only where detect() found AVX2 and POPCNT; classify()
            // checks its bounds.
            Vector::Avx2(_) => unsafe {
                Wide::join(&classify(src, 0, sets), &classify(src, 32, sets))
            },
            // SAFETY: and an Avx512 only where it found AVX-512 F, BW, VBMI and VBMI2.
            Vector::Avx512(_) => unsafe { classify_wide(src, sets) },
        }
    }

    /// [`classify`] of 64 bytes in AVX-512 registers: the four tables of a class are one
    /// 64-byte table that `VPERMB` looks up by the row's table and the column, and the
    /// comparisons give their masks directly.
    ///
    /// # Safety
    /// AVX2, POPCNT and AVX-512 F, BW and VBMI.
    #[inline]
    #[target_feature(enable = "avx2,popcnt,avx512f,avx512bw,avx512vbmi,avx512vbmi2")]
    unsafe fn classify_wide(src: &[u8; WINDOW + 1], sets: &BlockSets) -> Wide {
        let splat = |b: u8| _mm512_set1_epi8(b as i8);
        // SAFETY: 64 bytes from 0 and from 1 are within the 65 of `src`.
        let (v, next) = unsafe {
            (
                _mm512_loadu_si512(src.as_ptr().cast()),
                _mm512_loadu_si512(src.as_ptr().add(1).cast()),
            )
        };
        let high = _mm512_movepi8_mask(v);
        let arabic = _mm512_cmpeq_epi8_mask(_mm512_and_si512(v, splat(0xFC)), splat(0xD8));
        let key = _mm512_mask_blend_epi8(high, v, next);
        let column = _mm512_and_si512(key, splat(0x0F));
        let arabic_rows =
            _mm512_add_epi8(splat(8), _mm512_slli_epi16(_mm512_and_si512(v, splat(3)), 2));
        let plain_rows = _mm512_and_si512(_mm512_srli_epi16(key, 4), splat(0x0F));
        let row = _mm512_mask_add_epi8(plain_rows, arabic, plain_rows, arabic_rows);
        // 1 << (row & 7), as in classify().
        let bit = _mm512_shuffle_epi8(_mm512_set1_epi64(0x8040_2010_0804_0201_u64 as i64), row);
        // The table (row >> 3, row < 32) and the column: 16 * (row >> 3) + column.
        let index =
            _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi16(row, 1), splat(0x30)), column);
        let member = |table: &[u8; 64]| {
            // SAFETY: 64 bytes.
            let table = unsafe { _mm512_loadu_si512(table.as_ptr().cast()) };
            _mm512_test_epi8_mask(_mm512_permutexvar_epi8(index, table), bit)
        };
        // SAFETY: 16 of the 32 bytes.
        let space = unsafe { _mm_loadu_si128(sets.space.as_ptr().cast()) };
        let space = _mm512_shuffle_epi8(_mm512_broadcast_i32x4(space), column);
        Wide {
            high,
            arabic,
            latin: _mm512_cmpeq_epi8_mask(v, splat(0xC2)),
            // 0x80..0xBF are the signed bytes below -64.
            cont: _mm512_cmplt_epi8_mask(v, splat(0xC0)),
            word: member(&sets.word_wide),
            special: member(&sets.special_wide),
            space: _mm512_test_epi8_mask(space, bit),
        }
    }

    /// 32 times `b`.
    ///
    /// # Safety
    /// AVX2 and POPCNT.
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn splat(b: u8) -> __m256i {
        _mm256_set1_epi8(b as i8)
    }

    /// Loads 32 bytes.
    ///
    /// # Safety
    /// AVX2 and POPCNT (the bounds are checked).
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn load(bytes: &[u8], at: usize) -> __m256i {
        let chunk: &[u8; 32] = bytes[at..at + 32].try_into().expect("32 bytes");
        _mm256_loadu_si256(chunk.as_ptr().cast())
    }

    /// The byte of `tables` (as [`BlockSets`] lays them out) at row `row` and column `column`,
    /// with the row's bit `bit` (`1 << (row & 7)`): that bit set when the character is in the
    /// class.
    ///
    /// # Safety
    /// AVX2 and POPCNT.
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn member(tables: &[[u8; 32]; 4], row: __m256i, column: __m256i, bit: __m256i) -> u32 {
        let (t0, t1) = (load(&tables[0], 0), load(&tables[1], 0));
        let (t2, t3) = (load(&tables[2], 0), load(&tables[3], 0));
        // The top bit of each byte after a 16-bit shift is bit 3 (by 4) or bit 4 (by 3) of the
        // byte: which of the four tables.
        let (by8, by16) = (_mm256_slli_epi16(row, 4), _mm256_slli_epi16(row, 3));
        let low = _mm256_blendv_epi8(
            _mm256_shuffle_epi8(t0, column),
            _mm256_shuffle_epi8(t1, column),
            by8,
        );
        let high = _mm256_blendv_epi8(
            _mm256_shuffle_epi8(t2, column),
            _mm256_shuffle_epi8(t3, column),
            by8,
        );
        let byte = _mm256_blendv_epi8(low, high, by16);
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(byte, bit), bit)) as u32
    }

    /// The classes of the 32 bytes of `bytes` at `at`, `bytes[at + 32]` included as the second
    /// byte of a character that starts at the last.
    ///
    /// # Safety
    /// AVX2 and POPCNT (the bounds are checked).
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn classify(bytes: &[u8], at: usize, sets: &BlockSets) -> Classes {
        let v = load(bytes, at);
        // The next byte of each: the second byte of a two-byte character.
        let next = load(bytes, at + 1);
        let arabic = _mm256_cmpeq_epi8(_mm256_and_si256(v, splat(0xFC)), splat(0xD8));
        // The byte of the character's index that holds the column: the ASCII byte itself, the
        // second byte of a two-byte character (0x80..0xBF: its top nibble is 8..11).
        let key = _mm256_blendv_epi8(v, next, v);
        let column = _mm256_and_si256(key, splat(0x0F));
        // Rows: ASCII 0..8, 0xC2 8..12, Arabic 16 + 4 * (lead & 3) + 0..4.
        let arabic_rows =
            _mm256_add_epi8(splat(8), _mm256_slli_epi16(_mm256_and_si256(v, splat(3)), 2));
        let row = _mm256_add_epi8(
            _mm256_and_si256(_mm256_srli_epi16(key, 4), splat(0x0F)),
            _mm256_and_si256(arabic, arabic_rows),
        );
        // 1 << (row & 7): a shuffle uses the low four bits of each index (row < 32).
        let bit = _mm256_setr_epi8(
            1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64,
            -128, 1, 2, 4, 8, 16, 32, 64, -128,
        );
        let bit = _mm256_shuffle_epi8(bit, row);
        let space = _mm256_shuffle_epi8(load(&sets.space, 0), column);
        Classes {
            high: _mm256_movemask_epi8(v) as u32,
            arabic: _mm256_movemask_epi8(arabic) as u32,
            latin: _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, splat(0xC2))) as u32,
            // 0x80..0xBF are the signed bytes below -64.
            cont: _mm256_movemask_epi8(_mm256_cmpgt_epi8(splat(0xC0), v)) as u32,
            word: member(&sets.word, row, column, bit),
            special: member(&sets.special, row, column, bit),
            space: _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(space, bit), bit))
                as u32,
        }
    }

    /// Appends `base + k` (wrapping) to `positions` for each set bit `k` of `mask`, in
    /// increasing order: the first eight with no branch on the bits (a loop over them
    /// mispredicted its end in every window; a window of news holds about five words), a loop
    /// for the rest. Called twice a window (word starts and ends): eight `u32` written with a
    /// table of each byte's bit positions cost three times the instructions.
    #[inline(always)]
    pub(super) fn push_positions(positions: &mut Vec<u32>, mut mask: u64, base: u32) {
        positions.reserve(WINDOW);
        let len = positions.len();
        let count = mask.count_ones() as usize;
        let spare = &mut positions.spare_capacity_mut()[..WINDOW];
        // Past the set bits, `trailing_zeros` is 64 and the slot is left beyond the length.
        for slot in &mut spare[..8] {
            slot.write(base.wrapping_add(mask.trailing_zeros()));
            mask &= mask.wrapping_sub(1);
        }
        let mut k = 8;
        while mask != 0 {
            spare[k].write(base.wrapping_add(mask.trailing_zeros()));
            mask &= mask - 1;
            k += 1;
        }
        // SAFETY: the slots len..len + count were written above, within the capacity reserved.
        unsafe { positions.set_len(len + count) };
    }

    /// [`push_positions`] by AVX-512: the set bits' positions compressed into the low bytes
    /// of a register (`VPCOMPRESSB`), the first sixteen widened to `u32` and stored at once,
    /// any more one by one (a window of news holds about five words).
    ///
    /// # Safety
    /// AVX-512 F, BW, VBMI and VBMI2.
    #[inline]
    #[target_feature(enable = "avx2,popcnt,avx512f,avx512bw,avx512vbmi,avx512vbmi2")]
    pub(super) unsafe fn compress_positions(positions: &mut Vec<u32>, mut mask: u64, base: u32) {
        positions.reserve(WINDOW);
        let len = positions.len();
        let count = mask.count_ones() as usize;
        let iota = _mm512_set_epi8(
            63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42,
            41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
            19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
        );
        let first = _mm512_castsi512_si128(_mm512_maskz_compress_epi8(mask, iota));
        let sixteen = _mm512_add_epi32(_mm512_cvtepu8_epi32(first), _mm512_set1_epi32(base as i32));
        let spare = &mut positions.spare_capacity_mut()[..WINDOW];
        // SAFETY: 16 u32 within the WINDOW reserved; past `count` they are left beyond the
        // length.
        unsafe { _mm512_storeu_si512(spare.as_mut_ptr().cast(), sixteen) };
        if count > 16 {
            for _ in 0..16 {
                mask &= mask - 1;
            }
            for slot in &mut spare[16..count] {
                slot.write(base.wrapping_add(mask.trailing_zeros()));
                mask &= mask - 1;
            }
        }
        // SAFETY: the slots len..len + count were written above, within the capacity reserved.
        unsafe { positions.set_len(len + count) };
    }

    /// Folds the characters of `src[..64]` in place in `dst` (a copy of it), up to the first
    /// one that does not keep its length or is not in the [`BlockSets`], and at most up to the
    /// 64th byte (the 63rd when a two-byte character starts there); `src[64]` is only read.
    /// Records the word starts and ends and the anchor due as [`scan`](super::scan) does, at original
    /// offset `at` and folded offset `here`. Returns how many bytes it folded, and how many it
    /// skipped after them: those of a removed character where it stopped (0 otherwise), after
    /// which the next character written needs an anchor.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn block<const MAP: bool>(
        vector: Vector,
        src: &[u8; WINDOW + 1],
        dst: &mut [u8; WINDOW],
        table: &FoldTable,
        at: u32,
        here: u32,
        anchors: &mut Vec<(u32, u32)>,
        starts: &mut Vec<u32>,
        ends: &mut Vec<u32>,
        state: &mut ScanState,
    ) -> (usize, usize) {
        let c = classes(vector, src, &table.sets);
        let two = c.arabic | c.latin;
        let ascii = !c.high;
        let lead = ascii | two;
        let word = c.word & lead;
        // The bytes of word characters, second bytes included.
        let word_bytes = word | (word & two) << 1;
        let space = c.space & ascii;
        // White space after white space: dropped, so not in place.
        let collapse = space & (space << 1 | u64::from(state.last_space));
        // Lead bytes of characters outside the classes (three-byte and four-byte ones among
        // them), and the dropped white space: stops without a table lookup.
        let outside = !(lead | c.cont);
        let hard = outside | collapse;
        // A two-byte character at byte 63 is left to the next window.
        let end = WINDOW - (two >> 63) as usize;
        let mut todo = (c.special & lead | hard) & (u64::MAX >> (WINDOW - end));
        let (mut stop, mut skip) = (end, 0);
        while todo != 0 {
            let j = todo.trailing_zeros() as usize;
            let entry = if outside >> j & 1 != 0 {
                EXIT
            } else if collapse >> j & 1 != 0 {
                // Removed.
                SHRINK
            } else if src[j] < 0x80 {
                table.fast_ascii[usize::from(src[j])]
            } else {
                let k = usize::from(src[j]) << 8 | usize::from(src[j + 1]);
                table.fast_two.get(k.wrapping_sub(TWO_BASE)).copied().unwrap_or(EXIT)
            };
            if entry & (EXIT | SHRINK) != 0 {
                stop = j;
                if entry & (EXIT | 3 << SHRINK_SHIFT) == 0 {
                    // Removed (a haraka, a tatweel, white space after white space): skipped
                    // here, with an anchor due at the next character written.
                    skip = 1 + (two >> j & 1) as usize;
                }
                break;
            }
            debug_assert!(entry & CHANGED != 0);
            dst[j] = entry as u8;
            if two >> j & 1 != 0 {
                dst[j + 1] = (entry >> 8) as u8;
            }
            todo &= todo - 1;
        }
        if stop == 0 {
            state.pending |= MAP && skip > 0;
            return (0, skip);
        }
        let taken = u64::MAX >> (WINDOW - stop);
        if MAP {
            // A word character after a character that is not one, or after the last one of the
            // previous window when that is not one.
            let before = word_bytes << 1 | u64::from(state.prev_word);
            let word_starts = word & !before & taken;
            // And the first character after a run of word characters (no byte of a word
            // character, after one).
            let word_ends = !word_bytes & before & taken;
            match vector {
                Vector::Avx2(_) => {
                    push_positions(starts, word_starts, here);
                    push_positions(ends, word_ends, here);
                }
                // SAFETY: a Vector::Avx512 exists only where detect() found AVX-512 VBMI2.
                Vector::Avx512(_) => unsafe {
                    compress_positions(starts, word_starts, here);
                    compress_positions(ends, word_ends, here);
                },
            }
            if state.pending {
                anchors.push((here, at));
            }
        }
        state.pending = MAP && skip > 0;
        state.prev_word = word_bytes >> (stop - 1) & 1 != 0;
        state.last_space = space >> (stop - 1) & 1 != 0;
        (stop, skip)
    }
}

/// The one pass shared by [`normalize`] and [`fold`]: [`run_with`], with the vector fast path
/// where the processor has it.
fn run<const MAP: bool>(
    text: &str,
    table: &FoldTable,
    out: &mut Vec<u8>,
    anchors: &mut Vec<(u32, u32)>,
    starts: &mut Vec<u32>,
    ends: &mut Vec<u32>,
) {
    run_by::<MAP>(avx2::Vector::detect, text, table, out, anchors, starts, ends);
}

/// [`run_with`] by the path `detect` finds, when it finds one and `text` fills a block; else
/// by none. Shorter texts (names) would not use it: no detection, no call.
fn run_by<const MAP: bool>(
    detect: fn() -> Option<avx2::Vector>,
    text: &str,
    table: &FoldTable,
    out: &mut Vec<u8>,
    anchors: &mut Vec<(u32, u32)>,
    starts: &mut Vec<u32>,
    ends: &mut Vec<u32>,
) {
    match (text.len() > WINDOW).then(detect).flatten() {
        #[cfg(target_arch = "x86_64")]
        Some(vector) => run_vector::<MAP>(text, table, out, anchors, starts, ends, vector),
        _ => run_with::<MAP>(text, table, out, anchors, starts, ends, None),
    }
}

/// [`run_with`] by the vector path `vector` proves the processor has, each compiled for its
/// instructions so that [`avx2::block`]'s vector code is inlined in its loop.
#[cfg(target_arch = "x86_64")]
fn run_vector<const MAP: bool>(
    text: &str,
    table: &FoldTable,
    out: &mut Vec<u8>,
    anchors: &mut Vec<(u32, u32)>,
    starts: &mut Vec<u32>,
    ends: &mut Vec<u32>,
    vector: avx2::Vector,
) {
    #[target_feature(enable = "avx2,popcnt")]
    fn run_avx2<const MAP: bool>(
        text: &str,
        table: &FoldTable,
        out: &mut Vec<u8>,
        anchors: &mut Vec<(u32, u32)>,
        starts: &mut Vec<u32>,
        ends: &mut Vec<u32>,
        vector: avx2::Vector,
    ) {
        run_with::<MAP>(text, table, out, anchors, starts, ends, Some(vector));
    }
    #[target_feature(enable = "avx2,popcnt,avx512f,avx512bw,avx512vbmi,avx512vbmi2")]
    fn run_avx512<const MAP: bool>(
        text: &str,
        table: &FoldTable,
        out: &mut Vec<u8>,
        anchors: &mut Vec<(u32, u32)>,
        starts: &mut Vec<u32>,
        ends: &mut Vec<u32>,
        vector: avx2::Vector,
    ) {
        run_with::<MAP>(text, table, out, anchors, starts, ends, Some(vector));
    }
    match vector {
        // SAFETY: a Vector::Avx2 exists only where detect() found AVX2 and POPCNT.
        avx2::Vector::Avx2(_) => unsafe {
            run_avx2::<MAP>(text, table, out, anchors, starts, ends, vector)
        },
        // SAFETY: and a Vector::Avx512 only where it found AVX-512 F, BW, VBMI and VBMI2 too.
        avx2::Vector::Avx512(_) => unsafe {
            run_avx512::<MAP>(text, table, out, anchors, starts, ends, vector)
        },
    }
}

/// No vector fast path off x86-64.
#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    use super::{FoldTable, ScanState, WINDOW};

    /// Never made.
    #[derive(Clone, Copy)]
    pub(super) enum Vector {}

    impl Vector {
        pub(super) fn detect() -> Option<Vector> {
            None
        }

        #[cfg(test)]
        pub(super) fn detect_avx2() -> Option<Vector> {
            None
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn block<const MAP: bool>(
        vector: Vector,
        _: &[u8; WINDOW + 1],
        _: &mut [u8; WINDOW],
        _: &FoldTable,
        _: u32,
        _: u32,
        _: &mut Vec<(u32, u32)>,
        _: &mut Vec<u32>,
        _: &mut Vec<u32>,
        _: &mut ScanState,
    ) -> (usize, usize) {
        match vector {}
    }
}

/// The pass: blocks of 64 bytes by [`avx2::block`] when `avx2` is there, windows of cached
/// characters (ASCII and the two-byte U+0080..U+07FF, most of a text) by [`scan`] where a block
/// stops (or always without `avx2`), each other character as in [`run_reference`], which the
/// tests compare this with. Only whole characters are written, so `out` stays UTF-8.
#[inline(always)]
fn run_with<const MAP: bool>(
    text: &str,
    table: &FoldTable,
    out_vec: &mut Vec<u8>,
    anchors_vec: &mut Vec<(u32, u32)>,
    starts_vec: &mut Vec<u32>,
    ends_vec: &mut Vec<u32>,
    avx2: Option<avx2::Vector>,
) {
    let mut out = std::mem::take(out_vec);
    let mut anchors = std::mem::take(anchors_vec);
    let mut starts = std::mem::take(starts_vec);
    let mut ends = std::mem::take(ends_vec);
    let (out, anchors, starts, ends) = (&mut out, &mut anchors, &mut starts, &mut ends);
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut last_space = false;
    let mut prev_word = false;
    // `original - folded` (wrapping) at the last anchor, 0 before the first.
    let mut delta = 0u32;
    let mut i = 0;
    // Where block() last stopped, and whether its stops come close together (see DENSE).
    let (mut last_stop, mut dense) = (0, false);
    while i < n {
        if entry_at(table, bytes, i) & EXIT == 0 {
            // Offsets fit in u32 (or wrap harmlessly) as in run_reference().
            let mut state = ScanState {
                prev_word,
                last_space,
                pending: MAP && (i as u32).wrapping_sub(out.len() as u32) != delta,
            };
            while i < n {
                if let (Some(avx2), false, Some(src)) =
                    (avx2, dense, bytes[i..].first_chunk::<{ WINDOW + 1 }>())
                {
                    let o = out.len();
                    // Copy ahead; block() folds in place and the rest is cut.
                    out.extend_from_slice(&src[..WINDOW]);
                    let dst = out[o..].first_chunk_mut().expect("a window was just added");
                    let (k, skip) = avx2::block::<MAP>(
                        avx2, src, dst, table, i as u32, o as u32, anchors, starts, ends,
                        &mut state,
                    );
                    out.truncate(o + k);
                    i += k + skip;
                    if k >= LIMIT {
                        continue;
                    }
                    dense = i - last_stop < DENSE;
                    last_stop = i;
                    if skip > 0 && !dense {
                        continue;
                    }
                }
                let o = out.len();
                let j = match bytes[i..].first_chunk::<WINDOW>() {
                    Some(src) => {
                        // Copy ahead; scan() folds in place and the rest is cut.
                        out.extend_from_slice(src);
                        let dst = out[o..].first_chunk_mut().expect("a window was just added");
                        let (j, p) = if avx2.is_some() {
                            scan_apart::<MAP>(
                                src, dst, table, i as u32, o as u32, anchors, starts, ends,
                                &mut state, !dense,
                            )
                        } else {
                            scan::<MAP, false>(
                                src, dst, table, i as u32, o as u32, anchors, starts, ends,
                                &mut state,
                            )
                        };
                        out.truncate(o + p);
                        dense &= p < j;
                        j
                    }
                    None => scan_end::<MAP>(
                        &bytes[i..],
                        table,
                        i as u32,
                        out,
                        anchors,
                        starts,
                        ends,
                        &mut state,
                    ),
                };
                i += j;
                // Short: at an uncached character or the end, or handed back to block().
                if j < LIMIT && (avx2.is_none() || entry_at(table, bytes, i) & EXIT != 0) {
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
        let mut sink = Sink::<MAP> { out, anchors, starts, ends, last_space, prev_word, delta };
        sink.emit(c, i as u32, &table.options);
        (last_space, prev_word, delta) = (sink.last_space, sink.prev_word, sink.delta);
        i += c.len_utf8();
    }
    if MAP && prev_word {
        ends.push(out.len() as u32);
    }
    *out_vec = std::mem::take(out);
    *anchors_vec = std::mem::take(anchors);
    *starts_vec = std::mem::take(starts);
    *ends_vec = std::mem::take(ends);
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
    ends_vec: &mut Vec<u32>,
) {
    // Owned locals, not references: the compiler can then keep their pointers and lengths in
    // registers across the loop (measured: a third fewer instructions).
    let mut out = std::mem::take(out_vec);
    let mut anchors = std::mem::take(anchors_vec);
    let mut starts = std::mem::take(starts_vec);
    let mut ends = std::mem::take(ends_vec);
    let (out, anchors, starts, ends) = (&mut out, &mut anchors, &mut starts, &mut ends);
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
                } else if !word && prev_word {
                    ends.push(here);
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
                        Sink::<MAP> { out, anchors, starts, ends, last_space, prev_word, delta };
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
                        Sink::<MAP> { out, anchors, starts, ends, last_space, prev_word, delta };
                    sink.emit(c, at, &table.options);
                    (last_space, prev_word, delta) = (sink.last_space, sink.prev_word, sink.delta);
                }
            }
            i += 2;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        let mut sink = Sink::<MAP> { out, anchors, starts, ends, last_space, prev_word, delta };
        sink.emit(c, at, &table.options);
        (last_space, prev_word, delta) = (sink.last_space, sink.prev_word, sink.delta);
        i += c.len_utf8();
    }
    if MAP && prev_word {
        ends.push(out.len() as u32);
    }
    *out_vec = std::mem::take(out);
    *anchors_vec = std::mem::take(anchors);
    *starts_vec = std::mem::take(starts);
    *ends_vec = std::mem::take(ends);
}

/// Turns bytes that [`run`] (or [`run_reference`]) wrote back into a `String`.
fn into_string(bytes: Vec<u8>) -> String {
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    // SAFETY: run() copies whole UTF-8 sequences of a `&str` (an ASCII byte, the two bytes of
    // a two-byte character) or writes `char::encode_utf8` output, so `bytes` is UTF-8.
    // scan() copies whole windows ahead but cuts them after the last character it took, writes
    // table bytes that are `encode_utf8` output, and writes the byte after a one-byte character
    // only where the next character, a copy or the cut covers it. avx2::block() copies whole
    // windows ahead too, cuts them before the first character it did not take (never inside
    // one: a two-byte character at the last byte is left out), and writes table bytes over
    // whole characters that keep their length. tests/normalize_fast.rs and
    // tests/normalize_blocks.rs compare the bytes with run_reference()'s. Validating again cost
    // a fifth of the folding time.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// The fold table of the default options, built once.
fn default_table() -> &'static FoldTable {
    static TABLE: std::sync::OnceLock<FoldTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| FoldTable::new(&NormalizeOptions::default()))
}

/// A fold table for `options`: the shared default one when they are the defaults.
pub(crate) fn table_for(options: &NormalizeOptions) -> std::borrow::Cow<'static, FoldTable> {
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
    run::<false>(text, table, &mut out, &mut Vec::new(), &mut Vec::new(), &mut Vec::new());
    into_string(out)
}

/// A folding pass: [`run`] or [`run_reference`].
type Pass = fn(&str, &FoldTable, &mut Vec<u8>, &mut Vec<(u32, u32)>, &mut Vec<u32>, &mut Vec<u32>);

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
    /// Where each of those words ends (`ends[k]` for `starts[k]`): its run of word characters,
    /// found by the pass that finds the starts (where a word walk took 29 instructions a word
    /// to find it again, 5% of `alam tag`'s).
    ends: Vec<u32>,
    /// Where a relation trigger may start, as found by an extractor linked to a relation
    /// extractor (`ExtractorBuilder::relations`) while it walked the names: per block of 64
    /// word starts, one bit per word for the word itself, the word after a one-letter and
    /// after a two-letter proclitic run.
    pub(crate) trigger_words: Vec<[u64; 3]>,
    /// The trigger filter that `trigger_words` answers for, if any (held, so that no other
    /// filter can take its place while the marks are kept).
    pub(crate) trigger_filter: Option<std::sync::Arc<crate::firstword::FirstWords>>,
}

/// The index of the first element of `sorted` that is not `below`, searched forward from
/// `from`, which must be at most that index: a doubling probe, then a binary search in its last
/// step (a few comparisons when `from` is the answer for a key shortly before, where a search of
/// the whole slice takes a dozen). `sorted` is partitioned by `below`, as for
/// `slice::partition_point`.
pub(crate) fn partition_point_from<T>(
    sorted: &[T],
    from: usize,
    below: impl Fn(&T) -> bool,
) -> usize {
    debug_assert!(from == 0 || below(&sorted[from.min(sorted.len()) - 1]));
    let (mut lo, mut step) = (from.min(sorted.len()), 1);
    while lo + step <= sorted.len() && below(&sorted[lo + step - 1]) {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step).min(sorted.len());
    lo + sorted[lo..hi].partition_point(below)
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
        self.ends.clear();
        // News has a word start every 9-10 bytes: reserving for one in 8 spares most of the
        // doubling copies (and the pages they touch) of a fresh value on a long text; a reused
        // one has the room already. 8 MB of news normalized anew: 544 -> 656 MiB/s.
        self.starts.reserve(text.len() / 8);
        self.ends.reserve(text.len() / 8);
        self.trigger_words.clear();
        self.trigger_filter = None;
        pass(text, table, &mut out, &mut self.anchors, &mut self.starts, &mut self.ends);
        debug_assert_eq!(self.starts.len(), self.ends.len());
        self.len = len;
        // NFKC expansions of presentation forms can make the folded text longer than the
        // original; past u32::MAX its offsets would not fit (they wrapped harmlessly above).
        let Ok(folded_len) = u32::try_from(out.len()) else {
            self.starts.clear();
            self.ends.clear();
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
            + (self.starts.capacity() + self.ends.capacity()) * std::mem::size_of::<u32>()
            + self.trigger_words.capacity() * std::mem::size_of::<[u64; 3]>()
    }

    /// The byte offsets in the folded text where words start.
    #[doc(hidden)]
    pub fn word_starts(&self) -> &[u32] {
        &self.starts
    }

    /// Where the words of [`Normalized::word_starts`] end, one for each: the end of the run of
    /// word characters that starts there.
    #[doc(hidden)]
    pub fn word_ends(&self) -> &[u32] {
        &self.ends
    }

    /// The folded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first folded position whose character starts at or after original offset `orig`
    /// (the folded text's length when there is none): the inverse of
    /// [`Normalized::original_start`]. The anchors are searched forward from anchor `from`,
    /// which must come at or before `orig` (0 always does): a doubling probe, a few steps when
    /// `from` is the anchor returned for a position shortly before `orig`. Returns the folded
    /// position and the anchor to search from for a later position.
    pub(crate) fn folded_start_after(&self, orig: usize, from: usize) -> (usize, usize) {
        let len = self.text.len();
        // The first anchor at or after `orig`, and the segment before it, where folded and
        // original characters line up byte for byte (identity before the first anchor).
        let j = partition_point_from(&self.anchors, from, |&(_, o)| (o as usize) < orig);
        let next = self.anchors.get(j).map_or(len, |&(f, _)| f as usize);
        let (f, o) = j.checked_sub(1).map_or((0, 0), |i| self.anchors[i]);
        let mut p = f as usize + (orig - o as usize);
        while p < next && !self.text.is_char_boundary(p) {
            p += 1;
        }
        (p.min(next), j)
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

    /// Whether folded position `pos` falls inside the expansion of one original character: the
    /// folded characters before and at `pos` both come from it (ﻻ folds to لا, ﷺ to four
    /// words). Always false at the ends of the folded text.
    ///
    /// ```
    /// use alam::{normalize, NormalizeOptions};
    ///
    /// let n = normalize("\u{FEFB}ب", &NormalizeOptions::default()).unwrap();
    /// assert_eq!(n.text(), "لاب");
    /// assert!(n.splits_original("ل".len()));
    /// assert!(!n.splits_original("لا".len()));
    /// ```
    ///
    /// # Panics
    /// Panics when `pos > text().len()`.
    pub fn splits_original(&self, pos: usize) -> bool {
        pos > 0
            && pos < self.text.len()
            && self.splits_original_at(pos, self.original_start(pos), 0)
    }

    /// [`Normalized::splits_original`] for a position whose [`Normalized::original_start`] is
    /// known, `original`, with the anchors searched from `from` on: the anchor count that
    /// [`Normalized::original_span_after`] gave for a position before `pos - 1` (positions
    /// asked in text order).
    pub(crate) fn splits_original_at(&self, pos: usize, original: usize, from: usize) -> bool {
        pos > 0 && pos < self.text.len() && self.locate(pos - 1, Some(from)).0 == original
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
        let at_or_before = |&(f, _): &(u32, u32)| f as usize <= p;
        let i = match after {
            // Searched forward from `from` when that is at or before the answer (an earlier
            // position's count), else over all anchors.
            Some(from) if from == 0 || self.anchors.get(from - 1).is_some_and(at_or_before) => {
                partition_point_from(&self.anchors, from, at_or_before)
            }
            _ => self.anchors.partition_point(at_or_before),
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
        self.original_span_after(original, start, end, None).span
    }

    /// [`Normalized::original_span`], the number of anchors at or before `start`'s character
    /// and [`Normalized::splits_original`] of `end`, which the span's mapping finds on the way
    /// (a mention asked seven positions of the map where four do). With `from`, the number of
    /// anchors for an earlier position: spans asked in text order (a document's mentions) then
    /// search the anchors forward from the last one.
    pub(crate) fn original_span_after(
        &self,
        original: &str,
        start: usize,
        end: usize,
        from: Option<usize>,
    ) -> MappedSpan {
        assert!(start < end, "empty span");
        let (s, first) = self.locate(start, from);
        let (last, i) = self.locate(end - 1, Some(first));
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
        let splits_end = end < self.text.len() && last == next;
        MappedSpan { span: (s, e), anchor: first, splits_end }
    }
}

/// A folded span mapped back to the original ([`Normalized::original_span_after`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MappedSpan {
    /// The original span.
    pub(crate) span: (usize, usize),
    /// The number of anchors at or before the folded start's character.
    pub(crate) anchor: usize,
    /// The folded end falls inside one original character's expansion.
    pub(crate) splits_end: bool,
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

    #[test]
    fn the_two_byte_word_table_is_the_unicode_one() {
        let mut words = [0u64; 30];
        for i in 0..0x780u32 {
            if char::from_u32(0x80 + i).is_some_and(is_word_char_slow) {
                words[(i / 64) as usize] |= 1 << (i % 64);
            }
        }
        let hex: Vec<String> = words.iter().map(|w| format!("{w:#018X}")).collect();
        assert_eq!(words, TWO_BYTE_WORD, "the table is now [{}]", hex.join(", "));
        for c in ['ب', 'ة', '\u{064E}', 'é', 'ß', '٣'] {
            assert!(is_word_char(c), "{c:?}");
        }
        for c in ['،', '؛', '؟', '«', '»', '\u{00A0}', '٪'] {
            assert!(!is_word_char(c), "{c:?}");
        }
        for i in 0..256 {
            let c = char::from_u32(0x600 + i as u32).unwrap();
            assert_eq!(is_arabic_word_char(i), is_word_char(c), "{c:?}");
        }
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
        /// The forward search from a cursor finds what a binary search of the whole slice does.
        #[test]
        fn forward_search_is_the_binary_search(
            mut sorted in proptest::collection::vec(0u32..200, 0..80),
            x in 0u32..220,
            from_frac in 0.0f64..=1.0,
        ) {
            sorted.sort_unstable();
            let expected = sorted.partition_point(|&w| w < x);
            // Any cursor at or before the answer.
            let from = (expected as f64 * from_frac) as usize;
            proptest::prop_assert_eq!(partition_point_from(&sorted, from, |&w| w < x), expected);
        }

        /// Spans and splits asked in text order with the last answer's anchor count, or with any
        /// count at all (one past the answer falls back to the whole search), are the plain
        /// ones: `original_span` as `original_start` and the marks after the end make it, and
        /// `splits_original` as two `original_start`s.
        #[test]
        fn spans_after_a_cursor_are_the_plain_spans(
            text in proptest::string::string_regex(
                "[ \t\nا-يأإآةىؤئـ\u{64B}-\u{652}\u{670}ﻷﷲﷻ٠-٩a-zA-Z.،\u{200C}\u{FEFF}\u{A0}«»]{0,60}"
            ).unwrap(),
            cuts in proptest::collection::vec(0usize..200, 0..16),
            wild in 0usize..40,
        ) {
            let n = normalize(&text, &NormalizeOptions::default()).unwrap();
            let folded = n.text();
            let mut cuts: Vec<usize> =
                cuts.into_iter().filter(|&c| c <= folded.len() && folded.is_char_boundary(c)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut cursor = 0;
            for pair in cuts.windows(2) {
                let (start, end) = (pair[0], pair[1]);
                let s = n.original_start(start);
                let mut e = n.original_start(end - 1);
                e += text[e..].chars().next().map_or(0, char::len_utf8);
                let next = n.original_start(end).max(e);
                e += text[e..next].chars().take_while(|&c| is_removable_mark(c)).map(char::len_utf8).sum::<usize>();
                let plain = n.original_span(&text, start, end);
                proptest::prop_assert_eq!(plain, (s, e), "{:?} {}..{}", text, start, end);
                let mapped = n.original_span_after(&text, start, end, Some(cursor));
                proptest::prop_assert_eq!(mapped.span, plain, "{:?} {}..{} after {}", text, start, end, cursor);
                proptest::prop_assert_eq!(n.original_span_after(&text, start, end, Some(wild)).span, plain);
                proptest::prop_assert_eq!(mapped.splits_end, n.splits_original(end));
                proptest::prop_assert_eq!(n.splits_original_at(start, s, cursor), n.splits_original(start));
                for pos in [start, end] {
                    let split = pos > 0
                        && pos < folded.len()
                        && n.original_start(pos - 1) == n.original_start(pos);
                    proptest::prop_assert_eq!(n.splits_original(pos), split);
                    let original = n.original_start(pos);
                    proptest::prop_assert_eq!(n.splits_original_at(pos, original, cursor), split);
                    proptest::prop_assert_eq!(n.splits_original_at(pos, original, wild), split);
                }
                cursor = mapped.anchor;
            }
        }

        /// `folded_start_after` is the smallest folded position whose `original_start` reaches the
        /// original offset, as a binary search over all positions finds it.
        #[test]
        fn folded_start_inverts_original_start(
            text in proptest::string::string_regex(
                "[ \t\nا-يأإآةىؤئـ\u{64B}-\u{652}\u{670}ﻷﷲﷻ٠-٩a-zA-Z.،\u{200C}\u{FEFF}\u{A0}«»]{0,40}"
            ).unwrap()
        ) {
            let n = normalize(&text, &NormalizeOptions::default()).unwrap();
            let mut cursor = 0;
            for orig in 0..=text.len() {
                let (mut lo, mut hi) = (0, n.text().len());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if n.original_start(mid) >= orig { hi = mid } else { lo = mid + 1 }
                }
                proptest::prop_assert_eq!(n.folded_start_after(orig, 0).0, lo, "orig {} in {:?}", orig, text);
                // Searched from the anchor found for an earlier position: the same.
                let (at, anchor) = n.folded_start_after(orig, cursor);
                proptest::prop_assert_eq!(at, lo, "orig {} from anchor {} in {:?}", orig, cursor, text);
                cursor = anchor;
            }
        }
    }

    /// Folded bytes, anchors, word starts and ends.
    type Outputs = (Vec<u8>, Vec<(u32, u32)>, Vec<u32>, Vec<u32>);

    /// What `pass` makes of `text` under the default options.
    fn outputs(text: &str, pass: Pass) -> Outputs {
        let (mut out, mut anchors, mut starts, mut ends) = Default::default();
        pass(text, default_table(), &mut out, &mut anchors, &mut starts, &mut ends);
        (out, anchors, starts, ends)
    }

    /// The default options with the harakat, tatweel, digits, invisible and spaces folds
    /// turned off where `off` says so, in that order.
    fn options_with_off(off: &[bool]) -> NormalizeOptions {
        let mut o = NormalizeOptions::default();
        let switches =
            [&mut o.harakat, &mut o.tatweel, &mut o.digits, &mut o.invisible, &mut o.spaces];
        for (switch, &off) in switches.into_iter().zip(off) {
            *switch = !off;
        }
        o
    }

    #[cfg(target_arch = "x86_64")]
    proptest::proptest! {
        /// The classes of a block by AVX-512 are those by AVX2, bit for bit, for any 65 bytes
        /// (UTF-8 or not) under any options (where the processor has AVX-512).
        #[test]
        fn wide_classes_are_the_avx2_classes(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u8::ANY,
                    proptest::sample::select(vec![b' ', b'\n', b'a', b'7', 0xC2, 0xD8, 0xD9, 0xDA, 0xDB, 0x80, 0x8B, 0xA7, 0xBF]),
                ],
                WINDOW + 1,
            ),
            off in proptest::collection::vec(proptest::bool::ANY, 5),
        ) {
            let o = options_with_off(&off);
            let table = FoldTable::new(&o);
            let src: &[u8; WINDOW + 1] = bytes[..].try_into().unwrap();
            if let (Some(narrow), Some(wide @ avx2::Vector::Avx512(_))) =
                (avx2::Vector::detect_avx2(), avx2::Vector::detect())
            {
                proptest::prop_assert_eq!(
                    avx2::classes(narrow, src, &table.sets),
                    avx2::classes(wide, src, &table.sets)
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    proptest::proptest! {
        /// The positions of a mask's bits pushed by AVX-512 are those pushed one by one, after
        /// what the vector held, for masks of any density (up to 64 bits) and any base (where
        /// the processor has AVX-512).
        #[test]
        fn compressed_positions_are_the_pushed_ones(
            held in proptest::collection::vec(proptest::num::u32::ANY, 0..70),
            masks in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u64::ANY,
                    proptest::strategy::Strategy::prop_map((proptest::num::u64::ANY, proptest::num::u64::ANY), |(a, b)| a | b),
                    proptest::strategy::Strategy::prop_map(proptest::num::u64::ANY, |a| a & a >> 1),
                ],
                1..4,
            ),
            base in proptest::num::u32::ANY,
        ) {
            if !matches!(avx2::Vector::detect(), Some(avx2::Vector::Avx512(_))) {
                return Ok(());
            }
            let (mut pushed, mut compressed) = (held.clone(), held);
            for (i, &mask) in masks.iter().enumerate() {
                let base = base.wrapping_add(64 * i as u32);
                avx2::push_positions(&mut pushed, mask, base);
                // SAFETY: detect() found AVX-512 F, BW, VBMI and VBMI2.
                unsafe { avx2::compress_positions(&mut compressed, mask, base) };
            }
            proptest::prop_assert_eq!(compressed, pushed);
        }
    }

    proptest::proptest! {
        /// [`run_with`] without the vector path (as on processors without AVX2), [`run`]
        /// (with the widest this processor has) and [`run_by`] the AVX2 path (`detect_avx2`: on
        /// processors with AVX-512 as well), against [`run_reference`]: the same bytes, anchors and word starts, with
        /// and without the map.
        #[test]
        fn both_paths_match_reference(
            text in proptest::string::string_regex(
                "([ \n،.«»a-zA-Z0-9٠-٩\u{A0}\u{200F}“]|[ا-يأإآةىؤئ]{1,12}[ـ\u{64B}-\u{652}]?){0,120}"
            ).unwrap()
        ) {
            let passes: [[Pass; 4]; 2] = [
                [run_reference::<true>, |t, f, o, a, s, e| run_with::<true>(t, f, o, a, s, e, None), run::<true>, |t, f, o, a, s, e| run_by::<true>(avx2::Vector::detect_avx2, t, f, o, a, s, e)],
                [run_reference::<false>, |t, f, o, a, s, e| run_with::<false>(t, f, o, a, s, e, None), run::<false>, |t, f, o, a, s, e| run_by::<false>(avx2::Vector::detect_avx2, t, f, o, a, s, e)],
            ];
            for [reference, portable, fast, avx2] in passes {
                let expected = outputs(&text, reference);
                proptest::prop_assert_eq!(&outputs(&text, portable), &expected, "{:?}", text);
                proptest::prop_assert_eq!(&outputs(&text, fast), &expected, "{:?}", text);
                proptest::prop_assert_eq!(&outputs(&text, avx2), &expected, "{:?}", text);
            }
        }
    }

    proptest::proptest! {
        /// Every word start has its end, the end of its run of word characters in the folded
        /// text, from both passes, under options that keep or fold harakat, tatweel, digits,
        /// invisible marks, white space (which decide where runs end).
        #[test]
        fn word_ends_end_the_runs_of_word_characters(
            text in proptest::string::string_regex(
                "([ \n\t،.«»a-zA-Z0-9٠-٩\u{A0}\u{200C}\u{200F}“ﻻ]|[ا-يأإآةىؤئ]{1,12}[ـ\u{64B}-\u{652}]?){0,150}"
            ).unwrap(),
            off in proptest::collection::vec(proptest::bool::ANY, 5),
        ) {
            let o = options_with_off(&off);
            for n in [normalize(&text, &o).unwrap(), Normalized::reference(&text, &o).unwrap()] {
                proptest::prop_assert_eq!(n.word_starts().len(), n.word_ends().len());
                for (&s, &e) in n.word_starts().iter().zip(n.word_ends()) {
                    let end = crate::chars::word_end(n.text(), s as usize);
                    proptest::prop_assert_eq!(e as usize, end, "{:?} folded to {:?}", text, n.text());
                }
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
