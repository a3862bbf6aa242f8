"""Variants of the cross-entropy loss of probabilities (NumPy loss module ``forward(x, y)``/``backward(x, y)``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from layers.numpy import CrossEntropyModule

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong


class _CrossEntropy(CrossEntropyModule):
    def forward(self, x, y):
        x, y = np.asarray(x), np.asarray(y, dtype=np.asarray(x).dtype)
        return x.dtype.type(self.loss(x, y))

    def loss(self, x, y):
        return -(y * np.log(x)).sum() / x.shape[0]

    def backward(self, x, y):
        x, y = np.asarray(x), np.asarray(y, dtype=np.asarray(x).dtype)
        return self.grad(x, y).astype(x.dtype)

    def grad(self, x, y):
        return -y / x / x.shape[0]


class CrossEntropySum(_CrossEntropy):
    """Summed over the batch instead of averaged, with the matching backward (consistent, wrong semantics)."""

    def loss(self, x, y):
        return -(y * np.log(x)).sum()

    def grad(self, x, y):
        return -y / x


class CrossEntropyBackwardMissingB(_CrossEntropy):
    """Forward is the mean; backward forgets the 1/B."""

    def grad(self, x, y):
        return -y / x


class CrossEntropyForwardNoMean(_CrossEntropy):
    """Forward sums ``−y log x`` over the batch (no mean); backward is the reference one."""

    def loss(self, x, y):
        return -(y * np.log(x)).sum()


class CrossEntropyIgnoresTargets(_CrossEntropy):
    """``−Σ log x``: the targets never enter."""

    def loss(self, x, y):
        return -np.log(x).sum() / x.shape[0]

    def grad(self, x, y):
        return -1 / x / x.shape[0]


class CrossEntropyEpsInPlace(_CrossEntropy):
    """``x += 1e-12`` "to avoid log(0)": changes the caller's probabilities."""

    def forward(self, x, y):
        x += 1e-12
        return super().forward(x, y)


class CrossEntropySqueezedBatch(_CrossEntropy):
    """The batch size read as ``len(x.squeeze())``: the number of classes when B = 1."""

    def loss(self, x, y):
        return -(y * np.log(x)).sum() / len(np.squeeze(x))

    def grad(self, x, y):
        return -y / x / len(np.squeeze(x))


class CrossEntropyGradientSign(_CrossEntropy):
    """Backward returns ``y / (B x)``: the sign of the log's derivative lost."""

    def grad(self, x, y):
        return y / x / x.shape[0]


class CrossEntropyClipped(_CrossEntropy):
    """Correct: probabilities clipped at 1e-300 before the log (never active on valid probabilities)."""

    def loss(self, x, y):
        return -(y * np.log(np.clip(x, 1e-300, None))).sum() / x.shape[0]

    def grad(self, x, y):
        return -y / np.clip(x, 1e-300, None) / x.shape[0]


class CrossEntropyLabelIndex(_CrossEntropy):
    """Correct: picks the target class with ``argmax(y)`` and indexes (valid for one-hot targets)."""

    def loss(self, x, y):
        idx = y.argmax(axis=1)
        return -np.log(x[np.arange(len(x)), idx]).mean()

    def grad(self, x, y):
        idx = y.argmax(axis=1)
        dx = np.zeros_like(x)
        dx[np.arange(len(x)), idx] = -1 / (x[np.arange(len(x)), idx] * len(x))
        return dx


VARIANTS = [
    wrong(
        "cross_entropy",
        CrossEntropySum,
        "batch_semantics",
        "forward",
        why="sum over the batch instead of the mean (consistent backward)",
    ),
    wrong(
        "cross_entropy", CrossEntropyBackwardMissingB, "input_gradient", "autograd_agreement", why="backward misses 1/B"
    ),
    wrong("cross_entropy", CrossEntropyForwardNoMean, "forward", "input_gradient", why="forward misses the mean"),
    wrong("cross_entropy", CrossEntropyIgnoresTargets, "forward", why="y never used"),
    wrong("cross_entropy", CrossEntropyEpsInPlace, "purity", why="x += 1e-12 in place"),
    wrong("cross_entropy", CrossEntropySqueezedBatch, "forward", "input_gradient", why="B read as len(x.squeeze())"),
    wrong("cross_entropy", CrossEntropyGradientSign, "input_gradient", "autograd_agreement", why="sign lost"),
    correct("cross_entropy", CrossEntropyClipped, "clipping at 1e-300 is never active"),
    correct("cross_entropy", CrossEntropyLabelIndex, "indexing the target class of one-hot y"),
]
