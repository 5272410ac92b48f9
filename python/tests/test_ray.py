"""The Ray launcher (`python -m taojin_ray`) on a real Ray cluster: a head and a worker
node started on loopback by `ray start` (ray from PyPI, in the test venv), each with two
CPUs. The demo job (jobs/demo.toml, its paths pointed at data the test makes) through
Ray writes the same bytes as a local `taojin run`, and Ray's own trace of it names every
task as the dashboard shows it; a task whose Ray worker is killed and
a task that crashes at taojin's fail point are retried with the result unchanged; a task
failing every time stops the job with its stderr; a second driver on the same output is
refused while the first runs; with an `s3://` output (a moto server) and a staging folder
per task, the bucket ends up holding the local run's bytes. Every process the cluster
started is stopped at the end."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import BIN, HERE

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
from taojin_ray.local import free_port, local_cluster  # noqa: E402

MODEL = os.path.join(ROOT, "models", "lid.176.ftz")
RAY_TABLE = '\n[ray]\ncpus_per_task = 1\nmemory = "400MiB"\nmax_retries = 2\nretry_backoff_s = 0.2\n'


@pytest.fixture(scope="module")
def cluster():
    """A Ray head and one worker node on loopback, two CPUs each (`ray start --block`):
    leaving it fails the test if any process of the cluster outlives it."""
    with local_cluster(nodes=2, cpus=2) as address:
        yield address


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The demo's inputs (`taojin demo-data --learned`, its n-gram LM trained as `make
    demo` does) and jobs/demo.toml with its paths pointed at them and a [ray] table."""
    d = tmp_path_factory.mktemp("ray-demo")
    subprocess.run([BIN, "demo-data", str(d / "data"), "--learned"], check=True, capture_output=True)
    subprocess.run([BIN, "train-lm", "--input", str(d / "data/lm-reference/reference.jsonl.zst"),
                    "--order", "4", "--out", str(d / "lm.arpa")], check=True, capture_output=True)
    with open(os.path.join(ROOT, "jobs", "demo.toml")) as f:
        job = f.read()
    for old, new in [("../out/demo-tokenizer.json", "tok.json"), ("../out/demo-lm.arpa", "lm.arpa"),
                     ("../out/demo", "out"), ("../data/demo", "data"), ("../models/lid.176.ftz", MODEL)]:
        assert old in job, f"jobs/demo.toml no longer names {old}"
        job = job.replace(old, new)
    (d / "job.toml").write_text(job + RAY_TABLE)
    return d


def _copy(template, tmp_path, name):
    d = tmp_path / name
    shutil.copytree(template, d)
    return d


@pytest.fixture(scope="module")
def local(template, tmp_path_factory):
    """The same job run locally by `taojin run`: the bytes every Ray run must match."""
    d = _copy(template, tmp_path_factory.mktemp("local"), "job")
    subprocess.run([BIN, "run", str(d / "job.toml")], check=True, capture_output=True)
    return d


def _outputs(d):
    """Every file a run writes that must not depend on where it ran (stats.json and
    _stats hold seconds): Parquet parts and removed parts, shards, manifest, tokenizer."""
    files = {}
    for root, _, names in os.walk(d / "out"):
        for n in names:
            if n.endswith((".parquet", ".arrow")) or n == "manifest.json":
                p = os.path.join(root, n)
                files[os.path.relpath(p, d)] = open(p, "rb").read()
    files["tok.json"] = (d / "tok.json").read_bytes()
    return files


def _assert_same_outputs(d, local):
    mine, theirs = _outputs(d), _outputs(local)
    assert sorted(mine) == sorted(theirs)
    differ = [f for f in mine if mine[f] != theirs[f]]
    assert not differ, f"differ from the local run: {differ}"
    assert len(mine) > 40 and any(f.endswith(".arrow") for f in mine)


def _driver(address, d, taojin=BIN, extra=(), wait=True):
    env = dict(os.environ, RAY_ADDRESS=address, PYTHONPATH=os.path.join(ROOT, "python"))
    argv = [sys.executable, "-m", "taojin_ray", str(d / "job.toml"), "--taojin", str(taojin),
            "--summary", str(d / "summary.json"), *extra]
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return p
    out, err = p.communicate(timeout=600)
    return p.returncode, out, err


def _plan_steps(d):
    plan = json.loads(subprocess.run([BIN, "plan", str(d / "job.toml"), "--json"], check=True,
                                     capture_output=True, text=True).stdout)
    return [(s["name"], s["tasks"]) for s in plan["steps"]]


