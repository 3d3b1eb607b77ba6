#!/usr/bin/env python3
"""Generate gazetteers/countries.tsv, demonyms.tsv and cities.tsv for alam.

Python 3.11, standard library only. Deterministic: the same inputs give the same bytes.

    python3 gazetteers/build/gen_places.py [NAMES_DIR]
        Reads the licensed extracts in NAMES_DIR (default ../shared/data/names next to the
        repository) and the hand-written inputs in gazetteers/build/, and writes the three
        gazetteer files (rows sorted by id).

    python3 gazetteers/build/gen_places.py stats [NAMES_DIR] [--anercorp FILE] [--snn FILE]
        Recomputes gazetteers/build/corpus_stats.tsv: for every single-token name the generator
        would emit, its counts in the ANERcorp train split and in SaudiNewsNet (numbers only, no
        corpus text). The risky-name rule of README.md reads that file, so that generating the
        gazetteers needs neither corpus.

See gazetteers/build/README.md for the rules and PROVENANCE.md for the sources.
"""

from __future__ import annotations

import csv
import gzip
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BUILD = Path(__file__).resolve().parent
GAZ = BUILD.parent
REPO = GAZ.parent
DEFAULT_NAMES = REPO.parent / "shared" / "data" / "names"
DEFAULT_ANER = REPO.parent / "shared" / "data" / "anercorp" / "ANERCorp_CamelLab_train.reconstructed.txt"
DEFAULT_SNN = REPO.parent / "shared" / "data" / "saudinewsnet" / "saudinewsnet.txt.gz"

HEADER = ["id", "type", "name_ar", "name_en", "aliases", "qid", "flags", "parent"]
OUTPUTS = ("countries.tsv", "demonyms.tsv", "cities.tsv")
MAX_ALIASES = 10  # per entity, for names from the extracts (hand and seed aliases always kept)
CITY_MIN_POP = 100_000
SAHEL = {"ML", "BF", "NE", "MR", "TD", "DZ", "LY"}
# Arab League members (and Chad, Western Sahara): their place names are Arabic, not
# transliterations (no `foreign` flag).
ARAB = {"DZ", "BH", "KM", "DJ", "EG", "IQ", "JO", "KW", "LB", "LY", "MR", "MA", "OM", "PS",
        "QA", "SA", "SO", "SD", "SY", "TN", "AE", "YE", "EH", "TD"}
# Cities of these countries have long-established Arabic names (كابل, تبريز, لاهور, حيفا...).
NATIVE_CITIES = ARAB | {"IR", "AF", "TR", "PK", "IL"}
# `foreign` (spelling variants by rule) only for extract cities this big; hand rows always.
FOREIGN_MIN_POP = 1_000_000

# ---------------------------------------------------------------------------------------------
# Folding: the same folds as src/normalize.rs (ARABIC.md section 1).

_FOLD = {}
for c in range(0x064B, 0x0660):
    _FOLD[c] = None
_FOLD[0x0670] = None
for c in list(range(0x0610, 0x061B)) + list(range(0x06D6, 0x06EE)):
    _FOLD[c] = None
_FOLD[0x0640] = None
for c in "أإآٱ":
    _FOLD[ord(c)] = "ا"
_FOLD[ord("ى")] = "ي"
_FOLD[ord("ة")] = "ه"
_FOLD[ord("ؤ")] = "و"
_FOLD[ord("ئ")] = "ي"
_FOLD[ord("ک")] = "ك"
_FOLD[ord("ی")] = "ي"
_FOLD[ord("ے")] = "ي"
for i in range(10):
    _FOLD[0x0660 + i] = str(i)
    _FOLD[0x06F0 + i] = str(i)
for c in (0x200B, 0x200C, 0x200D, 0x2060, 0x200E, 0x200F, 0x061C, 0xFEFF, 0x00AD,
          0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069):
    _FOLD[c] = None
for c in list(range(0x2010, 0x2016)) + [0x2212]:
    _FOLD[c] = "-"
_PRESENTATION = re.compile("[\uFB50-\uFDFF\uFE70-\uFEFE]")
_SPACES = re.compile(r"\s+")


def fold(s: str) -> str:
    if _PRESENTATION.search(s):
        s = _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), s)
    s = s.translate(_FOLD).lower()
    return _SPACES.sub(" ", s).strip()


# ---------------------------------------------------------------------------------------------
# Cleaning names from the extracts.

