"""taojin-loader against shards made by the taojin binary (TAOJIN_BIN, built by `make test`)."""

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from taojin_loader import Manifest, TokenShards, verify_checksums  # noqa: E402

def test_reads_every_row_once(shards):
    ds = TokenShards(str(shards), "train", seed=3)
    m = Manifest.load(str(shards))
    rows = [r["input_ids"] for r in ds]
    assert len(rows) == ds.rows == sum(s["rows"] for s in m.shards("train"))
    assert all(len(r) == m.seq_len for r in rows)
    total = sum(int(np.asarray(r).sum()) for r in rows)
    ordered = TokenShards(str(shards), "train", shuffle=False)
    assert total == sum(int(np.asarray(r["input_ids"]).sum()) for r in ordered)


def test_ranks_partition_the_rows(shards):
    # Row indices (documents can repeat, so compare positions, not contents).
    parts = [set(TokenShards(str(shards), "train", rank=r, world_size=3, seed=1)._rank_order().tolist()) for r in range(3)]
    full = TokenShards(str(shards), "train", seed=1)
    assert sum(len(p) for p in parts) == full.rows
    assert set().union(*parts) == set(range(full.rows))
    counts = [len(list(TokenShards(str(shards), "train", rank=r, world_size=3, seed=1))) for r in range(3)]
    assert counts == [len(p) for p in parts]


def test_epochs_reshuffle_deterministically(shards):
    a = [np.asarray(r["input_ids"])[0] for r in TokenShards(str(shards), "train", seed=5)]
    b = [np.asarray(r["input_ids"])[0] for r in TokenShards(str(shards), "train", seed=5)]
    ds = TokenShards(str(shards), "train", seed=5)
    ds.set_epoch(1)
    c = [np.asarray(r["input_ids"])[0] for r in ds]
    assert a == b and a != c


def test_resume_mid_epoch(shards):
    ds = TokenShards(str(shards), "train", seed=9, return_doc_starts=True)
    it = iter(ds)
    first = [next(it) for _ in range(10)]
    state = ds.state_dict()
    rest = [np.asarray(r["input_ids"]).tolist() for r in it]
    again = TokenShards(str(shards), "train", seed=9)
    again.load_state_dict(state)
    assert [np.asarray(r["input_ids"]).tolist() for r in again] == rest
    # Document starts lie inside the row, strictly increasing.
    seq_len = len(np.asarray(first[0]["input_ids"]))
    for r in first:
        starts = np.asarray(r["doc_starts"]).astype(np.int64)
        assert ((starts >= 0) & (starts < seq_len)).all()
        assert (np.diff(starts) > 0).all()


def test_checksums(shards, tmp_path):
    m = Manifest.load(str(shards))
    verify_checksums(m)
    bad = json.loads((shards / "manifest.json").read_text())
    bad["shards"][0]["sha256"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(bad))
    for s in bad["shards"]:
        os.symlink(shards / s["file"], tmp_path / s["file"])
    with pytest.raises(ValueError, match=bad["shards"][0]["file"]):
        verify_checksums(Manifest.load(str(tmp_path)))


def test_torch_dataloader(shards):
    import torch
    dl = torch.utils.data.DataLoader(TokenShards(str(shards), "train", seed=2), batch_size=4, num_workers=2)
    batch = next(iter(dl))
    assert batch["input_ids"].shape == (4, 64)
