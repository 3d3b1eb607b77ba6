//! The relation-rule loader (`RuleSet::from_tsv`) and relation extraction.
//!
//! Input layout (lossy UTF-8): a rule file, then optionally a line `---` and a text:
//!
//! ```text
//! type\ttriggers\thead\ttail\torder\tgap
//! visited\tزار|زيارة\tPER\tGPE\thead trigger tail\t3,1
//! ---
//! <text>
//! ```
//!
//! Invariants: the loader returns Ok or Err, never panics, and its errors name the file; a rule
//! set that loads and compiles extracts relations from the text's mentions (embedded gazetteer)
//! without error, and so do the embedded rules; every relation's head and tail index the
//! mentions (and differ), its trigger, role and sentence spans lie on char boundaries inside
//! the text, the head and tail start in its sentence, and relations come in sentence order.
//! An extractor that marks the trigger words while it walks the names
//! (`ExtractorBuilder::relations`) gives the embedded rules the same relations from its fold.
#![no_main]

use std::sync::OnceLock;

use alam::{
    sentences, ErrorKind, Extractor, Gazetteer, Mention, Normalized, Relation, RelationExtractor,
    RuleSet, Span,
};
use alam_fuzz::{check_mentions, embedded};
use libfuzzer_sys::fuzz_target;

fn embedded_rules() -> &'static RelationExtractor {
    static RULES: OnceLock<RelationExtractor> = OnceLock::new();
    RULES.get_or_init(|| RelationExtractor::embedded().expect("embedded rules"))
}

/// An extractor of the embedded gazetteer that marks the embedded rules' trigger words.
fn linked() -> &'static Extractor {
    static LINKED: OnceLock<Extractor> = OnceLock::new();
    LINKED.get_or_init(|| {
        let gazetteer = Gazetteer::embedded().expect("embedded gazetteer");
        Extractor::builder().relations(embedded_rules()).build(gazetteer).expect("linked")
    })
}

fn check_span(text: &str, span: Span, what: &str) {
    assert!(span.start <= span.end && span.end <= text.len(), "{what} {span:?} out of the text");
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what} {span:?} not on char boundaries"
    );
}

fn check_relations(text: &str, mentions: &[Mention<'_>], relations: &[Relation<'_>]) {
    let mut last_sentence = 0;
    for r in relations {
        assert!(r.head < mentions.len() && r.tail < mentions.len(), "argument out of range: {r:?}");
        assert_ne!(r.head, r.tail, "a relation links a mention to itself: {r:?}");
        check_span(text, r.sentence_span, "sentence");
        for m in [&mentions[r.head], &mentions[r.tail]] {
            assert!(
                r.sentence_span.start <= m.start && m.start < r.sentence_span.end,
                "argument {}..{} starts outside its sentence {:?}",
                m.start,
                m.end,
                r.sentence_span
            );
        }
        if let Some(t) = r.trigger {
            check_span(text, t, "trigger");
            assert!(t.start < t.end, "empty trigger span");
        }
        if let Some(role) = r.role {
            check_span(text, role, "role");
        }
        assert!(r.sentence >= last_sentence, "relations out of sentence order");
        last_sentence = r.sentence;
        let _ = serde_json::to_string(&r.to_record(text)).expect("serializable");
    }
    let _ = alam::brat_relations(text, relations, 1);
}

const DEFAULT_TEXT: &str = "وزار وزير الخارجية الروسي سيرغي لافروف باماكو، وقال إن فاغنر \
                            استبدلت بالفيلق الأفريقي التابع لوزارة الدفاع الروسية.";

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (rules, text) = match input.split_once("\n---\n") {
        Some((rules, text)) => (rules, text),
        None => (&*input, DEFAULT_TEXT),
    };
    let mentions = embedded().extract(text).expect("text under 4 GiB");
    check_mentions(text, &mentions);
    let relations = embedded_rules().extract(text, &mentions).expect("embedded rules extract");
    check_relations(text, &mentions, &relations);
    let mut folded = Normalized::default();
    let marked = linked().extract_into(text, &mut folded).expect("text under 4 GiB");
    assert_eq!(marked, mentions, "a linked extractor finds other mentions");
    let spans = sentences(text);
    let from_marks =
        embedded_rules().extract_folded(text, &spans, &folded, &marked).expect("extract_folded");
    assert_eq!(from_marks, relations, "the marks of the trigger words change the relations");

    let rules = match RuleSet::from_tsv("fuzz.tsv", rules) {
        Ok(rules) => rules,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.tsv"), "error does not name the file: {message}");
            assert!(matches!(e.kind(), ErrorKind::Rule { .. }), "unexpected error kind {e:?}");
            return;
        }
    };
    let extractor = match RelationExtractor::new(rules) {
        Ok(x) => x,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.tsv"), "error does not name the file: {message}");
            return;
        }
    };
    let relations = extractor.extract(text, &mentions).expect("extract");
    check_relations(text, &mentions, &relations);
});
