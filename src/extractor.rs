//! The front door: an [`Extractor`] built once from a [`Gazetteer`], shared across threads, that
//! turns a text into linked [`Mention`]s with offsets into the original text.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::cache::{self, CacheStatus, Malformed, Writer};
use crate::charindex::CharIndex;
use crate::chars::{is_quote, is_word_char};
use crate::error::Result;
use crate::firstword::FirstWords;
use crate::gazetteer::{Entity, EntityKind, Gazetteer};
use crate::matcher::{Candidate, Matcher, NameRef};
use crate::normalize::{fold, table_for, FoldTable, NormalizeOptions, Normalized};
use crate::person::{Cue, Guess, PersonRules, Taken};

/// Words that, right before a risky name, tell what it is, per type (folded forms): place words
/// for GPE and LOC (منطقة، مدينة، ولاية...), descriptors for ORG (تحالف، جماعة، حركة...), titles
/// for PER (الرئيس، الجنرال...), equipment words for PRODUCT (طائرات، منظومة...) and event words
/// for EVENT (عملية، معركة...), the nouns a nationality adjective follows for NORP (الجيش المالي,
/// not الوضع المالي). A title does not make a place: "رئيس جنة" is no town.
const CONTEXT_WORDS: [(EntityKind, &[&str]); 7] = [
    (EntityKind::Gpe, PLACE_WORDS),
    (EntityKind::Loc, PLACE_WORDS),
    (
        EntityKind::Org,
        &[
            "تحالف",
            "جماعه",
            "حركه",
            "منظمه",
            "تنظيم",
            "مجموعه",
            "ائتلاف",
            "جبهه",
            "قوات",
            "ميليشيا",
            "مليشيا",
            "فصيل",
            "قناه",
            "صحيفه",
            "وكاله",
            "موقع",
            "مركز",
            "معهد",
            "عناصر",
            "مرتزقه",
            "مقاتلي",
            "مقاتلو",
            "مسلحي",
            "شركه",
        ],
    ),
    (
        EntityKind::Per,
        &[
            "الرئيس",
            "رئيس",
            "الجنرال",
            "العقيد",
            "الوزير",
            "وزير",
            "وزيره",
            "الكولونيل",
            "المحلل",
            "الباحث",
            "السيد",
            "السيده",
            "الزعيم",
            "القائد",
            "الشيخ",
            "الامير",
            "الملك",
            "المشير",
            "اللواء",
            "العميد",
            "الناطق",
            "المتحدث",
        ],
    ),
    (
        EntityKind::Product,
        &[
            "طائره",
            "طائرات",
            "مسيره",
            "مسيرات",
            "دبابه",
            "دبابات",
            "صاروخ",
            "صواريخ",
            "منظومه",
            "منظومات",
            "مدرعه",
            "مدرعات",
            "مقاتله",
            "مقاتلات",
            "مروحيه",
            "مروحيات",
            "عربات",
            "مركبات",
        ],
    ),
    (EntityKind::Event, &["عمليه", "معركه", "حرب", "هجوم", "مناوره", "مناورات", "معرض"]),
    (
        EntityKind::Norp,
        // Not وزير, المسؤول, السلطات, المجلس, النظام: وزير المالية is the finance minister.
        &[
            "الجيش",
            "جيش",
            "الجنود",
            "جنود",
            "القوات",
            "قوات",
            "الرئيس",
            "الحكومه",
            "حكومه",
            "الشعب",
            "المعارضه",
            "الانقلاب",
            "العسكري",
            "العسكريين",
            "الرعايا",
            "المواطنين",
            "المتمردين",
            "اللاجئين",
            "الجنرال",
        ],
    ),
];

/// How far (in bytes of folded text, about two paragraphs) a sure mention of a related entity
/// may stand from a risky place or demonym and still give it context.
const NEARBY_BYTES: usize = 1500;

/// Place words: region, city, town, village, province, governorate, capital, and plurals.
const PLACE_WORDS: &[&str] = &[
    "منطقه",
    "مدينه",
    "بلده",
    "قريه",
    "ولايه",
    "اقليم",
    "محافظه",
    "عاصمه",
    "مناطق",
    "مدن",
    "بلدات",
    "قري",
    "ولايات",
    "مدينتي",
    "بلدتي",
    "مخيم",
    "حي",
];

/// Builds an [`Extractor`] with non-default options.
///
/// ```
/// use alam::{Extractor, Gazetteer, NormalizeOptions};
///
/// let mut options = NormalizeOptions::default();
/// options.digits = false;
/// let extractor = Extractor::builder()
///     .normalize_options(options)
///     .require_context(false)
///     .build(Gazetteer::embedded().unwrap())
///     .unwrap();
/// assert!(!extractor.gazetteer().is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct ExtractorBuilder {
    options: NormalizeOptions,
    require_context: bool,
    context_words: Vec<(EntityKind, String)>,
    full_scan: bool,
    dfa: bool,
    guess_persons: bool,
    /// The first-word filter of a relation extractor's triggers, and the folds it was made
    /// with.
    triggers: Option<(Arc<FirstWords>, NormalizeOptions)>,
}

impl Default for ExtractorBuilder {
    fn default() -> Self {
        ExtractorBuilder {
            options: NormalizeOptions::default(),
            require_context: true,
            context_words: CONTEXT_WORDS
                .iter()
                .flat_map(|(kind, words)| words.iter().map(|w| (*kind, w.to_string())))
                .collect(),
            full_scan: false,
            dfa: false,
            guess_persons: true,
            triggers: None,
        }
    }
}

impl ExtractorBuilder {
    /// The folds applied to names and texts alike (all on by default).
    pub fn normalize_options(&mut self, options: NormalizeOptions) -> &mut Self {
        self.options = options;
        self
    }

    /// Whether risky names need context to count (default `true`). With `false`, a risky name
    /// counts wherever it matches.
    pub fn require_context(&mut self, yes: bool) -> &mut Self {
        self.require_context = yes;
        self
    }

    /// The words that, right before a risky name of type `kind`, make it count, replacing the
    /// defaults for that type (see [`Extractor`] docs: place words for GPE and LOC, descriptors
    /// for ORG, titles for PER...). They are folded like the text.
    pub fn context_words<I, S>(&mut self, kind: EntityKind, words: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.context_words.retain(|(k, _)| *k != kind);
        self.context_words.extend(words.into_iter().map(|w| (kind, w.as_ref().to_string())));
        self
    }

