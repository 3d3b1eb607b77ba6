//! Guessed person names (src/person.rs): a regression set of sentences with the expected
//! outcome, and properties: guessing never changes the gazetteer mentions, guessed names never
//! overlap them, a lone surname links to the full name seen before it.

use std::sync::OnceLock;

use alam::{fold, Extractor, Gazetteer, Mention, NormalizeOptions};
use proptest::prelude::*;

fn with_guesses() -> &'static Extractor {
    static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();
    EXTRACTOR.get_or_init(|| Extractor::new(Gazetteer::embedded().unwrap()).unwrap())
}

fn without_guesses() -> &'static Extractor {
    static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();
    EXTRACTOR.get_or_init(|| {
        Extractor::builder().guess_persons(false).build(Gazetteer::embedded().unwrap()).unwrap()
    })
}

/// The guessed mentions of `text`: (mention text, entity id).
fn guessed(text: &str) -> Vec<(String, String)> {
    with_guesses()
        .extract(text)
        .unwrap()
        .iter()
        .filter(|m| m.entity.is_guessed())
        .map(|m| (m.text(text).to_string(), m.entity.id().to_string()))
        .collect()
}

#[test]
fn sentences_with_expected_guesses() {
    let rows: &[(&str, &[(&str, &str)])] = &[
        // A given name and an unknown surname.
        ("التقى جاك دوبوا بالوزير", &[("جاك دوبوا", "guess:جاك_دوبوا")]),
        // A lone surname after the full name links to it, with a proclitic too.
        (
            "التقى جاك دوبوا بالوزير، وقال دوبوا إن اللقاء كان مثمرا ولدوبوا رأي",
            &[
                ("جاك دوبوا", "guess:جاك_دوبوا"),
                ("دوبوا", "guess:جاك_دوبوا"),
                ("دوبوا", "guess:جاك_دوبوا"),
            ],
        ),
        // A title and a name, across a nationality adjective the gazetteer knows.
        (
            "وصرح الرئيس الموريتاني سيدي ولد بوبكر للصحفيين",
            &[("سيدي ولد بوبكر", "guess:سيدي_ولد_بوبكر")],
        ),
        // A list: the conjunction starts the next name.
        (
            "فاز توفيق بوحيمد ومحمد الفهيد بالجائزة",
            &[("توفيق بوحيمد", "guess:توفيق_بوحيمد"), ("محمد الفهيد", "guess:محمد_الفهيد")],
        ),
        // Compound given names and connectors.
        (
            "وقال عبد الرزاق بن سليمان الرقيطي",
            &[("عبد الرزاق بن سليمان الرقيطي", "guess:عبد_الرزاق_بن_سليمان_الرقيطي")],
        ),
        // Diacritics and tatweel fold away; the id is the folded name.
        ("قال جـاك دُوبوا", &[("جـاك دُوبوا", "guess:جاك_دوبوا")]),
        // No surname: a given name followed by ordinary words is no guessed name.
        ("قال محمد إن الاجتماع انتهى", &[]),
        // Ordinary words after a title, with pronoun suffixes or the article.
        ("وقال الرئيس التنفيذي للشركة", &[]),
        ("كتب الكاتب الساخر مقالا", &[]),
        ("أعلن الرئيس مقاطعته للاجتماع", &[]),
        // A statement is no person (بيان is a given name, but mostly "statement").
        ("قال بيان صادر عن الرئاسة", &[]),
        // A name never runs over punctuation.
        ("قال جاك، دوبوا", &[]),
    ];
    for (text, expected) in rows {
        let expected: Vec<(String, String)> =
            expected.iter().map(|(t, id)| (t.to_string(), id.to_string())).collect();
        assert_eq!(guessed(text), expected, "help: {text}");
    }
}

#[test]
fn gazetteer_persons_win_over_guesses() {
    // Hosni Mubarak is in the gazetteer: no guess, the gazetteer entity.
    let text = "استقبل الرئيس المصري حسني مبارك ضيفه";
    let mentions = with_guesses().extract(text).unwrap();
    assert!(mentions.iter().all(|m| !m.entity.is_guessed()));
    assert!(mentions.iter().any(|m| m.entity.id() == "hosni_mubarak"));
}

