"""The benchmark scripts run (a tiny configuration; their figures are never asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, script="paired_ab.py"):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=300)


def test_paired_ab_flips_a_constant_and_prints_the_paired_ratio():
    out = _run("_BLOCK", "16,8", "--rounds", "2", "--batches", "2", "--threads", "1")
    assert out.returncode == 0, out.stderr
    assert "nnlib.kernels._BLOCK, 1 thread(s), 2 paired rounds" in out.stdout
    assert "paired ratio to 16:" in out.stdout


def test_paired_ab_names_a_constant_that_does_not_exist():
    out = _run("_NO_SUCH_CONSTANT", "1,2")
    assert out.returncode != 0
    assert "has a constant '_NO_SUCH_CONSTANT'" in out.stderr


def test_process_pair_trains_the_same_bits_as_the_threads():
    # the helper process computes half 1 on a replica of the model: the check at its end
    # (status 1 unless both ways end with the same weights) is the part that can fail
    out = _run("--rounds", "1", "--batches", "2", "--check-steps", "3", script="process_pair.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "weights after 3 steps trained both ways: the same bits" in out.stdout
    assert "process pair / threads:" in out.stdout
    assert "leaked" not in out.stderr  # the shared memory is released
