"""Fixtures for the training tests: CIFAR-10 batches in the official python-pickle layout, in tmp_path."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """torch on one thread: the test models are tiny, and two threads on two busy cores are ~8 times slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_cifar_batch(path: Path, n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """One batch as the official files store it: a pickled dict, bytes keys, uint8 (n, 3072), int labels."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    batch = {b"batch_label": b"x", b"labels": labels, b"data": data, b"filenames": [b"f.png"] * n}
    with path.open("wb") as f:
        pickle.dump(batch, f, protocol=2)
    return data, labels


@pytest.fixture
def cifar_batch_writer() -> Callable[[Path, int, int], tuple[np.ndarray, list[int]]]:
    """:func:`write_cifar_batch`, for tests that write their own batch."""
    return write_cifar_batch


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    """``tmp_path/data`` with ``cifar-10-batches-py/``: five 4-image train batches, a 3-image test batch."""
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        write_cifar_batch(folder / f"data_batch_{i}", 4, seed=i)
    write_cifar_batch(folder / "test_batch", 3, seed=99)
    return tmp_path / "data"
