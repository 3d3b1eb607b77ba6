//! Relation extraction: golden relations on the seed articles, the measured precision table,
//! rule-file loader errors, and properties (arguments index mentions of the rule's types in the
//! relation's sentence; shuffling sentences does not change the set of relations).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use alam::{
    sentence_index, sentences, EntityKind, ErrorKind, Extractor, Gazetteer, Mention, Relation,
    RelationExtractor, RuleSet,
};
use proptest::prelude::*;

const SEEDS: [&str; 5] = [
    "000_f63bd2125ddc3fbc",
    "001_4e02ee1c0d8a8fb4",
    "002_1d61934354bd88ea",
    "003_5662efcce18ba656",
    "004_afbadbf2f8541e3a",
];

fn seed(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds").join(format!("{name}.txt"));
    std::fs::read_to_string(path).expect("seed is readable")
}

/// Built once per test binary: the extractors are `Send + Sync` and cheap to clone.
fn extractor() -> Extractor {
    static EX: OnceLock<Extractor> = OnceLock::new();
    EX.get_or_init(|| {
        Extractor::new(Gazetteer::embedded().expect("embedded gazetteer")).expect("extractor")
    })
    .clone()
}

/// An extractor without the risky-name context rule, whose mentions are sentence-local.
fn local_extractor() -> Extractor {
    static EX: OnceLock<Extractor> = OnceLock::new();
    EX.get_or_init(|| {
        Extractor::builder()
            .require_context(false)
            .build(Gazetteer::embedded().expect("embedded gazetteer"))
            .expect("extractor")
    })
    .clone()
}

fn relations() -> RelationExtractor {
    static RX: OnceLock<RelationExtractor> = OnceLock::new();
    RX.get_or_init(|| RelationExtractor::embedded().expect("embedded rules")).clone()
}

