"""Data sets for the training runs: scikit-learn's bundled digits and CIFAR-10 from its python pickles.

Images are kept as ``(N, C, H, W)`` float32 arrays so that the ConvNet can read them as they are and the MLPs
flatten them (:func:`flatten`). Nothing is ever downloaded.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_FILES",
    "DATASETS",
    "Dataset",
    "DatasetNotFoundError",
    "batches",
    "flatten",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "one_hot",
    "standardise",
    "subset",
]

DATASETS = ("digits", "cifar10")
CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are not where they were looked for; the message names the path and the files."""


@dataclass(frozen=True)
class Dataset:
    """Train and test images ``(N, C, H, W)`` with integer labels ``(N,)``.

    Attributes:
        name: ``"digits"`` or ``"cifar10"``.
        x_train: training images, float32 ``(N_train, C, H, W)``.
        y_train: training labels, int64 ``(N_train,)`` in ``[0, n_classes)``.
        x_test: test images, float32 ``(N_test, C, H, W)``.
        y_test: test labels, int64 ``(N_test,)``.
        image_shape: ``(C, H, W)``.
        n_classes: number of classes.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int, int]
    n_classes: int

    @property
    def n_features(self) -> int:
        """Length of a flattened image, ``C * H * W``."""
        c, h, w = self.image_shape
        return c * h * w


def load_digits(seed: int = 0, test_size: float = 0.2) -> Dataset:
    """scikit-learn's 8×8 digits (1797 images, 10 classes) split stratified with ``seed``; raw pixels 0–16."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = bunch.images.astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    return Dataset("digits", x_train, y_train, x_test, y_test, (1, 8, 8), 10)


def _cifar10_dir(data_dir: str | Path) -> Path:
    """``data_dir/cifar-10-batches-py``, or ``data_dir`` itself when it already holds the batches."""
    root = Path(data_dir)
    if (root / CIFAR10_FILES[0]).is_file() and not (root / CIFAR10_DIRNAME).is_dir():
        return root
    return root / CIFAR10_DIRNAME


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open("rb") as f:
        # The official batches are Python 2 pickles of dicts with bytes keys; encoding="bytes" keeps them so.
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (data.shape[0],):
        raise ValueError(
            f"{path}: expected b'data' of shape (N, 3072) and N b'labels', "
            f"got data {data.shape} and labels {labels.shape}"
        )
    return data.reshape(-1, 3, 32, 32).astype(np.float32), labels


def load_cifar10(data_dir: str | Path) -> Dataset:
    """CIFAR-10 from the python-pickle batches in ``data_dir/cifar-10-batches-py`` (50000 train, 10000 test).

    Raises:
        DatasetNotFoundError: the directory or one of ``data_batch_1..5``, ``test_batch`` is missing; the
            message names the directory looked in and where the archive comes from (nothing is downloaded).
        ValueError: a batch does not have the CIFAR-10 layout.
    """
    folder = _cifar10_dir(data_dir)
    missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"CIFAR-10 not found: expected data_batch_1..data_batch_5 and test_batch in {folder} "
            f"(missing: {', '.join(missing)}); extract {CIFAR10_URL} "
            f"into {Path(data_dir)} or pass --data-dir (nothing is downloaded)"
        )
    train = [_read_cifar_batch(folder / name) for name in CIFAR10_FILES[:5]]
    x_test, y_test = _read_cifar_batch(folder / CIFAR10_FILES[5])
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return Dataset("cifar10", x_train, y_train, x_test, y_test, (3, 32, 32), 10)


def load_dataset(name: str, *, data_dir: str | Path = "data", seed: int = 0) -> Dataset:
    """Load ``name`` (one of :data:`DATASETS`), not yet standardised."""
    if name == "digits":
        return load_digits(seed)
    if name == "cifar10":
        return load_cifar10(data_dir)
    raise ValueError(f"unknown dataset {name!r}; pass one of {', '.join(DATASETS)}")


def standardise(data: Dataset) -> Dataset:
    """Subtract the training set's per-channel mean and divide by its per-channel std (test set too)."""
    mean = data.x_train.mean(axis=(0, 2, 3), keepdims=True, dtype=np.float64)
    std = data.x_train.std(axis=(0, 2, 3), keepdims=True, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)

    def apply(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype(np.float32)

    return replace(data, x_train=apply(data.x_train), x_test=apply(data.x_test))


def subset(data: Dataset, n: int) -> Dataset:
    """The first ``n`` training and the first ``n`` test examples (the split is already shuffled)."""
    return replace(
        data,
        x_train=data.x_train[:n],
        y_train=data.y_train[:n],
        x_test=data.x_test[:n],
        y_test=data.y_test[:n],
    )


def flatten(x: np.ndarray) -> np.ndarray:
    """``(N, C, H, W) -> (N, C*H*W)``."""
    return x.reshape(x.shape[0], -1)


def one_hot(y: np.ndarray, n_classes: int, dtype: type = np.float32) -> np.ndarray:
    """Integer labels ``(N,)`` as one-hot rows ``(N, n_classes)``."""
    out: np.ndarray = np.zeros((y.shape[0], n_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def batches(n: int, batch_size: int, rng: np.random.Generator):
    """Endless index batches of exactly ``batch_size``: shuffled epochs, a batch may straddle two epochs.

    Every batch has the full size, so a batch-norm layer never sees a batch of one.
    """
    if not 0 < batch_size <= n:
        raise ValueError(f"batch size must be in 1..{n} (the training set size), got {batch_size}")
    pending = np.empty(0, dtype=np.int64)
    while True:
        while pending.size < batch_size:
            pending = np.concatenate([pending, rng.permutation(n)])
        yield pending[:batch_size]
        pending = pending[batch_size:]
