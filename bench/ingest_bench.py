#!/usr/bin/env python3
"""Ingest + normalize + write throughput of taojin beside the decompression floor.

Runs, on one corpus (.jsonl.zst) and in one session:
  * the floor: `zstd -dc CORPUS > /dev/null` (one core);
  * taojin `run` of a one-stage (normalize) job on the corpus as one file (one task),
    with --threads 1;
  * the same corpus split into N shards (prepared untimed), with all threads;
  * the corpus concatenated 4x (a valid multi-frame zstd stream), to check that peak RSS
    does not grow with the input.
Each timing is the median of --repeat runs. Throughput is MB/s of uncompressed JSONL;
text MB/s (the `text` fields only) is shown beside it. Standard library only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (seconds, peak RSS MiB, CPU seconds of the child). Its stderr
    goes to a file, so a chatty child cannot fill a pipe nobody reads while we wait."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(cmd)}\n{err.read().decode(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def median_run(cmd, repeat, before=None):
    """(median seconds, peak RSS, median CPU seconds) of `repeat` runs; `before` runs
    untimed ahead of each."""
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(timed(cmd))
    return (statistics.median(r[0] for r in runs), max(r[1] for r in runs),
            statistics.median(r[2] for r in runs))


def write_job(path, corpus_glob, out, compression="zstd"):
    with open(path, "w") as f:
        f.write(f'[job]\nname = "bench"\noutput = "{out}"\non_bad_record = "skip"\nreport = false\n'
                f'compression = "{compression}"\n\n')
        f.write(f'[[inputs]]\nname = "corpus"\npath = "{corpus_glob}"\n\n[[stages]]\nkind = "normalize"\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shards", type=int, default=0, help="shards for the all-cores run (default: 2 x cores)")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    shards = args.shards or 2 * cores
    work = args.work or tempfile.mkdtemp(prefix="taojin-bench-")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.abspath(args.corpus)

    raw_bytes = int(subprocess.run(f"zstd -dc '{corpus}' | wc -c", shell=True, check=True,
                                   capture_output=True, text=True).stdout)
    floor_s, _, _ = median_run(["zstd", "-q", "-dc", corpus, "-o", "/dev/null"], args.repeat)

    # Shards and the 4x corpus are prepared untimed.
    shard_dir = os.path.join(work, "shards")
    if not os.path.isdir(shard_dir):
        os.makedirs(shard_dir)
        outs = [subprocess.Popen(["zstd", "-q", "-3", "-o", os.path.join(shard_dir, f"s{i:03}.jsonl.zst")],
                                 stdin=subprocess.PIPE) for i in range(shards)]
        dec = subprocess.Popen(["zstd", "-dc", corpus], stdout=subprocess.PIPE)
        for i, line in enumerate(dec.stdout):
            outs[i % shards].stdin.write(line)
        for p in outs:
            p.stdin.close()
            p.wait()
        dec.wait()
    big = os.path.join(work, "x4.jsonl.zst")
    if not os.path.exists(big):
        with open(big, "wb") as f:
            for _ in range(4):
                with open(corpus, "rb") as c:
                    shutil.copyfileobj(c, f)

    rows = []

    def taojin_case(label, glob, threads, scale=1, compression="zstd"):
        job = os.path.join(work, f"job-{label}.toml")
        out = os.path.join(work, f"out-{label}")
        write_job(job, glob, out, compression)
        # A fresh run each time: the last run's output is deleted untimed (with --force
        # the timing would include unlinking it).
        secs, rss, cpu = median_run([args.taojin, "run", job, "--threads", str(threads)], args.repeat,
                                    before=lambda: shutil.rmtree(out, ignore_errors=True))
        with open(os.path.join(out, "stats.json")) as f:
            stage = json.load(f)["stages"][0]
        mbps = raw_bytes * scale / 1e6 / secs
        rows.append({
            "case": label, "threads": threads, "seconds": round(secs, 3),
            "jsonl_mb_per_s": round(mbps, 1),
            "text_mb_per_s": round(stage["bytes_in"] / 1e6 / secs, 1),
            "per_core_vs_floor": round(mbps / threads / (raw_bytes / 1e6 / floor_s), 3),
            # The same per CPU-second the process used (user + system, all its threads).
            "cpu_s": round(cpu, 3), "per_cpu_s_vs_floor": round(floor_s * scale / cpu, 3),
            "peak_rss_mb": round(rss, 1), "docs": stage["docs_in"], "tasks": stage["tasks"],
            "output_mb": round(sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(out)
                                   for n in ns if n.endswith(".parquet")) / 1e6, 1),
        })

    taojin_case("one-file", corpus, 1)
    # A stage output that only feeds the next stage can go uncompressed or in lz4.
    taojin_case("one-file-lz4", corpus, 1, compression="lz4")
    taojin_case("one-file-none", corpus, 1, compression="none")
    taojin_case("shards", os.path.join(shard_dir, "*.jsonl.zst"), cores)
    taojin_case("one-file-x4", big, 1, scale=4)

    floor = raw_bytes / 1e6 / floor_s
    print(f"corpus {args.corpus}: {raw_bytes / 1e6:.1f} MB uncompressed JSONL; {cores} cores; "
          f"median of {args.repeat}; load average {os.getloadavg()[0]:.2f}")
    print(f"floor  zstd -dc (1 core): {floor:.1f} MB/s ({floor_s:.3f} s)")
    header = ["case", "threads", "tasks", "docs", "seconds", "jsonl_mb_per_s", "text_mb_per_s", "per_core_vs_floor", "cpu_s", "per_cpu_s_vs_floor", "peak_rss_mb", "output_mb"]
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r[h]).rjust(w) for h, w in zip(header, widths)))
    print(json.dumps({"floor_mb_per_s": round(floor, 1), "raw_bytes": raw_bytes, "rows": rows}))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
