//! Property tests (proptest). Case counts follow proptest's defaults (256) and can be raised
//! with the `PROPTEST_CASES` environment variable for a longer run.

use std::sync::OnceLock;

use alam::{fold, normalize, Extractor, Gazetteer, Mention, NormalizeOptions};
use proptest::prelude::*;

/// Folded names for the random gazetteers: some prefixes of others, some ال-names, some that
/// start with clitic letters, some multi-word.
const NAMES: [&str; 24] = [
    "مالي",
    "باماكو",
    "غاو",
    "غاوه",
    "موسكو",
    "الجزائر",
    "الجزائر العاصمه",
    "فاغنر",
    "فيلق افريقيا",
    "افريقيا",
    "جمهوريه افريقيا الوسطي",
    "بوركينا فاسو",
    "النيجر",
    "ليبيا",
    "كيدال",
    "مصر",
    "الساحل",
    "منطقه الساحل",
    "دول الساحل",
    "روسيا",
    "بوتين",
    "وزاره الدفاع",
    "الدفاع",
    "t-72b3",
];

/// Words that are not names, some containing names or parts of them.
const FILLER: [&str; 14] = [
    "في",
    "من",
    "الي",
    "مصرف",
    "مغاور",
    "قال",
    "الرئيس",
    "ان",
    "بانيا",
    "الجيش",
    "1",
    "عن",
    "ماليه",
    "x",
];

const CLITICS: [&str; 12] = ["", "و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك"];
const SEPARATORS: [&str; 6] = [" ", " ", "، ", ". ", "\n", " و "];
const SUFFIXES: [&str; 4] = ["", "", "ي", "ين"];

fn gazetteer_tsv(names: &[usize]) -> String {
    let mut tsv = String::from("id\ttype\tname_ar\n");
    for &i in names {
        tsv.push_str(&format!("n{i}\tGPE\t{}\n", NAMES[i]));
    }
    tsv
}

fn extractor_for(names: &[usize]) -> Extractor {
    Extractor::new(Gazetteer::from_tsv("random.tsv", &gazetteer_tsv(names)).unwrap()).unwrap()
}

fn full_scan_extractor_for(names: &[usize]) -> Extractor {
    let gazetteer = Gazetteer::from_tsv("random.tsv", &gazetteer_tsv(names)).unwrap();
    Extractor::builder().full_scan(true).build(gazetteer).unwrap()
}

fn dfa_extractor_for(names: &[usize]) -> Extractor {
    let gazetteer = Gazetteer::from_tsv("random.tsv", &gazetteer_tsv(names)).unwrap();
    Extractor::builder().dfa(true).build(gazetteer).unwrap()
}

fn embedded_full_scan() -> &'static Extractor {
    static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();
    EXTRACTOR.get_or_init(|| {
        Extractor::builder().full_scan(true).build(Gazetteer::embedded().unwrap()).unwrap()
    })
}

fn embedded() -> &'static Extractor {
    static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();
    EXTRACTOR.get_or_init(|| Extractor::new(Gazetteer::embedded().unwrap()).unwrap())
}

/// A random gazetteer: a non-empty subset of NAMES.
fn name_subset() -> impl Strategy<Value = Vec<usize>> {
    proptest::sample::subsequence((0..NAMES.len()).collect::<Vec<_>>(), 1..NAMES.len())
}

/// A random folded text of tokens: clitic + (name or filler) + suffix, joined by separators.
fn token_text() -> impl Strategy<Value = String> {
    let token = (
        0..CLITICS.len(),
        prop_oneof![
            (0..NAMES.len()).prop_map(|i| NAMES[i]),
            (0..FILLER.len()).prop_map(|i| FILLER[i])
        ],
        0..SUFFIXES.len(),
        0..SEPARATORS.len(),
    )
        .prop_map(|(c, word, s, sep)| {
            format!("{}{}{}{}", CLITICS[c], word, SUFFIXES[s], SEPARATORS[sep])
        });
    proptest::collection::vec(token, 0..14).prop_map(|tokens| tokens.concat())
}

/// Characters that exercise every fold: letters, variants, marks, invisibles, spaces,
/// presentation forms, digits, Latin, punctuation.
fn arabic_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('\u{0621}', '\u{064A}'),
        2 => proptest::char::range('\u{064B}', '\u{0672}'),
        1 => proptest::char::range('\u{06A9}', '\u{06FF}'),
        1 => proptest::char::range('\u{FB50}', '\u{FDFF}'),
        1 => proptest::char::range('\u{FE70}', '\u{FEFF}'),
        1 => prop::sample::select(vec![
            ' ', '\n', '\t', '\u{00A0}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}',
            '\u{061C}', '\u{00AD}', '\u{2011}', '\u{2212}', '\u{0640}', '،', '.', '"', '«', 'A',
            'z', '7', '٣', '\u{2067}', '\u{2029}', '\u{FEFF}'
        ]),
    ]
}