_HARAKAT = re.compile("[\u064B-\u065F\u0670\u0640]")
_INVISIBLE = re.compile("[\u200B-\u200F\u2060\u061C\uFEFF\u00AD\u202A-\u202E\u2066-\u2069]")
# Letters that are not Arabic spellings (Persian, Urdu, Pashto, Kurdish forms): a name that has
# one after the ی/ک fix is dropped. ؤ inside a transliteration is the Persian/Urdu habit the
# extracts README warns of; it is dropped only in the GeoNames alternate names.
_NON_ARABIC = re.compile("[^\u0621-\u063A\u0641-\u064A \\-]")
_PERSIAN_ALT = re.compile("[گڈګیکؤےہھٹډټۆێەپچژڤ]")


def strip_marks(s: str) -> str:
    """Drops harakat, tatweel and invisible marks (names from the extracts only)."""
    s = _INVISIBLE.sub("", s)
    s = _HARAKAT.sub("", s)
    return _SPACES.sub(" ", s).strip()


def clean_source_name(s: str, *, city: bool) -> str | None:
    """A usable Arabic spelling from an extract, or None.

    Parenthesised parts are removed; a name with "،" is an ISO-style inverted name (country
    files: dropped) or "City، Region" (city files: the part before the comma is kept).
    """
    s = strip_marks(s)
    s = re.sub(r"\s*\([^)]*\)\s*", " ", s).strip()
    if "،" in s or "," in s:
        if not city:
            return None
        s = re.split("[،,]", s)[0].strip()
    s = s.replace("ی", "ي").replace("ک", "ك")
    s = _SPACES.sub(" ", s).strip(" -")
    if not s or _NON_ARABIC.search(s):
        return None
    if len(fold(s).replace(" ", "")) < 2:
        return None
    return s


def variants_of_and(name: str) -> list[str]:
    """iso-codes writes "البوسنة و الهرسك"; news writes "البوسنة والهرسك". Both."""
    out = [name]
    if " و " in name:
        out.append(name.replace(" و ", " و"))
    return out


