//! Table tests for the matcher traps of ARABIC.md and STYLE.md: each row is a text and the exact
//! mentions expected, as (surface in the original text, entity id, clitic).

use alam::{Extractor, Gazetteer};

const HEADER: &str = "id\ttype\tname_ar\tname_en\taliases\tqid\tflags\tparent\n";

/// A small gazetteer built for the traps, so that each row tests one thing.
fn trap_extractor() -> Extractor {
    let rows = [
        "egypt\tGPE\tمصر\tEgypt\t\t\t\t",
        "gao\tGPE\tغاو\tGao\tجاو\t\t\t",
        "gao_region\tGPE\tغاوة\tGao Region\t\t\t\t",
        "albania\tGPE\tألبانيا\tAlbania\t\t\t\t",
        "banya\tGPE\tبانيا\tBanya\t\t\t\t",
        "algeria\tGPE\tالجزائر\tAlgeria\t\t\t\t",
        "algiers\tGPE\tالجزائر العاصمة\tAlgiers\tالجزائر\t\t\t",
        "libya\tGPE\tليبيا\tLibya\t\t\t\t",
        "moscow\tGPE\tموسكو\tMoscow\t\t\t\t",
        "wagner_group\tORG\tفاغنر\tWagner Group\tفاجنر\t\t\t",
        "africa\tLOC\tأفريقيا\tAfrica\t\t\t\t",
        "africa_corps\tORG\tفيلق أفريقيا\tAfrica Corps\tالفيلق الأفريقي\t\t\t",
        "car\tGPE\tجمهورية أفريقيا الوسطى\tCentral African Republic\t\t\t\t",
        "burkina_faso\tGPE\tبوركينا فاسو\tBurkina Faso\t\t\t\t",
        "t_72b3\tPRODUCT\tT-72B3\tT-72B3\t\t\t\t",
        "russia\tGPE\tروسيا\tRussia\t\t\t\t",
        "russian\tNORP\tروسي\tRussian\tروسيًا\t\t\trussia",
        "kara\tGPE\tكره\tKara\t\t\trisky\t",
        "mopti\tGPE\tموبتي\tMopti\t\t\t\t",
        "goita\tPER\tأسيمي غويتا\tAssimi Goita\t~غويتا\t\t\t",
    ];
    let tsv = format!("{HEADER}{}\n", rows.join("\n"));
    Extractor::new(Gazetteer::from_tsv("traps.tsv", &tsv).unwrap()).unwrap()
}

fn found(extractor: &Extractor, text: &str) -> Vec<(String, String, String)> {
    let mentions = extractor.extract(text).unwrap();
    mentions
        .iter()
        .map(|m| (m.text(text).to_string(), m.entity.id().to_string(), m.clitic.to_string()))
        .collect()
}

macro_rules! traps {
    ($($name:ident: $text:expr => [$(($surface:expr, $id:expr, $clitic:expr)),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                let extractor = trap_extractor();
                let got = found(&extractor, $text);
                let expected: Vec<(String, String, String)> =
                    vec![$(($surface.to_string(), $id.to_string(), $clitic.to_string())),*];
                assert_eq!(got, expected, "help: text {:?}", $text);
            }
        )*
    };
}