fn arabic_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(arabic_char(), 0..80).prop_map(|cs| cs.into_iter().collect())
}

/// The reference matcher, written from the definition and nothing else: on a text that is
/// already folded, find every name and every لل form of an ال-name at every position, keep
/// those that start a word (or follow a proclitic run that does) and end a word, then take
/// leftmost-longest tokens without overlap. Returns (start, end, entity, clitic).
fn reference(names: &[usize], text: &str) -> Vec<(usize, usize, String, String)> {
    let word = |c: char| c.is_alphanumeric();
    let starts_word = |p: usize| text[..p].chars().next_back().is_none_or(|c| !word(c));
    let ends_word = |p: usize| text[p..].chars().next().is_none_or(|c| !word(c));
    // (token start, end, contracted, start, entity, clitic)
    let mut candidates: Vec<(usize, usize, bool, usize, String, String)> = Vec::new();
    for (p, _) in text.char_indices() {
        for &i in names {
            let name = NAMES[i];
            let mut forms = vec![(name.to_string(), false)];
            if let Some(rest) = name.strip_prefix("ال") {
                if !rest.is_empty() {
                    forms.push((format!("ل{rest}"), true));
                }
            }
            for (form, contracted) in forms {
                if !text[p..].starts_with(&form) || !ends_word(p + form.len()) {
                    continue;
                }
                let end = p + form.len();
                let id = format!("n{i}");
                if !contracted && starts_word(p) {
                    let before = text[..p].trim_end_matches(['"', '«']);
                    let clitic = CLITICS[1..]
                        .iter()
                        .filter(|c| {
                            before.len() < p
                                && before.ends_with(*c)
                                && starts_word(before.len() - c.len())
                        })
                        .max_by_key(|c| c.len())
                        .map_or("", |c| c);
                    candidates.push((p, end, false, p, id.clone(), clitic.to_string()));
                    continue;
                }
                for run in &CLITICS[1..] {
                    if contracted && !run.ends_with('ل') {
                        continue;
                    }
                    if text[..p].ends_with(run) && starts_word(p - run.len()) {
                        candidates.push((
                            p - run.len(),
                            end,
                            contracted,
                            p,
                            id.clone(),
                            run.to_string(),
                        ));
                    }
                }
            }
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut out: Vec<(usize, usize, String, String)> = Vec::new();
    let mut last_end = 0;
    for (token, end, _, start, id, clitic) in candidates {
        if token >= last_end {
            last_end = end;
            out.push((start, end, id, clitic));
        }
    }
    out
}

fn summary(mentions: &[Mention<'_>]) -> Vec<(usize, usize, String, String)> {
    mentions
        .iter()
        .map(|m| (m.start, m.end, m.entity.id().to_string(), m.clitic.to_string()))
        .collect()
}

/// Invariants every extraction must keep, on any text.
fn check_invariants(text: &str, mentions: &[Mention<'_>]) -> Result<(), TestCaseError> {
    let options = NormalizeOptions::default();
    let mut last_end = 0;
    for m in mentions {
        prop_assert!(m.start < m.end && m.end <= text.len());
        prop_assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
        prop_assert!(m.start >= last_end, "mentions overlap or are unsorted");
        last_end = m.end;
        prop_assert_eq!(m.char_start, text[..m.start].chars().count());
        prop_assert_eq!(m.char_end, text[..m.end].chars().count());
        let slice = fold(m.text(text), &options);
        // What the slice may read as: itself, or without the end of the proclitic when both
        // share one character (ﻷ is ل + أ, and the mention starts where it does).
        let clitic = fold(m.clitic, &options);
        let mut surfaces = vec![slice.as_str()];
        let first = m.text(text).chars().next().map(|c| fold(&c.to_string(), &options));
        if first.is_some_and(|f| f.chars().count() > 1) {
            surfaces.extend(
                clitic.char_indices().filter_map(|(i, _)| slice.strip_prefix(&clitic[i..])),
            );
        }
        if m.entity.is_guessed() {
            // A guessed person: the slice folds to the guessed name, or to its last word (a lone
            // surname after the full name).
            let name = m.entity.name_ar();
            prop_assert!(
                surfaces.iter().any(|s| name == *s || name.ends_with(&format!(" {s}"))),
                "slice {:?} folds to {:?}, guessed {:?}",
                m.text(text),
                slice,
                name
            );
            prop_assert_eq!(m.entity.id(), format!("guess:{}", name.replace(' ', "_")));
            continue;
        }
        // The original slice folds to the alias that matched (or its لل form).
        let alias = fold(m.alias, &options);
        let contracted = alias.strip_prefix('ا');
        prop_assert!(
            surfaces.iter().any(|s| *s == alias || Some(*s) == contracted),
            "slice {:?} folds to {:?}, alias {:?}",
            m.text(text),
            slice,
            m.alias
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn normalization_is_idempotent(s in arabic_string()) {
        let options = NormalizeOptions::default();
        let once = fold(&s, &options);
        prop_assert_eq!(fold(&once, &options), once.clone());
        let n = normalize(&s, &options).unwrap();
        prop_assert_eq!(n.text(), once.as_str());
    }

    #[test]
    fn offset_map_is_monotone_and_on_char_boundaries(s in arabic_string()) {
        let n = normalize(&s, &NormalizeOptions::default()).unwrap();
        let mut last = 0;
        for i in 0..=n.text().len() {
            let o = n.original_start(i);
            prop_assert!(o >= last, "map goes back at folded byte {}", i);
            prop_assert!(s.is_char_boundary(o));
            last = o;
        }
        prop_assert_eq!(n.original_start(n.text().len()), s.len());
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let mentions = embedded().extract(&s).unwrap();
        check_invariants(&s, &mentions)?;
    }

    #[test]
    fn arabic_noise_keeps_invariants(s in arabic_string()) {
        let mentions = embedded().extract(&s).unwrap();
        check_invariants(&s, &mentions)?;
    }

    #[test]
    fn matches_the_naive_reference(names in name_subset(), text in token_text()) {
        let extractor = extractor_for(&names);
        let mut mentions = extractor.extract(&text).unwrap();
        check_invariants(&text, &mentions)?;
        // The reference knows gazetteer names only; guessed person names come on top and never
        // change the gazetteer mentions (tests/persons.rs).
        mentions.retain(|m| !m.entity.is_guessed());
        prop_assert_eq!(summary(&mentions), reference(&names, &text), "text {:?}", text);
    }

    /// The fast path (anchored walks from word starts over table-driven folding) finds exactly
    /// what the plain path (overlapping scan of every position) finds.
    #[test]
    fn word_start_walks_equal_the_full_scan(names in name_subset(), text in token_text(), noise in arabic_string()) {
        let fast = extractor_for(&names);
        let plain = full_scan_extractor_for(&names);
        let dfa = dfa_extractor_for(&names);
        let a = fast.extract(&text).unwrap();
        let b = plain.extract(&text).unwrap();
        prop_assert_eq!(&a, &b, "text {:?}", text);
        prop_assert_eq!(&dfa.extract(&text).unwrap(), &b, "DFA walker, text {:?}", text);
        let mixed = format!("{noise} {text} {noise}");
        let a = embedded().extract(&mixed).unwrap();
        let b = embedded_full_scan().extract(&mixed).unwrap();
        prop_assert_eq!(&a, &b, "text {:?}", mixed);
    }

    #[test]
    fn marks_inside_a_name_keep_the_entity(
        name in 0..NAMES.len(),
        marks in proptest::collection::vec((1usize..40, prop::sample::select(vec!['\u{064E}', '\u{0651}', '\u{0640}', '\u{200C}', '\u{0652}', '\u{064B}'])), 1..4),
        before in 0..FILLER.len(),
        after in 0..FILLER.len(),
    ) {
        let plain = NAMES[name];
        let letters: Vec<char> = plain.chars().collect();
        let mut decorated = String::new();
        for (i, c) in letters.iter().enumerate() {
            decorated.push(*c);
            if i + 1 < letters.len() && c.is_alphabetic() && letters[i + 1].is_alphabetic() {
                for (at, mark) in &marks {
                    if at % letters.len() == i {
                        decorated.push(*mark);
                    }
                }
            }
        }
        let text = format!("{} {} {}", FILLER[before], decorated, FILLER[after]);
        let extractor = extractor_for(&[name]);
        let mentions = extractor.extract(&text).unwrap();
        check_invariants(&text, &mentions)?;
        prop_assert_eq!(mentions.len(), 1, "text {:?}", text);
        prop_assert_eq!(mentions[0].entity.id(), format!("n{name}"));
        prop_assert_eq!(mentions[0].text(&text), decorated.as_str());
    }

    #[test]
    fn proclitic_run_keeps_the_entity_and_is_reported(
        name in 0..NAMES.len(),
        run in 1..CLITICS.len(),
        before in 0..FILLER.len(),
    ) {
        let text = format!("{} {}{} .", FILLER[before], CLITICS[run], NAMES[name]);
        let extractor = extractor_for(&[name]);
        let mentions = extractor.extract(&text).unwrap();
        prop_assert_eq!(mentions.len(), 1, "text {:?}", text);
        prop_assert_eq!(mentions[0].entity.id(), format!("n{name}"));
        prop_assert_eq!(mentions[0].clitic, CLITICS[run]);
        prop_assert_eq!(mentions[0].text(&text), NAMES[name]);
    }
}