def test_demo_job_through_ray_equals_a_local_run(cluster, template, local, tmp_path):
    d = _copy(template, tmp_path, "job")
    rc, out, err = _driver(cluster, d, extra=("--timeline", str(d / "timeline.json")))
    assert rc == 0, err
    summary = json.loads((d / "summary.json").read_text())
    # Ray recorded every task under its dashboard name (the trace holds Ray's task events).
    events = json.loads((d / "timeline.json").read_text())
    named = {e["cat"][len("task::"):] for e in events if e.get("cat", "").startswith("task::taojin")}
    assert named == {"taojin plan", "taojin cluster run"} | {
        f"taojin {s} task {i}/{n}" for s, n in _plan_steps(d) for i in range(n)}
    # One Ray task per step task, every step in the plan's order, none retried.
    assert [(s["step"], s["tasks"]) for s in summary["steps"]] == _plan_steps(d)
    assert sum(s["retries"] for s in summary["steps"]) == 0
    assert max(s["cpus"] for s in summary["steps"] if s["step"].endswith(":reduce")) == 2
    assert "tokenize" in out and "kept" in out  # the funnel finalize printed
    assert re.search(r"step \d+/\d+ quality: \d+/\d+ tasks done, [\d,]+ docs/s", err), err
    _assert_same_outputs(d, local)
    # Run again: every task finds its done marker, nothing changes.
    before = _outputs(d)
    rc, _, err = _driver(cluster, d)
    assert rc == 0, err
    again = json.loads((d / "summary.json").read_text())
    assert all("already done" in o or "prepared" in o or "set up" in o or "job " in o
               for s in again["steps"] for o in s["stdout"])
    assert _outputs(d) == before


def _wrapper(d, body):
    """A `taojin` for the workers that misbehaves as `body` says, then runs the real one."""
    w = d / "taojin-wrapper.sh"
    w.write_text(f"#!/bin/sh\nMARK={d}\n{body}\nexec {BIN} \"$@\"\n")
    w.chmod(0o755)
    return w


def test_killed_and_crashed_tasks_are_retried_and_nothing_changes(cluster, template, local, tmp_path):
    d = _copy(template, tmp_path, "job")
    # The first time: quality's task 1 loses its Ray worker (kill -9 of the process that
    # runs the task), and minhash_dedup's task 2 aborts at the fail point after writing
    # its files and before committing them, as a crash mid-task would.
    w = _wrapper(d, 'case "$*" in\n'
                    '  *"--stage quality --task 1 "*) mkdir "$MARK/killed" 2>/dev/null && kill -9 $PPID && sleep 30;;\n'
                    '  *"--stage minhash_dedup:apply --task 2 "*) mkdir "$MARK/crashed" 2>/dev/null && '
                    'export TAOJIN_FAILPOINT_CRASH=minhash_dedup:2;;\nesac')
    rc, _, err = _driver(cluster, d, taojin=w)
    assert rc == 0, err
    assert (d / "killed").is_dir() and (d / "crashed").is_dir()
    summary = {s["step"]: s for s in json.loads((d / "summary.json").read_text())["steps"]}
    assert summary["quality"]["retries"] == 1
    assert summary["minhash_dedup:apply"]["retries"] == 1
    assert re.search(r"quality: task 1/\d+ failed \(\w*(WorkerCrashed|ActorDied|RayTask)\w*Error", err), err
    assert re.search(r"minhash_dedup:apply: task 2/\d+ failed \(killed by SIGABRT on ", err), err
    _assert_same_outputs(d, local)


def test_a_task_failing_every_time_stops_the_job_with_its_stderr(cluster, template, local, tmp_path):
    d = _copy(template, tmp_path, "job")
    w = _wrapper(d, 'case "$*" in *"--stage quality --task 0 "*) '
                    'echo "boom: planted failure of quality 0" >&2; exit 3;; esac')
    rc, _, err = _driver(cluster, d, taojin=w, extra=["--max-retries", "1"])
    assert rc == 1
    assert re.search(r"step quality, task 0 of \d+, failed after 1 retry: exit status 3", err), err
    assert "boom: planted failure of quality 0" in err
    assert not (d / "out" / "stats.json").exists()  # later steps never started
    assert not os.listdir(d / "out" / "exact_dedup" / "_work" / "_done")
    # Fixed, the same launcher resumes and ends where a clean run ends.
    rc, _, err = _driver(cluster, d)
    assert rc == 0, err
    _assert_same_outputs(d, local)


