from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layers.training.data import (
    DatasetNotFoundError,
    batches,
    load_cifar10,
    load_dataset,
    load_digits,
    standardise,
)


def test_cifar10_reads_the_pickle_batches(cifar_dir: Path, cifar_batch_writer: Callable) -> None:
    data = load_cifar10(cifar_dir)
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (3, 3, 32, 32)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert (data.image_shape, data.n_classes, data.n_features) == ((3, 32, 32), 10, 3072)
    raw, labels = cifar_batch_writer(cifar_dir / "again", 4, seed=1)  # same seed as data_batch_1
    np.testing.assert_array_equal(data.x_train[:4].reshape(4, -1), raw.astype(np.float32))
    np.testing.assert_array_equal(data.y_train[:4], labels)


def test_cifar10_accepts_the_batches_folder_itself(cifar_dir: Path) -> None:
    assert load_cifar10(cifar_dir / "cifar-10-batches-py").x_train.shape[0] == 20


def test_cifar10_missing_names_the_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("cifar10", data_dir=tmp_path / "nowhere")
    message = str(info.value)
    assert str(tmp_path / "nowhere" / "cifar-10-batches-py") in message
    assert "data_batch_1" in message and "test_batch" in message and "nothing is downloaded" in message


def test_cifar10_missing_one_batch_is_named(cifar_dir: Path) -> None:
    (cifar_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"missing: data_batch_3\)"):
        load_cifar10(cifar_dir)


def test_cifar10_wrong_layout_is_a_value_error(cifar_dir: Path) -> None:
    import pickle

    with (cifar_dir / "cifar-10-batches-py" / "test_batch").open("wb") as f:
        pickle.dump({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"expected b'data' of shape \(N, 3072\)"):
        load_cifar10(cifar_dir)


def test_digits_split_is_stratified_and_seeded() -> None:
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert a.x_train.shape == (1437, 1, 8, 8) and a.x_test.shape == (360, 1, 8, 8)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


def test_standardise_uses_training_statistics() -> None:
    data = standardise(load_digits(seed=0))
    assert abs(float(data.x_train.mean())) < 1e-5 and abs(float(data.x_train.std()) - 1) < 1e-5
    assert data.x_test.dtype == np.float32 and abs(float(data.x_test.mean())) < 0.1


def test_batches_have_full_size_and_cover_each_epoch() -> None:
    sampler = batches(10, 4, np.random.default_rng(0))
    drawn = np.concatenate([next(sampler) for _ in range(5)])  # 20 indices = two epochs
    assert all(next(sampler).size == 4 for _ in range(7))
    np.testing.assert_array_equal(np.bincount(drawn, minlength=10), np.full(10, 2))


@pytest.mark.parametrize("batch_size", [0, 11])
def test_batches_reject_impossible_sizes(batch_size: int) -> None:
    with pytest.raises(ValueError, match=r"batch size must be in 1\.\.10"):
        next(batches(10, batch_size, np.random.default_rng(0)))