/// One relation as the tables write it: (type, head entity, tail entity, trigger text).
fn row(text: &str, mentions: &[Mention<'_>], r: &Relation<'_>) -> (String, String, String, String) {
    (
        r.kind.to_string(),
        mentions[r.head].entity.id().to_string(),
        mentions[r.tail].entity.id().to_string(),
        r.trigger.map_or(String::new(), |t| t.text(text).to_string()),
    )
}

/// A judged relation: (seed prefix, sentence, type, head, tail, trigger, correct).
struct J(&'static str, usize, &'static str, &'static str, &'static str, &'static str, bool);

/// Every relation the default rules produce on the seeds, each judged by reading its sentence
/// (the table in gazetteers/rules/README.md). `true` rows with an empty trigger are facts from
/// the gazetteer `parent` column, true but not stated by the sentence.
const JUDGED: &[J] = &[
    J("000", 0, "affiliated_with", "jnim", "al_qaeda", "المرتبطة بتنظيم", true),
    J("000", 0, "attacks", "jnim", "bamako", "حصارا", true),
    J("000", 6, "replaced_by", "wagner_group", "africa_corps", "استبدالها", true),
    J("000", 6, "part_of", "africa_corps", "russian_ministry_of_defence", "التابع", true),
    J("000", 9, "holds_position", "sergey_lavrov", "russian", "وزير", true),
    J("000", 9, "nationality", "sergey_lavrov", "russian", "", true),
    J("000", 9, "visited", "sergey_lavrov", "algeria", "زيارة", true),
    J("000", 11, "nationality", "daniele_ruffinetti", "italian", "", true),
    J("000", 11, "spoke_to", "daniele_ruffinetti", "sky_news_arabia", "لموقع", true),
    J("000", 15, "nationality", "gauthier_pasquet", "french", "", true),
    J("001", 0, "located_in", "bamako", "mali", "", true),
    J("001", 4, "located_in", "paris", "france", "", true),
    J("001", 5, "located_in", "bamako", "mali", "", true),
    J("001", 5, "located_in", "paris", "france", "", true),
    J("001", 6, "holds_position", "abdoulaye_diop", "malian", "وزير", true),
    J("001", 6, "nationality", "abdoulaye_diop", "malian", "", true),
    J("001", 6, "located_in", "bamako", "mali", "", true),
    J("001", 14, "located_in", "moscow", "russia", "", true),
    J("001", 16, "spoke_to", "mohamed_weis_al_mahri", "al_jazeera", "يصف", true),
    J("001", 18, "holds_position", "rama_yade", "atlantic_council_africa_center", "المديرة", true),
    J("001", 18, "part_of", "atlantic_council_africa_center", "atlantic_council", "", true),
    J("001", 21, "supports", "russian_ministry_of_defence", "africa_corps", "المدعوم من", true),
    J("001", 25, "member_of", "mali", "alliance_of_sahel_states", "المكون من", true),
    J("001", 25, "member_of", "burkina_faso", "alliance_of_sahel_states", "المكون من", true),
    J("001", 25, "member_of", "niger", "alliance_of_sahel_states", "المكون من", true),
    J("001", 26, "located_in", "bamako", "mali", "", true),
    J("001", 26, "located_in", "moscow", "russia", "", true),
    J("001", 27, "spoke_to", "ahmed_al_shaikh", "al_jazeera", "تصريحه", true),
    J("001", 27, "located_in", "moscow", "russia", "", true),
    J("001", 28, "located_in", "moscow", "russia", "", true),
    J("002", 5, "nationality", "anton_mardasov", "russian", "", true),
    J("002", 7, "part_of", "wagner_group", "africa_corps", "ضمن", true),
    J("002", 10, "located_in", "moscow", "russia", "", true),
    J("002", 10, "visited", "assimi_goita", "moscow", "زيارة", true),
    J("003", 0, "located_in", "bamako", "mali", "", true),
    J("003", 6, "located_in", "koulouba_palace", "bamako", "العاصمة", true),
    J("003", 7, "supports", "moscow", "bamako", "دعم", true),
    J("003", 8, "supports", "moscow", "mali", "دعم", true),
    J("004", 0, "located_in", "bamako", "malian", "العاصمة", true),
    J("004", 0, "located_in", "bamako", "mali", "", true),
    J("004", 10, "holds_position", "sergey_lavrov", "russian", "وزير", true),
    J("004", 10, "nationality", "sergey_lavrov", "russian", "", true),
    J("004", 10, "supports", "russia", "mali", "دعم", true),
];

/// Relations each seed states outright, checked by hand: (seed prefix, sentence, type, head,
/// tail). One whose two entities the tagger does not both find in that sentence cannot be
/// found; it is reported, not failed, since the entity tests own that decision.
const MUST_FIND: &[(&str, usize, &str, &str, &str)] = &[
    ("000", 0, "affiliated_with", "jnim", "al_qaeda"),
    ("000", 0, "attacks", "jnim", "bamako"),
    ("000", 6, "replaced_by", "wagner_group", "africa_corps"),
    ("000", 6, "part_of", "africa_corps", "russian_ministry_of_defence"),
    ("000", 9, "holds_position", "sergey_lavrov", "russian"),
    ("000", 9, "nationality", "sergey_lavrov", "russian"),
    ("000", 9, "visited", "sergey_lavrov", "algeria"),
    ("000", 11, "nationality", "daniele_ruffinetti", "italian"),
    ("000", 11, "spoke_to", "daniele_ruffinetti", "sky_news_arabia"),
    ("000", 15, "nationality", "gauthier_pasquet", "french"),
    ("001", 6, "holds_position", "abdoulaye_diop", "malian"),
    ("001", 6, "nationality", "abdoulaye_diop", "malian"),
    ("001", 16, "spoke_to", "mohamed_weis_al_mahri", "al_jazeera"),
    ("001", 18, "holds_position", "rama_yade", "atlantic_council_africa_center"),
    ("001", 21, "supports", "russian_ministry_of_defence", "africa_corps"),
    ("001", 25, "member_of", "mali", "alliance_of_sahel_states"),
    ("001", 25, "member_of", "burkina_faso", "alliance_of_sahel_states"),
    ("001", 25, "member_of", "niger", "alliance_of_sahel_states"),
    ("001", 27, "spoke_to", "ahmed_al_shaikh", "al_jazeera"),
    ("002", 5, "nationality", "anton_mardasov", "russian"),
    ("002", 10, "visited", "assimi_goita", "moscow"),
    ("003", 6, "located_in", "koulouba_palace", "bamako"),
    ("003", 8, "supports", "moscow", "mali"),
    ("004", 0, "located_in", "bamako", "malian"),
    ("004", 10, "holds_position", "sergey_lavrov", "russian"),
    ("004", 10, "supports", "russia", "mali"),
];

#[test]
fn seeds_state_these_relations() {
    let (ex, rx) = (extractor(), relations());
    let (mut missing, mut untagged) = (Vec::new(), Vec::new());
    for name in SEEDS {
        let text = seed(name);
        let mentions = ex.extract(&text).unwrap();
        let spans = sentences(&text);
        let found: BTreeSet<(usize, String, String, String)> = rx
            .extract(&text, &mentions)
            .unwrap()
            .iter()
            .map(|r| {
                let (k, h, t, _) = row(&text, &mentions, r);
                (r.sentence, k, h, t)
            })
            .collect();
        let mentioned = |s: usize, id: &str| {
            mentions.iter().any(|m| m.entity.id() == id && sentence_index(&spans, m.start) == s)
        };
        for &(doc, s, kind, head, tail) in MUST_FIND.iter().filter(|m| name.starts_with(m.0)) {
            let what = format!("{doc} sentence {s}: {kind}({head}, {tail})");
            if !mentioned(s, head) || !mentioned(s, tail) {
                untagged.push(what);
            } else if !found.contains(&(s, kind.into(), head.into(), tail.into())) {
                missing.push(what);
            }
        }
    }
    assert!(missing.is_empty(), "help: relations stated in the seeds were not found: {missing:#?}");
    // Most must stay findable: the stated relations are the point of the seeds.
    assert!(
        untagged.len() <= MUST_FIND.len() / 4,
        "help: too many arguments untagged: {untagged:#?}"
    );
    if !untagged.is_empty() {
        eprintln!("note: the tagger does not find both arguments of: {untagged:#?}");
    }
}

/// A place and its gazetteer parent named in one sentence are related wherever they stand
/// (the `parent` rules, without trigger); two places that are not are not.
#[test]
fn gazetteer_parents_relate_anywhere_in_a_sentence() {
    let (ex, rx) = (extractor(), relations());
    let located = |text: &str| -> Vec<(String, String)> {
        let mentions = ex.extract(text).unwrap();
        let found = rx.extract(text, &mentions).unwrap();
        let ids = |r: &Relation<'_>| {
            (mentions[r.head].entity.id().to_string(), mentions[r.tail].entity.id().to_string())
        };
        found.iter().filter(|r| r.kind.as_str() == "located_in").map(ids).collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(h, t)| (h.to_string(), t.to_string())).collect()
    };
    assert_eq!(
        located("زار الوزير باماكو الأسبوع الماضي، ثم غادر مالي متجها إلى موسكو في روسيا."),
        pairs(&[("bamako", "mali"), ("moscow", "russia")])
    );
    assert_eq!(
        located("غادر الوزير مالي متجها إلى روسيا ثم إلى باماكو."),
        pairs(&[("bamako", "mali")])
    );
    assert_eq!(located("زار الوزير باماكو ثم موسكو والجزائر."), pairs(&[]));
}

