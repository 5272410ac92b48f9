#!/usr/bin/env python3
"""The learned filters (#13) on the real corpus: n-gram LM, perplexity, safety, topics.

Run with the test venv's Python (it has `kenlm` and `duckdb`):

  .venv/bin/python bench/learned_bench.py --taojin target/release/taojin \\
      --corpus ../shared/corpus/bilingual-real.jsonl.zst --labelled bench/safety_eval/labelled.jsonl

1. Splits the corpus: man pages and HTML docs whose sha1(id) is even are the reference
   text (CCNet trains on Wikipedia; here clean documentation stands in), per language
   (en; zh = zh-Hans + zh-Hant); everything else is scored.
2. `taojin train-lm` per language (order 5): seconds, peak RSS, n-grams.
3. Parity: 3,000 scored lines through `taojin lm-score --show-words` and through the
   `kenlm` module on the same ARPA file: the largest |difference| of log10 probability.
   Speed: lines/s of both on one core, model loading apart.
4. The perplexity stage (annotate) over the scored documents: per-language p10/p50/p90,
   the run's p30/p60 cut-offs, and per `meta.kind` how much lands in the tail (what
   `mode = "drop"` would remove) against head + middle (kept).
5. Safety on the labelled set (precision / recall per language and family, false
   positives per kind of clean page) and on the real corpus (share removed: all false
   positives, as it has no spam).
6. Topics (k = 16) over the scored documents: purity against `meta.kind` and against
   the source package beside a random assignment of the same cluster sizes; docs/s.
"""

import argparse
import filecmp
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

import duckdb
import kenlm


def read_corpus(path):
    out = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return [json.loads(l) for l in out.decode().splitlines() if l.strip()]