traps! {
    egypt_not_inside_bank: "ذهب إلى مصرف مصر المركزي" => [("مصر", "egypt", "")];
    gao_not_inside_a_longer_word: "في مغاور الجبل" => [];
    gao_with_clitic: "وصل الجيش بغاو أمس" => [("غاو", "gao", "ب")];
    gao_variant: "مدينة جاو" => [("جاو", "gao", "")];
    longer_failing_boundary_keeps_no_false_short: "غاوة1 و غاوة" => [("غاوة", "gao_region", "")];
    albania_not_split_as_article: "زار ألبانيا والبانيا" => [("ألبانيا", "albania", ""), ("البانيا", "albania", "و")];
    banya_alone: "بانيا" => [("بانيا", "banya", "")];
    lil_contraction: "قال للجزائر" => [("لجزائر", "algeria", "ل")];
    wal_lil_contraction: "وللجزائر" => [("لجزائر", "algeria", "ول")];
    lil_with_lam_initial_name: "لليبيا" => [("ليبيا", "libya", "ل")];
    no_contraction_without_lam: "ولجزائر بجزائر" => [];
    wa_bi_clitics: "وبموسكو" => [("موسكو", "moscow", "وب")];
    three_letters_are_no_clitic_run: "وببموسكو" => [];
    harakat_inside: "قال فَاغْنَرُ" => [("فَاغْنَرُ", "wagner_group", "")];
    tatweel_inside: "فاغـــنر" => [("فاغـــنر", "wagner_group", "")];
    zwnj_inside: "فاغ\u{200C}نر" => [("فاغ\u{200C}نر", "wagner_group", "")];
    tatweel_after_clitic: "بـفاجنر" => [("فاجنر", "wagner_group", "ب")];
    quote_after_clitic: "بـ\"الفيلق الأفريقي\"" => [("الفيلق الأفريقي", "africa_corps", "ب")];
    africa_corps_over_africa: "عناصر فيلق أفريقيا في أفريقيا" => [("فيلق أفريقيا", "africa_corps", ""), ("أفريقيا", "africa", "")];
    central_african_republic_is_one_name: "جمهورية أفريقيا الوسطى" => [("جمهورية أفريقيا الوسطى", "car", "")];
    longer_name_failing_end_keeps_shorter: "جمهورية أفريقيا الوسطىي" => [("أفريقيا", "africa", "")];
    name_split_across_lines: "بوركينا\nفاسو" => [("بوركينا\nفاسو", "burkina_faso", "")];
    latin_product_any_case: "دبابات t-72b3 وT‑72B3" => [("t-72b3", "t_72b3", ""), ("T‑72B3", "t_72b3", "و")];
    no_suffix_after_name: "موسكوي فاغنرون" => [];
    punctuation_ends_a_word: "(موسكو)، «فاغنر»." => [("موسكو", "moscow", ""), ("فاغنر", "wagner_group", "")];
    ambiguous_name_links_by_rule: "الجزائر" => [("الجزائر", "algeria", "")];
    exact_written_form_decides: "روسيًا وروسيا" => [("روسيًا", "russian", ""), ("روسيا", "russia", "و")];
    risky_without_context_is_dropped: "هذا كره" => [];
    risky_after_place_word: "منطقة كره" => [("كره", "kara", "")];
    risky_in_a_list: "موبتي وغاو وكره" => [("موبتي", "mopti", ""), ("غاو", "gao", "و"), ("كره", "kara", "و")];
    surname_after_full_name: "قال أسيمي غويتا إن غويتا" => [("أسيمي غويتا", "goita", ""), ("غويتا", "goita", "")];
    surname_alone_is_dropped: "قال غويتا" => [];
    surname_after_title: "قال الرئيس غويتا" => [("غويتا", "goita", "")];
}

#[test]
fn alternatives_are_reported() {
    let extractor = trap_extractor();
    let mentions = extractor.extract("في الجزائر").unwrap();
    assert_eq!(mentions.len(), 1);
    let alternatives: Vec<&str> = mentions[0].alternatives.iter().map(|e| e.id()).collect();
    assert_eq!(alternatives, ["algiers"]);
    assert_eq!(mentions[0].alias, "الجزائر");
}

#[test]
fn offsets_in_bytes_and_code_points() {
    let extractor = trap_extractor();
    let text = "قال فَاغْنَرُ في بموسكو";
    let mentions = extractor.extract(text).unwrap();
    for m in &mentions {
        let by_chars: String =
            text.chars().skip(m.char_start).take(m.char_end - m.char_start).collect();
        assert_eq!(by_chars, m.text(text));
    }
    assert_eq!(mentions[1].char_start, text[..mentions[1].start].chars().count());
}

#[test]
fn risky_context_can_be_turned_off() {
    let extractor = Extractor::builder()
        .require_context(false)
        .build(
            Gazetteer::from_tsv("t.tsv", &format!("{HEADER}kara\tGPE\tكره\t\t\t\trisky\t\n"))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(extractor.extract("هذا كره").unwrap().len(), 1);
}

#[test]
fn embedded_default_handles_the_seed_spellings() {
    let extractor = Extractor::new(Gazetteer::embedded().unwrap()).unwrap();
    let text = "فاغنر وفاجنر وإفريقيا كوربس والفيلق الأفريقي للجزائر بموسكو";
    let ids: Vec<String> = found(&extractor, text).into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(
        ids,
        ["wagner_group", "wagner_group", "africa_corps", "africa_corps", "algeria", "moscow"]
    );
}

/// Context carries through a story: a risky place counted thanks to a sure one of its group
/// passes it on to the next risky one within reach, though the sure one is too far by then.
#[test]
fn risky_places_pass_their_context_on() {
    let rows = ["mali\tGPE\tمالي\tMali\t\t\t\t", "kara\tGPE\tكره\tKara\t\t\trisky\tmali"];
    let tsv = format!("{HEADER}{}\n", rows.join("\n"));
    let extractor = Extractor::new(Gazetteer::from_tsv("chain.tsv", &tsv).unwrap()).unwrap();
    // About 1,000 bytes between the mentions: the second كره is 2,000 bytes after مالي, past
    // the 1,500 within which a sure name of the group gives context.
    let filler = "قال ".repeat(1000 / "قال ".len());
    let text = format!("مالي {filler}كره {filler}كره");
    let ids: Vec<String> = found(&extractor, &text).into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids, ["mali", "kara", "kara"]);
    // Without the first كره, the second has no context.
    let text = format!("مالي {filler}{filler}كره");
    let ids: Vec<String> = found(&extractor, &text).into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids, ["mali"]);
}
