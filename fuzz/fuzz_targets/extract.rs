//! Extraction with a small random gazetteer and with the embedded default.
//!
//! Input layout (lossy UTF-8), chosen so seeds are readable and mutations stay meaningful:
//!
//! ```text
//! [!]name,alias,~risky alias|name,alias|...\n<text>
//! ```
//!
//! The first line is the gazetteer: up to 6 entities separated by `|`, each a canonical name
//! followed by `,`-separated aliases (a leading `~` marks a risky alias); entity `i` gets the
//! type `TYPES[i % 7]` and every third one the `risky` flag. A leading `!` turns the context
//! requirement off (`--keep-risky`). Loader and build errors are fine (the input is skipped for
//! the random gazetteer); the text is always also extracted with the embedded default. With the
//! random gazetteer, the default word-start walks must find what the full scan finds.
#![no_main]

use alam::{Extractor, Gazetteer};
use alam_fuzz::{check_mentions, embedded};
use libfuzzer_sys::fuzz_target;

const TYPES: [&str; 7] = ["GPE", "ORG", "PER", "LOC", "NORP", "PRODUCT", "EVENT"];

fn gazetteer_tsv(head: &str) -> String {
    let mut tsv = String::from("id\ttype\tname_ar\taliases\tflags\n");
    for (i, entity) in head.split('|').take(6).enumerate() {
        let mut names = entity.split(',');
        let name = names.next().unwrap_or("");
        let aliases: Vec<&str> = names.take(6).collect();
        let flags = if i % 3 == 2 { "risky" } else { "" };
        tsv.push_str(&format!(
            "e{i}\t{}\t{name}\t{}\t{flags}\n",
            TYPES[i % TYPES.len()],
            aliases.join("|")
        ));
    }
    tsv
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (head, text) = input.split_once('\n').unwrap_or(("", &input));
    let (keep_risky, head) = match head.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, head),
    };

    let mentions = embedded().extract(text).expect("text under 4 GiB");
    check_mentions(text, &mentions);

    let Ok(gazetteer) = Gazetteer::from_tsv("fuzz.tsv", &gazetteer_tsv(head)) else {
        return;
    };
    let reference = Extractor::builder()
        .require_context(!keep_risky)
        .full_scan(true)
        .build(gazetteer.clone())
        .expect("a gazetteer that loads builds an extractor");
    let extractor = Extractor::builder()
        .require_context(!keep_risky)
        .build(gazetteer)
        .expect("a gazetteer that loads builds an extractor");
    let mentions = extractor.extract(text).expect("text under 4 GiB");
    check_mentions(text, &mentions);
    // The word-start walks, behind their first- and second-word filters, find what the
    // overlapping scan of every position finds.
    let summary = |found: &[alam::Mention<'_>]| -> Vec<(usize, usize, String, &'static str)> {
        found.iter().map(|m| (m.start, m.end, m.entity.id().to_string(), m.clitic)).collect()
    };
    let scanned = reference.extract(text).expect("text under 4 GiB");
    assert_eq!(summary(&mentions), summary(&scanned), "walks and full scan differ on {text:?}");
    if keep_risky {
        // Without the context rule, every loaded name is found when it is the whole text.
        for entity in extractor.gazetteer().entities() {
            for name in entity.names() {
                let found = extractor.extract(name.text()).expect("short text");
                check_mentions(name.text(), &found);
                assert!(
                    !found.is_empty(),
                    "name {:?} of {} not found alone",
                    name.text(),
                    entity.id()
                );
            }
        }
    }
});