def peak_rss(cmd):
    """Seconds and peak RSS (MiB) of cmd via /usr/bin/time."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True)
    secs = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr.decode(errors='replace')[-2000:]}")
    return secs, int(p.stderr.decode().strip().splitlines()[-1]) / 1024, p.stdout.decode()


def lang_group(lang):
    return "zh" if lang.startswith("zh") else lang


def write_jsonl(path, docs):
    with open(path, "w") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")


def run_job(taojin, work, name, inputs, stages, threads=1):
    out = os.path.join(work, f"out-{name}")
    job = os.path.join(work, f"{name}.toml")
    with open(job, "w") as f:
        f.write(f'[job]\nname = "{name}"\noutput = "{out}"\non_bad_record = "skip"\nreport = false\n\n')
        for i, path in enumerate(inputs):
            f.write(f'[[inputs]]\nname = "in{i}"\npath = "{path}"\n\n')
        f.write(stages)
    secs, rss, _ = peak_rss([taojin, "run", job, "--threads", str(threads)])
    stats = json.load(open(os.path.join(out, "stats.json")))
    return out, secs, rss, {s["name"]: s for s in stats["stages"]}


def parquet(out, stage, removed=False):
    sub = "removed/" if removed else ""
    return f"read_parquet('{out}/{stage}/{sub}part-*.parquet', union_by_name=true)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--labelled", default="bench/safety_eval/labelled.jsonl")
    ap.add_argument("--model", default=os.path.abspath("models/lid.176.ftz"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--parts", default="lm,ppl,safety,topics", help="which sections to run (lm trains the models the others need)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    taojin = os.path.abspath(args.taojin)
    work = args.work or tempfile.mkdtemp(prefix="taojin-learned-")
    os.makedirs(work, exist_ok=True)
    docs = read_corpus(args.corpus)

    # 1. Reference and scored sets.
    ref, scored = defaultdict(list), []
    for d in docs:
        kind, lang = d["meta"].get("kind"), d["meta"].get("lang", "")
        even = hashlib.sha1(d["id"].encode()).digest()[0] % 2 == 0
        if kind in ("manpage", "html-doc") and even and lang_group(lang) in ("en", "zh"):
            ref[lang_group(lang)].append({"id": d["id"], "text": d["text"]})
        else:
            scored.append(d)
    write_jsonl(os.path.join(work, "scored.jsonl"), scored)
    print(f"# learned filters on {args.corpus}\n")
    print(f"reference: en {len(ref['en'])} docs, zh {len(ref['zh'])} docs; scored: {len(scored)} docs\n")

    # 2. train-lm.
    arpa = {lang: os.path.join(work, f"{lang}.arpa") for lang in ("en", "zh")}
    if "lm" in parts:
        train_and_compare(taojin, work, ref, scored, arpa)
    if "ppl" in parts:
        perplexity(taojin, work, args.model, arpa)
    if "safety" in parts:
        safety(taojin, work, args.labelled)
    if "topics" in parts:
        topics(taojin, work)
    print(f"\nwork dir: {work}")


def train_and_compare(taojin, work, ref, scored, arpa):
    print("## train-lm (order 5)\n\n| lang | reference MB | seconds | peak RSS MiB | n-grams per order | ARPA MB |\n|---|---:|---:|---:|---|---:|")
    for lang in ("en", "zh"):
        path = os.path.join(work, f"ref-{lang}.jsonl")
        write_jsonl(path, ref[lang])
        secs, rss, out = peak_rss([taojin, "train-lm", "--input", path, "--order", "5", "--out", arpa[lang]])
        counts = out.split("n-grams per order ")[1].split(";")[0]
        print(f"| {lang} | {os.path.getsize(path) / 1e6:.1f} | {secs:.1f} | {rss:.0f} | {counts} | {os.path.getsize(arpa[lang]) / 1e6:.0f} |")
    # Bounded memory: the same model from a 32 MiB budget, sorted runs spilled.
    print("\n| lang | --memory | seconds | peak RSS MiB | runs spilled | same ARPA bytes |\n|---|---|---:|---:|---:|---|")
    for lang in ("en", "zh"):
        small = arpa[lang] + ".small"
        path = os.path.join(work, f"ref-{lang}.jsonl")
        secs, rss, out = peak_rss([taojin, "train-lm", "--input", path, "--order", "5", "--memory", "32MiB",
                                   "--tmp", os.path.join(work, "spill"), "--out", small])
        runs = out.split("budget: ")[1].split(" ")[0] if "budget: " in out else "0"
        same = filecmp.cmp(small, arpa[lang], shallow=False)
        os.remove(small)
        print(f"| {lang} | 32MiB | {secs:.1f} | {rss:.0f} | {runs} | {same} |")

    # 3. Parity and speed against kenlm.
    rng = random.Random(1)
    print("\n## scoring: taojin lm-score against the kenlm module, same ARPA, one core\n")
    print("| lang | lines | max abs diff vs score() | vs Σ full_scores | taojin load s | taojin lines/s | kenlm load s | kenlm lines/s | ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for lang in ("en", "zh"):
        lines = [l for d in scored if lang_group(d["meta"].get("lang", "")) == lang for l in d["text"].splitlines() if l.strip()]
        lines = rng.sample(lines, min(3000, len(lines)))
        inp = "\n".join(lines) + "\n"
        t0 = time.perf_counter()
        subprocess.run([taojin, "lm-score", arpa[lang]], input="\n", capture_output=True, text=True, check=True)
        load_t = time.perf_counter() - t0
        reps = 200
        t0 = time.perf_counter()
        subprocess.run([taojin, "lm-score", arpa[lang]], input=inp * reps, capture_output=True, text=True, check=True)
        run_t = time.perf_counter() - t0 - load_t
        out = subprocess.run([taojin, "lm-score", arpa[lang], "--show-words"], input=inp, capture_output=True, text=True, check=True).stdout
        rows = [l.split("\t") for l in out.splitlines()]
        t0 = time.perf_counter()
        model = kenlm.Model(arpa[lang])
        k_load = time.perf_counter() - t0
        words = [r[3] if len(r) > 3 else "" for r in rows]
        t0 = time.perf_counter()
        for _ in range(reps):
            theirs = [model.score(w, bos=True, eos=True) for w in words]
        k_run = time.perf_counter() - t0
        diff = max(abs(float(r[0]) - t) for r, t in zip(rows, theirs))
        # kenlm's score() adds in single precision; its per-word scores added in double:
        exact = max(abs(float(r[0]) - sum(p for p, _, _ in model.full_scores(w))) for r, w in zip(rows, words))
        n = len(lines) * reps
        print(f"| {lang} | {len(lines)} × {reps} | {diff:.2e} | {exact:.2e} | {load_t:.2f} | {n / run_t:,.0f} | {k_load:.2f} | {n / k_run:,.0f} | {(n / run_t) / (n / k_run):.2f}× |")
    print("\n(kenlm is timed on the words already split by taojin, so its number leaves out the unit splitting taojin's"
          " includes. kenlm's score() sums in single precision, so long lines drift ~1e-4 from any double sum; the"
          " second column adds its per-word full_scores in double.)")



def perplexity(taojin, work, model, arpa):
    lid = f'\n[[stages]]\nkind = "normalize"\n\n[[stages]]\nkind = "langid"\nmodel = "{model}"\n'
    ppl = f'\n[[stages]]\nkind = "perplexity"\nmodels = {{ en = "{arpa["en"]}", zh = "{arpa["zh"]}" }}\n'
    out, secs, rss, st = run_job(taojin, work, "ppl", [os.path.join(work, "scored.jsonl")], lid + ppl)
    p = st["perplexity"]
    print(f"\n## perplexity stage: {p['docs_in']:,} documents, {p['seconds']:.1f} s ({p['docs_in'] / p['seconds']:,.0f} docs/s, "
          f"{p['bytes_in'] / 1e6 / p['seconds']:.1f} MB/s, --threads 1), run peak RSS {rss:.0f} MiB\n")
    cut = json.load(open(os.path.join(out, "perplexity", "_work", "cutoffs.json")))
    print("| lang | docs | p10 | p50 | p90 | p30 cut | p60 cut | median kept (head+middle) | median tail (drop removes) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    q = f"""select lang, count(*), quantile_cont("ppl.doc", 0.1), median("ppl.doc"), quantile_cont("ppl.doc", 0.9),
              median(case when "ppl.bucket" <> 'tail' then "ppl.doc" end), median(case when "ppl.bucket" = 'tail' then "ppl.doc" end)
            from {parquet(out, 'perplexity')} where "ppl.doc" is not null group by lang order by count(*) desc"""
    for lang, n, p10, p50, p90, kept, tail in duckdb.sql(q).fetchall():
        c = cut["langs"].get(lang, {}).get("ppl", [0, 0])
        print(f"| {lang} | {n:,} | {p10:,.0f} | {p50:,.0f} | {p90:,.0f} | {c[0]:,.0f} | {c[1]:,.0f} | {kept:,.0f} | {tail:,.0f} |")
    print("\nshare in the tail by kind (en + zh):\n\n| kind | docs | tail share | median ppl |\n|---|---:|---:|---:|")
    q = f"""select json_extract_string(meta, '$.meta.kind') k, count(*), avg(case when "ppl.bucket" = 'tail' then 1.0 else 0 end), median("ppl.doc")
            from {parquet(out, 'perplexity')} where "ppl.doc" is not null group by k order by 3 desc"""
    for k, n, share, med in duckdb.sql(q).fetchall():
        print(f"| {k} | {n:,} | {share:.2f} | {med:,.0f} |")



def safety(taojin, work, labelled):
    lab = [json.loads(l) for l in open(labelled)]
    out, _, _, st = run_job(taojin, work, "safety-lab", [os.path.abspath(labelled)], '\n[[stages]]\nkind = "safety"\n')
    removed = dict(duckdb.sql(f"select id, reason from {parquet(out, 'safety', True)}").fetchall())
    print("\n## safety on the labelled set\n\n| lang | unsafe docs | clean docs | precision | recall | family right | false positives |\n|---|---:|---:|---:|---:|---:|---:|")
    for lang in ("zh", "en"):
        rows = [d for d in lab if d["lang"] == lang]
        pos = [d for d in rows if d["label"] != "clean"]
        neg = [d for d in rows if d["label"] == "clean"]
        tp = sum(d["id"] in removed for d in pos)
        fp = sum(d["id"] in removed for d in neg)
        fam = sum(removed.get(d["id"]) == f"safety:{d['label']}" for d in pos)
        prec = tp / (tp + fp) if tp + fp else 0
        print(f"| {lang} | {len(pos)} | {len(neg)} | {prec:.2f} | {tp / len(pos):.2f} | {fam / max(tp, 1):.2f} | {fp} |")
    print("\nrecall per family:\n\n| family | zh | en |\n|---|---:|---:|")
    for fam in ("porn", "gambling", "violence", "drugs"):
        cells = []
        for lang in ("zh", "en"):
            pos = [d for d in lab if d["lang"] == lang and d["label"] == fam]
            cells.append(f"{sum(d['id'] in removed for d in pos)}/{len(pos)}")
        print(f"| {fam} | {cells[0]} | {cells[1]} |")
    # Other operating points, from the signals: unsafe when the worst family has
    # density ≥ 2 per 1,000 characters and at least `min_hits` weighted hits.
    fams = ("porn", "gambling", "violence", "drugs")
    cols = ", ".join(f'"safety.{f}"' for f in fams)
    sig = {r[0]: (r[1:5], r[5]) for r in duckdb.sql(
        f"select id, {cols}, length(text) from read_parquet(['{out}/safety/part-*.parquet', '{out}/safety/removed/part-*.parquet'], union_by_name=true)").fetchall()}
    print("\noperating points (max_density = 2; the default min_hits is 3):\n\n| min_hits | zh precision | zh recall | zh FP | en precision | en recall | en FP |\n|---:|---:|---:|---:|---:|---:|---:|")
    for mh in (1, 1.5, 2, 3, 4):
        cells = []
        for lang in ("zh", "en"):
            def flagged(d):
                dens, n = sig[d["id"]]
                w = max(range(4), key=lambda i: dens[i])
                return dens[w] >= 2 and dens[w] * n / 1000 >= mh - 1e-6
            rows = [d for d in lab if d["lang"] == lang]
            tp = sum(flagged(d) for d in rows if d["label"] != "clean")
            fp = sum(flagged(d) for d in rows if d["label"] == "clean")
            npos = sum(d["label"] != "clean" for d in rows)
            cells += [f"{tp / (tp + fp) if tp + fp else 0:.2f}", f"{tp / npos:.2f}", str(fp)]
        print(f"| {mh} | " + " | ".join(cells) + " |")
    fps = Counter((d["lang"], d["kind"]) for d in lab if d["label"] == "clean" and d["id"] in removed)
    kinds = Counter((d["lang"], d["kind"]) for d in lab if d["label"] == "clean")
    print("\nfalse positives on clean pages (default point), by kind: " + ", ".join(f"{l}/{k} {fps[(l, k)]}/{n}" for (l, k), n in sorted(kinds.items()) if fps[(l, k)]))
    out, _, _, st = run_job(taojin, work, "safety-real", [os.path.join(work, "scored.jsonl")], '\n[[stages]]\nkind = "normalize"\n\n[[stages]]\nkind = "safety"\n')
    s = st["safety"]
    print(f"\non the real corpus (no spam: every removal is a false positive): {s['docs_in'] - s['docs_kept']} of {s['docs_in']:,} "
          f"removed ({(s['docs_in'] - s['docs_kept']) / s['docs_in']:.2%}); {s['docs_in'] / s['seconds']:,.0f} docs/s, "
          f"{s['bytes_in'] / 1e6 / s['seconds']:.1f} MB/s on one thread")
    if s["docs_in"] > s["docs_kept"]:
        q = f"select id, reason, json_extract_string(meta, '$.meta.kind') from {parquet(out, 'safety', True)} order by id limit 8"
        for rid, reason, kind in duckdb.sql(q).fetchall():
            print(f"  {reason}: {rid} ({kind})")


def topics(taojin, work):
    out, secs, rss, st = run_job(taojin, work, "topics", [os.path.join(work, "scored.jsonl")],
                                 '\n[[stages]]\nkind = "normalize"\n\n[[stages]]\nkind = "topics"\nk = 16\n')
    t = st["topics"]
    rows = duckdb.sql(f"""select "topic.id", json_extract_string(meta, '$.meta.kind'), json_extract_string(meta, '$.source') from {parquet(out, 'topics')} where "topic.id" is not null""").fetchall()

    def purity(assign, truth):
        by = defaultdict(Counter)
        for a, tr in zip(assign, truth):
            by[a][tr] += 1
        return sum(c.most_common(1)[0][1] for c in by.values()) / len(assign)

    assign = [r[0] for r in rows]
    shuffled = assign[:]
    random.Random(2).shuffle(shuffled)
    print(f"\n## topics: k = 16 over {t['docs_in']:,} documents, {t['seconds']:.1f} s ({t['docs_in'] / t['seconds']:,.0f} docs/s, --threads 1), peak RSS {rss:.0f} MiB\n")
    print("| truth | categories | purity | random, same sizes |\n|---|---:|---:|---:|")
    for name, i in (("meta.kind", 1), ("source package", 2)):
        truth = [r[i] for r in rows]
        print(f"| {name} | {len(set(truth))} | {purity(assign, truth):.3f} | {purity(shuffled, truth):.3f} |")
    topics = json.load(open(os.path.join(out, "topics", "topics.json")))
    print("\nclusters (share; top terms):")
    for c in topics["clusters"]:
        print(f"  {c['id']:2d} {c['share']:.3f}  {' '.join(c['top_terms_en'][:5])} | {' '.join(c['top_terms_zh'][:5])}")


if __name__ == "__main__":
    main()
