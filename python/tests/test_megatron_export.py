"""`taojin export --format megatron` read back by megatron-core's own IndexedDataset.

The shards are packed rows (cut every seq_len tokens, shuffled, each with its `row_id`
and `doc_starts`); the export must hold the same tokens in stream order, one Megatron
sequence per document, documents split across rows joined again.
"""

import json
import subprocess

import numpy as np
import pyarrow as pa
from megatron.core.datasets.indexed_dataset import IndexedDataset

from conftest import BIN


def stream(shards, split):
    """The split's token stream and its document starts, from the shards themselves."""
    manifest = json.loads((shards / "manifest.json").read_text())
    rows = {}
    for s in manifest["shards"]:
        if s["split"] != split:
            continue
        with pa.memory_map(str(shards / s["file"])) as f:
            table = pa.ipc.open_file(f).read_all()
        for tokens, starts, row_id in zip(table["tokens"].to_pylist(), table["doc_starts"].to_pylist(),
                                          table["row_id"].to_pylist()):
            rows[row_id] = (tokens, starts)
    seq_len = manifest["seq_len"]
    assert sorted(rows) == list(range(len(rows)))
    tokens = np.concatenate([np.array(rows[i][0], dtype=np.int64) for i in range(len(rows))])
    starts = sorted(i * seq_len + s for i in range(len(rows)) for s in rows[i][1])
    return manifest, tokens, starts


def test_megatron_indexed_dataset_reads_the_shards_tokens(shards, tmp_path):
    out = tmp_path / "megatron"
    subprocess.run([BIN, "export", str(shards), "--format", "megatron", "--out", str(out)],
                   check=True, capture_output=True)
    exported = json.loads((out / "export.json").read_text())
    assert json.loads((out / "manifest.json").read_text()) == json.loads((shards / "manifest.json").read_text())
    for split in ("train", "valid"):
        manifest, tokens, starts = stream(shards, split)
        ds = IndexedDataset(str(out / split))
        assert ds.index.dtype == np.uint16, ds.index.dtype
        # One sequence per document; the documents are the shards' ones, in stream order.
        assert len(ds) == len(starts) == exported["splits"][split]["documents"]
        assert list(ds.document_indices) == list(range(len(starts) + 1))
        got = [ds[i].astype(np.int64) for i in range(len(ds))]
        assert np.array_equal(np.concatenate(got), tokens)
        ends = starts[1:] + [len(tokens)]
        assert [len(g) for g in got] == [e - s for s, e in zip(starts, ends)]
        eos = manifest["tokenizer"]["eos_id"]
        # Every document but possibly the stream's last (cut with the dropped remainder)
        # ends with EOS and holds no other EOS.
        for g in got[:-1]:
            assert g[-1] == eos and (g[:-1] != eos).all()
        assert exported["splits"][split]["last_document_cut"] == (got[-1][-1] != eos)
        # Documents longer than a row were split over rows and are whole again.
        assert max(len(g) for g in got) > manifest["seq_len"]


def test_wide_vocabularies_export_as_int32(shards, tmp_path):
    """A vocabulary over 65,535 ids (uint32 shards) becomes Megatron's int32, same ids."""
    manifest = json.loads((shards / "manifest.json").read_text())
    wide = tmp_path / "wide"
    wide.mkdir()
    shift = 70_000
    for s in manifest["shards"]:
        with pa.memory_map(str(shards / s["file"])) as f:
            table = pa.ipc.open_file(f).read_all()
        tokens = table["tokens"].combine_chunks()
        values = pa.array(np.asarray(tokens.values.to_numpy(), dtype=np.uint32) + shift, type=pa.uint32())
        wide_tokens = pa.FixedSizeListArray.from_arrays(values, manifest["seq_len"])
        out = table.set_column(0, pa.field("tokens", wide_tokens.type, nullable=False), wide_tokens)
        with pa.OSFile(str(wide / s["file"]), "wb") as f, pa.ipc.new_file(f, out.schema) as w:
            w.write_table(out)
    manifest["dtype"] = "uint32"
    manifest["tokenizer"]["vocab_size"] += shift
    manifest["tokenizer"]["eos_id"] += shift
    (wide / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "megatron-wide"
    subprocess.run([BIN, "export", str(wide), "--out", str(out)], check=True, capture_output=True)
    assert json.loads((out / "export.json").read_text())["splits"]["train"]["dtype"] == "int32"
    _, tokens, starts = stream(shards, "train")
    ds = IndexedDataset(str(out / "train"))
    assert ds.index.dtype == np.int32
    assert len(ds) == len(starts)
    got = np.concatenate([ds[i].astype(np.int64) for i in range(len(ds))])
    assert np.array_equal(got, tokens + shift)
