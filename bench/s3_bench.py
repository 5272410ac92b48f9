#!/usr/bin/env python3
"""S3 benchmark: the same job with inputs and output on a loopback S3 server (moto) and
on local disk, as a ratio of wall times (median of --repeat), with the time spent
synchronizing stages with the bucket taken from taojin's log.

Run with the test venv's Python (it has moto and boto3): `.venv/bin/python
bench/s3_bench.py --taojin target/release/taojin`. The job is the demo corpus through
normalize → exact_dedup → minhash_dedup → mix → tokenize (no language ID, so no model).
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

STAGES = """[[stages]]
kind = "normalize"

[[stages]]
kind = "exact_dedup"

[[stages]]
kind = "minhash_dedup"

[[stages]]
kind = "mix"

[[stages.sources]]
name = "en"
where = "source = 'web-en'"
weight = 0.5

[[stages.sources]]
name = "zh"
where = "source = 'web-zh'"
weight = 0.5

[[stages]]
kind = "tokenize"
tokenizer = "tok.json"
train_vocab = 2000
seq_len = 512
"""


def job(base, output, endpoint):
    inputs = "".join(f'[[inputs]]\nname = "{n}"\npath = "{base}/{n}-*.jsonl.zst"\n\n' for n in ("web-en", "web-zh"))
    return (f'[job]\nname = "s3bench"\noutput = "{output}"\n\n{inputs}{STAGES}\n'
            f'[storage.s3]\nendpoint_url = "{endpoint}"\n')


def timed(cmd, cwd, env):
    start = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return time.perf_counter() - start, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--scale", type=int, default=4, help="demo corpus size (1 ≈ 3,000 documents)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    taojin = os.path.abspath(a.taojin)
    work = tempfile.mkdtemp(prefix="taojin-s3bench-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
               RUST_LOG="warn,taojin_pipeline=info")
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket="bench")
        subprocess.run([taojin, "demo-data", "data", "--scale", str(a.scale)], cwd=work, check=True, capture_output=True)
        size = 0
        for f in sorted(os.listdir(os.path.join(work, "data"))):
            s3.upload_file(os.path.join(work, "data", f), "bench", f"in/{f}")
            size += os.path.getsize(os.path.join(work, "data", f))
        with open(os.path.join(work, "local.toml"), "w") as f:
            f.write(job("data", "out-local", endpoint))
        timed([taojin, "run", "local.toml"], work, env)  # trains tok.json once
        local, remote, sync = [], [], []
        for i in range(a.repeat):
            t, _ = timed([taojin, "run", "local.toml", "--force"], work, env)
            local.append(t)
            with open(os.path.join(work, "s3.toml"), "w") as f:
                f.write(job("s3://bench/in", f"s3://bench/out-{i}", endpoint))
            env_i = dict(env, TAOJIN_STAGING_DIR=os.path.join(work, f"staging-{i}"))
            t, log = timed([taojin, "run", "s3.toml"], work, env_i)
            remote.append(t)
            sync.append(sum(int(m) for m in re.findall(r"sync_ms=(\d+)", log)) / 1000)
        objs = s3.list_objects_v2(Bucket="bench", Prefix="out-0/")
        out_bytes = sum(o["Size"] for o in objs.get("Contents", []))
        lm, rm, sm = statistics.median(local), statistics.median(remote), statistics.median(sync)
        print(f"S3 (moto on loopback) vs local disk: demo corpus x{a.scale}, {size / 1e6:.1f} MB compressed input, "
              f"{objs.get('KeyCount', 0)} output objects ({out_bytes / 1e6:.1f} MB); median of {a.repeat}; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"  local inputs and output   {lm:7.2f} s")
        print(f"  S3 inputs and output      {rm:7.2f} s   ratio {rm / lm:.2f}x")
        print(f"  of which stage uploads    {sm:7.2f} s   ({100 * sm / rm:.0f}% of the S3 run)")
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
