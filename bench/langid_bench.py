#!/usr/bin/env python3
"""Language-ID throughput of taojin beside the Python fastText peer, on one corpus.

taojin: a normalize → langid (annotate) job; the langid stage's own seconds from
stats.json (it reads the normalized Parquet, identifies, and writes Parquet), with
--threads 1 and all threads, with the default paragraph sample (max_paragraphs = 64)
and with every paragraph classified (closest to the peer's whole-document predict).
Peer: fasttext_lid.py (fasttext-predict, lid.176.ftz, one thread, whole document with
newlines as spaces); its lid_mb_per_s covers prediction only. Medians of --repeat runs.
Also the whole taojin process of a fresh normalize → langid run (1 thread, sample 64: start,
model load, read, both stages, report) against the peer's read + LID seconds, as a
held-out comparison times it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_taojin(taojin, corpus, model, work, threads, max_paragraphs, repeat):
    job = os.path.join(work, f"lid-{max_paragraphs}.toml")
    out = os.path.join(work, f"out-lid-{max_paragraphs}")
    with open(job, "w") as f:
        f.write(f'[job]\nname = "lid"\noutput = "{out}"\non_bad_record = "skip"\n\n'
                f'[[inputs]]\nname = "corpus"\npath = "{corpus}"\n\n'
                f'[[stages]]\nkind = "normalize"\n\n'
                f'[[stages]]\nkind = "langid"\nmode = "annotate"\nmodel = "{model}"\nmax_paragraphs = {max_paragraphs}\n')
    subprocess.run([taojin, "run", job, "--force", "--threads", str(threads)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    secs = []
    for _ in range(repeat):
        # Rerun only the langid stage: its config changes nothing, so force it by removing it.
        subprocess.run(["rm", "-rf", os.path.join(out, "langid")], check=True)
        subprocess.run([taojin, "run", job, "--threads", str(threads)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(out, "stats.json")) as f:
            stage = json.load(f)["stages"][1]
        secs.append(stage["seconds"])
    s = statistics.median(secs)
    whole = []
    if threads == 1 and max_paragraphs == 64:
        for _ in range(repeat):
            subprocess.run(["rm", "-rf", out], check=True)
            start = time.perf_counter()
            subprocess.run([taojin, "run", job, "--threads", "1"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            whole.append(time.perf_counter() - start)
        with open(os.path.join(out, "stats.json")) as f:
            in_mb = json.load(f)["stages"][0]["bytes_in"] / 1e6
        whole = [{"tool": "taojin whole process", "threads": 1, "paragraphs": "sample 64", "docs_per_s": "-",
                  "mb_per_s": round(in_mb / statistics.median(whole), 2), "seconds": round(statistics.median(whole), 3)}]
    return whole, {"docs_per_s": round(stage["docs_in"] / s, 1), "mb_per_s": round(stage["bytes_in"] / 1e6 / s, 2), "seconds": round(s, 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--model", default="models/lid.176.ftz")
    ap.add_argument("--peers", default=None, help="folder with the peers' .venv (bench/peers.sh makes it)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    corpus, model = os.path.abspath(a.corpus), os.path.abspath(a.model)
    work = tempfile.mkdtemp(prefix="taojin-lid-")
    rows = []
    for mp in (64, 1_000_000):
        for threads in (1, cores):
            whole, r = run_taojin(a.taojin, corpus, model, work, threads, mp, a.repeat)
            rows.append({"tool": "taojin", "threads": threads, "paragraphs": "sample 64" if mp == 64 else "all", **r})
            rows.extend(whole)
    peer = None
    if a.peers and os.path.exists(os.path.join(a.peers, ".venv/bin/python")):
        runs = []
        for _ in range(a.repeat):
            out = subprocess.run([os.path.join(a.peers, ".venv/bin/python"), os.path.join(a.peers, "fasttext_lid.py"),
                                  "--input", corpus, "--workdir", os.path.join(work, "peer")],
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            runs.append(json.loads(out))
        mbps = statistics.median(r["lid_mb_per_s"] for r in runs)
        dps = statistics.median(r["docs_per_s"] for r in runs)
        peer = {"tool": "fasttext-predict (Python)", "threads": 1, "paragraphs": "whole doc", "docs_per_s": dps, "mb_per_s": mbps, "seconds": "-"}
        rows.append(peer)
        # Its read + decompress + parse + LID seconds, beside taojin's whole process.
        read_lid = statistics.median(r["seconds"] for r in runs)
        rows.append({"tool": "fasttext-predict read+LID", "threads": 1, "paragraphs": "whole doc", "docs_per_s": "-",
                     "mb_per_s": round(runs[0]["bytes_in"] / 1e6 / read_lid, 2), "seconds": round(read_lid, 3)})
    print(f"langid on {a.corpus}; {cores} cores; median of {a.repeat}; load average {os.getloadavg()[0]:.2f}")
    header = ["tool", "threads", "paragraphs", "docs_per_s", "mb_per_s", "seconds", "per_core_vs_peer"]
    for r in rows:
        r["per_core_vs_peer"] = round(r["mb_per_s"] / r["threads"] / peer["mb_per_s"], 2) if peer else "-"
    whole_rows = [r for r in rows if r["tool"] == "taojin whole process"]
    if peer and whole_rows:
        print(f"whole process: taojin / fasttext-predict read+LID = {whole_rows[0]['mb_per_s'] / rows[-1]['mb_per_s']:.2f}x")
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r[h]).rjust(w) for h, w in zip(header, widths)))
    if not peer:
        print("(no peer: run `bash bench/peers.sh` once to set up the Python peers)", file=sys.stderr)


if __name__ == "__main__":
    main()
