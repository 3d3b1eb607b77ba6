//! A Bloom filter of the first words of a set of patterns, asked before looking names up from a
//! word start: most words of a news text (في، من، التي، قال...) begin no name, and one probe of
//! a small bit table costs less than a walk (about 19 ns per word start on news, mostly
//! per-character decoding and the mispredicted branch where the walk ends).
//!
//! Why the filter never hides a match: the walks keep only patterns that end at a word end. Let a
//! pattern `P` match the text at `p`, and let `T` be its first word, the longest prefix of word
//! characters. If `P` goes on after `T`, the character after `T` is not a word character, in `P`
//! and so in the text; if `P` is `T`, the match ends at a word end. Either way the text's run of
//! word characters from `p` is exactly `T`, so the text's first word at `p` is in the filter.

use crate::cache::{Malformed, Reader, Writer};
use crate::chars::{word_char_before, word_end};
use crate::normalize::is_word_char;

/// The first words of a set of patterns (see the module doc). A false positive costs one walk
/// that finds nothing; there are no false negatives. Both bits of a word are in one u64 of the
/// table (a blocked Bloom filter): one load a question, one gather for four.
#[derive(Debug, Clone)]
pub(crate) struct FirstWords {
    bits: Vec<u64>,
    /// Number of u64 in `bits` minus one (a power of two minus one).
    mask: u64,
}

impl FirstWords {
    /// Appends the filter to a start-up cache payload (`cache.rs`).
    pub(crate) fn write_cache(&self, w: &mut Writer) {
        w.len(self.bits.len());
        for &b in &self.bits {
            w.u64(b);
        }
    }

    /// The filter [`FirstWords::write_cache`] wrote.
    pub(crate) fn read_cache(r: &mut Reader<'_>) -> Result<FirstWords, Malformed> {
        let n = r.len(8)?;
        let bits = r.u64s(n)?;
        // `new` makes a power of two of at least 512 bits.
        if n < 8 || !n.is_power_of_two() {
            return Err(Malformed);
        }
        Ok(FirstWords { mask: n as u64 - 1, bits })
    }

    /// The filter of the first words of `patterns`, with eight to sixteen bits per distinct word
    /// and two bits in one u64 (1.7 to 5.3% false positives, where two bits anywhere in the
    /// table would give 1.4 to 4.9%).
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> FirstWords {
        let words = patterns.into_iter().map(|p| &p[..word_end(p, 0)]);
        FirstWords::of_keys(words.map(|w| hash(w.as_bytes(), 0, w.len())).collect())
    }

    /// The filter of `keys` (word hashes, or pair keys of [`SecondWords`]).
    fn of_keys(mut keys: Vec<u64>) -> FirstWords {
        keys.sort_unstable();
        keys.dedup();
        let nbits = (keys.len() * 8).next_power_of_two().max(512);
        let mut filter = FirstWords { bits: vec![0; nbits / 64], mask: (nbits / 64) as u64 - 1 };
        for key in keys {
            let (word, bits) = filter.probe(key);
            filter.bits[word] |= bits;
        }
        filter
    }

    /// Whether some pattern may begin with the word `text[start..end]`, a whole run of word
    /// characters of the text (or the empty run where no word character starts). The word is
    /// read as part of `text`: a short one with the bytes after it, masked (see [`hash`]).
    #[inline(always)]
    pub(crate) fn may_start(&self, text: &[u8], start: usize, end: usize) -> bool {
        self.may_start_hashed(hash(text, start, end))
    }

    /// [`FirstWords::may_start`] for a word whose [`hash`] is `h`: filters of different
    /// patterns asked about one word hash it once.
    #[inline(always)]
    pub(crate) fn may_start_hashed(&self, h: u64) -> bool {
        let (word, bits) = self.probe(h);
        self.bits[word] & bits == bits
    }

    /// Heap bytes of the bit table.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bits.len() * 8
    }

    /// The u64 of the table that answers for the hash `h` (from the hash's bits from 32 up),
    /// and the two bits of it (from its low twelve bits).
    #[inline(always)]
    fn probe(&self, h: u64) -> (usize, u64) {
        (((h >> 32) & self.mask) as usize, 1 << (h & 63) | 1 << ((h >> 6) & 63))
    }
}

/// The key a pattern is filed under, by [`SecondWords`] and by the name index (`nameindex.rs`),
/// which must agree: a lookup takes the keys the filters let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatternKey {
    /// The [`hash`] of a pattern with one run of word characters. A pattern that starts with
    /// no word character (an empty first run) counts as one too: never skipped.
    OneRun(u64),
    /// The [`pair_key`] of the hashes of the first two runs of a longer pattern.
    Pair(u64),
}

/// The key of pattern `p` (see [`PatternKey`]).
pub(crate) fn pattern_key(p: &str) -> PatternKey {
    let first = word_end(p, 0);
    let h = hash(p.as_bytes(), 0, first);
    match p[first..].char_indices().find(|&(_, c)| is_word_char(c)) {
        Some((at, _)) if first > 0 => {
            let second = first + at;
            PatternKey::Pair(pair_key(h, hash(p.as_bytes(), second, word_end(p, second))))
        }
        _ => PatternKey::OneRun(h),
    }
}