def test_a_second_driver_on_the_same_output_is_refused(cluster, template, local, tmp_path):
    d = _copy(template, tmp_path, "job")
    first = _driver(cluster, d, wait=False)
    deadline = time.time() + 120
    while time.time() < deadline and not (d / "out" / "normalize").exists():
        time.sleep(0.2)  # the first driver holds the output once its first step ran
    second = _driver(cluster, d, wait=False)
    out2, err2 = second.communicate(timeout=600)
    out1, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1
    assert second.returncode == 1, err2
    assert "another taojin_ray driver is running on" in err2 and "pid" in err2
    _assert_same_outputs(d, local)


def test_another_cluster_run_holding_the_output_is_refused_until_carried_on(cluster, template,
                                                                            local, tmp_path):
    d = _copy(template, tmp_path, "job")
    # Another cluster's run (a Slurm run, say) took the output and stopped before finalize.
    subprocess.run([BIN, "run", str(d / "job.toml"), "--stage", "prepare", "--task", "0",
                    "--cluster-run", "slurm-7"], check=True, capture_output=True, cwd=d)
    rc, _, err = _driver(cluster, d)
    assert rc == 4
    # Refused at once (exit 4, in use), not retried.
    assert "step prepare, task 0 of 1: the output is in use; exit status 4" in err, err
    assert "give `--cluster-run slurm-7`" in err and "retry" not in err, err
    assert not os.listdir(d / "out" / "normalize" / "_done")
    # Given that run's id, the driver carries it on; its finalize releases the output.
    rc, _, err = _driver(cluster, d, extra=["--cluster-run", "slurm-7"])
    assert rc == 0, err
    assert json.loads((d / "summary.json").read_text())["cluster_run"] == "slurm-7"
    rc, _, err = _driver(cluster, d, extra=["--cluster-run=-x"])
    assert rc == 1 and "--cluster-run '-x'" in err, err
    assert not (d / "out" / "_lock.json").exists()
    _assert_same_outputs(d, local)


@pytest.fixture
def moto(tmp_path):
    """A moto S3 server on loopback (the test venv's `moto_server`) with bucket `taojin`."""
    import boto3

    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    assert os.path.exists(server), f"no {server}: make test installs moto[server]"
    port = free_port()
    log = open(tmp_path / "moto.log", "w")
    p = subprocess.Popen([server, "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="testing",
                      aws_secret_access_key="testing", region_name="us-east-1")
    try:
        deadline = time.time() + 30
        while True:
            try:
                s3.create_bucket(Bucket="taojin")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        yield url, s3
    finally:
        p.terminate()
        p.wait(timeout=30)
        log.close()


def test_an_s3_output_through_ray_equals_a_local_run(cluster, template, local, moto, tmp_path):
    url, s3 = moto
    d = _copy(template, tmp_path, "job")
    job = (d / "job.toml").read_text()
    assert 'output = "out"' in job
    # The output lives only in the bucket; every task stages it in a folder of its own,
    # so tasks share nothing but the bucket (and the job folder: job file, inputs, models).
    # Credentials and the endpoint reach the workers through [ray] runtime_env.
    creds = 'AWS_ACCESS_KEY_ID = "testing", AWS_SECRET_ACCESS_KEY = "testing", AWS_REGION = "us-east-1"'
    job = job.replace('output = "out"', 'output = "s3://taojin/ray-run"').replace(
        "retry_backoff_s = 0.2\n", f"retry_backoff_s = 0.2\nruntime_env = {{ env_vars = {{ {creds} }} }}\n")
    job += f'\n[storage.s3]\nendpoint_url = "{url}"\nforce_path_style = true\n'
    (d / "job.toml").write_text(job)
    w = _wrapper(d, 'export TAOJIN_STAGING_DIR=$(mktemp -d "$MARK/staging-XXXXXX")')
    rc, out, err = _driver(cluster, d, taojin=w)
    assert rc == 0, err
    assert len(list(d.glob("staging-*"))) > 100  # one per task
    theirs = _outputs(local)
    del theirs["tok.json"]
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="taojin", Prefix="ray-run/")
            for o in page.get("Contents", [])]
    mine = {}
    for k in keys:
        rel = os.path.join("out", k[len("ray-run/"):])
        if rel in theirs:
            mine[rel] = s3.get_object(Bucket="taojin", Key=k)["Body"].read()
    assert sorted(mine) == sorted(theirs)
    assert not [f for f in mine if mine[f] != theirs[f]]
    assert (d / "tok.json").read_bytes() == (local / "tok.json").read_bytes()