#[test]
fn holds_position_and_nationality_details() {
    let (ex, rx) = (extractor(), relations());
    let text = seed(SEEDS[0]);
    let mentions = ex.extract(&text).unwrap();
    let found = rx.extract(&text, &mentions).unwrap();
    let position = found
        .iter()
        .find(|r| r.kind.as_str() == "holds_position")
        .expect("help: Lavrov's position is stated in seed 000");
    assert_eq!(position.role.map(|s| s.text(&text)), Some("وزير الخارجية"));
    assert_eq!(position.country, Some("russia"));
    let ruffinetti = found
        .iter()
        .find(|r| {
            r.kind.as_str() == "nationality" && mentions[r.head].entity.id() == "daniele_ruffinetti"
        })
        .unwrap();
    assert_eq!(ruffinetti.country, Some("italy"));
    assert_eq!(ruffinetti.trigger, None);
    // "الباحث في الشأن الروسي أحمد الشايخ": the demonym qualifies the field, not the person.
    let text = seed(SEEDS[1]);
    let mentions = ex.extract(&text).unwrap();
    let found = rx.extract(&text, &mentions).unwrap();
    assert!(!found.iter().any(|r| {
        r.kind.as_str() == "nationality" && mentions[r.head].entity.id() == "ahmed_al_shaikh"
    }));
}

