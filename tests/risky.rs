//! Risky names with the default gazetteer: sentences where a name is also an ordinary word (مالي
//! "financial", فاغنر the composer) and sentences where context makes it a name, each with the
//! expected outcome.

use std::sync::OnceLock;

use alam::{Extractor, Gazetteer};

fn extractor() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(Gazetteer::embedded().unwrap()).unwrap())
}

/// The entity ids found in `text`.
fn ids(text: &str) -> Vec<String> {
    extractor().extract(text).unwrap().iter().map(|m| m.entity.id().to_string()).collect()
}

macro_rules! risky {
    ($($name:ident: $text:expr, has $yes:expr, lacks $no:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let found = ids($text);
                for id in $yes as [&str; _] {
                    assert!(found.iter().any(|f| f == id), "help: {id} missing from {found:?} in {:?}", $text);
                }
                for id in $no as [&str; _] {
                    assert!(!found.iter().any(|f| f == id), "help: {id} wrongly found in {:?}", $text);
                }
            }
        )*
    };
}

risky! {
    financial_support: "قدمت الحكومة دعما ماليا كبيرا للشركات الصغيرة.", has [], lacks ["mali", "malian"];
    financial_situation: "تحسن الوضع المالي للشركة بعد الاندماج.", has [], lacks ["malian"];
    finance_minister: "وقال وزير المالية الألماني إن الاتفاق ممكن.", has ["german"], lacks ["malian"];
    securities: "ارتفعت أسعار الأوراق المالية في السوق المالية اليوم.", has [], lacks ["malian"];
    financiers: "أكد اقتصاديون وماليون أن السوق ستتعافى.", has [], lacks ["malian"];
    financial_analyst: "وقال المحلل المالي إن الأسعار سترتفع.", has [], lacks ["malian"];
    malian_army: "سيطر الجيش المالي على المدينة.", has ["malian"], lacks [];
    malian_near_bamako: "وصل الوفد إلى باماكو. وقالت الحكومة المالية إن المحادثات بدأت.", has ["bamako", "malian"], lacks [];
    mali_in_a_headline: "مالي تحتجز متطرفين. وقالت الشرطة في باماكو إنها اعتقلت عشرين.", has ["mali", "bamako"], lacks [];
    mali_in_a_list: "جاء المهاجرون من السنغال ومالي والنيجر.", has ["senegal", "mali", "niger"], lacks [];
    mali_republic: "زار الوفد جمهورية مالي.", has ["mali"], lacks [];
    composer_wagner: "استمع الجمهور إلى أوبرا للموسيقار ريتشارد فاغنر في مهرجان بايرويت.", has [], lacks ["wagner_group"];
    wagner_forces: "انسحبت قوات فاغنر من شمال مالي بعد وصول الفيلق الأفريقي.", has ["wagner_group", "africa_corps"], lacks [];
    wagner_near_russia: "أرسلت روسيا عناصر إضافية. وقال مسؤول إن فاغنر باقية.", has ["russia", "wagner_group"], lacks [];
    wagner_group_full_name: "أعلنت مجموعة فاغنر انسحابها.", has ["wagner_group"], lacks [];
    kara_alone: "كره الناس الحرب.", has [], lacks ["kara_mali_unidentified"];
    kara_in_a_list: "وقعت هجمات في موبتي وغاو وكره.", has ["mopti", "gao", "kara_mali_unidentified"], lacks [];
    goita_alone: "قال غويتا إن الوضع مستقر.", has [], lacks ["assimi_goita"];
    goita_after_full_name: "قال أسيمي غويتا إن الوضع مستقر، وأضاف غويتا أن الجيش مستعد.", has ["assimi_goita"], lacks [];
    title_is_no_place_context: "قال الرئيس كره إنه مستعد.", has [], lacks ["kara_mali_unidentified"];
    place_word_is_place_context: "وقعت اشتباكات في منطقة كره.", has ["kara_mali_unidentified"], lacks [];
}

#[test]
fn surname_before_full_name_is_dropped() {
    let text = "قال غويتا إن الوضع مستقر. وكان أسيمي غويتا قد تولى السلطة.";
    let mentions = extractor().extract(text).unwrap();
    let goita: Vec<&str> =
        mentions.iter().filter(|m| m.entity.id() == "assimi_goita").map(|m| m.text(text)).collect();
    assert_eq!(goita, ["أسيمي غويتا"], "a bare surname needs the full name before it");
}
