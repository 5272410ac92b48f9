#!/usr/bin/env python3
"""Quality filtering throughput: taojin's langid + quality stages beside datatrove's
LanguageFilter + Gopher repetition + Gopher quality + C4 + FineWeb filters
(`datatrove_filter.py`, per-language configs, 2 workers), on the same corpus, as MB of
input text per CPU-second (datatrove reports its process-tree CPU time; taojin runs with
--threads 1, so its stage seconds are CPU seconds). Also the whole taojin process of a
fresh run (start, model loads, normalize, both stages, report) against datatrove's
`executor.run()` seconds, as a held-out comparison times it. Standard library only.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time


def whole_run(cmd):
    """(wall seconds, CPU seconds of the child) of one run of cmd."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--model", default="models/lid.176.ftz")
    ap.add_argument("--peers", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="taojin-quality-")
    corpus, model = os.path.abspath(a.corpus), os.path.abspath(a.model)
    job = os.path.join(work, "job.toml")
    out = os.path.join(work, "out")
    with open(job, "w") as f:
        f.write(f'[job]\nname = "q"\noutput = "{out}"\non_bad_record = "skip"\n\n[[inputs]]\nname = "c"\npath = "{corpus}"\n\n'
                f'[[stages]]\nkind = "normalize"\n\n[[stages]]\nkind = "langid"\nmodel = "{model}"\n\n[[stages]]\nkind = "quality"\n')
    subprocess.run([a.taojin, "run", job, "--threads", "1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = []
    for _ in range(a.repeat):
        subprocess.run(["rm", "-rf", os.path.join(out, "langid"), os.path.join(out, "quality")], check=True)
        subprocess.run([a.taojin, "run", job, "--threads", "1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(out, "stats.json")) as f:
            runs.append(json.load(f)["stages"])
    # The whole process of a fresh run, 1 thread (DataFusion's report threads included).
    whole = []
    for _ in range(a.repeat):
        subprocess.run(["rm", "-rf", out], check=True)
        whole.append(whole_run([a.taojin, "run", job, "--threads", "1"]))
    whole_s = statistics.median(w[0] for w in whole)
    whole_cpu = statistics.median(w[1] for w in whole)
    lid = statistics.median(r[1]["seconds"] for r in runs)
    q = statistics.median(r[2]["seconds"] for r in runs)
    st = runs[0]
    text_mb = st[1]["bytes_in"] / 1e6
    ours = text_mb / (lid + q)
    print(f"quality on {a.corpus}: {text_mb:.1f} MB text; median of {a.repeat}; load average {os.getloadavg()[0]:.2f}")
    print(f"  taojin langid+quality, 1 thread: {ours:.2f} MB/s  (quality stage alone {st[2]['bytes_in'] / 1e6 / q:.2f} MB/s on the "
          f"{st[2]['bytes_in'] / 1e6:.1f} MB of en/zh text); kept {st[2]['docs_kept']} of {st[1]['docs_in']}")
    in_mb = st[0]["bytes_in"] / 1e6
    print(f"  taojin whole process, 1 thread: {whole_s:.2f} s wall, {whole_cpu:.2f} CPU-s for {in_mb:.1f} MB input text")
    if a.peers and os.path.exists(os.path.join(a.peers, ".venv/bin/python")):
        res = subprocess.run([os.path.join(a.peers, ".venv/bin/python"), os.path.join(a.peers, "datatrove_filter.py"),
                              "--input", corpus, "--workdir", os.path.join(work, "dt")], check=True, capture_output=True, text=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        per_cpu = r["bytes_in"] / 1e6 / r["cpu_seconds"]
        print(f"  datatrove LID+Gopher+C4+FineWeb: {r['mb_per_s']:.3f} MB/s wall, {per_cpu:.3f} MB per CPU-second; kept {r['docs_out']}")
        print(f"  per core: taojin / datatrove = {ours / per_cpu:.1f}x")
        print(f"  whole process: taojin {in_mb / whole_s:.2f} MB/s wall (1 thread) vs datatrove {r['mb_per_s']:.3f} "
              f"(2 workers) = {in_mb / whole_s / r['mb_per_s']:.1f}x; per CPU-second "
              f"{in_mb / whole_cpu / per_cpu:.1f}x")


if __name__ == "__main__":
    main()