#[test]
fn precision_on_seeds() {
    let (ex, rx) = (extractor(), relations());
    let mut judged: BTreeMap<(&str, usize, &str, &str, &str, &str), bool> = BTreeMap::new();
    for j in JUDGED {
        judged.insert((j.0, j.1, j.2, j.3, j.4, j.5), j.6);
    }
    let (mut correct, mut total) = (0usize, 0usize);
    let mut unjudged = Vec::new();
    for name in SEEDS {
        let text = seed(name);
        let mentions = ex.extract(&text).unwrap();
        for r in rx.extract(&text, &mentions).unwrap() {
            let (k, h, t, trig) = row(&text, &mentions, &r);
            total += 1;
            match judged.get(&(&name[..3], r.sentence, &k, &h, &t, &trig)) {
                Some(true) => correct += 1,
                Some(false) => {}
                None => unjudged.push(format!(
                    "J(\"{}\", {}, \"{k}\", \"{h}\", \"{t}\", \"{trig}\", ?) | {}",
                    &name[..3],
                    r.sentence,
                    r.sentence_span.text(&text)
                )),
            }
        }
    }
    // A relation nobody judged counts as wrong until someone reads its sentence.
    let precision = correct as f64 / total.max(1) as f64;
    assert!(
        precision >= 0.8,
        "help: precision {correct}/{total} = {precision:.3} on seeds/ is below 0.8; judge these \
         relations and add them to JUDGED and to gazetteers/rules/README.md: {unjudged:#?}"
    );
    if !unjudged.is_empty() {
        eprintln!("note: {} relations on seeds/ are not judged yet: {unjudged:#?}", unjudged.len());
    }
}

/// Relations and their invariants on a text.
fn check_invariants(ex: &Extractor, rx: &RelationExtractor, text: &str) {
    let mentions = ex.extract(text).unwrap();
    let spans = sentences(text);
    for r in rx.extract(text, &mentions).unwrap() {
        assert!(r.head < mentions.len() && r.tail < mentions.len());
        assert_ne!(r.head, r.tail);
        let rule = &rx.rules().rules()[r.rule];
        assert_eq!(rule.kind(), r.kind);
        let (head, tail) = (&mentions[r.head], &mentions[r.tail]);
        assert!(rule.allows_head(head.kind()), "{:?} head {:?}", r.kind, head.kind());
        assert!(rule.allows_tail(tail.kind()), "{:?} tail {:?}", r.kind, tail.kind());
        assert_eq!(sentence_index(&spans, head.start), r.sentence);
        assert_eq!(sentence_index(&spans, tail.start), r.sentence);
        assert_eq!(spans[r.sentence], r.sentence_span.start..r.sentence_span.end);
        for span in r.trigger.iter().chain(&r.role) {
            assert!(r.sentence_span.start <= span.start && span.end <= r.sentence_span.end);
            assert!(!span.text(text).is_empty());
        }
        assert_eq!(
            r.country.is_some(),
            tail.kind() == EntityKind::Norp && tail.entity.parent().is_some()
        );
    }
}

