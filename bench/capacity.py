#!/usr/bin/env python3
"""Per-core rates of every stage, for the README's capacity plan.

Runs with `--threads 1`: the bilingual text pipeline (normalize → langid → quality →
exact_dedup → minhash_dedup → substring_dedup → line_dedup → mix → tokenize, training a
32k tokenizer), the dedup stages alone on the whole corpus, tokenize alone with that
trained tokenizer, and the web pipeline (extract → normalize → langid). Prints, per stage:
documents and bytes in (HTML bytes for extract), the stage's seconds and those of its
reduce (a global stage's one-node part; the tokenizer training is neither), MB/s and documents/s per core from
the stage's seconds, and the bytes it left under `_work` (spill) per input document, and
each run's peak RSS (`/usr/bin/time`).

  python3 bench/capacity.py --taojin target/release/taojin \\
      --corpus ../shared/corpus/bilingual-real.jsonl.zst --html ../shared/corpus/html-real.jsonl.zst

Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

def stages(*kinds):
    return "".join(f'\n[[stages]]\nkind = "{k}"\n' for k in kinds)


LANGID = '\n[[stages]]\nkind = "langid"\nmodel = "{model}"\n'
DEDUP = ("exact_dedup", "minhash_dedup", "substring_dedup", "line_dedup")
MIX = """
[[stages]]
kind = "mix"

[[stages.sources]]
name = "en"
where = "lang = 'en'"
weight = 0.4

[[stages.sources]]
name = "zh"
where = "lang IN ('zh-Hans', 'zh-Hant')"
weight = 0.6
"""
MIX_ALL = '\n[[stages]]\nkind = "mix"\n\n[[stages.sources]]\nname = "all"\nwhere = "true"\nweight = 1.0\n'
TOKENIZE = '\n[[stages]]\nkind = "tokenize"\ntokenizer = "{tokenizer}"\nseq_len = 2048\n'

TEXT_STAGES = (stages("normalize") + LANGID + 'keep = ["en", "zh-Hans", "zh-Hant"]\n'
               + stages("quality", *DEDUP) + MIX
               + TOKENIZE.replace("{tokenizer}", "{out}-tokenizer.json") + "train_vocab = 32000\n")
DEDUP_STAGES = stages("normalize", *DEDUP)
TOKENIZE_STAGES = stages("normalize") + MIX_ALL + TOKENIZE.replace("{tokenizer}", "{work}/out-text-tokenizer.json")
WEB_STAGES = stages("extract", "normalize") + LANGID


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def measure(taojin, name, corpus, stages, work, threads, extra=""):
    out = os.path.join(work, f"out-{name}")
    job = os.path.join(work, f"{name}.toml")
    with open(job, "w") as f:
        f.write(f'[job]\nname = "{name}"\noutput = "{out}"\non_bad_record = "skip"\n'
                f'\n'
                f'[[inputs]]\nname = "corpus"\npath = "{corpus}"\n{extra}\n{stages}')
    time_cmd = ["/usr/bin/time", "-f", "%M", taojin, "run", job, "--threads", str(threads)]
    start = time.perf_counter()
    proc = subprocess.run(time_cmd, capture_output=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {job}\n{proc.stderr.decode(errors='replace')[-3000:]}")
    rss_mib = int(proc.stderr.decode().strip().splitlines()[-1]) / 1024
    stats = json.load(open(os.path.join(out, "stats.json")))
    rows = []
    for st in stats["stages"]:
        secs = st["seconds"]
        mb = (st["counters"].get("html_bytes") or st["bytes_in"]) / 1e6
        spill = du(os.path.join(out, st["name"], "_work"))
        rows.append((st["name"], st["docs_in"], mb, secs, st.get("counters", {}).get("reduce_ms", 0) / 1e3,
                     mb / secs if secs else 0, st["docs_in"] / secs if secs else 0,
                     spill / max(st["docs_in"], 1), st.get("counters", {})))
    return wall, rss_mib, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--html", required=True)
    ap.add_argument("--model", default=os.path.abspath("models/lid.176.ftz"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="taojin-capacity-")
    taojin = os.path.abspath(args.taojin)
    corpus, html = os.path.abspath(args.corpus), os.path.abspath(args.html)
    for name, corpus, stages, extra in [
        ("text", corpus, TEXT_STAGES, ""),
        ("dedup", corpus, DEDUP_STAGES, ""),
        ("tokenize", corpus, TOKENIZE_STAGES, ""),
        ("web", html, WEB_STAGES, 'html_field = "html"\n'),
    ]:
        out = os.path.join(work, f"out-{name}")
        stages = stages.format(model=args.model, out=out, work=work)
        wall, rss, rows = measure(taojin, name, corpus, stages, work, args.threads, extra)
        print(f"\n## {name}: {corpus}, --threads {args.threads}: {wall:.1f} s wall, peak RSS {rss:.0f} MiB\n")
        print("| stage | docs in | MB in | stage s | reduce s | MB/s/core | docs/s/core | _work B/doc |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name_, docs, mb, secs, tsecs, mbs, dps, spill, _ in rows:
            print(f"| {name_} | {docs:,} | {mb:.1f} | {secs:.2f} | {tsecs:.2f} | "
                  f"{mbs / args.threads:.1f} | {dps / args.threads:,.0f} | {spill:.0f} |")
        for name_, *_, counters in rows:
            if name_ == "substring_dedup":
                print(f"\nsubstring_dedup counters: {json.dumps(counters)}")
        if name == "text":
            # What substring_dedup cut, per language, from its kept rows (taojin sql).
            print("\nsubstring_dedup per language (kept documents):\n")
            print(subprocess.run([taojin, "sql", os.path.join(work, "out-text"),
                                  'SELECT lang, count(*) AS docs, '
                                  'sum(CASE WHEN "substring_dedup.spans" > 0 THEN 1 ELSE 0 END) AS docs_cut, '
                                  'sum("substring_dedup.spans") AS spans, '
                                  'sum("substring_dedup.bytes_removed") AS bytes_removed, '
                                  'round(100.0 * sum("substring_dedup.bytes_removed") / '
                                  '(sum(octet_length(text)) + sum("substring_dedup.bytes_removed")), 2) AS pct '
                                  'FROM substring_dedup GROUP BY lang ORDER BY lang'],
                                 check=True, capture_output=True, text=True).stdout)
    print(f"\nwork dir: {work}")


if __name__ == "__main__":
    main()
