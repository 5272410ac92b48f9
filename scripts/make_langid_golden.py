#!/usr/bin/env python3
"""Regenerate filters/tests/data/langid_golden.jsonl from scripts/langid_golden_texts.txt.

Reference: official fastText predict code as packaged in PyPI `fasttext-predict==0.9.2.4`,
with the model models/lid.176.ftz (fetch it with scripts/fetch_models.sh).

    python3 -m venv /tmp/ftvenv && /tmp/ftvenv/bin/pip install fasttext-predict==0.9.2.4
    scripts/fetch_models.sh
    /tmp/ftvenv/bin/python scripts/make_langid_golden.py

For each text, `input` is the exact string given to `model.predict(input, k=2)`:
the text with every "\\n" replaced by one space (fastText's Python predict refuses
newlines; it appends one "\\n" itself, so the EOS token `</s>` is part of every prediction).
Labels are stored without the `__label__` prefix; probs are repr() of the floats
fastText returned (float32 values widened to Python floats).
"""
import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "scripts" / "langid_golden_texts.txt"
OUT = ROOT / "filters" / "tests" / "data" / "langid_golden.jsonl"
MODEL = ROOT / "models" / "lid.176.ftz"
MODEL_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
PREFIX = "__label__"


def unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "n":
                out.append("\n")
            elif n == "t":
                out.append("\t")
            elif n == "\\":
                out.append("\\")
            else:
                raise ValueError(f"unknown escape \\{n} in {s!r}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_texts(path: Path):
    items = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        lang, sep, text = raw.partition("\t")
        if not sep:
            sys.exit(f"{path}:{lineno}: expected LANG<TAB>TEXT")
        items.append((lang.strip(), unescape(text)))
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, default=SRC)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--model", type=Path, default=MODEL)
    args = ap.parse_args()

    try:
        import fasttext  # provided by fasttext-predict
    except ImportError:
        sys.exit("import fasttext failed: run with a venv that has fasttext-predict==0.9.2.4")
    try:
        from importlib.metadata import version
        ftver = version("fasttext-predict")
    except Exception:
        ftver = "unknown"
    if ftver != "0.9.2.4":
        print(f"warning: fasttext-predict {ftver}, golden file was made with 0.9.2.4", file=sys.stderr)

    digest = hashlib.sha256(args.model.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        sys.exit(f"{args.model}: sha256 {digest} != pinned {MODEL_SHA256}; run scripts/fetch_models.sh")
    model = fasttext.load_model(str(args.model))

    items = read_texts(args.src)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    counts = {}
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for lang, text in items:
            inp = text.replace("\n", " ")
            labels, probs = model.predict(inp, k=2)
            labels = [l[len(PREFIX):] if l.startswith(PREFIX) else l for l in labels]
            rec = {
                "text": text,
                "input": inp,
                "expected_lang": lang,
                "labels": labels,
                "probs": [float(p) for p in probs],
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            counts[lang] = counts.get(lang, 0) + 1
    print(f"wrote {sum(counts.values())} records to {args.out} (fasttext-predict {ftver})")
    for lang in sorted(counts):
        print(f"  {lang:8s} {counts[lang]}")


if __name__ == "__main__":
    main()