/// What a walk that passed the first-word filter needs next: the patterns with that first word
/// may be that word alone (with what follows it in the pattern being no word character), or go
/// on to a second word, which must then be the text's next run of word characters. Two filters
/// say which: one of the first words of the one-word patterns, one of the (first word, second
/// word) pairs of the others. Most walks that find nothing start at a word that only begins
/// longer names (في of في تي جي, على of علي عبد الله صالح, وزير, مجلس...), and the word after it
/// is not their second word.
///
/// Why no match is lost: a match ends at a word end, so each run of word characters of the
/// pattern is a whole run of the text (see the module doc for the first one); the pattern's
/// second run, if it has one, is the text's next run after the first.
#[derive(Debug, Clone)]
pub(crate) struct SecondWords {
    one_word: FirstWords,
    pairs: FirstWords,
}

impl SecondWords {
    /// The filters of `patterns`.
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> SecondWords {
        let (mut one_word, mut pairs) = (Vec::new(), Vec::new());
        for p in patterns {
            match pattern_key(p) {
                PatternKey::OneRun(h) => one_word.push(h),
                PatternKey::Pair(key) => pairs.push(key),
            }
        }
        SecondWords { one_word: FirstWords::of_keys(one_word), pairs: FirstWords::of_keys(pairs) }
    }

    /// Whether a pattern may match at a word whose [`hash`] is `first`, when the text's next run
    /// of word characters hashes to `next` (`None` when there is none).
    #[inline]
    pub(crate) fn may_follow(&self, first: u64, next: Option<u64>) -> bool {
        self.one_word.may_start_hashed(first)
            || next.is_some_and(|next| self.pairs.may_start_hashed(pair_key(first, next)))
    }

    /// The lookups a walk at such a word needs: of the one-word patterns (`Some(first)`) and
    /// of the pair key of it and the next word, where the filters let either through.
    #[inline(always)]
    pub(crate) fn lookups(&self, first: u64, next: Option<u64>) -> (Option<u64>, Option<u64>) {
        let one = self.one_word.may_start_hashed(first).then_some(first);
        let pair = next.map(|n| pair_key(first, n)).filter(|&k| self.pairs.may_start_hashed(k));
        (one, pair)
    }

    /// Heap bytes of the bit tables.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.one_word.heap_bytes() + self.pairs.heap_bytes()
    }

    /// Appends the filters to a start-up cache payload (`cache.rs`).
    pub(crate) fn write_cache(&self, w: &mut Writer) {
        self.one_word.write_cache(w);
        self.pairs.write_cache(w);
    }

    /// The filters [`SecondWords::write_cache`] wrote.
    pub(crate) fn read_cache(r: &mut Reader<'_>) -> Result<SecondWords, Malformed> {
        Ok(SecondWords { one_word: FirstWords::read_cache(r)?, pairs: FirstWords::read_cache(r)? })
    }
}

/// The first pass of the word-start walks over a block of word starts, bit `k` for word `k`
/// (see [`block_bits`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BlockBits {
    /// The word may begin a pattern of the filter.
    pub(crate) may: u64,
    /// The word may begin a pattern of the other filter.
    pub(crate) marked: u64,
    /// The word starts with a one-letter proclitic run (و ف ب ل ك) and has text after it.
    pub(crate) ones: u64,
    /// The word starts with a two-letter proclitic run (وب ول وك فب فل فك) and has text after it.
    pub(crate) twos: u64,
}

/// For each word of a block of up to 64 (word `k` starts at `starts[k]`, and its run of word
/// characters ends at `ends[k]`): its [`hash`] into `hashes[k]`, and its bits of
/// [`BlockBits`]: whether `filter` and `other` let it through, whether it starts with a
/// proclitic run. With AVX2, four words at a time (the hashes' arithmetic, the filters' bit
/// loads as gathers); the same answers as one word at a time, which the tests check.
#[inline]
pub(crate) fn block_bits(
    bytes: &[u8],
    starts: &[u32],
    ends: &[u32; 64],
    filter: &FirstWords,
    other: Option<&FirstWords>,
    hashes: &mut [u64; 64],
    avx2: Option<Avx2>,
) -> BlockBits {
    assert!(starts.len() <= 64, "a block holds at most 64 words");
    let mut bits = BlockBits::default();
    // The words the AVX2 pass leaves (all of them without it) go one at a time.
    let done = match avx2 {
        // SAFETY: an Avx2 exists only where the processor has AVX2, with `dq` only where it
        // has AVX-512 F, DQ and VL (crate::cpu::avx512()).
        #[cfg(target_arch = "x86_64")]
        Some(Avx2 { dq: false }) => unsafe {
            avx2::block_bits(bytes, starts, ends, filter, other, hashes, &mut bits)
        },
        #[cfg(target_arch = "x86_64")]
        Some(Avx2 { dq: true }) => unsafe {
            avx2::block_bits_dq(bytes, starts, ends, filter, other, hashes, &mut bits)
        },
        _ => 0,
    };
    for (k, &p) in starts.iter().enumerate().skip(done) {
        word_bits(bytes, k, p as usize, ends[k] as usize, filter, other, hashes, &mut bits);
    }
    bits
}

