"""Read taojin token shards for training.

`TokenShards(manifest, split="train")` iterates over the fixed-length rows of a split's
Arrow IPC shards, memory-mapped (no copy of the shard into RAM), split across
`(rank, world_size)` and DataLoader workers, in a per-epoch order derived from a seed,
and resumable through `state_dict()` / `load_state_dict()`.
"""

from .dataset import Manifest, TokenShards, verify_checksums

__all__ = ["Manifest", "TokenShards", "verify_checksums"]
