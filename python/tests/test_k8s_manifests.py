"""`taojin k8s` writes Kubernetes Indexed Job manifests: parsed here with a real YAML
parser and checked against the batch/v1 Job fields they use."""

import os
import re
import subprocess

import pytest

from conftest import BIN as _BIN

BIN = os.path.abspath(_BIN)

yaml = pytest.importorskip("yaml")

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
    if not os.path.exists(BIN):
        pytest.skip(f"taojin binary not found at {BIN}")
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
    assert steps == ["prepare", "normalize", "minhash_dedup:map", "minhash_dedup:reduce",
                     "minhash_dedup:apply", "finalize"]
