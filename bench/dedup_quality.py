#!/usr/bin/env python3
"""Near-duplicate quality of `minhash_dedup` against brute-force truth.

The set: real documents that chain (every Debian copyright and changelog file of the
corpus: GPL/BSD/Expat boilerplate with small edits; man pages, whose aliases are exact
copies and whose translations share layout), plus planted families: copies of real man
and HTML pages with a share of their words (or Han characters) replaced, so every
similarity from 0.5 to 1.0 is present, and planted chains (each copy edited a little
more than the last, so neighbours are close and the ends are far apart).

Truth: `dedup/examples/jaccard_truth.rs` computes the exact shingle Jaccard of every pair
(J ≥ 0.5). Each variant of the stage runs with `taojin run`; its clusters are read back
from the stage's Parquet (kept and removed) and scored:
- recall@0.8: true pairs with J ≥ 0.8 that share a cluster;
- removal recall@0.8: true pairs with J ≥ 0.8 of which at most one survives;
- pair precision: pairs inside a cluster whose true J ≥ 0.5;
- the S-curve: per J bin, the share of true pairs put into one cluster.

Usage: bench/dedup_quality.py --taojin target/release/taojin --truth-bin .../jaccard_truth
       --corpus ../shared/corpus/bilingual-real.jsonl.zst [--work DIR]
Needs pyarrow (the test venv has it).
"""

import argparse
import collections
import glob
import json
import os
import random
import subprocess
import sys
import time

import pyarrow.parquet as pq


def edit(text, q, rng):
    """Replaces a share q of the words (Latin) or Han characters of text."""
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    if han > len(text) // 5:
        return "".join(chr(0x4E00 + rng.randrange(8000)) if "\u4e00" <= c <= "\u9fff" and rng.random() < q else c
                       for c in text)
    return " ".join(f"w{rng.randrange(10**6)}" if rng.random() < q else w for w in text.split(" "))


def build_set(corpus, path, seed, planted, chains):
    rng = random.Random(seed)
    docs, pool = [], []
    proc = subprocess.Popen(["zstd", "-dc", corpus], stdout=subprocess.PIPE)
    for line in proc.stdout:
        d = json.loads(line)
        kind = d["meta"].get("kind")
        text = d["text"]
        if len(text) < 200:
            continue
        if kind in ("copyright", "changelog", "manpage"):
            docs.append({"id": d["id"], "text": text})
        if kind in ("manpage", "html-doc") and len(text) < 40_000:
            pool.append(d)
    proc.wait()
    rng.shuffle(pool)
    for k, d in enumerate(pool[:planted]):
        for c, q in enumerate(rng.sample([0.01, 0.03, 0.05, 0.08, 0.12, 0.18, 0.25], 3)):
            docs.append({"id": f"planted/{k}/{c}", "text": edit(d["text"], q, rng)})
    for k, d in enumerate(pool[planted:planted + chains]):
        text = d["text"]
        for c in range(25):
            text = edit(text, 0.03, rng)
            docs.append({"id": f"chain/{k}/{c}", "text": text})
    with open(path, "w") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return len(docs)


def run_variant(taojin, data, work, name, params):
    out = os.path.join(work, f"out-{name}")
    job = os.path.join(work, f"{name}.toml")
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in params.items())
    with open(job, "w") as f:
        f.write(f'[job]\nname = "dq"\noutput = "{out}"\n\n[[inputs]]\nname = "set"\npath = "{data}"\n\n'
                f'[[stages]]\nkind = "minhash_dedup"\n{extra}')
    start = time.perf_counter()
    subprocess.run([taojin, "run", job, "--force"], check=True, capture_output=True)
    secs = time.perf_counter() - start
    with open(os.path.join(out, "stats.json")) as f:
        stage = next(s for s in json.load(f)["stages"] if s["kind"] == "minhash_dedup")
    clusters, kept = collections.defaultdict(list), set()
    for sub, survived in (("", True), ("removed/", False)):
        for p in glob.glob(os.path.join(out, "minhash_dedup", sub + "part-*.parquet")):
            t = pq.read_table(p, columns=["id", "dup_cluster", "dup_cluster_size"]).to_pydict()
            for i, c, n in zip(t["id"], t["dup_cluster"], t["dup_cluster_size"]):
                if n > 1:
                    clusters[c].append(i)
                if survived:
                    kept.add(i)
    return clusters, kept, stage, secs


