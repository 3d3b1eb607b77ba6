#!/usr/bin/env python3
"""Mines gazetteers/anercorp_train.tsv: person, organization and place names of the ANERcorp
CAMeL Lab TRAIN split that are reliable as names (see ANERCORP.md for the rules and figures).

Source: ANERcorp (Benajiba, Rosso & Benedi Ruiz 2007), CAMeL Lab train split, CC BY-SA 4.0
(https://creativecommons.org/licenses/by-sa/4.0/). The test split and the full ANERCorp.txt
(which contains the test articles) are never read.

Usage (from the repository root; Python 3.9+, standard library only):

    python3 gazetteers/build/mine_anercorp.py > gazetteers/anercorp_train.tsv
    python3 gazetteers/build/mine_anercorp.py --holdout /tmp/dev.conll > /tmp/mined.tsv

--holdout FILE mines from the first 80% of the train split only and writes the last 20% to
FILE, for choosing the thresholds with
`alam eval --conll FILE --gazetteer /tmp/mined.tsv` (run it with gazetteers/anercorp_train.tsv
moved away, so the default gazetteer does not already hold the names mined from the dev part).

The names the default gazetteer already knows are skipped: they are read from
`cargo run --release -q -- gazetteer names --normalized --long` (entities whose id starts with
`anercorp_` excluded), or from --known FILE holding that output. With --snn PATH (default
../shared/data/saudinewsnet/saudinewsnet.txt.gz, used when present; CC BY-NC-SA, only token
counts are used, no text is copied), one-word names that look like common words in that general
news corpus are marked risky, and a و glued to the first word of a longer name is recognised
(--snn-cache FILE keeps the counts between runs). --log FILE writes every decision with its
counts (gazetteers/build/anercorp.log). The output is deterministic (rows sorted by id).
"""
import argparse
import collections
import gzip
import os
import re
import subprocess
import sys

TRAIN = "../shared/data/anercorp/ANERCorp_CamelLab_train.reconstructed.txt"
SNN = "../shared/data/saudinewsnet/saudinewsnet.txt.gz"
CREDIT = ("ANERcorp (Benajiba, Rosso & Benedí Ruiz 2007), CAMeL Lab train split, CC BY-SA 4.0, "
          "https://creativecommons.org/licenses/by-sa/4.0/")

# Thresholds (chosen on the 80/20 holdout of the train split, see ANERCORP.md).
MIN_TAGGED = 2        # tagged as the type at least this often (one-word names)
MIN_TAGGED_MULTI = 1  # the same for names of several words
MIN_RATIO = 0.7       # share of the occurrences tagged as exactly this chunk (any clitic)
MIN_RATIO_ONE = 0.7   # the same for one-word names
SNN_MIN = 50          # evidence needed for a SaudiNewsNet common-word test

# The proclitic runs the matcher strips (src/chars.rs), longest first.
CLITICS = ["وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك"]

HARAKAT = re.compile("[\u064b-\u065f\u0670\u0640]")
FOLDS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
ARABIC_WORD = re.compile("^[\u0621-\u064a\u064b-\u065f\u0670\u0640]+$")
TYPE_OF = {"PERS": "PER", "ORG": "ORG", "LOC": "GPE"}
# First words (folded) of names that are regions, seas, rivers, mountains: type LOC, not GPE.
LOC_WORDS = {"البحر", "بحر", "المحيط", "محيط", "نهر", "جبل", "جبال", "وادي", "صحراء", "الصحراء",
             "خليج", "الخليج", "شبه", "قاره", "هضبه", "سهل", "بحيره", "مضيق", "قناه", "الشرق",
             "الغرب", "منطقه", "جزر", "جزيره"}
LOC_NAMES = {"اوروبا", "اسيا", "افريقيا", "امريكا اللاتينيه", "الشرق الاوسط", "البلقان",
             "القوقاز", "الخليج", "الشرق الاقصي", "المغرب العربي", "الساحل", "اوقيانوسيا",
             "امريكا الشماليه", "امريكا الجنوبيه", "اوروبا الشرقيه", "اوروبا الغربيه",
             "الضفه الغربيه", "قطاع غزه", "غزه", "الجولان", "سيناء", "كشمير"}