    /// Find candidates with `aho-corasick`'s overlapping automaton over every position instead
    /// of looking the names up from word starts in the default name index (default `false`). Both find the same
    /// mentions (a property test checks it); the full scan is slower and serves as the
    /// reference.
    pub fn full_scan(&mut self, yes: bool) -> &mut Self {
        self.full_scan = yes;
        self
    }

    /// Walk an anchored `aho-corasick` DFA from word starts instead of looking the names up in
    /// the default name index (default `false`). It finds the same mentions (a property test
    /// checks it), but with the default gazetteer it builds about 0.1 s slower and extracts
    /// about 20% slower; it is kept as a second fast path to measure against. Gazetteers of
    /// more than 20,000 folded names always get the index (a DFA would take too much memory).
    pub fn dfa(&mut self, yes: bool) -> &mut Self {
        self.dfa = yes;
        self
    }

    /// Guess person names that no gazetteer lists (default `true`): a given name or a title
    /// followed by name words, and later the lone surname of such a name (see the crate docs).
    /// Their entities have ids `guess:<folded name>` and [`Entity::is_guessed`] is true.
    pub fn guess_persons(&mut self, yes: bool) -> &mut Self {
        self.guess_persons = yes;
        self
    }

    /// Mark, while walking the names, the words where a trigger of `relations` may start, so
    /// that [`RelationExtractor::extract_folded`](crate::RelationExtractor::extract_folded)
    /// on the fold of [`Extractor::extract_into`] does not look at each word again (default:
    /// no relation extractor). The relations are the same either way. Has no effect when the
    /// two fold with different options, when the rules have a trigger taken as a prefix, or with
    /// [`ExtractorBuilder::full_scan`].
    ///
    /// ```
    /// use alam::{Extractor, Gazetteer, Normalized, RelationExtractor};
    /// let relations = RelationExtractor::embedded()?;
    /// let extractor = Extractor::builder().relations(&relations).build(Gazetteer::embedded()?)?;
    /// let text = "زار وزير الخارجية الروسي سيرغي لافروف الجزائر.";
    /// let mut folded = Normalized::default();
    /// let mentions = extractor.extract_into(text, &mut folded)?;
    /// let spans = alam::sentences(text);
    /// let found = relations.extract_folded(text, &spans, &folded, &mentions)?;
    /// assert_eq!(found, relations.extract(text, &mentions)?);
    /// # Ok::<(), alam::Error>(())
    /// ```
    pub fn relations(&mut self, relations: &crate::RelationExtractor) -> &mut Self {
        self.triggers =
            relations.word_filter().map(|filter| (filter, relations.normalize_options().clone()));
        self
    }

    /// Builds the extractor: folds every name and compiles the automaton.
    ///
    /// # Errors
    /// Fails when a name folds to nothing under these options, or the automaton cannot be built.
    pub fn build(&self, gazetteer: Gazetteer) -> Result<Extractor> {
        let persons = if self.guess_persons { Some(PersonRules::embedded()?) } else { None };
        // The cue words come folded with the default options; others fold them again.
        let cues: Cow<'_, [(String, u8)]> = match persons {
            None => Cow::Borrowed(&[]),
            Some(p) if self.options == NormalizeOptions::default() => Cow::Borrowed(p.cues()),
            Some(p) => p.cues().iter().map(|(w, f)| (fold(w, &self.options), *f)).collect(),
        };
        let matcher = Matcher::new(&gazetteer, &cues, &self.options, self.full_scan, self.dfa)?;
        Ok(self.assemble(gazetteer, matcher, persons))
    }

    /// Builds the extractor of the default gazetteer ([`Gazetteer::embedded`]) like
    /// [`ExtractorBuilder::build`], through a start-up cache in `dir`: the first call builds it
    /// (about 20 ms) and writes a cache file, later calls by the same program with the same
    /// options read that file instead (a few milliseconds). The status says which happened.
    ///
    /// A cache file is used only by the executable that wrote it (its path, size and
    /// modification time are the file's key, with the options), so a rebuilt or updated program
    /// never reads an older one's file; a damaged file fails its checksum and is rebuilt. Up to
    /// four files are kept in `dir`. Extractors with [`ExtractorBuilder::full_scan`] or
    /// [`ExtractorBuilder::dfa`] are built without the cache.
    ///
    /// ```
    /// use alam::{CacheStatus, Extractor};
    /// let dir = std::env::temp_dir().join(format!("alam-doc-{}", std::process::id()));
    /// let (first, status) = Extractor::builder().build_embedded_cached(&dir)?;
    /// assert!(matches!(status, CacheStatus::Written(_)));
    /// let (second, status) = Extractor::builder().build_embedded_cached(&dir)?;
    /// assert!(matches!(status, CacheStatus::Loaded(_)));
    /// let text = "وصل الوفد إلى باماكو";
    /// assert_eq!(first.extract(text)?, second.extract(text)?);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), alam::Error>(())
    /// ```
    ///
    /// # Errors
    /// Only those of [`Gazetteer::embedded`] and [`ExtractorBuilder::build`]: a cache that
    /// cannot be read or written is reported in the status, and the extractor built.
    pub fn build_embedded_cached(&self, dir: &Path) -> Result<(Extractor, CacheStatus)> {
        let build = || Gazetteer::embedded().and_then(|gazetteer| self.build(gazetteer));
        let key = if self.full_scan || self.dfa {
            Err("full-scan and DFA extractors are not cached".to_string())
        } else {
            cache::key(&format!("{:?} guess_persons={}", self.options, self.guess_persons))
        };
        let key = match key {
            Ok(key) => key,
            Err(why) => return Ok((build()?, CacheStatus::Unavailable(why))),
        };
        let path = cache::path(dir, &key);
        if let Some((data, at)) = cache::read(&path, &key) {
            if let Ok(extractor) = self.build_from_cache(&data[at..])? {
                return Ok((extractor, CacheStatus::Loaded(path)));
            }
        }
        let extractor = build()?;
        let status = match extractor.cache_payload() {
            None => CacheStatus::Unavailable("this extractor is not cached".to_string()),
            Some(payload) => match cache::write(&path, &key, &payload) {
                Ok(()) => CacheStatus::Written(path),
                Err(e) => CacheStatus::Unavailable(format!("cannot write {}: {e}", path.display())),
            },
        };
        Ok((extractor, status))
    }

    /// The extractor whose [`Extractor::cache_payload`] this is, built with these options; the
    /// outer error is one of the person rules, the inner one a payload that does not hold
    /// together.
    pub(crate) fn build_from_cache(
        &self,
        payload: &[u8],
    ) -> Result<std::result::Result<Extractor, Malformed>> {
        // A part after its length (u64).
        fn part(bytes: &[u8]) -> std::result::Result<(&[u8], &[u8]), Malformed> {
            let (len, rest) = bytes.split_first_chunk::<8>().ok_or(Malformed)?;
            let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| Malformed)?;
            rest.split_at_checked(len).ok_or(Malformed)
        }
        let split = || -> std::result::Result<_, Malformed> {
            let (gazetteer, rest) = part(payload)?;
            let (matcher, persons) = part(rest)?;
            // One thread: decoding the gazetteer on a second one while the matcher was decoded
            // here made start-up no faster (7.0-7.6 ms against 6.8-7.1) and cost 0.5 ms more CPU.
            let gazetteer = cache::read_all(gazetteer, Gazetteer::read_cache)?;
            let matcher = cache::read_all(matcher, Matcher::read_cache)?;
            if !matcher.fits(&gazetteer) {
                return Err(Malformed);
            }
            let persons = cache::read_all(persons, PersonRules::read_cache)?;
            Ok((gazetteer, matcher, persons))
        };
        let (gazetteer, matcher, persons) = match split() {
            Ok(parts) => parts,
            Err(e) => return Ok(Err(e)),
        };
        let persons = if self.guess_persons {
            let cached = (!persons.is_empty()).then_some(persons);
            Some(PersonRules::embedded_or(cached)?)
        } else {
            None
        };
        Ok(Ok(self.assemble(gazetteer, matcher, persons)))
    }

    /// The extractor of a gazetteer and the matcher made of it.
    fn assemble(
        &self,
        gazetteer: Gazetteer,
        matcher: Matcher,
        persons: Option<&'static PersonRules>,
    ) -> Extractor {
        let mut context_words: HashMap<String, Vec<EntityKind>> = HashMap::default();
        for (kind, word) in &self.context_words {
            let word = fold(word, &self.options).trim().to_string();
            if !word.is_empty() {
                let kinds = context_words.entry(word).or_default();
                if !kinds.contains(kind) {
                    kinds.push(*kind);
                }
            }
        }
        // Each entity's group: the root of its parent chain (بماكو → مالي; المالي → مالي).
        let group: Vec<u32> = (0..gazetteer.len())
            .map(|start| {
                let mut at = start;
                // A parent chain longer than the gazetteer is a cycle: stop there.
                for _ in 0..gazetteer.len() {
                    let parent =
                        gazetteer.entities()[at].parent().and_then(|p| gazetteer.position(p));
                    match parent {
                        Some(p) if p != at => at = p,
                        _ => break,
                    }
                }
                at as u32
            })
            .collect();
        let kinds = gazetteer.entities().iter().map(Entity::kind).collect();
        let triggers = self
            .triggers
            .as_ref()
            .filter(|(_, options)| *options == self.options && !self.full_scan)
            .map(|(filter, _)| Arc::clone(filter));
        Extractor {
            inner: Arc::new(Inner {
                triggers,
                group,
                kinds,
                gazetteer,
                matcher,
                table: table_for(&self.options),
                require_context: self.require_context,
                context_words,
                full_scan: self.full_scan,
                persons,
            }),
        }
    }
}

