/*!
alam (عَلَم, "proper name") finds named entities in Arabic news text and links every mention to
one canonical entity, whatever its spelling.

# Overview

- [`Gazetteer`]: the entities and their names, loaded from TSV files ([`Gazetteer::embedded`]
  is the default shipped in `gazetteers/`).
- [`Extractor`]: built once from a gazetteer, `Send + Sync` and cheap to clone; its
  [`Extractor::extract`] turns a text into [`Mention`]s.
- [`normalize`] / [`fold`]: the Arabic folding (hamza, alef maksura, teh marbuta, harakat,
  tatweel, invisible marks, presentation forms...), with a map back to original offsets.

```
use alam::{EntityKind, Extractor, Gazetteer};

let extractor = Extractor::new(Gazetteer::embedded()?)?;
let text = "وصلت قوات فاجنر إلى بلدات قرب وبَامَـاكو، وقال الفيلق الأفريقي إن موسكو باقية.";
let mentions = extractor.extract(text)?;

let wagner = &mentions[0];
assert_eq!(wagner.text(text), "فاجنر");
assert_eq!(wagner.entity.id(), "wagner_group");
assert_eq!(wagner.kind(), EntityKind::Org);

// Offsets point into the original text, marks included; the clitic is reported apart.
let bamako = &mentions[1];
assert_eq!(&text[bamako.start..bamako.end], "بَامَـاكو");
assert_eq!(bamako.clitic, "و");
assert_eq!(bamako.entity.id(), "bamako");

let ids: Vec<&str> = mentions.iter().map(|m| m.entity.id()).collect();
assert_eq!(ids, ["wagner_group", "bamako", "africa_corps", "moscow"]);
# Ok::<(), alam::Error>(())
```

Building the default extractor takes about 20 ms; a program that starts often (a command run
per file) can keep it in a cache file instead with
[`ExtractorBuilder::build_embedded_cached`], which reads it back in a few milliseconds.

# Offsets

[`Mention::start`] and [`Mention::end`] are UTF-8 byte offsets into the original text, so
`&text[m.start..m.end]` is the mention as the reader sees it (harakat and tatweel inside the name
included); [`Mention::char_start`] and [`Mention::char_end`] are the same span in Unicode code
points. The proclitics glued before a name (و ف ب ل ك and their combinations) are outside the
span and reported in [`Mention::clitic`]: in للجزائر the span is لجزائر and the clitic ل.

# Matching

A name matches only where a word starts, or right after a proclitic run that starts the word,
and only where a word ends. The longest valid name wins and mentions never overlap; a longer name
that fails the boundary check never hides a valid shorter one.

# Guessed person names

By default the extractor also guesses person names that no gazetteer lists: a given name or a
title followed by name words, and later the lone surname of such a name. A guessed mention's
entity is made for it ([`Entity::is_guessed`]; id `guess:` and the folded name), so
[`Mention::entity`] is an [`EntityRef`]: borrowed from the gazetteer, or owned for a guess. Gazetteer
mentions always win; [`ExtractorBuilder::guess_persons`] turns guessing off.

```
use alam::{Extractor, Gazetteer};

let extractor = Extractor::new(Gazetteer::embedded()?)?;
let text = "التقى جاك دوبوا بالوزير، وقال دوبوا إن اللقاء كان مثمرا.";
let guessed: Vec<_> = extractor
    .extract(text)?
    .iter()
    .filter(|m| m.entity.is_guessed())
    .map(|m| (m.text(text).to_string(), m.entity.id().to_string()))
    .collect();
assert_eq!(guessed, [
    ("جاك دوبوا".to_string(), "guess:جاك_دوبوا".to_string()),
    ("دوبوا".to_string(), "guess:جاك_دوبوا".to_string()),
]);
# Ok::<(), alam::Error>(())
```

# Linking

When several entities share a folded name (الجزائر: Algeria and Algiers), the mention is linked to
the first by this rule, and the others are listed in [`Mention::alternatives`]:
1. a name that is not risky;
2. a name written in the gazetteer exactly as in the text (روسيًا, the adverb, over روسيا);
3. a written name over a generated spelling variant;
4. an entity's canonical name over another entity's alias;
5. the entity loaded first (file order, then line order).

# Spelling variants

[`Gazetteer::embedded`] adds to every entity flagged `foreign` the spelling variants that the
rules of `gazetteers/rules/variants.tsv` make of its names (غ → ج, final ا → ة, ...; see
[`VariantRules`]), bounded per name; a variant that folds like a name already known is skipped.

# Risky names

A name marked risky in the gazetteer (the `risky` flag, or `~` before a name) collides with
common words (مالي "financial", كره "hatred"), is a small town named like a word, a bare surname,
or a composer's name (فاغنر). It counts only with context:
- a context word of its type right before it, proclitics allowed: place words for GPE and LOC
  (منطقة، مدينة، ولاية), descriptors for ORG (تحالف، جماعة، قوات، عناصر), titles for PER
  (الرئيس، الجنرال), the nouns a nationality follows for NORP (الجيش، الحكومة، القوات);
- for a person, the same person named earlier by a sure name (أسيمي غويتا ... غويتا);
- for the other types, a sure mention of its group within about two paragraphs, before or after:
  the group is the root of the `parent` chain, so a country, its cities, its demonyms and the
  bodies linked to it give each other context (باماكو and مالي; مالي and المالي; الروسي and
  فاغنر); and a place or demonym so accepted carries the context on through the story;
- a sure mention of the same type beside it in a list (موبتي وغاو وكره).

A risky name that has context then competes with the sure ones under the longest-wins rule.
[`ExtractorBuilder::require_context`] turns all this off.

# Relations

A [`RelationExtractor`], built once from a [`RuleSet`] (rules are data: `gazetteers/rules/`,
[`RuleSet::embedded`] is the default), finds [`Relation`]s between the mentions of one
[`sentences`] span: who is affiliated with, replaced by, part of, leads, holds a position in,
is a national of, is a member of, spoke to, visited, attacks, supports or is located in what.
Each relation's `head` and `tail` index the mentions it was given. [`graph`] turns `alam tag`
output into a corpus graph (nodes, sentence co-occurrences, relation counts).

```
use alam::{Extractor, Gazetteer, RelationExtractor, RelationKind};

let extractor = Extractor::new(Gazetteer::embedded()?)?;
let relations = RelationExtractor::embedded()?;
let text = "وقال المحلل السياسي الإيطالي دانييلي روفينيتي لموقع \"سكاي نيوز عربية\" إن الوضع خطير.";
let mentions = extractor.extract(text)?;
let found = relations.extract(text, &mentions)?;
let nationality = found.iter().find(|r| r.kind == RelationKind::Nationality).unwrap();
assert_eq!(mentions[nationality.head].entity.id(), "daniele_ruffinetti");
assert_eq!(nationality.country, Some("italy"));
let spoke = found.iter().find(|r| r.kind == RelationKind::SpokeTo).unwrap();
assert_eq!(mentions[spoke.tail].entity.id(), "sky_news_arabia");
# Ok::<(), alam::Error>(())
```
*/

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