/// Every sentence of the seeds that has two mentions or more.
fn seed_sentences() -> &'static [String] {
    static SENTENCES: OnceLock<Vec<String>> = OnceLock::new();
    SENTENCES.get_or_init(collect_seed_sentences)
}

fn collect_seed_sentences() -> Vec<String> {
    let ex = extractor();
    let mut out = Vec::new();
    for name in SEEDS {
        let text = seed(name);
        let mentions = ex.extract(&text).unwrap();
        let spans = sentences(&text);
        let mut count = vec![0usize; spans.len()];
        for m in &mentions {
            count[sentence_index(&spans, m.start)] += 1;
        }
        for (span, n) in spans.iter().zip(count) {
            if n >= 2 {
                out.push(text[span.clone()].to_string());
            }
        }
    }
    out
}

fn relation_set(
    ex: &Extractor,
    rx: &RelationExtractor,
    text: &str,
) -> BTreeSet<(String, String, String, String)> {
    let mentions = ex.extract(text).unwrap();
    rx.extract(text, &mentions).unwrap().iter().map(|r| row(text, &mentions, r)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn shuffled_sentences_keep_the_relations(
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..12),
        order in any::<u64>(),
    ) {
        // Context for risky names is not sentence-local, so it is off here: the property is
        // about relations, which only see their own sentence.
        let ex = local_extractor();
        let rx = relations();
        let all = seed_sentences();
        let chosen: Vec<&str> = picks.iter().map(|i| all[i.index(all.len())].as_str()).collect();
        let mut shuffled = chosen.clone();
        // A Fisher-Yates shuffle driven by the generated seed.
        let mut state = order | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let a = chosen.join("\n");
        let b = shuffled.join("\n");
        check_invariants(&ex, &rx, &a);
        check_invariants(&ex, &rx, &b);
        prop_assert_eq!(relation_set(&ex, &rx, &a), relation_set(&ex, &rx, &b));
    }

    #[test]
    fn arbitrary_text_keeps_the_invariants(
        words in proptest::collection::vec(prop::sample::select(vec![
            "مالي", "وبوركينا فاسو", "والنيجر", "تحالف", "دول الساحل", "المكون من", "زيارة",
            "سيرغي لافروف", "للجزائر", "وزير الخارجية", "الروسي", "الإيطالي", "دانييلي روفينيتي",
            "لموقع", "سكاي نيوز عربية", "فاغنر", "استبدالها", "بالفيلق الأفريقي", "التابع",
            "لوزارة الدفاع الروسية", "دعم", "موسكو", "لمالي", "باماكو", "عاصمة", "شمال", "لم",
            "الشأن", "،", ".", "؟", "\n", "و", "في", "2.5", "«", "»", "\"", "بـ\"",
        ]), 0..40),
    ) {
        let text = words.join(" ");
        check_invariants(&extractor(), &relations(), &text);
    }
}

