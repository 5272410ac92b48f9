"""What Ray scheduling costs: the same job run locally (`taojin run`, all cores) and
through the Ray launcher on a one-node local cluster with this machine's cores, wall
seconds of each, and a byte-for-byte check that both wrote the same outputs.

Jobs: the demo (jobs/demo.toml on `taojin demo-data --learned`, one core per task) and,
with --corpus, normalize → langid → quality → minhash_dedup → safety on that corpus (one
file, so one task per stage: each task gets every core).

    .venv/bin/python bench/ray_bench.py --taojin target/release/taojin [--corpus C]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
from taojin_ray.local import local_cluster  # noqa: E402

CORES = os.cpu_count() or 1

REAL_JOB = """[job]
name = "ray-bench-real"
output = "out"

[[inputs]]
name = "real"
path = "{corpus}"

[[stages]]
kind = "normalize"

[[stages]]
kind = "langid"
model = "{model}"
keep = ["en", "zh-Hans", "zh-Hant"]

[[stages]]
kind = "quality"

[[stages]]
kind = "minhash_dedup"

[[stages]]
kind = "safety"

[ray]
cpus_per_task = {cores}
"""


def demo_dir(taojin, d, model):
    subprocess.run([taojin, "demo-data", f"{d}/data", "--learned"], check=True, capture_output=True)
    subprocess.run([taojin, "train-lm", "--input", f"{d}/data/lm-reference/reference.jsonl.zst",
                    "--order", "4", "--out", f"{d}/lm.arpa"], check=True, capture_output=True)
    job = open(os.path.join(ROOT, "jobs", "demo.toml")).read()
    for old, new in [("../out/demo-tokenizer.json", "tok.json"), ("../out/demo-lm.arpa", "lm.arpa"),
                     ("../out/demo", "out"), ("../data/demo", "data"), ("../models/lid.176.ftz", model)]:
        job = job.replace(old, new)
    with open(f"{d}/job.toml", "w") as f:
        f.write(job + "\n[ray]\ncpus_per_task = 1\n")


def outputs(d):
    files = {}
    for root, _, names in os.walk(os.path.join(d, "out")):
        for n in names:
            if n.endswith((".parquet", ".arrow")) or n == "manifest.json":
                p = os.path.join(root, n)
                files[os.path.relpath(p, d)] = open(p, "rb").read()
    return files


def timed(argv, env=None):
    start = time.time()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{p.stderr[-3000:]}")
    return time.time() - start, p


def bench(name, template, taojin, address):
    local, through_ray = f"{template}-local", f"{template}-ray"
    for d in (local, through_ray):
        shutil.copytree(template, d)
    local_s, _ = timed([taojin, "run", f"{local}/job.toml"])
    env = dict(os.environ, RAY_ADDRESS=address, PYTHONPATH=os.path.join(ROOT, "python"))
    ray_s, p = timed([sys.executable, "-m", "taojin_ray", f"{through_ray}/job.toml",
                      "--taojin", taojin], env)
    a, b = outputs(local), outputs(through_ray)
    same = sorted(a) == sorted(b) and all(a[f] == b[f] for f in a)
    tasks = sum(1 for line in p.stderr.splitlines() if "tasks done" in line and "/" in line)
    summary = [line for line in p.stderr.splitlines() if " steps, " in line and " tasks, " in line]
    print(f"{name:<6} local {local_s:6.1f} s   ray {ray_s:6.1f} s   overhead {ray_s - local_s:+6.1f} s"
          f" ({ray_s / local_s:.2f}x)   {len(a)} output files {'identical' if same else 'DIFFER'}"
          f"   {summary[-1].split('taojin_ray ')[-1] if summary else tasks}")
    if not same:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "lid.176.ftz"))
    args = ap.parse_args()
    taojin, model = os.path.abspath(args.taojin), os.path.abspath(args.model)
    work = tempfile.mkdtemp(prefix="ray-bench-")
    try:
        os.makedirs(f"{work}/demo")
        demo_dir(taojin, f"{work}/demo", model)
        if args.corpus:
            os.makedirs(f"{work}/real")
            with open(f"{work}/real/job.toml", "w") as f:
                f.write(REAL_JOB.format(corpus=os.path.abspath(args.corpus), model=model, cores=CORES))
        with local_cluster(nodes=1, cpus=CORES) as address:
            print(f"one Ray node with {CORES} CPUs on loopback; local runs use {CORES} threads")
            bench("demo", f"{work}/demo", taojin, address)
            if args.corpus:
                bench("real", f"{work}/real", taojin, address)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