/// `Display` and `FromStr` for an enum with `ALL` and `as_str`, the names it is written with in
/// files and output. `$what` names the enum in the error of an unknown name.
macro_rules! named_enum_traits {
    ($kind:ty, $what:literal) => {
        impl std::fmt::Display for $kind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $kind {
            type Err = String;

            fn from_str(s: &str) -> std::result::Result<Self, String> {
                <$kind>::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
                    let known: Vec<&str> = <$kind>::ALL.iter().map(|k| k.as_str()).collect();
                    format!(
                        concat!("unknown ", $what, " {:?}: expected one of {}"),
                        s,
                        known.join(" ")
                    )
                })
            }
        }
    };
}

pub mod batch;
mod cache;
mod charindex;
mod chars;
mod commonwords;
pub mod conll_eval;
mod cpu;
mod error;
pub mod eval;
mod extractor;
mod firstword;
pub mod format;
mod gazetteer;
pub mod graph;
mod matcher;
mod nameindex;
mod normalize;
mod person;
mod record;
mod relation;
mod sentence;
mod variants;

pub use cache::CacheStatus;
pub use error::{Error, ErrorKind, Result};
pub use extractor::{EntityRef, Extractor, ExtractorBuilder, Mention, MentionRecord};
pub use gazetteer::{Conflict, Entity, EntityKind, Gazetteer, Name, Source};
pub use normalize::{fold, normalize, NormalizeOptions, Normalized};
pub use relation::{
    brat_relations, Relation, RelationExtractor, RelationKind, RelationRecord, Rule, RuleSet, Span,
    SpanRecord,
};
pub use sentence::{sentence_index, sentences};
pub use variants::{VariantRules, MIN_LETTERS};