#[test]
fn loader_errors_name_file_and_line() {
    const HEADER: &str = "type\ttriggers\thead\ttail\torder\tgap\tnegation\trole\tflags\n";
    let rows: &[(&str, usize, &str)] = &[
        ("visited\tزار\tPER\tGPE\thead trigger tail\n", 2, "expected 9 tab-separated fields"),
        ("visits\tزار\tPER\tGPE\thead trigger tail\t1\t\t\t\n", 2, "unknown relation type \"visits\""),
        ("visited\tزار\tPERSON\tGPE\thead trigger tail\t1\t\t\t\n", 2, "head: unknown entity"),
        ("visited\tزار\tPER\tCITY\thead trigger tail\t1\t\t\t\n", 2, "tail: unknown entity"),
        ("visited\tزار\tPER\tGPE\thead trigger tail\tfar\t\t\t\n", 2, "bad gap \"far\""),
        ("visited\tزار\tPER\tGPE\thead trigger tail\t1,2,3\t\t\t\n", 2, "bad gap \"1,2,3\""),
        ("visited\tزار\tPER\tGPE\thead trigger tail\t99\t\t\t\n", 2, "bad gap"),
        ("visited\tزار||يزور\tPER\tGPE\thead trigger tail\t1\t\t\t\n", 2, "empty trigger"),
        ("visited\tَُ\tPER\tGPE\thead trigger tail\t1\t\t\t\n", 2, "empty trigger"),
        ("visited\t\tPER\tGPE\thead trigger tail\t1\t\t\t\n", 2, "empty trigger"),
        ("visited\tزار\tPER\tGPE\thead tail\t1\t\t\t\n", 2, "has no trigger"),
        ("visited\t-\tPER\tGPE\thead trigger tail\t1\t\t\t\n", 2, "triggers column is \"-\""),
        ("visited\tزار\tPER\tGPE\thead trigger\t1\t\t\t\n", 2, "must name head and tail"),
        ("visited\tزار\tPER\tGPE\thead trigger head tail\t1\t\t\t\n", 2, "names head twice"),
        ("visited\tزار\tPER\tGPE\tx+head trigger tail\t1\t\t\t\n", 2, "bad order element"),
        ("visited\tزار\tPER\tGPE\thead trigger tail\t1\tلم||لن\t\t\n", 2, "empty negation word"),
        ("visited\tزار\tPER\tGPE\thead trigger tail\t1\t\tmaybe\t\n", 2, "unknown role"),
        ("visited\tزار\tPER\tGPE\thead trigger tail\t1\t\t\tfast\n", 2, "unknown flag"),
        ("# comment\n\nvisited\tزار\tPER\tGPE\thead trigger tail\t1\t\t\t\nvisited\tزار\tPER\tGPE\thead trigger\t1\t\t\t\n", 5, "must name head and tail"),
    ];
    for (rows, line, message) in rows {
        let err = RuleSet::from_tsv("mine.tsv", &format!("{HEADER}{rows}")).unwrap_err();
        match err.kind() {
            ErrorKind::Rule { file, line: got, message: got_message } => {
                assert_eq!(file, "mine.tsv");
                assert_eq!(got, line, "help: rows {rows:?} gave {got_message:?}");
                assert!(
                    got_message.contains(message),
                    "help: expected {message:?} in {got_message:?}"
                );
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().starts_with(&format!("mine.tsv:{line}: ")), "{err}");
    }
    let err = RuleSet::from_tsv("h.tsv", "type\ttriggers\thead\n").unwrap_err().to_string();
    assert!(err.starts_with("h.tsv:1: missing column \"tail\""), "{err}");
    let err = RuleSet::from_tsv("h.tsv", "type\ttrigger\n").unwrap_err().to_string();
    assert!(err.starts_with("h.tsv:1: unknown column \"trigger\""), "{err}");
    let err = RuleSet::from_tsv("h.tsv", "# only comments\n").unwrap_err().to_string();
    assert!(err.contains("empty file"), "{err}");
    let err = RuleSet::load(&["/nonexistent/rules.tsv"]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Io { .. }));
}

#[test]
fn user_rules_add_relations() {
    let tsv = "type\ttriggers\thead\ttail\torder\tgap\n\
               visited\tحط الرحال في\tPER\tGPE\thead trigger tail\t0,0\n";
    let mut rules = RuleSet::embedded().unwrap();
    let before = rules.len();
    rules.add_tsv("mine.tsv", tsv).unwrap();
    assert_eq!(rules.len(), before + 1);
    let rx = RelationExtractor::new(rules).unwrap();
    let ex = extractor();
    let text = "سيرغي لافروف حطّ الرحال في باماكو أمس.";
    let mentions = ex.extract(text).unwrap();
    let found = rx.extract(text, &mentions).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].trigger.unwrap().text(text), "حطّ الرحال في");
    assert_eq!(rx.rules().rules()[found[0].rule].source().file, "mine.tsv");
}