#[derive(Debug)]
struct Inner {
    gazetteer: Gazetteer,
    matcher: Matcher,
    /// The fold table: the process's shared default one when the options are the defaults
    /// (made once: 0.1 ms of every start-up when each extractor made its own).
    table: Cow<'static, FoldTable>,
    require_context: bool,
    /// Folded context word → the kinds it gives context to.
    context_words: HashMap<String, Vec<EntityKind>>,
    full_scan: bool,
    /// For each entity, the root of its parent chain: entities of one group give each other
    /// context.
    group: Vec<u32>,
    /// Each entity's kind, apart from the entities: asked of every candidate, where reading
    /// the entity itself missed the cache.
    kinds: Vec<EntityKind>,
    /// The rules that guess unlisted person names, when on.
    persons: Option<&'static PersonRules>,
    /// The first-word filter of the relation triggers whose words the walks mark, if linked.
    triggers: Option<Arc<FirstWords>>,
}

/// Finds gazetteer names in Arabic text and links each mention to its entity.
///
/// Build it once ([`Extractor::new`] or [`Extractor::builder`]); it is `Send + Sync` and cheap
/// to clone (an `Arc` inside), so threads share one.
///
/// ```
/// use alam::{EntityKind, Extractor, Gazetteer};
///
/// let extractor = Extractor::new(Gazetteer::embedded().unwrap()).unwrap();
/// let text = "وصل سيرغي لافروف إلى باماكو، ثم عاد لافروف للجزائر.";
/// let mentions = extractor.extract(text).unwrap();
/// let found: Vec<_> = mentions.iter().map(|m| (m.text(text), m.entity.id(), m.clitic)).collect();
/// assert_eq!(found, [
///     ("سيرغي لافروف", "sergey_lavrov", ""),
///     ("باماكو", "bamako", ""),
///     ("لافروف", "sergey_lavrov", ""), // a bare surname counts after the full name
///     ("لجزائر", "algeria", "ل"),
/// ]);
/// ```
#[derive(Clone, Debug)]
pub struct Extractor {
    inner: Arc<Inner>,
}

/// The entity a [`Mention`] links to: borrowed from the gazetteer, or made for a guessed person
/// name. Dereferences to the [`Entity`], and is two words wide (a `Cow<Entity>` would carry a
/// whole entity in every mention).
///
/// ```
/// use alam::{EntityRef, Extractor, Gazetteer};
///
/// let extractor = Extractor::new(Gazetteer::embedded()?)?;
/// let mentions = extractor.extract("وصل الوفد إلى باماكو")?;
/// assert!(matches!(mentions[0].entity, EntityRef::Listed(_)));
/// assert_eq!(mentions[0].entity.id(), "bamako");
/// # Ok::<(), alam::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum EntityRef<'e> {
    /// An entity of the extractor's gazetteer.
    Listed(&'e Entity),
    /// An entity made for a guessed person name ([`Entity::is_guessed`]).
    Guessed(Box<Entity>),
}

impl std::ops::Deref for EntityRef<'_> {
    type Target = Entity;

    fn deref(&self) -> &Entity {
        match self {
            EntityRef::Listed(e) => e,
            EntityRef::Guessed(e) => e,
        }
    }
}