def slug(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.lower().replace("&", "and").replace("'", "").replace("’", "").replace("‘", "")
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    return s


# ---------------------------------------------------------------------------------------------
# Reading TSV inputs.


def read_tsv(path: Path) -> list[dict[str, str]]:
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        lines = [line for line in f if line.strip() and not line.startswith("#")]
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    for values in reader:
        values += [""] * (len(header) - len(values))
        rows.append({k: v.strip() for k, v in zip(header, values)})
    return rows


def split_bar(s: str) -> list[str]:
    return [x.strip() for x in s.split("|") if x.strip()]


# ---------------------------------------------------------------------------------------------
# The entity model.


@dataclass
class Entity:
    id: str
    type: str
    name_ar: str
    name_en: str = ""
    aliases: list[str] = field(default_factory=list)  # may start with "~"
    qid: str = ""
    flags: list[str] = field(default_factory=list)
    parent: str = ""
    iso: str = ""
    population: int = 0
    rank: int = 0  # notability: 3 hand row or seed, 1 extract place
    file: str = "cities.tsv"
    hand_aliases: set[str] = field(default_factory=set)  # folded, never capped

    def names(self) -> list[str]:
        return [self.name_ar] + [a.lstrip("~") for a in self.aliases]

    def add_alias(self, name: str, *, hand: bool = False) -> None:
        f = fold(name.lstrip("~"))
        if hand:
            self.hand_aliases.add(f)
        if f == fold(self.name_ar):
            return
        for i, a in enumerate(self.aliases):
            if fold(a.lstrip("~")) == f:
                if hand and name.startswith("~") != a.startswith("~"):
                    self.aliases[i] = name
                return
        self.aliases.append(name)

    def remove_name(self, folded: str) -> bool:
        """Removes a name by folded form; returns False when it is the canonical name."""
        if fold(self.name_ar) == folded:
            return False
        self.aliases = [a for a in self.aliases if fold(a.lstrip("~")) != folded]
        return True

    def row(self) -> list[str]:
        return [self.id, self.type, self.name_ar, self.name_en, "|".join(self.aliases),
                self.qid, ",".join(sorted(set(self.flags))), self.parent]


def check_name(name: str) -> bool:
    n = name.lstrip("~")
    if not n or not (n[0].isalnum() and n[-1].isalnum()):
        return False
    return len(fold(n)) >= 2


# ---------------------------------------------------------------------------------------------
# Sources.


class Sources:
    def __init__(self, names_dir: Path):
        self.dir = names_dir
        self.cldr = read_tsv(names_dir / "cldr-territories-ar.tsv")
        self.iso = read_tsv(names_dir / "iso-codes-3166-1-ar.tsv")
        self.ne = read_tsv(names_dir / "naturalearth-admin0-ar.tsv")
        self.exemplar = read_tsv(names_dir / "cldr-exemplar-cities-ar.tsv")
        self.geonames = read_tsv(names_dir / "geonames-cities-ar.tsv")
        self.wilayas = read_tsv(names_dir / "algeria-wilayas-ar.tsv")
        self.sahel = read_tsv(names_dir / "sahel-towns-geonames.tsv")


def load_hand():
    return {
        "countries": read_tsv(BUILD / "countries_hand.tsv"),
        "demonyms": read_tsv(BUILD / "demonyms_hand.tsv"),
        "cities": read_tsv(BUILD / "cities_hand.tsv"),
        "seeds": read_tsv(BUILD / "seed_entities.tsv"),
        "risky": read_tsv(BUILD / "risky_overrides.tsv"),
    }


# ---------------------------------------------------------------------------------------------
# Countries.


def build_countries(src: Sources, hand) -> dict[str, Entity]:
    """One entity per ISO 3166-1 code of CLDR / Natural Earth, with the hand table's overrides."""
    ne = {}
    for r in src.ne:
        code = "TW" if r["iso_code"] == "CN-TW" else r["iso_code"]
        if re.fullmatch("[A-Z]{2}", code):
            ne[code] = r
    cldr = defaultdict(list)
    for r in src.cldr:
        if re.fullmatch("[A-Z]{2}", r["iso_code"]):
            cldr[r["iso_code"]].append(r)
    iso = defaultdict(list)
    for r in src.iso:
        iso[r["iso_code"]].append(r)
    overrides = {r["iso"]: r for r in hand["countries"]}

    out: dict[str, Entity] = {}
    for code in sorted(set(ne) | set(cldr)):
        o = overrides.get(code, {})
        if o.get("include") == "n":
            continue
        drop = {fold(x) for x in split_bar(o.get("drop", ""))}
        # Candidate names, most trusted first: CLDR (main, then its variants), Natural Earth,
        # iso-codes short name, common name, official name.
        cands: list[str] = []
        for r in cldr.get(code, []):
            cands.append(r["arabic_name"])
        if code in ne:
            cands.append(ne[code]["arabic_name"])
        for fieldname in ("name", "common_name", "official_name"):
            for r in iso.get(code, []):
                if r["iso_field"] == fieldname:
                    cands.append(r["arabic_name"])
        names: list[str] = []
        for c in cands:
            c = clean_source_name(c, city=False)
            if c is None:
                continue
            for v in variants_of_and(c):
                if fold(v) not in drop:
                    names.append(v)
        name_en = o.get("name_en") or (ne[code]["english_name"] if code in ne
                                        else cldr[code][0]["english_name"])
        eid = o.get("id") or slug(name_en)
        canonical = o.get("name_ar") or (names[0] if names else "")
        if not canonical:
            continue
        e = Entity(eid, "GPE", canonical, name_en, iso=code, rank=3, file="countries.tsv")
        for n in split_bar(o.get("aliases", "")):
            e.add_alias(n, hand=True)
        for n in names:
            e.add_alias(n)
        qid = o.get("qid", "")
        if qid == "-":
            qid = ""
        elif not qid and code in ne:
            qid = ne[code]["wikidata_qid"]
        e.qid = qid
        if code not in ARAB and o.get("foreign", "") != "n":
            e.flags.append("foreign")
        out[code] = e
    return out


# ---------------------------------------------------------------------------------------------
# Cities.


def arabic_alternates(s: str) -> list[str]:
    """GeoNames alternate names in Arabic script: only real Arabic spellings."""
    out = []
    for a in split_bar(s):
        a = _INVISIBLE.sub("", a)
        if _PERSIAN_ALT.search(a) or re.search("[A-Za-z0-9ʿ]", a):
            continue
        a = clean_source_name(a, city=False)  # a comma here is "Town، Country": drop it
        if a is None:
            continue
        # Uyghur/Kurdish spellings: initial ئ, or ى inside a word (Arabic writes it only at the end).
        if re.search(r"(^|\s)ئ|ى\w", a):
            continue
        # Administrative prefixes are not the town's name.
        if re.match("(ولاية|بلدية|دائرة|منطقة|شعبية|مدينة) ", a):
            continue
        out.append(a)
    return out


@dataclass
class Place:
    iso: str
    name_en: str
    population: int
    names: list[str]  # cleaned Arabic names, best first
    source: str
    capital: bool = False


def build_places(src: Sources, hand, countries: dict[str, Entity]):
    """Collects candidate cities from GeoNames, the Sahel towns and CLDR exemplar cities."""
    places: dict[tuple[str, str], Place] = {}  # (iso, english) -> Place

    def key(iso, en):
        return (iso, slug(en))

    for r in src.geonames:
        n = clean_source_name(r["arabic_name"], city=True)
        if n is None:
            continue
        k = key(r["iso_code"], r["english_name"])
        pop = int(r["population"] or 0)
        if k in places and places[k].population >= pop:
            continue
        places[k] = Place(r["iso_code"], r["english_name"], pop, [n], "geonames")
    for r in src.sahel:
        k = key(r["iso_code"], r["english_name"])
        alts = arabic_alternates(r["arabic_alternate_names"])
        pop = int(r["population"] or 0)
        if k in places:
            p = places[k]
            if p.population >= pop or p.source == "geonames":
                for a in alts:
                    if fold(a) not in {fold(x) for x in p.names}:
                        p.names.append(a)
                continue
        places[k] = Place(r["iso_code"], r["english_name"], pop, alts, "sahel")
    # CLDR exemplar cities: aliases of the same city (same country and English name).
    for r in src.exemplar:
        n = clean_source_name(r["arabic_name"], city=True)
        k = key(r["iso_code"], r["english_name"])
        if n and k in places and fold(n) not in {fold(x) for x in places[k].names}:
            places[k].names.append(n)
    return places


def build_cities(src: Sources, hand, countries: dict[str, Entity], reserved_ids: set[str]):
    places = build_places(src, hand, countries)
    by_iso = {e.iso: e for e in countries.values()}
    country_names = {}
    for e in countries.values():
        for n in e.names():
            country_names[fold(n)] = e.id
    log = []

    entities: list[Entity] = []
    used_places = set()
    # Hand rows: overrides of an extract place (column match = its English name), new places,
    # regions, and drops.
    hand_by_key = {}
    for r in hand["cities"]:
        if r.get("match"):
            hand_by_key[(r["iso"], slug(r["match"]))] = r
    for r in hand["cities"]:
        iso = r["iso"]
        flags = split_bar(r.get("flags", "").replace(",", "|"))
        p = None
        if r.get("match"):
            p = places.get((iso, slug(r["match"])))
            if p is None:
                log.append(f"hand row {r['id'] or r['match']}: no extract place {iso} {r['match']}")
            else:
                used_places.add((iso, slug(r["match"])))
        if "drop" in flags:
            continue
        removed = {fold(a[1:]) for a in split_bar(r.get("aliases", "")) if a.startswith("-")}
        names = ([r["name_ar"]] if r.get("name_ar") else []) + (p.names if p else [])
        names = [n for n in names if fold(n) not in removed]
        if not names:
            log.append(f"hand row {r['id']}: no name")
            continue
        name_en = r.get("name_en") or (p.name_en if p else "")
        e = Entity(r.get("id") or slug(name_en), "GPE", names[0], name_en, iso=iso,
                   population=int(r.get("population") or (p.population if p else 0)),
                   rank=3)
        e.parent = r.get("parent") or (by_iso[iso].id if iso in by_iso else "")
        if e.parent == "-":
            e.parent = ""
        e.qid = r.get("qid", "")
        for a in split_bar(r.get("aliases", "")):
            if not a.startswith("-"):
                e.add_alias(a, hand=True)
        for a in names[1:]:
            e.add_alias(a)
        for fl in flags:
            if fl in ("risky", "foreign"):
                e.flags.append(fl)
        if iso not in NATIVE_CITIES and "native" not in flags and "foreign" not in e.flags:
            e.flags.append("foreign")
        e.flags = [f for f in e.flags if not ("native" in flags and f == "foreign")]
        entities.append(e)

    # Extract places: capitals and cities of 100,000+, and Sahel-country towns of any size.
    for k in sorted(places):
        if k in used_places:
            continue
        p = places[k]
        if not p.names:
            continue
        if not (p.population >= CITY_MIN_POP or p.iso in SAHEL):
            continue
        if p.iso not in by_iso:
            continue
        e = Entity(slug(p.name_en), "GPE", p.names[0], p.name_en, iso=p.iso,
                   population=p.population, rank=1)
        e.parent = by_iso[p.iso].id
        for a in p.names[1:]:
            e.add_alias(a)
        if p.iso not in NATIVE_CITIES and p.population >= FOREIGN_MIN_POP:
            e.flags.append("foreign")
        entities.append(e)

    # A city whose name is a country's name: the name stays with the country (a hand row may
    # give the city another canonical name and keep the bare one as an alias).
    kept = []
    for e in entities:
        f = fold(e.name_ar)
        if f in country_names and e.rank < 3:
            log.append(f"city {e.id} ({e.iso}) dropped: its name {e.name_ar} is the country {country_names[f]}")
            continue
        for a in list(e.aliases):
            fa = fold(a.lstrip("~"))
            if fa in country_names and fa not in e.hand_aliases:
                e.remove_name(fa)
        kept.append(e)
    entities = kept

    # Same name in several places: the most notable keeps it (hand/seed, then capital, then
    # population); the others lose it, and an entity left with no name is dropped.
    owners = defaultdict(list)
    for e in entities:
        for n in e.names():
            owners[fold(n)].append(e)
    dropped = set()
    for f, es in sorted(owners.items()):
        if len(es) < 2:
            continue
        es = sorted(es, key=lambda e: (-e.rank, -e.population, e.id))
        best = es[0]
        for other in es[1:]:
            if id(other) in dropped:
                continue
            if f in other.hand_aliases:
                continue  # both notable, decided by hand (the canonical-name rule links)
            if not other.remove_name(f):
                # the shared name is the other's canonical name: promote an alias, or drop it
                if other.aliases:
                    other.name_ar = other.aliases.pop(0).lstrip("~")
                    log.append(f"name {f}: {best.id} keeps it; {other.id} renamed {other.name_ar}")
                else:
                    dropped.add(id(other))
                    log.append(f"name {f}: {best.id} ({best.iso}, {best.population}) keeps it; "
                               f"{other.id} ({other.iso}, {other.population}) dropped")
    entities = [e for e in entities if id(e) not in dropped]

    # Ids: slug of the English name; shared slugs get the country code; a slug taken by a
    # country or another file gets "_city".
    by_slug = defaultdict(list)
    for e in entities:
        by_slug[e.id].append(e)
    for s, es in by_slug.items():
        if len(es) > 1:
            hand_owner = [e for e in es if e.rank == 3 and e.id == s]
            for e in es:
                if hand_owner and e is hand_owner[0] and len(hand_owner) == 1:
                    continue
                e.id = f"{s}_{e.iso.lower()}"
    for e in entities:
        if e.id in reserved_ids and e.rank != 3:
            e.id = f"{e.id}_city"
    return entities, log


def build_wilayas(src: Sources, countries, cities: list[Entity]):
    city_names = {fold(n) for e in cities for n in e.names()}
    dz = next(e for e in countries.values() if e.iso == "DZ")
    out = []
    for r in src.wilayas:
        n = clean_source_name(r["arabic_name"], city=False)
        if n is None:
            continue
        e = Entity(slug(r["english_name"]) + "_province", "GPE", "ولاية " + n,
                   f"{r['english_name']} Province", iso="DZ", rank=3, parent=dz.id)
        if fold(n) not in city_names:
            e.add_alias(n)
        out.append(e)
    return out


# ---------------------------------------------------------------------------------------------
# Demonyms.


def nisba(name: str) -> str | None:
    """The masculine nisba stem of a one-word country name (without ال), or None."""
    n = name
    if n.startswith("ال"):
        n = n[2:]
    if " " in n:
        return None
    if n.endswith("يا"):
        return n[:-2] + "ي"
    if n.endswith("ة"):
        return n[:-1] + "ي"
    if n.endswith("ا"):
        return n[:-1] + "ي"
    if n.endswith("ي"):
        return n
    if n.endswith("و"):
        return None
    return n + "ي"


def demonym_forms(masc: list[str], broken: list[str]) -> list[str]:
    """ال and bare forms: masculine, feminine, sound plurals; then broken plurals."""
    out = []
    for m in masc:
        for form in (m, m + "ة", m + "ين", m + "ون"):
            out.append("ال" + form)
            out.append(form)
    for b in broken:
        out.append(b)
        if not b.startswith("ال"):
            out.append("ال" + b)
    return out


def build_demonyms(countries: dict[str, Entity], hand, gpe_names: dict[str, str]):
    log = []
    by_iso = {e.iso: e for e in countries.values()}
    rows = {r["iso"]: r for r in hand["demonyms"]}
    out = []
    for iso in sorted(rows):
        r = rows[iso]
        if r.get("skip") == "y":
            continue
        country = by_iso.get(iso)
        if country is None:
            log.append(f"demonym {iso}: no country")
            continue
        masc = split_bar(r.get("masc", ""))
        if masc == ["-"]:
            masc = []
        elif not masc:
            stem = nisba(country.name_ar)
            if stem is None:
                log.append(f"demonym {iso}: no rule for {country.name_ar}")
                continue
            masc = [stem]
        forms = demonym_forms(masc, split_bar(r.get("broken", "")))
        forms += split_bar(r.get("extra", ""))
        risky = {fold(x) for x in split_bar(r.get("risky", ""))}
        drop = {fold(x) for x in split_bar(r.get("drop", ""))}
        name_en = r.get("name_en") or r["id"].replace("_", " ").title()
        e = Entity(r["id"], "NORP", "", name_en, parent=country.id, iso=iso, rank=3,
                   file="demonyms.tsv")
        kept = []
        for f in forms:
            ff = fold(f)
            if ff in drop:
                continue
            if ff in gpe_names:
                log.append(f"demonym {e.id}: form {f} left out, it is the place {gpe_names[ff]}")
                continue
            kept.append(("~" + f) if ff in risky else f)
        sure = [n for n in kept if not n.startswith("~")]
        # Every form risky (المالي: also "financial"): the canonical name is risky too.
        first = sure[0] if sure else (kept[0] if kept else "")
        if first:
            e.name_ar = first
            for name in kept:
                if name != first:
                    e.add_alias(name, hand=True)
        if not e.name_ar:
            log.append(f"demonym {iso}: every form is risky or taken")
            continue
        out.append(e)
    return out, log


# ---------------------------------------------------------------------------------------------
# Seeds: the hand-curated entities of gpe.tsv / norp.tsv keep their ids and aliases.


def merge_seeds(entities: dict[str, Entity], hand, log):
    for r in hand["seeds"]:
        sid = r["id"]
        e = entities.get(sid)
        if e is None:
            e = Entity(sid, r["type"], r["name_ar"], r["name_en"], rank=3,
                       file="demonyms.tsv" if r["type"] == "NORP" else
                       ("cities.tsv" if r["parent"] else "countries.tsv"))
            entities[sid] = e
            log.append(f"seed {sid}: not generated, added from the seed row")
        if e.type != r["type"]:
            raise SystemExit(f"seed {sid}: type {r['type']} but generated {e.type}")
        old = e.name_ar
        if fold(old) != fold(r["name_ar"]):
            e.remove_name(fold(r["name_ar"]))
            e.name_ar = r["name_ar"]
            e.add_alias(old)
        else:
            e.name_ar = r["name_ar"]
        for a in split_bar(r["aliases"]):
            e.add_alias(a, hand=True)
        if r["name_en"]:
            e.name_en = r["name_en"]
        if r["qid"]:
            e.qid = r["qid"]
        if r["parent"]:
            e.parent = r["parent"]
        seed_flags = set(split_bar(r["flags"].replace(",", "|")))
        e.flags = sorted(seed_flags | ({"risky"} & set(e.flags)))
        e.rank = 3


# ---------------------------------------------------------------------------------------------
# Risky names (see README.md): from corpus_stats.tsv and risky_overrides.tsv.


def load_stats() -> dict[str, dict[str, int]]:
    path = BUILD / "corpus_stats.tsv"
    if not path.exists():
        return {}
    out = {}
    for r in read_tsv(path):
        out[r["name"]] = {k: int(v) for k, v in r.items() if k != "name"}
    return out


def risky_by_rule(folded: str, s: dict[str, int] | None) -> str | None:
    """Why a one-token place name is risky, or None. The rule of README.md, in order."""
    if len(folded.replace(" ", "")) <= 2:
        return "two letters"
    if s is None:
        return None
    other = s["aner_o"] + s["aner_pers"] + s["aner_misc"]
    place = s["aner_loc"] + s["aner_org"]
    if other >= 2 and other > place:
        return f"ANERcorp: {other} O/PERS/MISC vs {place} LOC/ORG"
    bare = s["snn_bare"]
    if not folded.startswith("ال") and s["snn_alt"] >= 20 and s["snn_alt"] >= 0.5 * bare:
        return f"SaudiNewsNet: ال+name {s['snn_alt']} vs name {bare}"
    if s["snn_suffix"] >= 20 and s["snn_suffix"] >= 0.5 * bare:
        return f"SaudiNewsNet: name+pronoun suffix {s['snn_suffix']} vs name {bare}"
    if s["snn_clitic_max"] >= 50 and s["snn_clitic_max"] > 3 * (bare + 1):
        return f"SaudiNewsNet: proclitic+name {s['snn_clitic_max']} vs name {bare}"
    return None


def apply_risky(entities: list[Entity], hand, stats, log) -> Counter:
    overrides = {}
    for r in hand["risky"]:
        overrides[(r["id"], fold(r["name"]))] = r["decision"]
    counts = Counter()
    for e in entities:
        if e.type != "GPE" or "risky" in e.flags:
            continue
        names = [(e.name_ar, True)] + [(a, False) for a in e.aliases]
        new_aliases = []
        canonical_risky = False
        for n, is_canon in names:
            bare = n.lstrip("~")
            f = fold(bare)
            decision = overrides.get((e.id, f)) or overrides.get(("*", f))
            why = None
            if " " not in f:
                why = risky_by_rule(f, stats.get(f))
                if why is None and e.rank < 3 and e.file == "cities.tsv" and \
                        e.population < CITY_MIN_POP:
                    why = "small town: a one-word name of a place under 100,000 people"
            if decision == "safe":
                why = None
            elif decision == "risky":
                why = why or "hand"
            if n.startswith("~") and why is None:
                why = "hand"
            if why and (is_canon or f in e.hand_aliases):
                counts[why.split(":")[0]] += 1
                log.append(f"risky {e.id} {bare}: {why}")
            if is_canon:
                canonical_risky = bool(why)
            elif why and f not in e.hand_aliases:
                log.append(f"risky alias {e.id} {bare} left out: an extract variant")
                counts["risky extract alias left out"] += 1
            else:
                new_aliases.append(("~" + bare) if why else bare)
        e.aliases = new_aliases
        if canonical_risky:
            sure = [a for a in e.aliases if not a.startswith("~")]
            if sure:
                # a sure alias becomes the canonical name; the risky one stays as an alias
                old = e.name_ar
                e.name_ar = sure[0]
                e.aliases.remove(sure[0])
                e.aliases.insert(0, "~" + old)
            else:
                e.flags.append("risky")
                e.aliases = [a.lstrip("~") for a in e.aliases]
    return counts


# ---------------------------------------------------------------------------------------------
# Corpus statistics (the `stats` command).

CLITICS = ["", "و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك"]
SUFFIXES = ["ها", "هم", "هما", "كم", "نا", "هن"]
_TOKEN = re.compile(r"[^\w\u064B-\u065F\u0670]+")


def count_with_clitics(c: Counter, name: str) -> int:
    n = sum(c.get(p + name, 0) for p in CLITICS)
    if name.startswith("ال"):
        n += sum(c.get(p + "ل" + name[1:], 0) for p in ("", "و", "ف"))
    return n


def token_counter_snn(path: Path) -> Counter:
    c = Counter()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            for t in _TOKEN.split(fold(line)):
                if t:
                    c[t] += 1
    return c


def aner_counts(path: Path):
    tags = defaultdict(Counter)
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").rsplit(" ", 1)
            if len(parts) != 2 or not parts[0]:
                continue
            tok = fold(parts[0]).strip("\"'«»().،,:;!?؟")
            tag = parts[1]
            kind = "o" if tag == "O" else tag[2:].lower()  # loc org pers misc
            tags[tok][kind] += 1
    return tags


def aner_for(tags, name: str) -> Counter:
    out = Counter()
    forms = [p + name for p in CLITICS]
    if name.startswith("ال"):
        forms += [p + "ل" + name[1:] for p in ("", "و", "ف")]
    for t in forms:
        out.update(tags.get(t, {}))
    return out


def stats_command(names_dir: Path, aner_path: Path, snn_path: Path) -> None:
    entities, _ = generate(names_dir, stats={})
    singles = set()
    for e in entities:
        for n in e.names():
            f = fold(n)
            if " " not in f:
                singles.add(f)
    print(f"counting {len(singles)} one-token names", file=sys.stderr)
    snn = token_counter_snn(snn_path)
    aner = aner_counts(aner_path)
    rows = []
    for f in sorted(singles):
        bare = f[2:] if f.startswith("ال") and len(f) > 4 else f
        alt = bare if f.startswith("ال") and len(f) > 4 else "ال" + f
        base = bare[:-1] + "ت" if bare.endswith("ه") else bare
        suffix = sum(snn.get(base + s, 0) for s in SUFFIXES)
        a = aner_for(aner, f)
        clitic_max = max(snn.get(p + f, 0) for p in CLITICS[1:])
        rows.append([f, count_with_clitics(snn, f), snn.get(f, 0), clitic_max,
                     snn.get(alt, 0), suffix, a["loc"], a["org"], a["pers"], a["misc"], a["o"]])
    with open(BUILD / "corpus_stats.tsv", "w", encoding="utf-8", newline="") as out:
        out.write("# Counts for the risky-name rule (README.md); regenerate with "
                  "`gen_places.py stats`. Numbers only, no corpus text.\n")
        out.write("name\tsnn\tsnn_bare\tsnn_clitic_max\tsnn_alt\tsnn_suffix\taner_loc"
                  "\taner_org\taner_pers\taner_misc\taner_o\n")
        for r in rows:
            out.write("\t".join(map(str, r)) + "\n")
    print(f"wrote {BUILD / 'corpus_stats.tsv'} ({len(rows)} names)", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Generation.


def other_files_ids() -> set[str]:
    """Ids defined in the other gazetteer files (for collisions); gpe/norp seed rows excluded."""
    seeds = {r["id"] for r in read_tsv(BUILD / "seed_entities.tsv")}
    ids = set()
    for path in sorted(GAZ.glob("*.tsv")):
        if path.name in OUTPUTS:
            continue
        for r in read_tsv(path):
            if r["id"] not in seeds:
                ids.add(r["id"])
    return ids


def generate(names_dir: Path, stats=None):
    src = Sources(names_dir)
    hand = load_hand()
    log: list[str] = []
    countries = build_countries(src, hand)
    reserved = other_files_ids() | {e.id for e in countries.values()}
    cities, clog = build_cities(src, hand, countries, reserved)
    log += clog
    cities += build_wilayas(src, countries, cities)
    every: dict[str, Entity] = {}
    for e in list(countries.values()) + cities:
        if e.id in every:
            raise SystemExit(f"duplicate id {e.id}")
        every[e.id] = e
    merge_seeds(every, hand, log)
    gpe_names = {}
    for e in every.values():
        if e.type == "GPE":
            for n in e.names():
                gpe_names.setdefault(fold(n), e.id)
    demonyms, dlog = build_demonyms(countries, hand, gpe_names)
    log += dlog
    for d in demonyms:
        if d.id in every:
            # a seed NORP row: merge the generated forms into it
            s = every[d.id]
            for n in [d.name_ar] + d.aliases:
                s.add_alias(n, hand=True)
            # A form the demonym row marks risky stays risky when it is the seed's canonical
            # name too (المالي: "Malian", mostly "financial" in general news).
            risky_forms = {fold(n[1:]) for n in [d.name_ar] + d.aliases if n.startswith("~")}
            if not s.name_ar.startswith("~") and fold(s.name_ar) in risky_forms:
                s.name_ar = "~" + s.name_ar
            if not s.parent:
                s.parent = d.parent
        else:
            every[d.id] = d
    entities = sorted(every.values(), key=lambda e: e.id)
    stats = load_stats() if stats is None else stats
    counts = apply_risky(entities, hand, stats, log)
    # Final checks and alias caps.
    for e in entities:
        if not check_name(e.name_ar):
            raise SystemExit(f"{e.id}: bad canonical name {e.name_ar!r}")
        good = []
        for a in e.aliases:
            if check_name(a):
                good.append(a)
            else:
                log.append(f"{e.id}: alias {a!r} dropped (loader rule)")
        extra = [a for a in good if fold(a.lstrip("~")) not in e.hand_aliases]
        handa = [a for a in good if fold(a.lstrip("~")) in e.hand_aliases]
        cap = max(0, MAX_ALIASES - len(handa)) if e.type != "NORP" else len(extra)
        if len(extra) > cap:
            log.append(f"{e.id}: {len(extra) - cap} extract aliases over the cap left out")
        e.aliases = handa + extra[:cap]
        if e.qid and not re.fullmatch(r"Q[0-9]+", e.qid):
            raise SystemExit(f"{e.id}: bad QID {e.qid}")
    generate.counts = counts
    return entities, log


def write(entities: list[Entity]) -> dict[str, int]:
    files = {"countries.tsv": [], "demonyms.tsv": [], "cities.tsv": []}
    for e in entities:
        files[e.file].append(e)
    notes = {
        "countries.tsv": "Countries and territories (GPE). Generated by gazetteers/build/gen_places.py "
                         "from CLDR, iso-codes and Natural Earth names (see build/PROVENANCE.md).",
        "demonyms.tsv": "Demonyms and nationality adjectives (NORP), linked to their country. "
                        "Generated by gazetteers/build/gen_places.py (nisba rule + build/demonyms_hand.tsv).",
        "cities.tsv": "Cities, towns and regions (GPE), linked to their country. Generated by "
                      "gazetteers/build/gen_places.py from GeoNames (geonames.org, CC BY 4.0), CLDR "
                      "exemplar cities and build/cities_hand.tsv.",
    }
    counts = {}
    for name, es in files.items():
        with open(GAZ / name, "w", encoding="utf-8", newline="") as f:
            f.write(f"# {notes[name]} Do not edit: edit the inputs and rerun the generator.\n")
            f.write("\t".join(HEADER) + "\n")
            for e in sorted(es, key=lambda e: e.id):
                f.write("\t".join(e.row()) + "\n")
        counts[name] = len(es)
    return counts


def main(argv: list[str]) -> int:
    args = list(argv)
    if args and args[0] == "stats":
        args.pop(0)
        aner, snn = DEFAULT_ANER, DEFAULT_SNN
        if "--anercorp" in args:
            i = args.index("--anercorp")
            aner = Path(args[i + 1])
            del args[i:i + 2]
        if "--snn" in args:
            i = args.index("--snn")
            snn = Path(args[i + 1])
            del args[i:i + 2]
        names_dir = Path(args[0]) if args else DEFAULT_NAMES
        stats_command(names_dir, aner, snn)
        return 0
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    names_dir = Path(args[0]) if args else DEFAULT_NAMES
    entities, log = generate(names_dir)
    counts = write(entities)
    with open(BUILD / "build.log", "w", encoding="utf-8") as f:
        f.write("\n".join(log) + "\n")
    if verbose:
        print("\n".join(log))
    for name, n in counts.items():
        print(f"{name}: {n} entities", file=sys.stderr)
    print(f"risky decisions: {dict(generate.counts)} (details in build/build.log)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
