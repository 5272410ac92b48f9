"""`taojin k8s` writes Kubernetes Indexed Job manifests: parsed here with a real YAML
parser and checked against the batch/v1 Job fields they use."""

import json
import os
import re
import shlex
import subprocess

import yaml

from conftest import BIN as _BIN

BIN = os.path.abspath(_BIN)

JOB = """[job]
name = "demo_k8s"
output = "out"

[[inputs]]
name = "web"
path = "in/*.jsonl"

[[stages]]
kind = "normalize"

[[stages]]
kind = "minhash_dedup"

[k8s]
image = "registry.example/taojin:0.1"
namespace = "data"
cpus = 4
memory = "8Gi"
volume_claim = "corpus"
mount_path = "/data"
parallelism = 2
"""

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_manifests_are_indexed_jobs(tmp_path):
    assert os.path.exists(BIN), f"taojin binary not found at {BIN}: run `make test`"
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"{i}.jsonl").write_text(f'{{"text": "document {i}"}}\n')
    (tmp_path / "job.toml").write_text(JOB)
    subprocess.run([BIN, "k8s", "job.toml", "--out", "k8s"], cwd=tmp_path, check=True, capture_output=True)
    files = sorted(p for p in os.listdir(tmp_path / "k8s") if p.endswith(".yaml"))
    apply = (tmp_path / "k8s" / "apply.sh").read_text()
    assert [line.split()[-1] for line in apply.splitlines() if " apply -f " in line] == files
    steps = []
    for f in files:
        doc = yaml.safe_load((tmp_path / "k8s" / f).read_text())
        assert doc["apiVersion"] == "batch/v1" and doc["kind"] == "Job"
        meta = doc["metadata"]
        assert DNS1123.match(meta["name"]) and len(meta["name"]) <= 63, meta["name"]
        assert meta["namespace"] == "data"
        spec = doc["spec"]
        assert spec["completionMode"] == "Indexed"
        assert isinstance(spec["completions"], int) and spec["completions"] >= 1
        assert 1 <= spec["parallelism"] <= min(2, spec["completions"])
        pod = spec["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        # Exit 4 (another run holds the output) fails the Job at once: a retry cannot pass.
        assert spec["podFailurePolicy"]["rules"] == [
            {"action": "FailJob", "onExitCodes": {"containerName": "taojin", "operator": "In", "values": [4]}}]
        (c,) = pod["containers"]
        assert c["image"] == "registry.example/taojin:0.1"
        assert all(isinstance(a, str) for a in c["command"] + c["args"])
        (script,) = c["args"]
        m = re.search(r"--stage (\S+) --task \"\$JOB_COMPLETION_INDEX\" --tasks (\d+) --threads 4", script)
        assert m, script
        assert int(m.group(2)) == spec["completions"]
        steps.append(m.group(1))
        assert c["resources"]["requests"] == {"cpu": "4", "memory": "8Gi"}
        assert c["volumeMounts"][0]["mountPath"] == "/data"
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "corpus"
    assert steps == ["prepare", "normalize", "normalize:ids", "minhash_dedup:map", "minhash_dedup:reduce",
                     "minhash_dedup:apply", "finalize"]


LABEL = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def test_hostile_names_and_paths_are_escaped(tmp_path):
    """A job name with spaces and quotes, a job folder with a quote: valid YAML, valid
    Kubernetes names and labels, and the shell command still names the job file."""
    assert os.path.exists(BIN), f"taojin binary not found at {BIN}: run `make test`"
    root = tmp_path / "it's my data"
    (root / "in").mkdir(parents=True)
    (root / "in" / "0.jsonl").write_text('{"text": "document"}\n')
    name = 'Zh "web" mix: v2 ' + "x" * 80
    (root / "job.toml").write_text(JOB.replace('name = "demo_k8s"', "name = " + json.dumps(name)))
    job = root / "job.toml"
    subprocess.run([BIN, "k8s", str(job), "--out", "k8s"], cwd=root, check=True, capture_output=True)
    subprocess.run([BIN, "slurm", str(job), "--out", "sb"], cwd=root, check=True, capture_output=True)
    for f in sorted((root / "k8s").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        meta = doc["metadata"]
        assert DNS1123.match(meta["name"]) and len(meta["name"]) <= 63, meta["name"]
        for v in meta["labels"].values():
            assert LABEL.match(v) and len(v) <= 63, v
        (script,) = doc["spec"]["template"]["spec"]["containers"][0]["args"]
        words = shlex.split(script)
        assert words[:4] == ["exec", "taojin", "run", str(job)], words
    for f in sorted((root / "sb").glob("*.sbatch")):
        text = f.read_text()
        (line,) = [l for l in text.splitlines() if l.startswith("#SBATCH --job-name=")]
        assert re.match(r"^#SBATCH --job-name=[A-Za-z0-9._-]+$", line), line
        run = [l for l in text.splitlines() if " run " in l and "--stage" in l]
        assert run and str(job) in shlex.split(run[0]), run
