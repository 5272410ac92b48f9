"""Shared fixture: demo shards made by the taojin binary (TAOJIN_BIN, built by `make test`)."""

import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("TAOJIN_BIN", os.path.join(HERE, "..", "..", "target", "release", "taojin"))


def demo_run(d, stages):
    """Runs `stages` (TOML) over freshly generated demo data in folder `d`; returns `d/out`."""
    # A missing binary is a failure, never a silent pass: `make test` builds it.
    assert os.path.exists(BIN), f"taojin binary not found at {BIN} (set TAOJIN_BIN, or run `make test`)"
    subprocess.run([BIN, "demo-data", str(d / "data")], check=True, capture_output=True)
    (d / "job.toml").write_text(
        '[job]\nname = "t"\noutput = "out"\n\n[[inputs]]\nname = "demo"\npath = "data/*.jsonl.zst"\n\n'
        + stages
    )
    subprocess.run([BIN, "run", str(d / "job.toml")], check=True, capture_output=True, cwd=d)
    return d / "out"


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    out = demo_run(
        tmp_path_factory.mktemp("shards"),
        '[[stages]]\nkind = "normalize"\n\n[[stages]]\nkind = "tokenize"\ntokenizer = "tok.json"\n'
        'train_vocab = 800\nseq_len = 64\nvalid_fraction = 0.1\nshard_bytes = "32KiB"\n',
    )
    return out / "shards"
