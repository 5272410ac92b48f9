"""The tiny-GPT example trains on demo shards and its loss goes down (CPU, few steps)."""

import os
import subprocess
import sys


EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "train_tiny_gpt.py")


def test_tiny_gpt_loss_goes_down(shards):
    out = subprocess.run([sys.executable, EXAMPLE, str(shards), "--steps", "60", "--batch", "4", "--device", "cpu"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    first, last = [float(x) for x in out.stdout.strip().splitlines()[-1].split()[1:4:2]]
    assert last < first