#[test]
fn records_and_brat_lines() {
    let (ex, rx) = (extractor(), relations());
    let text = "زار سيرغي لافروف الجزائر. وقال وزير الخارجية الإيطالي أنطونيو تاياني إن الوضع هادئ.";
    let mentions = ex.extract(text).unwrap();
    let found = rx.extract(text, &mentions).unwrap();
    let json: Vec<serde_json::Value> =
        found.iter().map(|r| serde_json::to_value(r.to_record(text)).unwrap()).collect();
    let visited = json.iter().find(|j| j["type"] == "visited").unwrap();
    assert_eq!(visited["trigger"]["text"], "زار");
    assert_eq!(visited["sentence"], 0);
    assert_eq!(visited["evidence"], "زار سيرغي لافروف الجزائر.");
    assert!(visited.get("role").is_none());
    let position = json.iter().find(|j| j["type"] == "holds_position").unwrap();
    assert_eq!(position["role"], "وزير الخارجية");
    assert_eq!(position["country"], "italy");
    assert_eq!(position["sentence"], 1);
    let nationality = json.iter().find(|j| j["type"] == "nationality").unwrap();
    assert_eq!(nationality["trigger"], serde_json::Value::Null);
    let brat = alam::brat_relations(text, &found, mentions.len() + 1);
    assert!(brat.contains("\tvisited Arg1:T1 Arg2:T2\n"), "{brat}");
    assert!(brat.contains("AnnotatorNotes R"), "{brat}");
}

/// Cutting the sentences from the extractor's fold of the whole text finds exactly the relations
/// that folding each sentence again finds; a fold of another text is refused.
#[test]
fn relations_from_the_document_fold_equal_those_from_sentence_folds() {
    let ex = extractor();
    let rx = relations();
    for name in SEEDS {
        let text = seed(name);
        let mut folded = alam::Normalized::default();
        let mentions = ex.extract_into(&text, &mut folded).unwrap();
        let spans = sentences(&text);
        let again = rx.extract_in(&text, &spans, &mentions).unwrap();
        let cut = rx.extract_folded(&text, &spans, &folded, &mentions).unwrap();
        assert!(!again.is_empty(), "help: {name} has relations");
        assert_eq!(cut, again, "help: {name}");
    }
    let text = seed(SEEDS[0]);
    let mentions = ex.extract(&text).unwrap();
    let other = alam::normalize("نص آخر", &alam::NormalizeOptions::default()).unwrap();
    let err = rx.extract_folded(&text, &sentences(&text), &other, &mentions).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::FoldMismatch { .. }), "{err}");
}

proptest! {
    /// The same on random mixes of seed sentences, with marks and tatweel sprinkled in.
    #[test]
    fn document_fold_and_sentence_folds_agree(
        picks in prop::collection::vec(0usize..1000, 1..6),
        marks in prop::collection::vec(prop::sample::select(vec!["", "ـ", "\u{64E}", " ", "\n"]), 1..6),
    ) {
        let all = seed_sentences();
        let mut text = String::new();
        for (i, p) in picks.iter().enumerate() {
            text.push_str(&all[p % all.len()]);
            text.push_str(marks[i % marks.len()]);
            text.push(' ');
        }
        let ex = extractor();
        let rx = relations();
        let mut folded = alam::Normalized::default();
        let mentions = ex.extract_into(&text, &mut folded).unwrap();
        let spans = sentences(&text);
        prop_assert_eq!(
            rx.extract_folded(&text, &spans, &folded, &mentions).unwrap(),
            rx.extract_in(&text, &spans, &mentions).unwrap()
        );
    }
}