#[test]
fn guessed_mentions_in_jsonl_records() {
    let text = "التقى جاك دوبوا بالوزير";
    let mentions = with_guesses().extract(text).unwrap();
    let m = mentions.iter().find(|m| m.entity.is_guessed()).unwrap();
    let record = serde_json::to_value(m.to_record(text)).unwrap();
    assert_eq!(record["type"], "PER");
    assert_eq!(record["entity"], "guess:جاك_دوبوا");
    assert_eq!(record["guessed"], true);
    assert_eq!(record["alias"], "جاك دوبوا");
    assert_eq!(record["qid"], serde_json::Value::Null);
    // Gazetteer mentions do not carry the field.
    let text = "وصل الوفد إلى باماكو";
    let mentions = with_guesses().extract(text).unwrap();
    let record = serde_json::to_value(mentions[0].to_record(text)).unwrap();
    assert!(record.get("guessed").is_none());
}

/// Words that make names, ordinary words, titles, punctuation: texts where guesses happen.
const WORDS: &[&str] = &[
    "جاك",
    "محمد",
    "عبد",
    "الله",
    "بن",
    "آل",
    "دوبوا",
    "شيراك",
    "الرئيس",
    "الشيخ",
    "المصري",
    "الروسي",
    "باماكو",
    "مالي",
    "حسني",
    "مبارك",
    "قال",
    "إن",
    "في",
    "و",
    "ومحمد",
    "لدوبوا",
    "الاجتماع",
    "بيان",
    "،",
    ".",
    "سيرغي",
    "لافروف",
    "فاغنر",
    "الفرنسي",
    "ولد",
    "سيدي",
    "كاميرون",
];

fn token_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..24).prop_map(|w| w.join(" "))
}

fn check(text: &str, on: &[Mention<'_>], off: &[Mention<'_>]) -> Result<(), TestCaseError> {
    let listed: Vec<&Mention<'_>> = on.iter().filter(|m| !m.entity.is_guessed()).collect();
    prop_assert_eq!(listed, off.iter().collect::<Vec<_>>(), "guessing changed gazetteer mentions");
    let options = NormalizeOptions::default();
    let mut full_names: Vec<String> = Vec::new();
    let mut last_end = 0;
    for m in on {
        prop_assert!(m.start >= last_end, "overlap or disorder in {:?}", text);
        last_end = m.end;
        if !m.entity.is_guessed() {
            continue;
        }
        prop_assert_eq!(m.kind(), alam::EntityKind::Per);
        let surface = fold(m.text(text), &options);
        let name = m.entity.name_ar().to_string();
        if surface == name {
            full_names.push(name);
        } else {
            // A lone surname: the last word of a full name guessed before it.
            prop_assert!(name.ends_with(&format!(" {surface}")), "{:?} in {:?}", surface, name);
            prop_assert!(full_names.contains(&name), "surname {:?} before {:?}", surface, name);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn guesses_only_add_person_mentions(text in token_text()) {
        let on = with_guesses().extract(&text).unwrap();
        let off = without_guesses().extract(&text).unwrap();
        check(&text, &on, &off)?;
    }
}

#[test]
fn many_surnames_in_one_text_link_to_their_full_names() {
    // More guessed names than the substring search takes (16): the word-start pass links them.
    let letters = ["ز", "ظ", "ث", "ذ", "ض", "غ", "ش", "ص"];
    let surnames: Vec<String> =
        (0..24).map(|i| format!("{}و{}ان", letters[i % 8], letters[(i / 8 + 3) % 8])).collect();
    let mut text = String::new();
    for s in &surnames {
        text.push_str(&format!("التقى جاك {s} بالوزير. "));
    }
    for s in &surnames {
        text.push_str(&format!("وقال {s} إن. "));
    }
    let found = guessed(&text);
    for s in &surnames {
        let id = format!("guess:جاك_{s}");
        let lone: Vec<_> = found.iter().filter(|(t, i)| t == s && *i == id).collect();
        assert_eq!(lone.len(), 1, "help: lone {s} in {found:?}");
    }
}