/// The words of a block that start with a proclitic run of `run` bytes (bits of `words`),
/// asked again after the run: each one's [`hash`] of its run of word characters after the
/// proclitic into `hashes[k]`, and the bits of the words that `filter` and `other` let through.
/// Four at a time with AVX2, as [`block_bits`].
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_bits(
    bytes: &[u8],
    starts: &[u32],
    ends: &[u32; 64],
    run: usize,
    mut words: u64,
    filter: &FirstWords,
    other: Option<&FirstWords>,
    hashes: &mut [u64; 64],
    avx2: Option<Avx2>,
) -> (u64, u64) {
    assert!(starts.len() <= 64, "a block holds at most 64 words");
    // The words the AVX2 pass leaves (all of them without it) go one at a time.
    let (mut may, mut marked) = match avx2 {
        // SAFETY: as in block_bits().
        #[cfg(target_arch = "x86_64")]
        Some(Avx2 { dq: false }) => unsafe {
            avx2::run_bits(bytes, starts, ends, run, &mut words, filter, other, hashes)
        },
        #[cfg(target_arch = "x86_64")]
        Some(Avx2 { dq: true }) => unsafe {
            avx2::run_bits_dq(bytes, starts, ends, run, &mut words, filter, other, hashes)
        },
        _ => (0, 0),
    };
    while words != 0 {
        let k = words.trailing_zeros() as usize;
        words &= words - 1;
        let h = hash(bytes, starts[k] as usize + run, ends[k] as usize);
        hashes[k] = h;
        may |= u64::from(filter.may_start_hashed(h)) << k;
        if let Some(other) = other {
            marked |= u64::from(other.may_start_hashed(h)) << k;
        }
    }
    (may, marked)
}

/// Proof that the processor has AVX2, which [`block_bits`] and [`run_bits`] take to use it;
/// `dq` where alam takes AVX-512 paths ([`crate::cpu::avx512`]: F, DQ and VL among the
/// subsets), whose 64-bit multiplication (`VPMULLQ`) the hashes take then, on the same four
/// lanes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2 {
    dq: bool,
}

impl Avx2 {
    /// `Some` where the processor has AVX2, with `dq` where alam takes AVX-512 paths.
    pub(crate) fn detect() -> Option<Avx2> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            return Some(Avx2 { dq: crate::cpu::avx512() });
        }
        None
    }

    /// AVX2 alone, also on a processor with AVX-512 (for the tests).
    #[cfg(test)]
    fn without_dq(self) -> Avx2 {
        Avx2 { dq: false }
    }
}

