"""Input validation shared by every engine: clear ``ValueError`` messages that name the argument.

A check fails early, in the caller's terms, instead of as a NaN or a shape error deep inside torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ntkverify.device import DEFAULT_DTYPE, resolve_device


def as_data(X, name: str = "X", *, device=None, dtype: torch.dtype = DEFAULT_DTYPE) -> torch.Tensor:
    """Validate a data matrix (N points as rows, d features) and return it as a tensor.

    Accepts numpy arrays and torch tensors of a real floating dtype. Raises ``ValueError`` for anything that
    is not 2-D, is empty, has an integer, boolean or complex dtype, or contains NaN or Inf.
    """
    if isinstance(X, np.ndarray):
        if not np.issubdtype(X.dtype, np.floating):
            raise ValueError(f"{name} must have a real floating dtype, got numpy {X.dtype}")
        X = torch.from_numpy(np.ascontiguousarray(X))
    elif not isinstance(X, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(X).__name__}")
    if not X.dtype.is_floating_point:
        raise ValueError(f"{name} must have a real floating dtype, got {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N points x d features), got shape {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        bad = int((~torch.isfinite(X)).any(dim=1).nonzero()[0, 0])
        raise ValueError(f"{name} contains NaN or Inf (first in row {bad})")
    return X.to(device=resolve_device(device), dtype=dtype)


def check_int(value, name: str, minimum: int) -> int:
    """An integer >= ``minimum`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_nonneg(value, name: str) -> float:
    """A finite real number >= 0 (a standard deviation or a variance)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_widths(widths: Sequence[int], name: str = "widths") -> tuple[int, ...]:
    """A sequence of hidden-layer widths, each an integer >= 1."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise ValueError(f"{name} must be a sequence of integers >= 1, got {widths!r}")
    return tuple(check_int(w, f"{name}[{i}]", 1) for i, w in enumerate(widths))