impl AsRef<Entity> for EntityRef<'_> {
    fn as_ref(&self) -> &Entity {
        self
    }
}

/// One mention of an entity in a text.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Mention<'e> {
    /// Start of the mention: UTF-8 byte offset into the original text.
    pub start: usize,
    /// End of the mention (exclusive): UTF-8 byte offset into the original text.
    pub end: usize,
    /// Start of the mention in Unicode code points.
    pub char_start: usize,
    /// End of the mention in Unicode code points (exclusive).
    pub char_end: usize,
    /// The proclitic run glued before the name (و ف ب ل ك, وب, ول...), folded, or "".
    pub clitic: &'static str,
    /// The linked entity: a gazetteer entity, or one made for a guessed person name
    /// ([`Entity::is_guessed`]).
    pub entity: EntityRef<'e>,
    /// The gazetteer name that matched, as written in the gazetteer; "" for a guessed name.
    pub alias: &'e str,
    /// Other entities that the same name denotes, most likely first (see the crate docs on
    /// linking).
    pub alternatives: Vec<&'e Entity>,
}

impl<'e> Mention<'e> {
    /// The mention as it stands in `original` (the text it was extracted from).
    ///
    /// # Panics
    /// Panics when `original` is not that text.
    pub fn text<'t>(&self, original: &'t str) -> &'t str {
        &original[self.start..self.end]
    }

    /// The kind of the linked entity.
    pub fn kind(&self) -> EntityKind {
        self.entity.kind()
    }

    /// The mention as a serializable record, the JSONL schema of `alam tag`.
    pub fn to_record<'t>(&'t self, original: &'t str) -> MentionRecord<'t>
    where
        'e: 't,
    {
        let guessed = self.entity.is_guessed();
        MentionRecord {
            start: self.start,
            end: self.end,
            char_start: self.char_start,
            char_end: self.char_end,
            text: self.text(original),
            kind: self.entity.kind(),
            entity: self.entity.id(),
            name: self.entity.name_ar(),
            name_en: self.entity.name_en(),
            qid: self.entity.qid(),
            parent: self.entity.parent(),
            clitic: self.clitic,
            alias: if guessed { self.text(original) } else { self.alias },
            alternatives: self.alternatives.iter().map(|e| e.id()).collect(),
            sentence: None,
            guessed,
        }
    }
}

/// A mention as `alam tag` writes it: see README.md for the schema.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MentionRecord<'a> {
    /// UTF-8 byte offset of the start in the original text.
    pub start: usize,
    /// UTF-8 byte offset of the end (exclusive).
    pub end: usize,
    /// Code-point offset of the start.
    pub char_start: usize,
    /// Code-point offset of the end (exclusive).
    pub char_end: usize,
    /// The mention as written in the text.
    pub text: &'a str,
    /// The entity type.
    #[serde(rename = "type")]
    pub kind: EntityKind,
    /// The canonical entity id.
    pub entity: &'a str,
    /// The canonical Arabic name.
    pub name: &'a str,
    /// The English name, or null.
    pub name_en: Option<&'a str>,
    /// The Wikidata QID, or null.
    pub qid: Option<&'a str>,
    /// The linked parent entity (a demonym's country), or null.
    pub parent: Option<&'a str>,
    /// The proclitic run before the name, or "".
    pub clitic: &'a str,
    /// The gazetteer name that matched.
    pub alias: &'a str,
    /// Ids of other entities the same name denotes.
    pub alternatives: Vec<&'a str>,
    /// The index of the sentence the mention stands in (see [`crate::sentences`]), when the
    /// writer computed it (`alam tag` does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentence: Option<usize>,
    /// Whether the entity is a guessed person name rather than a gazetteer entity (written only
    /// when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub guessed: bool,
}

/// The largest buffers [`Extractor::extract`] keeps for the next call on the same thread.
pub(crate) const FOLD_KEEP_BYTES: usize = 64 << 20;

/// What [`Extractor::extract`] keeps from call to call on a thread ([`Extractor::extract_into`]
/// the candidates and picks: its caller keeps the fold).
#[derive(Default)]
struct Buffers {
    normalized: Normalized,
    candidates: Vec<Candidate>,
    picks: Vec<Pick>,
}

thread_local! {
    /// The thread's [`Buffers`].
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::default();
}

impl Buffers {
    /// Calls `f` with the thread's buffers (fresh ones when they are in use further up the
    /// stack), and lets them go afterwards when they grew past [`FOLD_KEEP_BYTES`].
    fn with_thread<R>(f: impl FnOnce(&mut Buffers) -> R) -> R {
        BUFFERS.with(|cell| {
            let mut fresh = Buffers::default();
            let mut kept = cell.try_borrow_mut();
            let buffers = match kept.as_deref_mut() {
                Ok(buffers) => buffers,
                Err(_) => &mut fresh,
            };
            let result = f(buffers);
            if buffers.heap_bytes() > FOLD_KEEP_BYTES {
                *buffers = Buffers::default();
            }
            result
        })
    }

    fn heap_bytes(&self) -> usize {
        self.normalized.heap_bytes()
            + self.candidates.capacity() * std::mem::size_of::<Candidate>()
            + self.picks.capacity() * std::mem::size_of::<Pick>()
    }
}

/// Where entities (or groups) are named by sure names: (entity or group, folded token start)
/// pairs, sorted, so that each key's tokens come together in text order. A map of vectors cost
/// an allocation per key per document, and its hashing, for a few dozen sure names. Each pair
/// is one integer, the key above the token (folded offsets fit in 32 bits): sorting integers
/// took half the instructions of sorting tuples.
struct Positions(Vec<u64>);

impl Positions {
    fn new(pairs: impl Iterator<Item = (u32, usize)>) -> Positions {
        let mut packed: Vec<u64> = pairs
            .map(|(key, token)| {
                debug_assert!(u32::try_from(token).is_ok(), "folded offsets fit in u32");
                u64::from(key) << 32 | token as u64
            })
            .collect();
        packed.sort_unstable();
        Positions(packed)
    }

    /// The positions of `key`, in text order (read each with [`Positions::token`]).
    fn of(&self, key: u32) -> &[u64] {
        let from = self.0.partition_point(|&p| p >> 32 < u64::from(key));
        let to = from + self.0[from..].partition_point(|&p| p >> 32 == u64::from(key));
        &self.0[from..to]
    }

    /// The token start of a position.
    fn token(position: u64) -> usize {
        (position & u64::from(u32::MAX)) as usize
    }
}

