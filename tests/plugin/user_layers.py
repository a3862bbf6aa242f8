"""User layers as a user writes them (source text for pytester files), shared by the plugin tests."""

from __future__ import annotations

import textwrap

#: A user's own NumPy linear layer (the course's protocol), correct.
LINEAR = textwrap.dedent(
    """
    import numpy as np


    class LinearModule:
        def __init__(self, in_features, out_features):
            rng = np.random.default_rng(0)
            self.params = {"weight": rng.normal(0, 0.1, (out_features, in_features)), "bias": np.zeros(out_features)}
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

        def forward(self, x):
            self.x = x
            return x @ self.params["weight"].T.astype(x.dtype) + self.params["bias"].astype(x.dtype)

        def backward(self, dout):
            self.grads["weight"] = dout.T @ self.x
            self.grads["bias"] = dout.sum(axis=0)
            return dout @ self.params["weight"].astype(dout.dtype)
    """
)

#: The same layer with the classic bias slip: the gradient of the first sample instead of the batch sum.
BROKEN = LINEAR + textwrap.dedent(
    """

    class BrokenLinear(LinearModule):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["bias"] = dout[0].copy()
            return dx
    """
)

#: A few cheap properties (the full checklist is exercised by tests/test_builtin_layers.py).
FEW = ["interface", "forward", "input_gradient", "param_gradients", "module_contract"]