/// [`block_bits`] for word `k` alone.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn word_bits(
    bytes: &[u8],
    k: usize,
    p: usize,
    end: usize,
    filter: &FirstWords,
    other: Option<&FirstWords>,
    hashes: &mut [u64; 64],
    bits: &mut BlockBits,
) {
    let h = hash(bytes, p, end);
    hashes[k] = h;
    bits.may |= u64::from(filter.may_start_hashed(h)) << k;
    if let Some(other) = other {
        bits.marked |= u64::from(other.may_start_hashed(h)) << k;
    }
    let (one, two) = crate::chars::run_kinds_at(bytes, p);
    bits.ones |= u64::from(one & (p + 2 < bytes.len())) << k;
    bits.twos |= u64::from(two & (p + 4 < bytes.len())) << k;
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BlockBits, FirstWords, K0, K1, K2};
    use std::arch::x86_64::*;

    /// [`super::block_bits`] four words at a time, for as long as each of the four has eight
    /// bytes from its start on (the loads of [`super::hash`] are then all in bounds); returns
    /// how many words it did, the rest are left to the caller.
    ///
    /// # Safety
    /// The processor has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn block_bits(
        bytes: &[u8],
        starts: &[u32],
        ends: &[u32; 64],
        filter: &FirstWords,
        other: Option<&FirstWords>,
        hashes: &mut [u64; 64],
        bits: &mut BlockBits,
    ) -> usize {
        // SAFETY: the processor has AVX2 (the caller's promise).
        unsafe { block_bits_with::<false>(bytes, starts, ends, filter, other, hashes, bits) }
    }

    /// [`block_bits`] with the hashes' products by `VPMULLQ`.
    ///
    /// # Safety
    /// The processor has AVX2 and AVX-512 F, DQ and VL.
    #[target_feature(enable = "avx2,avx512f,avx512dq,avx512vl")]
    pub(super) unsafe fn block_bits_dq(
        bytes: &[u8],
        starts: &[u32],
        ends: &[u32; 64],
        filter: &FirstWords,
        other: Option<&FirstWords>,
        hashes: &mut [u64; 64],
        bits: &mut BlockBits,
    ) -> usize {
        // SAFETY: the processor has AVX2 and the AVX-512 subsets (the caller's promise).
        unsafe { block_bits_with::<true>(bytes, starts, ends, filter, other, hashes, bits) }
    }

    /// [`block_bits`], with [`mul`]`::<DQ>`, inlined into the two above.
    ///
    /// # Safety
    /// As [`block_bits`], and AVX-512 F, DQ and VL when `DQ`.
    #[inline(always)]
    unsafe fn block_bits_with<const DQ: bool>(
        bytes: &[u8],
        starts: &[u32],
        ends: &[u32; 64],
        filter: &FirstWords,
        other: Option<&FirstWords>,
        hashes: &mut [u64; 64],
        bits: &mut BlockBits,
    ) -> usize {
        // Offsets go into 32-bit lanes.
        let Some(limit) = lane_limit(bytes) else { return 0 };
        let mut k = 0;
        while k + 4 <= starts.len().min(64) {
            // SAFETY: k + 4 <= starts.len() and k + 4 <= 64.
            let (p, e) = unsafe {
                (
                    _mm_loadu_si128(starts.as_ptr().add(k).cast()),
                    _mm_loadu_si128(ends.as_ptr().add(k).cast()),
                )
            };
            if !within(p, limit) {
                break;
            }
            // SAFETY: p + 8 <= len < 2^31 for each lane (checked above).
            let (h, first) = unsafe { hash4::<DQ>(bytes, p, e) };
            // SAFETY: k + 4 <= 64.
            unsafe { _mm256_storeu_si256(hashes.as_mut_ptr().add(k).cast(), h) };
            // SAFETY: the probes are masked to the filters' sizes.
            bits.may |= u64::from(unsafe { probe(filter, h) }) << k;
            if let Some(other) = other {
                bits.marked |= u64::from(unsafe { probe(other, h) }) << k;
            }
            // The first two letters as two little-endian u16 in each 32-bit lane: the low
            // halves of the words' first eight bytes.
            let letters = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(
                first,
                _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0),
            ));
            let (first, second) =
                (_mm_and_si128(letters, _mm_set1_epi32(0xFFFF)), _mm_srli_epi32(letters, 16));
            let is = |x: __m128i, letter: char| {
                let mut utf8 = [0u8; 2];
                letter.encode_utf8(&mut utf8);
                _mm_cmpeq_epi32(x, _mm_set1_epi32(i32::from(u16::from_le_bytes(utf8))))
            };
            let conjunction = _mm_or_si128(is(first, 'و'), is(first, 'ف'));
            let one = _mm_or_si128(
                conjunction,
                _mm_or_si128(_mm_or_si128(is(first, 'ب'), is(first, 'ل')), is(first, 'ك')),
            );
            let bl = _mm_or_si128(_mm_or_si128(is(second, 'ب'), is(second, 'ل')), is(second, 'ك'));
            let two = _mm_and_si128(conjunction, bl);
            // p + 4 < len: every word here has text after a run of either length.
            bits.ones |= (_mm_movemask_ps(_mm_castsi128_ps(one)) as u64) << k;
            bits.twos |= (_mm_movemask_ps(_mm_castsi128_ps(two)) as u64) << k;
            k += 4;
        }
        k
    }

    /// [`super::run_bits`] four words at a time; `words` are left to the caller: those of the
    /// last group of fewer than four, or too near the end of `bytes`.
    ///
    /// # Safety
    /// The processor has AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn run_bits(
        bytes: &[u8],
        starts: &[u32],
        ends: &[u32; 64],
        run: usize,
        words: &mut u64,
        filter: &FirstWords,
        other: Option<&FirstWords>,
        hashes: &mut [u64; 64],
    ) -> (u64, u64) {
        // SAFETY: the processor has AVX2 (the caller's promise).
        unsafe { run_bits_with::<false>(bytes, starts, ends, run, words, filter, other, hashes) }
    }

    /// [`run_bits`] with the hashes' products by `VPMULLQ`.
    ///
    /// # Safety
    /// The processor has AVX2 and AVX-512 F, DQ and VL.
    #[target_feature(enable = "avx2,avx512f,avx512dq,avx512vl")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn run_bits_dq(
        bytes: &[u8],
        starts: &[u32],
        ends: &[u32; 64],
        run: usize,
        words: &mut u64,
        filter: &FirstWords,
        other: Option<&FirstWords>,
        hashes: &mut [u64; 64],
    ) -> (u64, u64) {
        // SAFETY: the processor has AVX2 and the AVX-512 subsets (the caller's promise).
        unsafe { run_bits_with::<true>(bytes, starts, ends, run, words, filter, other, hashes) }
    }

    /// [`run_bits`], with [`mul`]`::<DQ>`, inlined into the two above.
    ///
    /// # Safety
    /// As [`run_bits`], and AVX-512 F, DQ and VL when `DQ`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_bits_with<const DQ: bool>(
        bytes: &[u8],
        starts: &[u32],
        ends: &[u32; 64],
        run: usize,
        words: &mut u64,
        filter: &FirstWords,
        other: Option<&FirstWords>,
        hashes: &mut [u64; 64],
    ) -> (u64, u64) {
        let (mut may, mut marked) = (0u64, 0u64);
        let Some(limit) = lane_limit(bytes) else { return (may, marked) };
        while words.count_ones() >= 4 {
            let mut ks = [0usize; 4];
            let mut rest = *words;
            for k in &mut ks {
                *k = rest.trailing_zeros() as usize;
                rest &= rest - 1;
            }
            let lanes = |f: &dyn Fn(usize) -> u32| {
                _mm_setr_epi32(f(ks[0]) as i32, f(ks[1]) as i32, f(ks[2]) as i32, f(ks[3]) as i32)
            };
            let p = lanes(&|k| starts[k].wrapping_add(run as u32));
            if !within(p, limit) {
                break;
            }
            *words = rest;
            // SAFETY: p + 8 <= len < 2^31 for each lane (checked above).
            let (h, _) = unsafe { hash4::<DQ>(bytes, p, lanes(&|k| ends[k])) };
            let mut four = [0u64; 4];
            // SAFETY: four lanes into four u64.
            unsafe { _mm256_storeu_si256(four.as_mut_ptr().cast(), h) };
            // SAFETY: the probes are masked to the filters' sizes.
            let (yes, other_yes) = unsafe { (probe(filter, h), other.map(|o| probe(o, h))) };
            for (i, &k) in ks.iter().enumerate() {
                hashes[k] = four[i];
                may |= u64::from(yes >> i & 1) << k;
                marked |= u64::from(other_yes.unwrap_or(0) >> i & 1) << k;
            }
        }
        (may, marked)
    }

    /// The last offset a word of `bytes` may start at for [`hash4`] (eight bytes from it are in
    /// `bytes`), or `None` when no word may (fewer than eight bytes, or too many for the 32-bit
    /// lanes, kept below 2^31 so that signed and unsigned readings agree).
    fn lane_limit(bytes: &[u8]) -> Option<u32> {
        let last = bytes.len().checked_sub(8)?;
        (bytes.len() < 1 << 31).then_some(last as u32)
    }

    /// Whether every lane of `p` (unsigned) is at most `limit`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn within(p: __m128i, limit: u32) -> bool {
        let limit = _mm_set1_epi32(limit as i32);
        _mm_movemask_epi8(_mm_cmpeq_epi32(_mm_max_epu32(p, limit), limit)) == 0xFFFF
    }

    /// [`super::hash`] of four words, `bytes[p[i]..e[i]]` (u32 lanes; an end outside
    /// `p[i]..=len` is taken as the nearest of the two, so that no end can make a read go out
    /// of bounds), and the first eight bytes from each start, as they are.
    ///
    /// # Safety
    /// `p[i] + 8 <= bytes.len() < 2^31` for each lane; AVX2, and AVX-512 F, DQ and VL when
    /// `DQ`.
    #[inline(always)]
    unsafe fn hash4<const DQ: bool>(bytes: &[u8], p: __m128i, e: __m128i) -> (__m256i, __m256i) {
        let len = _mm_set1_epi32(bytes.len() as i32);
        let e = _mm_min_epu32(_mm_max_epu32(e, p), len);
        let n = _mm_sub_epi32(e, p);
        let eight = _mm_set1_epi32(8);
        // The last eight bytes of a word of eight or more (they end at its end, within
        // `bytes`), else its first eight again.
        let last = _mm_sub_epi32(_mm_add_epi32(p, _mm_max_epu32(n, eight)), eight);
        // Eight loads, not two gathers: the same time here, and Zen 4's gathers are slower
        // than loads (measured on this code in an earlier session).
        // SAFETY: every lane reads eight bytes within `bytes` (see above).
        let load = |at: i32| unsafe {
            bytes.as_ptr().add(at as u32 as usize).cast::<i64>().read_unaligned()
        };
        let lanes = |v: __m128i| {
            _mm256_set_epi64x(
                load(_mm_extract_epi32::<3>(v)),
                load(_mm_extract_epi32::<2>(v)),
                load(_mm_extract_epi32::<1>(v)),
                load(_mm_extract_epi32::<0>(v)),
            )
        };
        let (first, last) = (lanes(p), lanes(last));
        // The bytes past a short word masked off: min(n, 8) bytes kept.
        let dropped =
            _mm_sub_epi32(_mm_set1_epi32(64), _mm_slli_epi32::<3>(_mm_min_epu32(n, eight)));
        let mask = _mm256_srlv_epi64(_mm256_set1_epi64x(-1), _mm256_cvtepu32_epi64(dropped));
        let (a, b) = (_mm256_and_si256(first, mask), _mm256_and_si256(last, mask));
        let h = _mm256_xor_si256(
            mul::<DQ>(_mm256_xor_si256(a, _mm256_set1_epi64x(K0 as i64)), K1),
            mul::<DQ>(_mm256_xor_si256(b, _mm256_cvtepu32_epi64(n)), K2),
        );
        let h = mul::<DQ>(_mm256_xor_si256(h, _mm256_srli_epi64(h, 29)), K0);
        (_mm256_xor_si256(h, _mm256_srli_epi64(h, 32)), first)
    }

    /// The low 64 bits of each lane times `c`: one `VPMULLQ` when `DQ`, else three
    /// multiplications of 32 by 32 bits (all AVX2 has) and their sum.
    ///
    /// # Safety
    /// AVX2, and AVX-512 F, DQ and VL when `DQ`.
    #[inline(always)]
    unsafe fn mul<const DQ: bool>(x: __m256i, c: u64) -> __m256i {
        if DQ {
            return _mm256_mullo_epi64(x, _mm256_set1_epi64x(c as i64));
        }
        let (low, high) =
            (_mm256_set1_epi64x(c as u32 as i64), _mm256_set1_epi64x((c >> 32) as i64));
        let cross = _mm256_add_epi64(
            _mm256_mul_epu32(_mm256_srli_epi64(x, 32), low),
            _mm256_mul_epu32(x, high),
        );
        _mm256_add_epi64(_mm256_mul_epu32(x, low), _mm256_slli_epi64(cross, 32))
    }

    /// [`FirstWords::may_start_hashed`] for four hashes: bit `i` for lane `i`.
    ///
    /// # Safety
    /// The processor has AVX2 (the filter's table holds `mask + 1` u64, as every `FirstWords`
    /// does).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn probe(filter: &FirstWords, h: __m256i) -> u8 {
        let word =
            _mm256_and_si256(_mm256_srli_epi64(h, 32), _mm256_set1_epi64x(filter.mask as i64));
        // SAFETY: word <= mask, and mask + 1 is bits.len().
        let table =
            unsafe { _mm256_i64gather_epi64::<8>(filter.bits.as_ptr().cast::<i64>(), word) };
        let (low, one) = (_mm256_set1_epi64x(63), _mm256_set1_epi64x(1));
        let bits = _mm256_or_si256(
            _mm256_sllv_epi64(one, _mm256_and_si256(h, low)),
            _mm256_sllv_epi64(one, _mm256_and_si256(_mm256_srli_epi64(h, 6), low)),
        );
        let set = _mm256_cmpeq_epi64(_mm256_and_si256(table, bits), bits);
        _mm256_movemask_pd(_mm256_castsi256_pd(set)) as u8
    }
}