# Peoples, sects and tribes that ANERcorp tags ORG or LOC: alam types them NORP (folded).
NORP_NAMES = {"الاكراد", "اكراد", "البانتو", "الماوري", "قريش", "شيعه", "الشيعه", "السنه", "الامازيغ",
              "البربر", "الطوارق", "الهوتو", "التوتسي", "البشتون", "الاوزبك", "الهزاره", "الدروز",
              "الموارنه", "الاقباط", "الاشوريين", "الكلدان"}
PRONOUN_SUFFIXES = ["ها", "هم", "هما", "كم", "نا", "هن", "ه"]
TRANSLIT = dict(zip("ابتثجحخدذرزسشصضطظعغفقكلمنهوي", [
    "a", "b", "t", "th", "j", "h", "kh", "d", "dh", "r", "z", "s", "sh", "s", "d", "t", "z", "e",
    "gh", "f", "q", "k", "l", "m", "n", "h", "w", "y"]))


def fold(word):
    return HARAKAT.sub("", word).translate(FOLDS)


def read_conll(path):
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            token, _, tag = line.rstrip().rpartition(" ")
            token = token.strip()
            if token:
                current.append((token, tag))
    if current:
        sentences.append(current)
    return sentences


def chunks(tags):
    """conlleval chunks of IOB2 tags: (start, end, type)."""
    out, open_ = [], None
    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        if prefix == "I" and open_ and open_[1] == kind:
            continue
        if open_:
            out.append((open_[0], i, open_[1]))
            open_ = None
        if prefix in ("B", "I"):
            open_ = (i, kind)
    if open_:
        out.append((open_[0], len(tags), open_[1]))
    return out


def strips(token):
    """The names a folded token can stand for after the matcher strips a proclitic run: the
    remainder, and for runs ending in ل the ال-name of a لل form (للأمم -> الامم)."""
    out = []
    for c in CLITICS:
        if token.startswith(c) and len(token) - len(c) >= 2:
            rest = token[len(c):]
            out.append((c, rest))
            if c.endswith("ل") and rest.startswith("ل"):
                out.append((c, "ا" + rest))
    return out


def known_names(path):
    if path:
        text = open(path, encoding="utf-8").read()
    else:
        text = subprocess.run(
            ["cargo", "run", "--release", "-q", "--", "gazetteer", "names", "--normalized", "--long"],
            check=True, capture_output=True, text=True).stdout
    known = set()
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1].startswith("anercorp_"):
            continue
        known.add(fold(parts[0]))
    return known


def snn_counts(path, cache=None):
    """Counts of every folded token of SaudiNewsNet (an empty Counter when the file is absent).
    With `cache`, the counts are kept in that pickle file for the next run."""
    if cache and os.path.exists(cache):
        import pickle
        with open(cache, "rb") as f:
            return pickle.load(f)
    counts = collections.Counter()
    if not os.path.exists(path):
        print(f"{path} is absent: no SaudiNewsNet tests", file=sys.stderr)
        return counts
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            counts.update(fold(t.strip(".,،:;؛!?؟\"'()[]«»-")) for t in line.split())
    if cache:
        import pickle
        with open(cache, "wb") as f:
            pickle.dump(counts, f)
    return counts


def common_word_forms(name):
    """The forms whose counts decide whether a one-word name is a common word."""
    full = name
    forms = {"bare": {name}, "def": set(), "undef": set(), "suffix": set(), "clitic": set()}
    if name.startswith("ال"):
        forms["undef"].add(name[2:])
        name = name[2:]
    else:
        forms["def"].add("ال" + name)
    stem = name[:-1] + "ت" if name.endswith("ه") else name
    for s in PRONOUN_SUFFIXES:
        forms["suffix"].add(stem + s)
    for c in ["و", "ف", "ب", "ل", "ك"]:
        forms["clitic"].add(c + full)
    return forms


