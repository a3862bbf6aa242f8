"""Peak memory of one forward + backward of a convolution, measured in a fresh process (run as a script).

``python benchmarks/peak_memory.py numpy|torch`` prints one JSON object: ``rss_peak`` (bytes: the peak
resident set size during the call above the resident size just before it) and, for NumPy, ``traced_peak``
(the peak of the bytes NumPy allocated during the call, from ``tracemalloc``, as a cross-check).

Method: the inputs are made and both code paths are warmed up on a tiny problem (so that libraries and
kernels are loaded), then Linux's high-water mark is reset (``5`` written to ``/proc/self/clear_refs``), the
call runs once at the benchmark size and ``VmHWM − VmRSS`` (from ``/proc/self/status``) is its peak. A fresh
process per measurement keeps memory that an allocator cached from an earlier call out of the count; both
sides are measured the same way, so the ratio compares what each computation holds at its peak (inputs
excluded, outputs, saved tensors, gradients and temporaries included).
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZE = {"N": 32, "C": 32, "H": 32, "O": 64}


def _status(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"{key} is not in /proc/self/status")


def _reset_high_water_mark() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def _data(n: int, c: int, h: int, o: int) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(c * 9)
    return {
        "x": rng.standard_normal((n, c, h, h)).astype(np.float32),
        "weight": rng.uniform(-bound, bound, (o, c, 3, 3)).astype(np.float32),
        "bias": rng.uniform(-bound, bound, o).astype(np.float32),
        "dout": rng.standard_normal((n, o, h, h)).astype(np.float32),
    }


def _numpy_call(d: dict[str, Any]) -> Any:
    from layers.numpy.conv import Conv2dModule

    module = Conv2dModule(d["x"].shape[1], d["weight"].shape[0], 3, padding=1)
    module.params["weight"], module.params["bias"] = d["weight"], d["bias"]

    def call() -> Any:
        module.forward(d["x"])
        return module.backward(d["dout"]), dict(module.grads)

    return call


def _torch_call(d: dict[str, Any]) -> Any:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    x, w, b = (torch.from_numpy(d[k]).requires_grad_() for k in ("x", "weight", "bias"))
    dout = torch.from_numpy(d["dout"])
    return lambda: torch.autograd.grad(F.conv2d(x, w, b, padding=1), [x, w, b], dout)


def measure(side: str) -> dict[str, Any]:
    """Peak bytes of one forward + backward of ``side`` (``numpy`` or ``torch``) at :data:`SIZE`."""
    make = _numpy_call if side == "numpy" else _torch_call
    make(_data(2, 2, 6, 3))()  # warm-up on a tiny problem: loads code, caches nothing of the real size
    call = make(_data(**{k.lower(): v for k, v in SIZE.items()}))
    traced = side == "numpy"
    if traced:
        tracemalloc.start()
    _reset_high_water_mark()
    before = _status("VmRSS")
    result = call()
    rss_peak = _status("VmHWM") - before
    out: dict[str, Any] = {"side": side, "rss_peak": rss_peak, "size": SIZE}
    if traced:
        out["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    del result
    return out


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1] if len(sys.argv) > 1 else "numpy")))
