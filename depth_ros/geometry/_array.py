"""Write a geometric function once for NumPy arrays and torch tensors alike.

Functions in ``geometry/`` call :func:`array_namespace` on their inputs and use only the operations
that ``numpy`` and ``torch`` spell the same way, so there is one implementation of each convention.
torch is imported only when a tensor is passed in.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def is_tensor(x: Any) -> bool:
    """True for a ``torch.Tensor`` (checked without importing torch)."""
    return type(x).__module__.startswith("torch")


def array_namespace(*arrays: Any) -> ModuleType:
    """``torch`` if any argument is a tensor, otherwise ``numpy``."""
    if any(is_tensor(a) for a in arrays):
        import torch

        return torch
    return np


def swap_last_axes(x: Any) -> Any:
    """Transpose the last two axes (batched matrix transpose)."""
    return x.transpose(-1, -2) if is_tensor(x) else np.swapaxes(x, -1, -2)


def arange_like(x: Any, count: int) -> Any:
    """``[0, 1, ..., count - 1]`` with the kind, dtype and device of ``x``, made on that device (a tensor made
    on the host and moved would be a blocking copy per call on a GPU, which CUDA graph capture refuses)."""
    if is_tensor(x):
        import torch

        return torch.arange(count, dtype=x.dtype, device=x.device)
    return np.arange(count, dtype=x.dtype)


def like(x: Any, values: Any) -> Any:
    """``values`` as an array of the kind, dtype and device of ``x``."""
    if is_tensor(x):
        import torch

        return torch.as_tensor(values, dtype=x.dtype, device=x.device)
    return np.asarray(values, dtype=x.dtype)
