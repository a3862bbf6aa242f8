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
    """Correct: probabilities clipped at the dtype's smallest normal number before the log (active only at exact
    zeros, where y = 0 makes the term 0; a clip at 1e-300 is 0 in float32 and gives 0 · log 0 = nan there)."""

    def loss(self, x, y):
        return -(y * np.log(np.clip(x, np.finfo(x.dtype).tiny, None))).sum() / x.shape[0]

    def grad(self, x, y):
        return -y / np.clip(x, np.finfo(x.dtype).tiny, None) / x.shape[0]


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


class CrossEntropyStabilised(_CrossEntropy):
    """Correct (a warning where p is tiny): ``log(x + 1e-10)`` in forward and ``−y / (x + 1e-10)`` in backward, the
    same epsilon in both, so the gradients are those of the function the forward computes."""

    def loss(self, x, y):
        return -(y * np.log(x + 1e-10)).sum() / x.shape[0]

    def grad(self, x, y):
        return -y / (x + 1e-10) / x.shape[0]


class CrossEntropyTextbook(_CrossEntropy):
    """Correct on the domain (0, 1] (a warning at exact zeros): the textbook ``−Σ y log x / B`` and ``−y / (B x)``,
    which give 0 · log 0 = NaN where softmax underflow makes a non-label probability exactly 0."""

    def loss(self, x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -(y * np.log(x)).sum() / x.shape[0]

    def grad(self, x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -y / x / x.shape[0]


def _eps_in_backward_only(eps):
    class CrossEntropyEpsBackwardOnly(_CrossEntropy):
        __doc__ = f"Forward ``−y log x``; backward ``−y / (x + {eps:g})``: the epsilon only in backward."

        def grad(self, x, y):
            return -y / (x + eps) / x.shape[0]

    CrossEntropyEpsBackwardOnly.__name__ = CrossEntropyEpsBackwardOnly.__qualname__ = (
        f"CrossEntropyEpsBackwardOnly{eps:.0e}".replace("-", "m")
    )
    return CrossEntropyEpsBackwardOnly


CrossEntropyEpsBackwardOnly1em07 = _eps_in_backward_only(1e-7)
CrossEntropyEpsBackwardOnly1em05 = _eps_in_backward_only(1e-5)
CrossEntropyEpsBackwardOnly1em03 = _eps_in_backward_only(1e-3)


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
    wrong(
        "cross_entropy",
        CrossEntropySqueezedBatch,
        "forward",
        "input_gradient",
        why="B read as len(x.squeeze()): len() of a 0-d array at B = C = 1",
        crash=True,
    ),
    wrong("cross_entropy", CrossEntropyGradientSign, "input_gradient", "autograd_agreement", why="sign lost"),
    correct("cross_entropy", CrossEntropyClipped, "clipping at the smallest normal number"),
    correct("cross_entropy", CrossEntropyLabelIndex, "indexing the target class of one-hot y"),
    correct(
        "cross_entropy",
        CrossEntropyTextbook,
        "the textbook formula: NaN only at exact-zero probabilities, the boundary of its domain",
        warns=("forward", "finite"),
    ),
    correct("cross_entropy", CrossEntropyStabilised, "log(x + 1e-10) and −y/(x + 1e-10): a consistent epsilon"),
    *(
        wrong("cross_entropy", cls, "autograd_agreement", "input_gradient", why="an epsilon in backward only")
        for cls in (
            CrossEntropyEpsBackwardOnly1em07,
            CrossEntropyEpsBackwardOnly1em05,
            CrossEntropyEpsBackwardOnly1em03,
        )
    ),
]