/// The key of a (first word, second word) pair from the words' hashes, mixed so that both
/// probes of the filter (its low bits and the bits from 32 up) depend on both words.
#[inline]
pub(crate) fn pair_key(first: u64, second: u64) -> u64 {
    let h = (first ^ second.rotate_left(23)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 29)
}

/// The end of the run of word characters that starts at `start` (a word start of `text`), given
/// `next`, the next word start (or the text's end): every run of word characters starts at a
/// word start, so the run ends where the non-word characters before `next` begin. Usually one
/// step back over a space, where [`word_end`] reads the whole word.
#[inline]
pub(crate) fn word_end_before(text: &str, start: usize, next: usize) -> usize {
    let bytes = text.as_bytes();
    // Whether the character before `at` (not before `start`) is an Arabic word character, when
    // it is in U+0600..U+06FF: a lead byte 0xD8..=0xDB always starts a two-byte character there
    // (the lead's low two bits and the second byte's six give its place in the block).
    let arabic_before = |at: usize| -> Option<bool> {
        let lead = *bytes.get(at.checked_sub(2)?)?;
        (at >= start + 2 && (0xD8..=0xDB).contains(&lead)).then(|| {
            let i = usize::from(lead & 3) << 6 | usize::from(bytes[at - 1] & 0x3F);
            crate::normalize::is_arabic_word_char(i)
        })
    };
    // The usual cases, after a space if there is one: an Arabic letter (the run ends there), or
    // Arabic punctuation (، ؛ ؟) after an Arabic letter.
    let mut end = next;
    if end > start && bytes[end - 1] == b' ' {
        end -= 1;
    }
    match arabic_before(end) {
        Some(true) => return end,
        Some(false) if arabic_before(end - 2) == Some(true) => return end - 2,
        _ => {}
    }
    let mut end = next;
    while end > start && !word_char_before(text, end) {
        end -= 1;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
    }
    end
}

