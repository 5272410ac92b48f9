#!/usr/bin/env python3
"""Tokenization benchmark: taojin beside Python `tokenizers` (and tiktoken) with the same
tokenizer.json, on every core.

1. Identity and encoder speed: `taojin encode-check TOKENIZER CORPUS` encodes every
   document with the `tokenizers` crate and with taojin's fast BPE encoder, requires
   identical ids for every document, and times both.
2. The whole path: a taojin job `normalize` (every edit off, so the text is unchanged)
   → `tokenize` (pack into rows, shuffle, write Arrow shards) beside the peer
   `hf_tokenize.py` (read + `encode_batch` + EOS + Arrow write) and
   `hf_tokenize.py --impl tiktoken --no-arrow`. Ratios are MB/s of text.
Medians of --repeat runs. Standard library only; the peers need `bash bench/peers.sh`
(which also builds the Qwen2-layout tokenizer.json used by default).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return time.perf_counter() - start, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taojin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--tokenizer", default=None, help="default: the peers' Qwen2-layout tokenizer.json")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    corpus = os.path.abspath(a.corpus)
    tok = os.path.abspath(a.tokenizer or os.path.join(a.peers, ".work/qwen-tokenizer.json"))
    py = os.path.join(a.peers, ".venv/bin/python")
    work = tempfile.mkdtemp(prefix="taojin-tok-")

    checks = [json.loads(run([a.taojin, "encode-check", tok, corpus])[1]) for _ in range(a.repeat)]
    c = checks[0]
    print(f"tokenize on {a.corpus}: {c['docs']} documents, {c['bytes'] / 1e6:.1f} MB text, "
          f"{c['tokens']} tokens; tokenizer {os.path.basename(tok)}; median of {a.repeat}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"ids identical for {c['docs'] - c['mismatches']}/{c['docs']} documents")
    hf_enc = statistics.median(x["hf_mb_per_s"] for x in checks)
    fast_enc = statistics.median(x["fast_mb_per_s"] for x in checks)

    job = os.path.join(work, "job.toml")
    with open(job, "w") as f:
        f.write(f'[job]\nname = "tok"\noutput = "{work}/out"\non_bad_record = "skip"\nreport = false\n\n'
                f'[[inputs]]\nname = "corpus"\npath = "{corpus}"\n\n'
                '[[stages]]\nkind = "normalize"\nstrip_ansi = false\nunify_spaces = false\n'
                'max_blank_lines = 1000000\n\n'
                f'[[stages]]\nkind = "tokenize"\ntokenizer = "{tok}"\nseq_len = 2048\n'
                'valid_fraction = 0.0\n')
    # The same without the normalize stage: tokenize reads the JSONL itself, as the
    # tiktoken peer does (read, encode; plus pack, shuffle and shard writes here).
    alone = os.path.join(work, "alone.toml")
    with open(alone, "w") as f:
        f.write(f'[job]\nname = "tok"\noutput = "{work}/alone"\non_bad_record = "skip"\nreport = false\n\n'
                f'[[inputs]]\nname = "corpus"\npath = "{corpus}"\n\n'
                f'[[stages]]\nkind = "tokenize"\ntokenizer = "{tok}"\nseq_len = 2048\n'
                'valid_fraction = 0.0\n')
    whole, stage, only = [], [], []
    for _ in range(a.repeat):
        secs, _ = run([a.taojin, "run", job, "--force"])
        with open(os.path.join(work, "out", "stats.json")) as f:
            st = json.load(f)["stages"]
        whole.append(secs)
        stage.append(st[1]["seconds"])
        only.append(run([a.taojin, "run", alone, "--force"])[0])
    mb = c["bytes"] / 1e6

    def peer(args):
        res, walls = [], []
        for _ in range(a.repeat):
            secs, out = run([py, os.path.join(a.peers, "hf_tokenize.py"), "--input", corpus,
                             "--workdir", os.path.join(work, "peer")] + args)
            res.append(json.loads(out.strip().splitlines()[-1]))
            walls.append(secs)
        return (statistics.median(r["mb_per_s"] for r in res),
                statistics.median(r["tokenize_mb_per_s"] for r in res), res[0]["tokens"],
                statistics.median(walls))

    hf_all, hf_tok, hf_tokens, _ = peer(["--tokenizer", tok])
    tt_all, tt_tok, _, tt_wall = peer(["--impl", "tiktoken", "--no-arrow"])
    rows = [
        ("taojin normalize → tokenize job (read, encode, pack, shuffle, write shards)", mb / statistics.median(whole)),
        ("taojin tokenize stage alone (encode, pack, shuffle, write)", mb / statistics.median(stage)),
        ("taojin fast encoder (encode only)", fast_enc),
        ("tokenizers crate encode_batch (encode only)", hf_enc),
        ("Python tokenizers: read + encode_batch + Arrow write", hf_all),
        ("Python tokenizers: encode_batch only", hf_tok),
        ("tiktoken (same vocabulary): encode only", tt_tok),
    ]
    for name, v in rows:
        print(f"  {name:<80} {v:8.2f} MB/s")
    print(f"ratio, whole job vs Python read+encode+write: {rows[0][1] / hf_all:.2f}x")
    print(f"ratio, encoder vs Python encode_batch:        {fast_enc / hf_tok:.2f}x")
    print(f"ratio, encoder vs tiktoken:                   {fast_enc / tt_tok:.2f}x")
    # What a user waits for: whole processes, tokenizer load included. tiktoken's does
    # less (no normalize pass, no packing, no shard write).
    print(f"ratio, whole taojin job vs whole tiktoken process (start, load, read, encode): "
          f"{tt_wall / statistics.median(whole):.2f}x ({statistics.median(whole):.1f} s vs {tt_wall:.1f} s)")
    print(f"ratio, whole taojin tokenize-only job vs whole tiktoken process: "
          f"{tt_wall / statistics.median(only):.2f}x ({statistics.median(only):.1f} s vs {tt_wall:.1f} s)")
    print(f"tokens: taojin {c['tokens'] + c['docs']} with EOS, Python {hf_tokens}")


if __name__ == "__main__":
    main()
