#!/usr/bin/env python3
"""Peak memory of the whole demo pipeline from 1x to 16x its input, and of a dedup stage
under a shrinking `memory_limit`.

1. `jobs/demo.toml` (normalize → langid → quality → perplexity → safety → exact, MinHash,
   substring and line dedup → mix → tokenize, training its tokenizer) on
   `taojin demo-data --learned --scale S` for each scale, `--threads 2`: input MB,
   documents, seconds and the peak RSS of the `taojin run` process (wait4), and the
   largest `_work` folder a stage left (spill). The tokenizer trains on at most 4 MiB of
   text (`train_bytes`), then once more with the default at the largest scale.
2. The largest scale's corpus through normalize → minhash_dedup alone, with
   `memory_limit` from 1 GiB down to 1 MiB: peak RSS and the partitions the reduce used
   (from its stats), so a user sees the limit hold and the spill take over.

The n-gram model is trained once, on the scale-1 reference text. Standard library only:

  python3 bench/memory_bench.py --taojin target/release/taojin --model models/lid.176.ftz
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from ingest_bench import timed  # noqa: E402  (one way to time a child and its peak RSS)


def size_mb(d, suffix=""):
    return sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(d)
               for n in ns if n.endswith(suffix)) / 1e6


def largest_work_mb(out):
    return max((size_mb(os.path.join(out, s, "_work")) for s in os.listdir(out)
                if os.path.isdir(os.path.join(out, s, "_work"))), default=0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--model", required=True, help="lid.176.ftz")
    ap.add_argument("--scales", default="1,4,16")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    taojin, model = os.path.abspath(a.taojin), os.path.abspath(a.model)
    work = a.work or tempfile.mkdtemp(prefix="taojin-mem-")
    scales = [int(s) for s in a.scales.split(",")]
    lm = os.path.join(work, "lm.arpa")
    template = open(os.path.join(ROOT, "jobs", "demo.toml")).read()

    print(f"demo pipeline (jobs/demo.toml), --threads 2; load average {os.getloadavg()[0]:.2f}")
    print(f"{'scale':>5} {'train_bytes':>11} {'docs':>8} {'input MB':>9} {'seconds':>8} {'peak RSS MiB':>13} {'largest _work MB':>17}")
    # Every scale with the tokenizer trained on at most 4 MiB of text (about the scale-1
    # corpus), then the largest with the default (512 MiB: here the whole corpus).
    per_stage = []
    for scale, train in [(s, "4MiB") for s in scales] + [(scales[-1], None)]:
        d = os.path.join(work, f"x{scale}")
        data = os.path.join(d, "data")
        if not os.path.isdir(data):
            subprocess.run([taojin, "demo-data", data, "--learned", "--scale", str(scale)],
                           check=True, capture_output=True)
        if not os.path.exists(lm):
            subprocess.run([taojin, "train-lm", "--input", f"{data}/lm-reference/reference.jsonl.zst",
                            "--order", "4", "--out", lm], check=True, capture_output=True)
        job = template
        for old, new in [("../out/demo-tokenizer.json", f"{d}/tok.json"), ("../out/demo-lm.arpa", lm),
                         ("../out/demo", f"{d}/out"), ("../data/demo", data),
                         ("../models/lid.176.ftz", model)]:
            job = job.replace(old, new)
        job = job.replace('name = "demo"', 'name = "demo"\nreport = false', 1)
        if train:
            job = job.replace("train_vocab = 4096", f'train_vocab = 4096\ntrain_bytes = "{train}"', 1)
        if os.path.exists(f"{d}/tok.json"):
            os.remove(f"{d}/tok.json")
        with open(f"{d}/job.toml", "w") as f:
            f.write(job)
        shutil.rmtree(f"{d}/out", ignore_errors=True)
        secs, rss, _ = timed([taojin, "run", f"{d}/job.toml", "--threads", "2"])
        stats = json.load(open(f"{d}/out/stats.json"))
        docs = stats["stages"][0]["docs_in"]
        input_mb = size_mb(data, ".jsonl.zst") - size_mb(os.path.join(data, "lm-reference"), ".jsonl.zst")
        print(f"{scale:>5} {train or 'default':>11} {docs:>8} {input_mb:>9.1f} {secs:>8.1f} {rss:>13.0f} {largest_work_mb(f'{d}/out'):>17.1f}")

        per_stage.append((f"x{scale}" + ("" if train else " default"), stats["stages"]))

    # Which stage holds the peak: each stage's own peak RSS from stats.json.
    print("\npeak RSS MiB per stage (stats.json `peak_rss_bytes`)")
    names = [st["name"] for st in per_stage[0][1]]
    print(f"{'stage':>14} " + " ".join(f"{label:>11}" for label, _ in per_stage))
    for i, name in enumerate(names):
        cells = [st[i].get("peak_rss_bytes") for _, st in per_stage]
        print(f"{name:>14} " + " ".join(f"{c / 2**20:>11.0f}" if c else f"{'-':>11}" for c in cells))

    big = os.path.join(work, f"x{scales[-1]}", "data")
    print(f"\nnormalize → minhash_dedup on the x{scales[-1]} corpus, --threads 2")
    print(f"{'memory_limit':>12} {'seconds':>8} {'peak RSS MiB':>13} {'reduce partitions':>18} {'removed':>8}")
    for limit in ["1GiB", "64MiB", "8MiB", "1MiB"]:
        d = os.path.join(work, f"dedup-{limit}")
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/job.toml", "w") as f:
            f.write(f'[job]\nname = "mem"\noutput = "{d}/out"\nreport = false\n\n'
                    f'[[inputs]]\nname = "web"\npath = "{big}/web-*.jsonl.zst"\n\n'
                    '[[stages]]\nkind = "normalize"\n\n'
                    f'[[stages]]\nkind = "minhash_dedup"\nmemory_limit = "{limit}"\n')
        shutil.rmtree(f"{d}/out", ignore_errors=True)
        secs, rss, _ = timed([taojin, "run", f"{d}/job.toml", "--threads", "2"])
        st = json.load(open(f"{d}/out/stats.json"))["stages"][1]
        parts = st["counters"].get("partitions", "?")
        removed = sum(st["docs_removed"].values())
        print(f"{limit:>12} {secs:>8.1f} {rss:>13.0f} {parts:>18} {removed:>8}")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