const K0: u64 = 0x9E37_79B9_7F4A_7C15;
const K1: u64 = 0xBF58_476D_1CE4_E5B9;
const K2: u64 = 0x94D0_49BB_1331_11EB;

/// A fast 64-bit hash of the word `bytes[start..end]`: its first and last eight bytes
/// (overlapping for words of 8 to 16 bytes, which is most Arabic words; the bytes between of
/// longer words are left out) and its length. Shorter words are read as eight bytes of
/// `bytes` with the ones past the word masked off, so that nothing depends on the word's
/// length but the mask: a branch on it would be mispredicted on a good share of the words of
/// a text (two- and three-letter words are common). Only within eight bytes of the end of
/// `bytes` is the word copied out first.
#[inline(always)]
pub(crate) fn hash(bytes: &[u8], start: usize, end: usize) -> u64 {
    let load = |eight: &[u8]| u64::from_le_bytes(eight.try_into().expect("eight bytes"));
    let n = end - start;
    let kept = n.min(8);
    // The first `kept` bytes of eight; the last eight bytes when there are eight, else again
    // the first ones.
    let (a, b) = match bytes.get(start..start + 8) {
        Some(first) => {
            let mask = u64::MAX.checked_shr(8 * (8 - kept) as u32).unwrap_or(0);
            let last = start + n.max(8) - 8;
            (load(first) & mask, load(&bytes[last..last + 8]) & mask)
        }
        None => {
            let mut first = [0u8; 8];
            first[..kept].copy_from_slice(&bytes[start..start + kept]);
            let a = u64::from_le_bytes(first);
            (a, if n >= 8 { load(&bytes[end - 8..end]) } else { a })
        }
    };
    let h = (a ^ K0).wrapping_mul(K1) ^ (b ^ n as u64).wrapping_mul(K2);
    let h = (h ^ (h >> 29)).wrapping_mul(K0);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_word_is_in_and_most_others_are_not() {
        let patterns = ["بوركينا فاسو", "مالي", "t-72b3", "الجزائر العاصمه", "لجزائر", "x"];
        let filter = FirstWords::new(patterns);
        for text in ["بوركينا فاسو", "مالي،", "t-72", "الجزائر", "لجزائر", "x y"]
        {
            assert!(filter.may_start(text.as_bytes(), 0, word_end(text, 0)), "{text}");
        }
        let others = ["في", "من", "قال", "بوركيني", "مال", "الجزائري", "t7", "72", "xy"];
        let passed = others.iter().filter(|w| filter.may_start(w.as_bytes(), 0, w.len())).count();
        assert!(passed <= 1, "{passed} of {} unrelated words pass", others.len());
    }

    #[test]
    fn most_walks_after_a_word_that_only_begins_longer_names_are_skipped() {
        let patterns = ["في تي جي", "وزير الخارجيه", "مالي", "t-72b3", "ابو ظبي", "ج.م.ع"];
        let filter = SecondWords::new(patterns);
        let word = |w: &str| hash(w.as_bytes(), 0, w.len());
        for (first, next) in [("في", "تي"), ("وزير", "الخارجيه"), ("t", "72b3"), ("ج", "م")]
        {
            assert!(filter.may_follow(word(first), Some(word(next))), "{first} {next}");
        }
        for next in [None, Some(word("الدفاع")), Some(word("x"))] {
            assert!(filter.may_follow(word("مالي"), next), "a one-word name never needs more");
        }
        let others =
            [("في", "مالي"), ("في", "تيت"), ("وزير", "الدفاع"), ("ابو", "بكر"), ("t", "72")];
        let passed =
            others.iter().filter(|(f, n)| filter.may_follow(word(f), Some(word(n)))).count();
        assert!(passed <= 1, "{passed} of {} unrelated pairs pass", others.len());
        assert!(!filter.may_follow(word("في"), None), "no next word: only one-word names");
    }

    #[test]
    fn word_ends_from_the_next_start() {
        let text = "مالي، و«باماكو» x1  é.ب";
        let starts: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .filter(|&i| crate::chars::is_word_start(text, i) && word_end(text, i) > i)
            .collect();
        for (k, &s) in starts.iter().enumerate() {
            let next = starts.get(k + 1).copied().unwrap_or(text.len());
            assert_eq!(word_end_before(text, s, next), word_end(text, s), "at {s}");
        }
    }

    /// The word starts of `text` (where a run of word characters begins).
    fn word_starts(text: &str) -> Vec<u32> {
        text.char_indices()
            .map(|(i, _)| i)
            .filter(|&i| crate::chars::is_word_start(text, i) && word_end(text, i) > i)
            .map(|i| i as u32)
            .collect()
    }

    proptest::proptest! {
        /// No false negatives: the first word of every pattern passes.
        #[test]
        fn no_first_word_is_ever_refused(
            patterns in proptest::collection::vec("[a-c ب-د1-]{0,30}", 1..60),
        ) {
            let filter = FirstWords::new(patterns.iter().map(String::as_str));
            for p in &patterns {
                proptest::prop_assert!(filter.may_start(p.as_bytes(), 0, word_end(p, 0)), "{:?}", p);
            }
        }

        /// No false negatives after the first word either: every pattern, found in a text with
        /// what stands after it there, passes the second-word filters with the text's next run
        /// (patterns of one, two and more runs, separated by spaces, hyphens, dots).
        #[test]
        fn no_pattern_is_refused_by_its_second_word(
            patterns in proptest::collection::vec("[a-c ب-د1.-]{0,30}", 1..60),
            after in "[a ب.،]{0,6}",
        ) {
            let filter = SecondWords::new(patterns.iter().map(String::as_str));
            for p in &patterns {
                let text = format!("{p}{after}");
                let first = word_end(&text, 0);
                let next = text[first..]
                    .char_indices()
                    .find(|&(_, c)| is_word_char(c))
                    .map(|(at, _)| hash(text.as_bytes(), first + at, word_end(&text, first + at)));
                let h = hash(text.as_bytes(), 0, first);
                // The walks keep a match only where it ends at a word end of the text: only
                // then must the filters let it through.
                if crate::chars::is_word_end(&text, p.len()) {
                    proptest::prop_assert!(filter.may_follow(h, next), "{:?} in {:?}", p, text);
                }
            }
        }

        /// The AVX2 passes of a block (with and without AVX-512's products) answer as the
        /// word-by-word ones: the same hashes and bits,
        /// at word starts and after proclitic runs, on texts of Arabic words with and without proclitic runs, ASCII, punctuation, words
        /// of one to twenty letters, and words near the text's end (done one by one).
        #[test]
        fn block_bits_four_at_a_time_are_the_word_by_word_ones(
            text in "([وفبلكامي]{1,20}|[a-z1]{1,9})([ ،.«-][وفبلكامي a]{0,12}){0,90}",
            patterns in proptest::collection::vec("[وفبلكامي]{1,6}", 0..40),
            taken in proptest::collection::vec(0usize..200, 0..40),
        ) {
            let Some(detected) = Avx2::detect() else { return Ok(()) };
            // With VPMULLQ where the processor has it, and without.
            for avx2 in [detected, detected.without_dq()] {
                let starts = word_starts(&text);
                // Filters of random words and of words of the text, so that both answers occur.
                let words: Vec<&str> =
                    starts.iter().map(|&s| &text[s as usize..word_end(&text, s as usize)]).collect();
                let chosen = taken.iter().filter_map(|&i| words.get(i).copied());
                let filter = FirstWords::new(patterns.iter().map(String::as_str).chain(chosen.clone()));
                let other = FirstWords::new(chosen.skip(1).step_by(2));
                for block in starts.chunks(64) {
                    let mut ends = [0u32; 64];
                    for (k, &s) in block.iter().enumerate() {
                        ends[k] = word_end(&text, s as usize) as u32;
                    }
                    for other in [Some(&other), None] {
                        let (mut fast, mut plain) = ([0u64; 64], [0u64; 64]);
                        let a = block_bits(text.as_bytes(), block, &ends, &filter, other, &mut fast, Some(avx2));
                        let b = block_bits(text.as_bytes(), block, &ends, &filter, other, &mut plain, None);
                        proptest::prop_assert_eq!(a, b, "{:?}", text);
                        proptest::prop_assert_eq!(&fast[..block.len()], &plain[..block.len()]);
                        // And after the proclitic runs those bits found.
                        for (run, words) in [(2, a.ones), (4, a.twos)] {
                            let (mut fast, mut plain) = ([0u64; 64], [0u64; 64]);
                            let bytes = text.as_bytes();
                            let x = run_bits(bytes, block, &ends, run, words, &filter, other, &mut fast, Some(avx2));
                            let y =
                                run_bits(bytes, block, &ends, run, words, &filter, other, &mut plain, None);
                            proptest::prop_assert_eq!(x, y, "{:?} run {}", text, run);
                            for k in (0..block.len()).filter(|&k| words >> k & 1 == 1) {
                                proptest::prop_assert_eq!(fast[k], plain[k]);
                            }
                        }
                    }
                }
            }
        }

        /// A word read inside a text hashes as the word alone, whatever stands around it (the
        /// bytes read past a short word are masked off, near the text's end as elsewhere).
        #[test]
        fn a_word_hashes_the_same_inside_a_text(
            before in "[a-c ب]{0,5}",
            word in "[a-c ب-د1]{0,20}",
            after in "[a-c ب-د ]{0,12}",
        ) {
            let text = format!("{before}{word}{after}");
            let start = before.len();
            proptest::prop_assert_eq!(
                hash(text.as_bytes(), start, start + word.len()),
                hash(word.as_bytes(), 0, word.len())
            );
        }

        /// The end found back from the next word start is the end found forward.
        #[test]
        fn word_end_before_the_next_start_is_the_word_end(text in "[a-c ،ب-د1\u{a0}.«-]{0,40}") {
            let starts: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .filter(|&i| crate::chars::is_word_start(&text, i) && word_end(&text, i) > i)
                .collect();
            for (k, &s) in starts.iter().enumerate() {
                let next = starts.get(k + 1).copied().unwrap_or(text.len());
                proptest::prop_assert_eq!(word_end_before(&text, s, next), word_end(&text, s));
            }
        }
    }
}
