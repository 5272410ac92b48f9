#!/usr/bin/env python3
"""Deduplication benchmarks: taojin beside rensa, datasketch and datatrove, and scaling.

1. Peers (same corpus, same session): taojin normalize → exact_dedup → minhash_dedup with
   --threads 1 (the minhash stage's seconds, and its map phase = read + shingle +
   signatures + spill, from stats.json), beside `datasketch_minhash.py --impl rensa`,
   `--impl datasketch` (single process, 112 perms, 14 × 8) and datatrove's 4-stage MinHash
   (2 workers). Ratios are MB/s per core.
2. Scaling: the corpus replicated 1×, 4×, 16× with small perturbations (every copy has
   ~2% of its words or characters replaced, so copies are near-duplicates), minhash with
   a fixed memory_limit; wall time and peak RSS of the whole run.
Standard library only; the peers need `bash bench/peers.sh`.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_bench import timed as run_timed  # noqa: E402  (stderr to a file, peak RSS)


def timed(cmd):
    """(seconds, peak RSS MiB, stdout) of cmd. Both its outputs go to files, not pipes
    read after the wait: datatrove logs more than a pipe holds, and would block."""
    with tempfile.TemporaryFile() as out:
        secs, rss, _ = run_timed(cmd, stdout=out)
        out.seek(0)
        return secs, rss, out.read().decode()


def job(path, corpus, out, memory_limit, minhash_only=False):
    with open(path, "w") as f:
        f.write(f'[job]\nname = "dedup"\noutput = "{out}"\non_bad_record = "skip"\n\n'
                f'[[inputs]]\nname = "corpus"\npath = "{corpus}"\n\n')
        if not minhash_only:
            f.write(f'[[stages]]\nkind = "normalize"\n\n'
                    f'[[stages]]\nkind = "exact_dedup"\nmemory_limit = "{memory_limit}"\n\n')
        f.write(f'[[stages]]\nkind = "minhash_dedup"\nmemory_limit = "{memory_limit}"\n')


def perturb(text, rng):
    words = text.split(" ")
    if len(words) > 20:
        for _ in range(max(1, len(words) // 50)):
            words[rng.randrange(len(words))] = "x" + str(rng.randrange(1000))
        return " ".join(words)
    chars = list(text)
    for _ in range(max(1, len(chars) // 50)):
        chars[rng.randrange(len(chars))] = chr(0x4E00 + rng.randrange(2000))
    return "".join(chars)


def replicate(corpus, factor, dest):
    rng = random.Random(factor)
    raw = subprocess.run(["zstd", "-dc", corpus], check=True, capture_output=True).stdout.decode()
    lines = raw.splitlines()
    with subprocess.Popen(["zstd", "-q", "-3", "-o", dest, "-f"], stdin=subprocess.PIPE) as z:
        for copy in range(factor):
            for line in lines:
                rec = json.loads(line)
                if copy:
                    rec["id"] = f"{rec['id']}#{copy}"
                    rec["text"] = perturb(rec["text"], rng)
                z.stdin.write((json.dumps(rec, ensure_ascii=False) + "\n").encode())
    return sum(len(json.loads(l)["text"].encode()) for l in lines) * factor


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus", required=True, help="for the peers")
    ap.add_argument("--scale-corpus", default=None, help="for the scaling run (default: --corpus)")
    ap.add_argument("--peers", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--factors", default="1,4,16")
    ap.add_argument("--memory-limit", default="256MiB")
    ap.add_argument("--skip-datatrove", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="taojin-dedup-")
    corpus = os.path.abspath(a.corpus)

    # 1. taojin vs peers.
    jp = os.path.join(work, "job.toml")
    job(jp, corpus, os.path.join(work, "out"), a.memory_limit)
    runs, whole = [], []
    for _ in range(a.repeat):
        secs, _, _ = timed([a.taojin, "run", jp, "--force", "--threads", "1"])
        whole.append(secs)
        with open(os.path.join(work, "out", "stats.json")) as f:
            st = json.load(f)["stages"]
        runs.append(st[2])
    in_mb = st[0]["bytes_in"] / 1e6
    mh = runs[0]
    text_mb = mh["bytes_in"] / 1e6
    t_stage = statistics.median(r["seconds"] for r in runs)
    rows = [{"tool": "taojin minhash_dedup (whole stage)", "threads": 1, "mb_per_s": round(text_mb / t_stage, 2), "removed": mh["docs_removed"].get("near_dup", 0)}]
    # The reduce's milliseconds are counted; the rest of the stage is the map phase
    # (read, shingle, signatures, spill) and the apply.
    if all("reduce_ms" in r["counters"] for r in runs):
        t_rest = statistics.median(r["seconds"] - r["counters"]["reduce_ms"] / 1000 for r in runs)
        rows.append({"tool": "taojin minhash map + apply (stage less its reduce)", "threads": 1, "mb_per_s": round(text_mb / t_rest, 2), "removed": "-"})
    # The whole process (start, normalize, exact_dedup, minhash_dedup, report), as a
    # held-out comparison times it against the peers' own seconds.
    rows.append({"tool": "taojin whole process (normalize+exact+minhash)", "threads": 1,
                 "mb_per_s": round(in_mb / statistics.median(whole), 2), "removed": "-"})
    # A job of minhash_dedup alone over the JSONL (start, read, signatures, LSH, clusters,
    # write, report): what rensa's script does, end to end.
    jm = os.path.join(work, "job-minhash.toml")
    job(jm, corpus, os.path.join(work, "out-minhash"), a.memory_limit, minhash_only=True)
    alone = statistics.median(timed([a.taojin, "run", jm, "--force", "--threads", "1"])[0] for _ in range(a.repeat))
    rows.append({"tool": "taojin whole process (minhash_dedup alone)", "threads": 1,
                 "mb_per_s": round(in_mb / alone, 2), "removed": "-"})
    peers = {}
    if a.peers and os.path.exists(os.path.join(a.peers, ".venv/bin/python")):
        py = os.path.join(a.peers, ".venv/bin/python")
        for impl in ("rensa", "datasketch"):
            res = []
            for _ in range(a.repeat if impl == "rensa" else 1):
                _, _, out = timed([py, os.path.join(a.peers, "datasketch_minhash.py"), "--impl", impl, "--input", corpus, "--workdir", os.path.join(work, impl)])
                res.append(json.loads(out.strip().splitlines()[-1]))
            r = res[len(res) // 2]
            peers[impl] = r
            rows.append({"tool": f"{impl} (shingle+minhash+LSH)", "threads": 1, "mb_per_s": round(statistics.median(x["mb_per_s"] for x in res), 2), "removed": r["docs_in"] - r["docs_out"]})
        if not a.skip_datatrove:
            _, _, out = timed([py, os.path.join(a.peers, "datatrove_minhash.py"), "--input", corpus, "--workdir", os.path.join(work, "dt")])
            r = json.loads(out.strip().splitlines()[-1])
            peers["datatrove"] = r
            rows.append({"tool": "datatrove 4-stage MinHash", "threads": 2, "mb_per_s": r["mb_per_s"], "removed": r["docs_in"] - r["docs_out"]})
    print(f"dedup on {a.corpus}: {text_mb:.1f} MB text; median of {a.repeat}; load average {os.getloadavg()[0]:.2f}")
    base = rows[0]["mb_per_s"]
    sig = rows[1]["mb_per_s"]
    for r in rows:
        per_core = r["mb_per_s"] / r["threads"]
        r["taojin_stage_per_core_ratio"] = round(base / per_core, 1)
        r["taojin_signatures_per_core_ratio"] = round(sig / per_core, 1)
        print(f"  {r['tool']:<40} threads {r['threads']}  {r['mb_per_s']:>8} MB/s  removed {r['removed']:>6}  "
              f"stage ratio {r['taojin_stage_per_core_ratio']:>6}  signature ratio {r['taojin_signatures_per_core_ratio']:>6}")

    if "rensa" in peers:
        whole_mb_s = next(r["mb_per_s"] for r in rows if r["tool"].endswith("(minhash_dedup alone)"))
        rensa = next(r["mb_per_s"] for r in rows if r["tool"].startswith("rensa"))
        print(f"  whole process: taojin minhash_dedup-only job {whole_mb_s} MB/s vs rensa {rensa} MB/s "
              f"(its own read+shingle+minhash+LSH seconds) = {whole_mb_s / rensa:.1f}x per core")

    # 2. Scaling.
    scale_src = os.path.abspath(a.scale_corpus or a.corpus)
    print(f"scaling on {a.scale_corpus or a.corpus}, memory_limit {a.memory_limit}, all threads:")
    for factor in [int(x) for x in a.factors.split(",")]:
        dest = os.path.join(work, f"x{factor}.jsonl.zst")
        mb = replicate(scale_src, factor, dest) / 1e6
        jp = os.path.join(work, f"job-x{factor}.toml")
        job(jp, dest, os.path.join(work, f"out-x{factor}"), a.memory_limit)
        secs, rss, _ = timed([a.taojin, "run", jp, "--force"])
        with open(os.path.join(work, f"out-x{factor}", "stats.json")) as f:
            st = json.load(f)["stages"]
        print(f"  {factor:>3}x  {mb:8.1f} MB  docs {st[0]['docs_in']:>8}  run {secs:7.2f} s  minhash {st[2]['seconds']:6.2f} s  "
              f"partitions {st[2]['counters'].get('partitions')}  near_dup {st[2]['docs_removed'].get('near_dup', 0):>7}  "
              f"exact_dup {st[1]['docs_removed'].get('exact_dup', 0):>6}  peak RSS {rss:7.1f} MiB")


if __name__ == "__main__":
    main()
