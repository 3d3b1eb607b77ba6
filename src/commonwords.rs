//! The ordinary words of the shipped `gazetteers/rules/common_words.txt`: spelling variants
//! never become one ([`crate::VariantRules`]), and person guessing reads them as no name.
//!
//! The file is generated folded (a test checks every word folds to itself), so it is read as
//! it is. `build.rs` lays out its hash table (open addressing, linear probing, at most half
//! full) over the text compiled into the program, so no run builds a set of its 23,500 words:
//! building one, at the first guessed person of a run, cost every run 6 M instructions and 0.7-1
//! ms (`alam tag` on 512 KB of news, 10.6 -> 9.8 ms; a thread of `--threads 2` that needed the
//! set meanwhile waited for it).

include!("wordhash.rs");
include!(concat!(env!("OUT_DIR"), "/common_words.rs"));

/// Whether `word` (folded) is one of the shipped common words.
pub(crate) fn contains(word: &str) -> bool {
    let bytes = word.as_bytes();
    let mask = SLOTS.len() - 1;
    let mut i = word_hash(bytes) as usize & mask;
    loop {
        let slot = SLOTS[i];
        if slot == 0 {
            return false;
        }
        if (slot & 0xff) as usize == bytes.len() {
            let start = (slot >> 8) as usize;
            if TEXT.as_bytes().get(start..start + bytes.len()) == Some(bytes) {
                return true;
            }
        }
        i = (i + 1) & mask;
    }
}

/// The words, in the file's order.
#[cfg(test)]
pub(crate) fn words() -> impl Iterator<Item = &'static str> {
    TEXT.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{fold, NormalizeOptions};
    use rustc_hash::FxHashSet;

    #[test]
    fn the_table_holds_the_files_words_folded() {
        let options = NormalizeOptions::default();
        let mut n = 0;
        for word in words() {
            assert!(contains(word), "{word} not found");
            assert_eq!(fold(word, &options), word, "common_words.txt must be generated folded");
            n += 1;
        }
        assert!(n > 20_000, "{n} words");
        for word in ["", "موسكو", "باماكو", "فاغنر", "x", "ابن سلمان"] {
            assert!(!contains(word), "{word} found");
        }
    }

    proptest::proptest! {
        /// The table answers as a set of the file's words does, for the words, the words with
        /// a letter added, cut or changed, and random strings of Arabic letters.
        #[test]
        fn the_table_is_a_set_of_the_words(
            pick in 0usize..23_000,
            edit in 0usize..4,
            letter in proptest::sample::select("ابتثجحخدذرزسشصضطظعغفقكلمنهوي ".chars().collect::<Vec<char>>()),
            random in "[ابتسلمنوي]{1,8}",
        ) {
            static WORDS: std::sync::OnceLock<(FxHashSet<&str>, Vec<&str>)> =
                std::sync::OnceLock::new();
            let (set, all) = WORDS.get_or_init(|| (words().collect(), words().collect()));
            let word = all[pick % all.len()];
            let edited = match edit {
                0 => word.to_string(),
                1 => format!("{word}{letter}"),
                2 => word.chars().skip(1).collect(),
                _ => {
                    let mut changed = word.to_string();
                    changed.pop();
                    changed.push(letter);
                    changed
                }
            };
            for w in [edited.as_str(), random.as_str()] {
                proptest::prop_assert_eq!(contains(w), set.contains(w), "{}", w);
            }
        }
    }
}
