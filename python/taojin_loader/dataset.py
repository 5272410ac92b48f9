"""The shard reader. Works with numpy alone; yields torch tensors when torch is present."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional

import numpy as np
import pyarrow as pa

try:  # torch is optional: without it rows are numpy arrays.
    import torch
    from torch.utils.data import IterableDataset, get_worker_info
except ImportError:  # pragma: no cover - exercised when torch is absent
    torch = None
    IterableDataset = object

    def get_worker_info():
        return None


@dataclass
class Manifest:
    """`shards/manifest.json` and the folder it lives in."""

    path: str
    data: dict

    @classmethod
    def load(cls, path: str) -> "Manifest":
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.json")
        with open(path) as f:
            data = json.load(f)
        if data.get("format_version") != 1:
            raise ValueError(f"{path}: unsupported manifest format_version {data.get('format_version')}")
        return cls(path, data)

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    @property
    def seq_len(self) -> int:
        return int(self.data["seq_len"])

    def shards(self, split: str) -> List[dict]:
        return [s for s in self.data["shards"] if s["split"] == split]


def verify_checksums(manifest: Manifest, split: Optional[str] = None) -> None:
    """Raises ValueError naming the first shard whose sha256 differs from the manifest."""
    for s in manifest.data["shards"]:
        if split is not None and s["split"] != split:
            continue
        h = hashlib.sha256()
        with open(os.path.join(manifest.folder, s["file"]), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != s["sha256"]:
            raise ValueError(f"{s['file']}: sha256 {h.hexdigest()} does not match the manifest ({s['sha256']})")


class _Shard:
    """One memory-mapped shard: tokens as a (rows, seq_len) numpy view, doc starts lazily."""

    def __init__(self, path: str, seq_len: int):
        self.source = pa.memory_map(path, "r")
        table = pa.ipc.open_file(self.source).read_all()
        tokens = table.column("tokens").combine_chunks()
        flat = tokens.values.to_numpy(zero_copy_only=True)
        self.tokens = flat.reshape(-1, seq_len)
        self.starts = table.column("doc_starts")

    def __len__(self) -> int:
        return self.tokens.shape[0]


class TokenShards(IterableDataset):
    """Rows of one split of a taojin shard set.

    Each epoch visits every row once in an order drawn from `seed + epoch`; rank `r` of
    `world_size` takes every `world_size`-th row of that order, and DataLoader worker `w`
    of `n` every `n`-th row of the rank's share. `state_dict()` records the epoch and how
    many of this rank's rows were consumed; `load_state_dict()` resumes right after them
    (exact for batch_size 1, or when the count is a multiple of workers × batch size).
    """

    def __init__(self, manifest, split: str = "train", rank: int = 0, world_size: int = 1, seed: int = 0,
                 shuffle: bool = True, return_doc_starts: bool = False, verify: bool = False):
        self.manifest = manifest if isinstance(manifest, Manifest) else Manifest.load(manifest)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size}")
        self.split, self.rank, self.world_size, self.seed = split, rank, world_size, seed
        self.shuffle, self.return_doc_starts = shuffle, return_doc_starts
        if verify:
            verify_checksums(self.manifest, split)
        infos = self.manifest.shards(split)
        if not infos:
            raise ValueError(f"{self.manifest.path}: no shards for split {split!r}")
        self._shards = [_Shard(os.path.join(self.manifest.folder, s["file"]), self.manifest.seq_len) for s in infos]
        self._offsets = np.cumsum([0] + [len(s) for s in self._shards])
        self.epoch = 0
        self.consumed = 0

    @property
    def rows(self) -> int:
        return int(self._offsets[-1])

    def __len__(self) -> int:
        return len(self._rank_order())

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.consumed = epoch, 0

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "consumed": self.consumed, "seed": self.seed, "rank": self.rank, "world_size": self.world_size}

    def load_state_dict(self, state: dict) -> None:
        if (state.get("world_size"), state.get("seed")) != (self.world_size, self.seed):
            raise ValueError("state was saved with another world_size or seed")
        self.epoch, self.consumed = int(state["epoch"]), int(state["consumed"])

    def _rank_order(self) -> np.ndarray:
        order = np.arange(self.rows, dtype=np.int64)
        if self.shuffle:
            order = np.random.Generator(np.random.PCG64(self.seed + self.epoch)).permutation(self.rows)
        return order[self.rank::self.world_size]

    def _row(self, index: int):
        shard = int(np.searchsorted(self._offsets, index, side="right") - 1)
        local = index - int(self._offsets[shard])
        s = self._shards[shard]
        tokens = np.array(s.tokens[local], dtype=np.int64)
        if torch is not None:
            tokens = torch.from_numpy(tokens)
        if not self.return_doc_starts:
            return {"input_ids": tokens}
        starts = np.array(s.starts[local].as_py(), dtype=np.int64)
        return {"input_ids": tokens, "doc_starts": torch.from_numpy(starts) if torch is not None else starts}

    def __iter__(self) -> Iterator[dict]:
        order = self._rank_order()
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        positions = np.arange(len(order))
        mine = positions[worker::workers]
        mine = mine[mine >= self.consumed]
        for p in mine:
            if info is None:
                self.consumed = int(p) + 1
            yield self._row(int(order[p]))