/// A selected candidate with its linked name.
#[derive(Clone, Copy, Debug)]
struct Pick {
    cand: Candidate,
    name: NameRef,
    risky: bool,
}

impl Extractor {
    /// An extractor over `gazetteer` with default options.
    ///
    /// # Errors
    /// See [`ExtractorBuilder::build`].
    pub fn new(gazetteer: Gazetteer) -> Result<Extractor> {
        ExtractorBuilder::default().build(gazetteer)
    }

    /// A builder for non-default options.
    pub fn builder() -> ExtractorBuilder {
        ExtractorBuilder::default()
    }

    /// The gazetteer and the matcher's tables as a start-up cache payload (`cache.rs`), for
    /// [`ExtractorBuilder::build_from_cache`] with the same options; `None` for a full-scan or DFA
    /// extractor.
    pub(crate) fn cache_payload(&self) -> Option<Vec<u8>> {
        let mut gazetteer = Writer::default();
        self.inner.gazetteer.write_cache(&mut gazetteer);
        let gazetteer = gazetteer.finish();
        let mut matcher = Writer::default();
        if !self.inner.matcher.write_cache(&mut matcher) {
            return None;
        }
        let matcher = matcher.finish();
        // The person rules (folded), when this extractor guesses persons; else no words.
        let mut persons = Writer::default();
        match self.inner.persons {
            Some(rules) => rules.write_cache(&mut persons),
            None => PersonRules::default().write_cache(&mut persons),
        }
        // The parts encoded apart, each after its length but the last.
        let mut payload = (gazetteer.len() as u64).to_le_bytes().to_vec();
        payload.extend_from_slice(&gazetteer);
        payload.extend_from_slice(&(matcher.len() as u64).to_le_bytes());
        payload.extend_from_slice(&matcher);
        payload.extend_from_slice(&persons.finish());
        Some(payload)
    }

