#!/usr/bin/env python3
"""Writes the committed seed corpus of every fuzz target (fuzz/corpus/<target>/seed-*) from
seeds/*.txt, gazetteers/*.tsv and gazetteers/rules/relations.tsv. Run from anywhere:
`python3 fuzz/make_seeds.py`. The seeds stay small (a few KB each, well under 1 MB in all)."""
import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def paragraphs():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "seeds", "*.txt"))):
        with open(path, encoding="utf-8") as f:
            paras = [p for p in f.read().split("\n") if p.strip()]
        out.append(paras)
    return out


# Pasted-from-PDF and web noise: presentation forms (ﻻ ﻷ ﷲ and a word in isolated/final forms),
# harakat and tatweel, invisible and bidi marks, a BOM, NUL, CRLF, Arabic-Indic digits.
SPECIAL = [
    ("pdf", "ﻭﺻﻠﺖ ﻗﻮﺍﺕ ﻓﺎﺟﻨﺮ ﺇﻟﻰ ﺑﺎﻣﺎﻛﻮ ﻭﺍﻟﺠﺰﺍﺋﺮ ﻷﻓﺮﻳﻘﻴﺎ ﷲ ﻻ"),
    ("marks", "وَصَلَتْ قُوَّاتُ فَاغْنَرَ إِلَى بَـامَـاكُـو\u064e\u064e\u064e وَمُوسْكُو"),
    ("bidi", "\u200f\u202bوصل\u202c \u2067فاغنر\u2069 إلى \u200eباماكو\u200e\u200d و\u200cموسكو\u061c"),
    ("bom-nul-crlf", "\ufeffقال لافروف\r\nللجزائر\x00 ومالي ٢٠٢٥\r\n"),
]


def main():
    paras = paragraphs()
    picked = []
    for doc in paras:
        picked.extend(doc[:2])
    picked = [p[:700] for p in picked]  # bytes are bounded below too

    # normalize: paragraphs and noise.
    for i, p in enumerate(picked[:6]):
        write("normalize", f"para{i}", p.encode("utf-8")[:1200])
    for name, text in SPECIAL:
        write("normalize", name, text)

    # extract: a gazetteer line, then a text.
    heads = [
        "فاغنر,فاجنر,مجموعة فاغنر|مالي,~مالى|الجزائر|باماكو|الفيلق الأفريقي,فيلق أفريقيا|~غويتا,أسيمي غويتا",
        "!نصرة الإسلام والمسلمين,جماعة نصرة الإسلام والمسلمين|القاعدة,تنظيم القاعدة|باماكو|الولايات المتحدة|~مالي",
        "روسيا|روسيًا|موسكو|لافروف,سيرغي لافروف|~كره|بوركينا فاسو",
    ]
    for i, p in enumerate(picked[:6]):
        write("extract", f"para{i}", heads[i % len(heads)] + "\n" + p)
    for name, text in SPECIAL:
        write("extract", name, heads[0] + "\n" + text)

    # gazetteer: the head of every shipped file, and a small complete one.
    for path in sorted(glob.glob(os.path.join(ROOT, "gazetteers", "*.tsv"))):
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        write("gazetteer", os.path.basename(path), "\n".join(lines[:12]) + "\n")
    write(
        "gazetteer",
        "example.tsv",
        "id\ttype\tname_ar\tname_en\taliases\tqid\tflags\tparent\n"
        "wagner_group\tORG\tمجموعة فاغنر\tWagner Group\tفاغنر|فاجنر|ڤاغنر|مجموعة فاجنر\t\tforeign\t\n"
        "mali\tGPE\tمالي\tMali\t~مالى|جمهورية مالي\tQ912\t\t\n"
        "malian\tNORP\tمالي\tMalian\tالمالي|الماليين\t\t\tmali\n",
    )

    # jsonl: records of the seed paragraphs, ids of every JSON kind, and broken lines.
    records = []
    for i, p in enumerate(picked[:4]):
        records.append(json.dumps({"id": f"doc{i}", "text": p[:300]}, ensure_ascii=i % 2 == 0))
    write("jsonl", "records", "\n".join(records) + "\n")
    write(
        "jsonl",
        "mixed",
        '{"id": 7, "text": "وصل الوفد إلى باماكو"}\r\n'
        '{"text": "قال لافروف للجزائر"}\n'
        "\n"
        '{"id": null, "text": "\\u0641\\u0627\\u063a\\u0646\\u0631 \\ud800"}\n'
        '{"id": [1, {"a": 2}], "text": 5}\n'
        "not json\n"
        '\ufeff{"id": "bom", "text": "موسكو"}\n'
        '{"id": "last", "text": "ﻭﺻﻠﺖ ﻓﺎﺟﻨﺮ\\u200f"}',
    )
    write("jsonl", "nested", '{"id": 1, "text": ' + "[" * 40 + "]" * 40 + "}\n")

    # relations: the rule file, then a text.
    text = picked[0] if picked else ""
    path = os.path.join(ROOT, "gazetteers", "rules", "relations.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            rules = f.read()
        write("relations", "relations.tsv", rules[:6000] + "\n---\n" + text)
    write(
        "relations",
        "small.tsv",
        "type\ttriggers\thead\ttail\torder\tgap\tnegation\trole\tflags\n"
        "visited\tزار|يزور|زيارة*\tPER\tGPE\thead trigger tail\t3,1\tلم|نفى\t\t\n"
        "member_of\tالمكون من\tGPE\tORG\ttail trigger head\t2,1\t\t\t\n"
        "---\n"
        "زار سيرغي لافروف باماكو. ويذكر أن تحالف \"دول الساحل\" المكون من مالي وبوركينا فاسو والنيجر.",
    )


if __name__ == "__main__":
    main()