def translit(name):
    s = "".join(TRANSLIT.get(ch, "_" if ch == " " else "") for ch in name)
    s = re.sub("_+", "_", s).strip("_")
    return s or "x"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=TRAIN)
    ap.add_argument("--holdout", metavar="FILE")
    ap.add_argument("--known", metavar="FILE")
    ap.add_argument("--snn", default=SNN)
    ap.add_argument("--snn-cache", metavar="FILE", help="keep the SaudiNewsNet counts here")
    ap.add_argument("--log", metavar="FILE")
    ap.add_argument("--min-tagged", type=int, default=MIN_TAGGED)
    ap.add_argument("--min-tagged-multi", type=int, default=MIN_TAGGED_MULTI)
    ap.add_argument("--min-ratio", type=float, default=MIN_RATIO)
    ap.add_argument("--min-ratio-one", type=float, default=MIN_RATIO_ONE)
    args = ap.parse_args()
    if "test" in os.path.basename(args.train).lower() or os.path.basename(args.train) == "ANERCorp.txt":
        sys.exit("refusing to mine the test split or the full corpus: use the train split")

    sentences = read_conll(args.train)
    if args.holdout:
        # The last fifth, like the test split, which is the end of the corpus.
        cut = len(sentences) * 4 // 5
        mine, dev = sentences[:cut], sentences[cut:]
        with open(args.holdout, "w", encoding="utf-8") as f:
            for s in dev:
                f.write("".join(f"{t} {g}\n" for t, g in s) + "\n")
        sentences = mine

    # Folded tokens and gold chunks of the mining part, as one token stream (sentence ends are
    # kept as barriers: names never cross them).
    toks, words, gold = [], [], {}
    for s in sentences:
        base = len(toks)
        toks.extend(fold(t) for t, _ in s)
        words.extend(t for t, _ in s)
        for a, b, k in chunks([g for _, g in s]):
            gold[(base + a, base + b)] = k
        toks.append(None)
        words.append(None)
    covered = [None] * len(toks)  # the chunk (start, end) that covers each token
    for (a, b), k in gold.items():
        for i in range(a, b):
            covered[i] = (a, b)

    o_words = collections.Counter(t for t, c in zip(toks, covered) if t and c is None)

    # Chunk surface forms: folded token tuples, with the written form most often seen.
    bare = collections.Counter()
    written = collections.defaultdict(collections.Counter)
    for (a, b), k in gold.items():
        if k in TYPE_OF:
            bare[tuple(toks[a:b])] += 1

    first_words = collections.Counter()  # folded first words of the chunks
    for seq, n in bare.items():
        first_words[seq[0]] += n

    def base_form(seq):
        """The chunk without a proclitic run on its first word, when the remainder is a known
        name, or a chunk seen at least a quarter as often bare, or a more frequent first word of
        chunks (ويوسف عبد الله -> يوسف عبد الله), or an ال-word after و (والباكيها), or a first
        word that SaudiNewsNet has far more often without the clitic: وإسرائيل -> إسرائيل, but
        بغداد, بكين, وليد stay."""
        best, best_n = seq, 0
        for c, rest in strips(seq[0]):
            cand = (rest,) + seq[1:]
            if " ".join(cand) in known:
                n = 10**6
            elif bare[cand] and bare[cand] * 4 >= bare[seq]:
                n = bare[cand] * 1000
            elif first_words[rest] and first_words[rest] >= first_words[seq[0]]:
                n = first_words[rest]
            elif c == "و" and rest.startswith("ال") and len(rest) >= 5:
                n = 1
            elif (c == "و" and len(seq) > 1 and len(rest) >= 3 and o_words[rest] < 3
                  and snn[rest] >= 3 and snn[rest] >= 3 * snn[seq[0]]):
                # The first word of a longer name, far more frequent without و in general news
                # and not a common word of the train split: وعبير أحمد -> عبير أحمد.
                n = 1
            else:
                continue
            if n > best_n:
                best, best_n = cand, n
        return best

    known = known_names(args.known)
    snn = snn_counts(args.snn, args.snn_cache)
    # Candidates: base forms of the PERS/LOC/ORG chunks.
    tagged = collections.defaultdict(collections.Counter)  # base -> type -> count
    for (a, b), k in gold.items():
        if k not in TYPE_OF:
            continue
        seq = tuple(toks[a:b])
        if not all(t and ARABIC_WORD.match(t) for t in seq):
            continue
        base = base_form(seq)
        tagged[base][k] += 1
        shift = len(seq[0]) - len(base[0])
        first = words[a][shift:] if shift > 0 else words[a]
        if shift > 0 and base[0].startswith("ا") and not fold(first).startswith("ا"):
            first = "ا" + first  # لل form: restore the article's alef
        if fold(first) != base[0]:
            first = base[0]
        written[base][" ".join((first,) + tuple(words[a + 1:b]))] += 1

    # Every occurrence of every candidate, bare or after a proclitic run.
    index = collections.defaultdict(list)  # folded first word -> positions
    for i, t in enumerate(toks):
        if t is None:
            continue
        index[t].append(i)
        for _, rest in strips(t):
            index[rest].append(i)

    def occurrences(name):
        n = len(name)
        for i in set(index.get(name[0], ())):
            if tuple(toks[i + 1:i + n]) == name[1:]:
                yield i, i + n

    log = []
    rows = []
    stats = collections.Counter()
    one_word = {}
    def is_name(words):
        return " ".join(words) in known or tuple(words) in tagged

    def coordination(name):
        """Two names joined by و (فرنسا وإيطاليا, نيويورك ولندن): not one name."""
        for i in range(1, len(name)):
            w = name[i]
            if w.startswith("و") and is_name(name[:i]) and is_name((w[1:],) + name[i + 1:]):
                return True
        return False

    kept = set()  # folded names kept so far, longest first
    # Longer names first: an occurrence inside a longer chunk whose name is kept (or known) is
    # no error, since the matcher prefers the longer name (بوش in جورج بوش).
    for name, types in sorted(tagged.items(), key=lambda kv: (-len(kv[0]), kv[0])):
        kind, n_kind = types.most_common(1)[0]
        folded = " ".join(name)
        if folded in known:
            stats["known"] += 1
            log.append(("known", folded, kind, n_kind, 0, 0, 0))
            continue
        if coordination(name):
            stats["dropped"] += 1
            log.append(("coordination", folded, kind, n_kind, 0, 0, 0))
            continue
        exact = other = o = inside = 0
        for a, b in occurrences(name):
            k = gold.get((a, b))
            if k == kind:
                exact += 1
            elif k is not None:
                other += 1
            elif all(covered[i] is None for i in range(a, b)):
                o += 1
            else:
                outer = covered[a]
                if outer and all(covered[i] == outer for i in range(a, b)):
                    longer = " ".join(base_form(tuple(toks[outer[0]:outer[1]])))
                    if longer in kept or longer in known:
                        continue
                inside += 1
        total = exact + other + o + inside
        ratio = exact / total if total else 0.0
        min_ratio = args.min_ratio_one if len(name) == 1 else args.min_ratio
        min_tagged = args.min_tagged if len(name) == 1 else args.min_tagged_multi
        if exact < min_tagged or ratio < min_ratio:
            stats["dropped"] += 1
            log.append(("dropped", folded, kind, exact, o, other, inside))
            continue
        if len(name) == 1:
            one_word[folded] = common_word_forms(folded)
        rows.append((name, kind, exact, o, other, inside))
        kept.add(folded)

    # One-word names that look like common words in general news are risky.
    risky = {}
    if one_word and snn:
        counts = snn
        for name, forms in one_word.items():
            n = counts[name]
            d = sum(counts[f] for f in forms["def"])
            u = sum(counts[f] for f in forms["undef"])
            s = sum(counts[f] for f in forms["suffix"])
            c = max([counts[f] for f in forms["clitic"]] or [0])
            reasons = []
            if d >= SNN_MIN and d * 2 >= n:
                reasons.append(f"ال-form {d} vs {n}")
            if u >= SNN_MIN and u * 3 >= n and o_words[name[2:]] >= 2:
                reasons.append(f"form without ال {u} vs {n}, tagged O {o_words[name[2:]]} in train")
            if s >= SNN_MIN and s * 2 >= n:
                reasons.append(f"pronoun suffixes {s} vs {n}")
            if c >= SNN_MIN and c > 3 * n:
                reasons.append(f"clitic word {c} vs {n}")
            if len(name) <= 2:
                reasons.append("two letters")
            if reasons:
                risky[name] = "; ".join(reasons)

    # Person names that begin the longer person names of two or more people are given names
    # (إسماعيل, صبري, عبد العزيز): alone they are risky.
    longer = collections.defaultdict(set)
    for (a, b), k in gold.items():
        if k == "PERS" and b - a > 1:
            seq = base_form(tuple(toks[a:b]))
            for i in range(1, len(seq)):
                longer[seq[:i]].add(seq)
    for name, kind, *_ in rows:
        folded = " ".join(name)
        if kind == "PERS" and len(longer[name]) >= 2:
            reason = f"given name of {len(longer[name])} longer names"
            risky[folded] = f"{risky[folded]}; {reason}" if folded in risky else reason

    # Group the names of one entity: folded forms equal once the space after عبد / ابو is
    # removed (عبد الله / عبدالله), and places with and without ال.
    def group_key(name, kind):
        key = re.sub(r"\b(عبد|ابو) ", r"\1", " ".join(name))
        if kind == "LOC" and key.startswith("ال") and len(name) == 1:
            key = key[2:]
        return (kind, key)

    groups = collections.defaultdict(list)
    for row in rows:
        groups[group_key(row[0], row[1])].append(row)

    out = []
    used_ids = set()
    for (kind, _), members in groups.items():
        members.sort(key=lambda r: (-r[2], r[0]))
        main_name = members[0][0]
        folded_main = " ".join(main_name)
        typ = TYPE_OF[kind]
        if kind == "LOC" and (folded_main in LOC_NAMES or main_name[0] in LOC_WORDS):
            typ = "LOC"
        if folded_main in NORP_NAMES:
            typ = "NORP"
        names = []
        for m in members:
            forms = written[m[0]].most_common()
            name_written = forms[0][0]
            names.append((name_written, " ".join(m[0]) in risky))
            stats["risky" if " ".join(m[0]) in risky else "kept"] += 1
            log.append(("risky" if " ".join(m[0]) in risky else "kept", " ".join(m[0]), kind,
                        m[2], m[3], m[4], m[5]))
        slug = translit(folded_main)
        base_id = f"anercorp_{typ.lower()}_{slug}"[:60].rstrip("_")
        eid, n = base_id, 2
        while eid in used_ids:
            eid, n = f"{base_id}_{n}", n + 1
        used_ids.add(eid)
        canonical, canonical_risky = names[0]
        aliases = [("~" if r else "") + w for w, r in names[1:]]
        all_risky = all(r for _, r in names)
        if canonical_risky and not all_risky:
            # A risky canonical name with a sure alias: the sure one becomes canonical.
            sure = next(w for w, r in names if not r)
            aliases = [("~" if r else "") + w for w, r in names if w != sure]
            canonical = sure
        flags = "risky" if all_risky else ""
        if all_risky:
            aliases = [a.lstrip("~") for a in aliases]
        out.append((eid, typ, canonical, "", "|".join(aliases), "", flags, ""))

    out.sort()
    print(f"# Names mined from {CREDIT}.")
    print("# Generated by gazetteers/build/mine_anercorp.py (rules and figures: gazetteers/build/ANERCORP.md); do not edit by hand.")
    print("id\ttype\tname_ar\tname_en\taliases\tqid\tflags\tparent")
    for row in out:
        print("\t".join(row))
    print(f"mined {len(out)} entities from {len(tagged)} candidate names: {stats['kept']} kept, "
          f"{stats['risky']} kept as risky, {stats['dropped']} dropped, {stats['known']} already known",
          file=sys.stderr)
    if args.log:
        with open(args.log, "w", encoding="utf-8") as f:
            f.write("# decision\tname (folded)\ttype\ttagged\tO\tother type\tinside a longer chunk\n")
            for entry in sorted(log, key=lambda e: (e[0], -e[3], e[1])):
                f.write("\t".join(str(x) for x in entry))
                if entry[0] == "risky":
                    f.write("\t" + risky[entry[1]])
                f.write("\n")


if __name__ == "__main__":
    main()