    /// The gazetteer behind this extractor.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.inner.gazetteer
    }

    /// The folds this extractor applies.
    pub fn normalize_options(&self) -> &NormalizeOptions {
        self.inner.table.options()
    }

    /// Heap bytes used by the name automata.
    pub fn automaton_memory(&self) -> usize {
        self.inner.matcher.memory_usage()
    }

    /// Every folded surface form the matcher knows, with the entities behind it: the folded
    /// names, and the لل-contracted forms of ال-names. In automaton order.
    pub fn surfaces(&self) -> impl Iterator<Item = (&str, Vec<&Entity>)> {
        let entities = self.inner.gazetteer.entities();
        self.inner.matcher.surfaces().map(move |(surface, pattern)| {
            let mut owners: Vec<&Entity> = Vec::new();
            for r in pattern.plain.iter().chain(pattern.contracted) {
                let e = &entities[r.entity as usize];
                if !owners.iter().any(|o| o.id() == e.id()) {
                    owners.push(e);
                }
            }
            (surface, owners)
        })
    }

    /// Finds the mentions in `text`, sorted by position and never overlapping.
    ///
    /// The fold and the working lists go into buffers the calling thread keeps for its next
    /// call (up to 64 MB; larger ones are let go after the call), so a loop over documents
    /// allocates little beyond the mentions it returns.
    ///
    /// # Errors
    /// Fails only when `text` is longer than `u32::MAX` bytes.
    pub fn extract<'e>(&'e self, text: &str) -> Result<Vec<Mention<'e>>> {
        // Buffers kept by the thread from call to call: fresh ones for a large text cost more
        // in first-touch page faults than the fold itself (8 MB of news: ~15% of the whole
        // extraction). Grown past FOLD_KEEP_BYTES, they are let go.
        Buffers::with_thread(|buffers| {
            buffers.normalized.refill_with(text, &self.inner.table)?;
            let Buffers { normalized, candidates, picks } = buffers;
            Ok(self.extract_with(text, normalized, candidates, picks, None))
        })
    }

    /// [`Extractor::extract`] folding `text` into a buffer the caller keeps: reused from call to
    /// call, and afterwards the fold of `text`, which
    /// [`RelationExtractor::extract_folded`](crate::RelationExtractor::extract_folded) can use
    /// instead of folding the sentences again.
    ///
    /// # Errors
    /// Fails only when `text` is longer than `u32::MAX` bytes.
    pub fn extract_into<'e>(
        &'e self,
        text: &str,
        normalized: &mut Normalized,
    ) -> Result<Vec<Mention<'e>>> {
        normalized.refill_with(text, &self.inner.table)?;
        // The marks of the relation triggers' words, when linked (left empty otherwise).
        let mut marks = std::mem::take(&mut normalized.trigger_words);
        let filter = self.inner.triggers.as_deref().map(|filter| (filter, &mut marks));
        // The thread's candidate and pick lists, kept from document to document (grown from
        // nothing for each: 0.6% more instructions for `alam tag`).
        let found = Buffers::with_thread(|buffers| {
            let Buffers { candidates, picks, .. } = buffers;
            self.extract_with(text, normalized, candidates, picks, filter)
        });
        normalized.trigger_words = marks;
        normalized.trigger_filter = self.inner.triggers.clone();
        Ok(found)
    }

    fn extract_with<'e>(
        &'e self,
        original: &str,
        n: &Normalized,
        candidates: &mut Vec<Candidate>,
        picks: &mut Vec<Pick>,
        marks: Option<(&FirstWords, &mut Vec<[u64; 3]>)>,
    ) -> Vec<Mention<'e>> {
        let folded = n.text();
        candidates.clear();
        if self.inner.full_scan {
            self.inner.matcher.candidates(folded, candidates);
        } else {
            let words = (n.word_starts(), n.word_ends());
            self.inner.matcher.candidates_at_word_starts(folded, words, candidates, marks);
        }
        // Leftmost token first, then longest, then plain before contracted.
        let order = |c: &Candidate| (c.token, std::cmp::Reverse(c.end), c.contracted, c.pattern);
        if self.inner.full_scan {
            candidates.sort_unstable_by_key(order);
        } else {
            // The walks report candidates token by token: only each token's need ordering.
            debug_assert!(candidates.is_sorted_by_key(|c| c.token));
            for same_token in candidates.chunk_by_mut(|a, b| a.token == b.token) {
                same_token.sort_unstable_by_key(order);
            }
        }
        let mut cues: Vec<Cue> = Vec::new();
        if self.inner.persons.is_some() {
            cues.reserve(candidates.len());
            candidates.retain(|c| {
                let pattern = self.inner.matcher.pattern(c.pattern);
                if c.contracted {
                    return true;
                }
                if pattern.cue != 0 {
                    let (token, start, end, clitic) = (c.token, c.start, c.end, c.clitic);
                    cues.push(Cue { token, start, end, clitic, flags: pattern.cue });
                }
                !pattern.plain.is_empty()
            });
        }
        picks.clear();
        picks.extend(candidates.iter().map(|&c| self.link(original, n, c)));
        let chosen = self.choose(folded, picks);
        let guesses = match &self.inner.persons {
            Some(rules) if !cues.is_empty() => {
                let taken: Vec<Taken> = chosen
                    .iter()
                    .map(|p| {
                        let kind = self.inner.kinds[p.name.entity as usize];
                        let (norp, per) = (kind == EntityKind::Norp, kind == EntityKind::Per);
                        Taken { token: p.cand.token, end: p.cand.end, norp, per }
                    })
                    .collect();
                rules.guess(folded, n.word_starts(), &cues, &taken)
            }
            _ => Vec::new(),
        };
        self.mentions(original, n, &chosen, &guesses)
    }

    /// The picks that count: risky ones only with context, then longest-leftmost.
    fn choose(&self, folded: &str, picks: &[Pick]) -> Vec<Pick> {
        if !self.inner.require_context || !picks.iter().any(|p| p.risky) {
            return select(picks.iter());
        }
        // Risky names first need context, judged against the sure mentions; those that have it
        // then compete with the sure ones under the same longest-wins rule.
        let sure = select(picks.iter().filter(|p| !p.risky));
        // Where each entity, and each group (a country with its cities and demonyms), is named
        // by a sure name, in text order: one binary search per risky pick.
        let named_at = Positions::new(sure.iter().map(|s| (s.name.entity, s.cand.token)));
        let group = |s: &Pick| self.inner.group[s.name.entity as usize];
        let group_at = Positions::new(sure.iter().map(|s| (group(s), s.cand.token)));
        let mut kept: Vec<bool> = picks
            .iter()
            .map(|p| !p.risky || self.has_context(folded, p, &sure, (&named_at, &group_at)))
            .collect();
        self.chain_places(picks, &mut kept);
        select(picks.iter().zip(&kept).filter(|(_, &k)| k).map(|(p, _)| p))
    }

    /// Picks the name a candidate links to. Linking rule, in order: a name that is not risky;
    /// a name written exactly as the text has it (روسيًا the adverb, not روسيا the country);
    /// the entity's canonical name rather than an alias; the entity loaded first.
    fn link(&self, original: &str, n: &Normalized, cand: Candidate) -> Pick {
        let pattern = self.inner.matcher.pattern(cand.pattern);
        let refs = if cand.contracted { pattern.contracted } else { pattern.plain };
        let entities = self.inner.gazetteer.entities();
        let name_of = |r: &NameRef| entities[r.entity as usize].name(r.name as usize);
        let mut best = refs[0];
        if refs.len() > 1 {
            let (s, e) = n.original_span(original, cand.start, cand.end);
            let surface = &original[s..e];
            let exact = |r: &NameRef| {
                let written = name_of(r).text();
                if cand.contracted {
                    written.strip_prefix('ا').is_some_and(|w| w == surface)
                } else {
                    written == surface
                }
            };
            let risky0 = name_of(&refs[0]).is_risky();
            if let Some(r) = refs.iter().find(|r| name_of(r).is_risky() == risky0 && exact(r)) {
                best = *r;
            }
        }
        Pick { cand, name: best, risky: name_of(&best).is_risky() }
    }

    /// Context that makes a risky mention count: a context word of its type right before it
    /// (منطقة كره, تحالف "دول الساحل", الرئيس غويتا); the same entity, its parent or a child
    /// named by a sure name in the text earlier (أسيمي غويتا ... غويتا), for a person; for the
    /// other types, any entity of its group (the root of its parent chain: a country with its
    /// cities, demonyms and linked bodies) named by a sure name within [`NEARBY_BYTES`] before
    /// or after (باماكو and مالي; المالي and مالي; الروسي and فاغنر); or a sure mention of the
    /// same type next to it in a list (موبتي وغاو وكره).
    fn has_context(
        &self,
        folded: &str,
        pick: &Pick,
        sure: &[Pick],
        (named_at, group_at): (&Positions, &Positions),
    ) -> bool {
        let before = folded[..pick.cand.token]
            .trim_end_matches(|c: char| c == ' ' || c == '(' || c == '[' || is_quote(c));
        let previous_word = before.rsplit(|c: char| !is_word_char(c)).next().unwrap_or("");
        let kind = self.inner.kinds[pick.name.entity as usize];
        // The context word may carry proclitics itself: للجيش المالي, وفي منطقة.
        let bare = strip_proclitics(previous_word);
        let gives = |w: &str| self.inner.context_words.get(w).is_some_and(|k| k.contains(&kind));
        if gives(previous_word) || bare.is_some_and(|w| gives(&w)) {
            return true;
        }
        // A bare surname needs the full name before it, anywhere (news introduce people
        // first); other names need a sure mention of a related entity close by, before or after
        // (a headline's مالي, then باماكو in the first paragraph; فاغنر near روسيا), not in
        // another story of a long page.
        let around = kind != EntityKind::Per;
        let at = if around {
            group_at.of(self.inner.group[pick.name.entity as usize])
        } else {
            named_at.of(pick.name.entity)
        };
        let here = pick.cand.token;
        let next = at.partition_point(|&p| Positions::token(p) < here);
        let before = next.checked_sub(1).map(|i| Positions::token(at[i]));
        if around {
            let near = |t: usize| t.abs_diff(here) <= NEARBY_BYTES;
            if before.is_some_and(near) || at.get(next).is_some_and(|&p| near(Positions::token(p)))
            {
                return true;
            }
        } else if before.is_some() {
            return true;
        }
        let split = sure.partition_point(|s| s.cand.token < pick.cand.token);
        let same_kind = |s: &Pick| self.inner.kinds[s.name.entity as usize] == kind;
        // The gap to a sure mention can be the rest of the article: what is between them is
        // looked at only when it holds nothing but separators, which is short.
        let listed = |gap: &str, clitic: &str| {
            let rest = gap.trim_matches(|c: char| c == ' ' || c == '،' || c == ',' || is_quote(c));
            rest == "و" || (rest.is_empty() && (clitic == "و" || gap.contains(['،', ','])))
        };
        let prev = split.checked_sub(1).map(|i| &sure[i]).filter(|s| same_kind(s));
        if prev.is_some_and(|s| {
            s.cand.end <= pick.cand.token
                && listed(&folded[s.cand.end..pick.cand.token], pick.cand.clitic)
        }) {
            return true;
        }
        let next = sure.get(split).filter(|s| same_kind(s));
        next.is_some_and(|s| {
            pick.cand.end <= s.cand.token
                && listed(&folded[pick.cand.end..s.cand.token], s.cand.clitic)
        })
    }

    /// A risky place or demonym also counts within [`NEARBY_BYTES`] of a counted place or
    /// demonym of its group, risky or not, so that context carries through a story: one forward and
    /// one backward pass (linear, not a fixpoint).
    fn chain_places(&self, picks: &[Pick], kept: &mut [bool]) {
        let place = |p: &Pick| {
            matches!(
                self.inner.kinds[p.name.entity as usize],
                EntityKind::Gpe | EntityKind::Loc | EntityKind::Norp
            )
        };
        // (group, the token of its last counted place): a document names a few groups, so a
        // list searched from its end beats a map.
        let mut last: Vec<(u32, usize)> = Vec::new();
        let mut pass = |order: &mut dyn Iterator<Item = usize>| {
            last.clear();
            for i in order {
                let p = &picks[i];
                if !place(p) {
                    continue;
                }
                let group = self.inner.group[p.name.entity as usize];
                let seen = last.iter().rposition(|&(g, _)| g == group);
                if !kept[i] && p.risky {
                    kept[i] =
                        seen.is_some_and(|k| last[k].1.abs_diff(p.cand.token) <= NEARBY_BYTES);
                }
                if kept[i] {
                    match seen {
                        Some(k) => last[k].1 = p.cand.token,
                        None => last.push((group, p.cand.token)),
                    }
                }
            }
        };
        pass(&mut (0..picks.len()));
        pass(&mut (0..picks.len()).rev());
    }

    /// The mentions of the chosen picks and the guessed names, in text order.
    fn mentions<'e>(
        &'e self,
        original: &str,
        n: &Normalized,
        chosen: &[Pick],
        guesses: &[Guess],
    ) -> Vec<Mention<'e>> {
        let entities = self.inner.gazetteer.entities();
        let mut out = Vec::with_capacity(chosen.len() + guesses.len());
        let chars = CharIndex::new(original);
        let (mut picks, mut guesses) = (chosen.iter().peekable(), guesses.iter().peekable());
        // The anchor count of the last mention's start: the mentions come in text order.
        let mut anchor = 0;
        loop {
            let take_guess = match (picks.peek(), guesses.peek()) {
                (None, None) => break,
                (Some(p), Some(g)) => g.token < p.cand.token,
                (None, Some(_)) => true,
                (Some(_), None) => false,
            };
            let (folded_start, folded_end, clitic) = if take_guess {
                guesses.peek().map(|g| (g.start, g.end, g.clitic))
            } else {
                picks.peek().map(|p| (p.cand.start, p.cand.end, p.cand.clitic))
            }
            .unwrap_or_default();
            let before = anchor;
            let mapped = n.original_span_after(original, folded_start, folded_end, Some(anchor));
            let (start, end) = mapped.span;
            anchor = mapped.anchor;
            // A name that ends inside one original character's expansion (ﷺ folds to four
            // words) or starts inside one (other than after its own proclitic, as in ﻷفريقيا:
            // ل + أفريقيا in one lam-alef form) has no slice of the original that reads as the
            // name: it is not reported. The folded text also turns line breaks into spaces: a
            // guessed person name never runs over one (a headline's last word and the next
            // line's first).
            if mapped.splits_end
                || (clitic.is_empty() && n.splits_original_at(folded_start, start, before))
                || (take_guess && original[start..end].contains(['\n', '\r']))
            {
                if take_guess {
                    guesses.next();
                } else {
                    picks.next();
                }
                continue;
            }
            let (char_start, char_end) = (chars.chars_before(start), chars.chars_before(end));
            if take_guess {
                let Some(g) = guesses.next() else { break };
                let id = format!("guess:{}", g.key.replace(' ', "_"));
                let entity = Entity::unlisted(id, EntityKind::Per, g.key.clone());
                out.push(Mention {
                    start,
                    end,
                    char_start,
                    char_end,
                    clitic: g.clitic,
                    entity: EntityRef::Guessed(Box::new(entity)),
                    alias: "",
                    alternatives: Vec::new(),
                });
                continue;
            }
            let Some(pick) = picks.next() else { break };
            let cand = pick.cand;
            let entity = &entities[pick.name.entity as usize];
            let pattern = self.inner.matcher.pattern(cand.pattern);
            let refs = if cand.contracted { pattern.contracted } else { pattern.plain };
            let mut alternatives: Vec<&Entity> = Vec::new();
            for r in refs {
                let alt = &entities[r.entity as usize];
                if r.entity != pick.name.entity && !alternatives.iter().any(|a| a.id() == alt.id())
                {
                    alternatives.push(alt);
                }
            }
            out.push(Mention {
                start,
                end,
                char_start,
                char_end,
                clitic: cand.clitic,
                entity: EntityRef::Listed(entity),
                alias: entity.name(pick.name.name as usize).text(),
                alternatives,
            });
        }
        out
    }
}

