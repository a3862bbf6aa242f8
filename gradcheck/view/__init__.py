"""Adapters: every supported protocol becomes one :class:`OpView`."""

from __future__ import annotations

from typing import Any

from gradcheck.errors import InvalidTarget
from gradcheck.view.base import OpView, call_layer, describe
from gradcheck.view.numpy_module import find_param_owners, is_numpy_module, numpy_module_view
from gradcheck.view.torch_views import function_view, is_autograd_function, is_torch_module, module_view

__all__ = ["OpView", "adapt", "call_layer", "describe", "find_param_owners"]


def _device_of(inputs: tuple[Any, ...], device: str | None) -> str:
    if device is not None:
        return device
    for a in inputs:
        dev = getattr(a, "device", None)
        if dev is not None and str(dev) != "cpu":
            return str(dev)
    return "cpu"


def adapt(target: Any, inputs: tuple[Any, ...], device: str | None = None) -> OpView:
    """The :class:`OpView` of ``target`` at ``inputs``.

    Supported: a ``torch.autograd.Function`` subclass (``apply(*inputs)``), a ``torch.nn.Module`` instance, and a
    NumPy module instance (``forward``/``backward``, optional ``params``/``grads``).

    Raises:
        InvalidTarget: ``target`` follows none of these protocols (a class instead of an instance, a function).
    """
    dev = _device_of(inputs, device)
    if is_autograd_function(target):
        return function_view(target, inputs, dev)
    if is_torch_module(target):
        return module_view(target, inputs, dev)
    if isinstance(target, type):
        raise InvalidTarget(
            f"got the class {target.__name__}; pass an instance (e.g. {target.__name__}(...)) "
            "or a torch.autograd.Function subclass"
        )
    if is_numpy_module(target):
        return numpy_module_view(target, inputs)
    raise InvalidTarget(
        f"cannot check {type(target).__name__}: expected a NumPy module (forward/backward), a torch.nn.Module "
        "instance or a torch.autograd.Function subclass"
    )