def score(truth, clusters, kept):
    where = {i: c for c, ids in clusters.items() for i in ids}
    in_pairs = sum(len(ids) * (len(ids) - 1) // 2 for ids in clusters.values())
    good = 0
    for ids in clusters.values():
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                if truth.get(frozenset((ids[a], ids[b])), 0.0) >= 0.5:
                    good += 1
    hi = [(p, j) for p, j in truth.items() if j >= 0.8]
    same = lambda p: len({where.get(i, i) for i in p}) == 1
    recall = sum(same(p) for p, _ in hi) / max(1, len(hi))
    removal = sum(len(p & kept) <= 1 for p, _ in hi) / max(1, len(hi))
    bins = collections.defaultdict(lambda: [0, 0])
    for p, j in truth.items():
        b = min(int(j * 10), 9) / 10 if j < 1.0 else 1.0
        bins[b][0] += same(p)
        bins[b][1] += 1
    curve = {b: round(x / n, 3) for b, (x, n) in sorted(bins.items())}
    return {"recall@0.8": round(recall, 4), "removal_recall@0.8": round(removal, 4),
            "pair_precision": round(good / max(1, in_pairs), 4), "pairs_in_clusters": in_pairs,
            "largest": max((len(v) for v in clusters.values()), default=0), "s_curve": curve}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--truth-bin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", default="/tmp/taojin-dedup-quality")
    ap.add_argument("--planted", type=int, default=600)
    ap.add_argument("--chains", type=int, default=40)
    ap.add_argument("--variants", default="default,no_verify,t075,t085,b20r5,b20r5_no_verify")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = os.path.join(a.work, "set.jsonl")
    truth_path = os.path.join(a.work, "truth.tsv")
    if not os.path.exists(truth_path):
        n = build_set(a.corpus, data, 15, a.planted, a.chains)
        print(f"set: {n} documents", file=sys.stderr)
        subprocess.run([a.truth_bin, data, truth_path, "0.5", str(os.cpu_count() or 2)], check=True)
    truth = {}
    with open(truth_path) as f:
        for line in f:
            x, y, j = line.rstrip("\n").split("\t")
            truth[frozenset((x, y))] = float(j)
    print(f"truth: {len(truth)} pairs at J >= 0.5, {sum(j >= 0.8 for j in truth.values())} at J >= 0.8")
    variants = {
        "default": {},
        "no_verify": {"verify": False},
        "t080": {"threshold": 0.8},
        "t075": {"threshold": 0.75},
        "b20r5_t075": {"bands": 20, "rows": 5, "threshold": 0.75},
        "b16r7_t075": {"bands": 16, "rows": 7, "threshold": 0.75},
        "t085": {"threshold": 0.85},
        "b20r5": {"bands": 20, "rows": 5},
        "b20r5_no_verify": {"bands": 20, "rows": 5, "verify": False},
    }
    print("| variant | recall@0.8 | removal recall@0.8 | pair precision | largest cluster | stage s | jaccard checks | verify spill MB |")
    print("|---|---|---|---|---|---|---|---|")
    curves = {}
    for name in a.variants.split(","):
        clusters, kept, stage, secs = run_variant(a.taojin, data, a.work, name, variants[name])
        s = score(truth, clusters, kept)
        c = stage["counters"]
        curves[name] = s["s_curve"]
        print(f"| {name} {json.dumps(variants[name])} | {s['recall@0.8']} | {s['removal_recall@0.8']} | "
              f"{s['pair_precision']} | {s['largest']} | {stage['seconds']:.2f} | {c.get('jaccard_checks', '-')} | "
              f"{c.get('verify_spill_bytes', 0) / 1e6:.1f} |", flush=True)
    print("\nS-curve (share of true pairs in one cluster, by J bin):")
    bins = sorted({b for c in curves.values() for b in c})
    print("| variant | " + " | ".join(f"{b:.1f}" for b in bins) + " |")
    for name, c in curves.items():
        print(f"| {name} | " + " | ".join(str(c.get(b, "-")) for b in bins) + " |")


if __name__ == "__main__":
    main()