/// A folded word without its proclitic run (و ف ب ل ك, وب, ول...), with لل read as ل + ال;
/// `None` when it has none.
fn strip_proclitics(word: &str) -> Option<Cow<'_, str>> {
    if let Some(rest) = word
        .strip_prefix("لل")
        .or_else(|| word.strip_prefix("ولل"))
        .or_else(|| word.strip_prefix("فلل"))
    {
        return Some(Cow::Owned(format!("ال{rest}")));
    }
    crate::chars::CLITIC_RUNS
        .iter()
        .find_map(|run| word.strip_prefix(run).filter(|rest| rest.chars().count() >= 2))
        .map(Cow::Borrowed)
}

/// Greedy leftmost-longest selection over picks sorted by token start, then longest first:
/// a pick is kept when its token starts at or after the end of the last kept one.
fn select<'a>(picks: impl Iterator<Item = &'a Pick>) -> Vec<Pick> {
    let mut out: Vec<Pick> = Vec::with_capacity(picks.size_hint().1.unwrap_or(0));
    for p in picks {
        if out.last().is_none_or(|last| p.cand.token >= last.cand.end) {
            out.push(*p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_sync_unwind_safe() {
        fn assert_all<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
        assert_all::<Extractor>();
        assert_all::<ExtractorBuilder>();
        assert_all::<Gazetteer>();
        assert_all::<Mention<'static>>();
        assert_all::<MentionRecord<'static>>();
        assert_all::<Normalized>();
        fn assert_send_sync<T: Send + Sync>() {}
        // io::Error inside is not UnwindSafe, so the error type is only Send + Sync.
        assert_send_sync::<crate::Error>();
    }

    /// The extractor read back from its cache payload, built with the same options.
    fn round_trip(builder: &ExtractorBuilder, extractor: &Extractor) -> Extractor {
        let payload = extractor.cache_payload().expect("the default extractor is cached");
        builder.build_from_cache(&payload).unwrap().expect("the payload reads back")
    }

    /// What two extractors find in `text`: span, entity, clitic, alternatives.
    fn found(extractor: &Extractor, text: &str) -> Vec<(usize, usize, String, String, usize)> {
        let mentions = extractor.extract(text).unwrap();
        mentions
            .iter()
            .map(|m| {
                let id = m.entity.id().to_string();
                (m.start, m.end, id, m.clitic.to_string(), m.alternatives.len())
            })
            .collect()
    }

    #[test]
    fn the_default_extractor_reads_back_from_its_cache_payload_unchanged() {
        let builder = Extractor::builder();
        let built = builder.build(Gazetteer::embedded().unwrap()).unwrap();
        let read = round_trip(&builder, &built);
        assert_eq!(read.gazetteer().entities(), built.gazetteer().entities());
        let surfaces = |e: &Extractor| -> Vec<(String, Vec<String>)> {
            let ids = |v: Vec<&Entity>| v.iter().map(|e| e.id().to_string()).collect();
            e.surfaces().map(|(s, owners)| (s.to_string(), ids(owners))).collect()
        };
        assert_eq!(surfaces(&read), surfaces(&built));
        assert_eq!(read.automaton_memory(), built.automaton_memory());
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        for entry in std::fs::read_dir(seeds).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "txt") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert_eq!(found(&read, &text), found(&built, &text), "{}", path.display());
                assert!(!found(&read, &text).is_empty());
            }
        }
    }

    #[test]
    fn a_damaged_cache_payload_is_refused_without_a_panic() {
        let tsv = "id\ttype\tname_ar\taliases\tparent\nmali\tGPE\tمالي\tجمهورية مالي\t\n\
                   bamako\tGPE\tباماكو\t\tmali\n";
        // Without person guessing, whose cue words would make the payload a hundred times
        // longer.
        let mut builder = Extractor::builder();
        builder.guess_persons(false);
        let built = builder.build(Gazetteer::from_tsv("t.tsv", tsv).unwrap()).unwrap();
        let payload = built.cache_payload().unwrap();
        assert!(builder.build_from_cache(&payload).unwrap().is_ok());
        // Every position is damaged in turn, but one in 509 of the runs of 0xFF bytes (the
        // payload once held a trie's character map, a u32 per code point and nearly all
        // 0xFFFFFFFF; the name index has no such run).
        let len = payload.len();
        let positions: Vec<usize> = (0..len)
            .filter(|&at| at < 2048 || len - at < 4096 || payload[at] != 0xFF || at % 509 == 0)
            .collect();
        assert!(positions.len() < 8000, "{} of {len} positions", positions.len());
        // Truncated (at one position in seven of those): refused. A byte changed: refused, or
        // read and safe to use (the file's CRC turns such payloads away before they get here;
        // this is the second line of defence). A debug build (`cargo test`) takes one position
        // in three, a release build (`cargo test --release`) all of them.
        let stride = if cfg!(debug_assertions) { 3 } else { 1 };
        for (i, &at) in positions.iter().enumerate().step_by(stride) {
            if i % 7 == 0 {
                assert!(builder.build_from_cache(&payload[..at]).unwrap().is_err(), "cut {at}");
            }
            let mut bad = payload.clone();
            bad[at] = bad[at].wrapping_add(0x41);
            if let Ok(extractor) = builder.build_from_cache(&bad).unwrap() {
                let _ = extractor.extract("وصل الوفد إلى باماكو في مالي، وإلى جمهورية مالي");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Random gazetteers (names from a small pool of words, some risky, with parents) and
        /// random texts of their words: the extractor read back from the cache payload finds
        /// exactly what the built one finds.
        #[test]
        fn a_cached_extractor_finds_what_the_built_one_finds(
            names in proptest::collection::vec(
                (proptest::collection::vec(0..WORDS.len(), 1..3), proptest::bool::ANY), 1..12),
            text in proptest::collection::vec((0..WORDS.len(), 0..CLITICS.len()), 0..40),
            guess in proptest::bool::ANY,
        ) {
            let mut tsv = String::from("id\ttype\tname_ar\tflags\tparent\n");
            for (i, (words, risky)) in names.iter().enumerate() {
                let name: Vec<&str> = words.iter().map(|&w| WORDS[w]).collect();
                let kind = ["GPE", "PER", "ORG"][i % 3];
                let parent = if i > 0 && i % 4 == 0 { "e0" } else { "" };
                let flags = if *risky { "risky" } else { "" };
                tsv.push_str(&format!("e{i}\t{kind}\t{}\t{flags}\t{parent}\n", name.join(" ")));
            }
            let text: Vec<String> =
                text.iter().map(|&(w, c)| format!("{}{}", CLITICS[c], WORDS[w])).collect();
            let text = text.join(" ");
            let mut builder = Extractor::builder();
            builder.guess_persons(guess);
            let built = builder.build(Gazetteer::from_tsv("random.tsv", &tsv).unwrap()).unwrap();
            let read = round_trip(&builder, &built);
            proptest::prop_assert_eq!(read.gazetteer().entities(), built.gazetteer().entities());
            proptest::prop_assert_eq!(found(&read, &text), found(&built, &text));
        }
    }

    const WORDS: [&str; 14] = [
        "مالي",
        "باماكو",
        "فاغنر",
        "مجموعة",
        "الرئيس",
        "محمد",
        "الجزائر",
        "في",
        "قال",
        "إفريقيا",
        "ماليه",
        "سيرغي",
        "لافروف",
        "الجيش",
    ];
    const CLITICS: [&str; 5] = ["", "و", "ب", "ل", "وب"];
}
