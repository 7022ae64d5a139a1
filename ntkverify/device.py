"""Device and dtype policy: the one place that chooses where and in what precision tensors live.

* dtype: ``float64`` unless a caller asks otherwise (the tolerance model of ``ntkverify.tolerances`` is
  written for the unit roundoff of the dtype actually used).
* device: ``NTKVERIFY_DEVICE=cpu|cuda`` if set; otherwise CUDA when available, else CPU.
* TF32 is switched off on CUDA: it would silently turn float32 matmuls into 10-bit-mantissa products.

Nothing else in the package picks a device; everything calls :func:`default_device`.
"""

from __future__ import annotations

import os

import torch

DEFAULT_DTYPE = torch.float64
ENV_VAR = "NTKVERIFY_DEVICE"
_CHOICES = ("cpu", "cuda")


class DeviceUnavailable(ValueError):
    """The device asked for does not exist on this machine (e.g. CUDA without a GPU): an environment failure."""


def _disable_tf32() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


_disable_tf32()


def cuda_available() -> bool:
    """Whether a CUDA device can be used by this process."""
    return torch.cuda.is_available()


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn a user choice (``None``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``) into a device.

    ``None`` means the policy default (see the module docstring). Asking for CUDA where none exists is an
    error, not a silent fall-back to the CPU.
    """
    if device is None:
        env = os.environ.get(ENV_VAR, "").strip().lower()
        if env:
            if env not in _CHOICES:
                raise ValueError(f"{ENV_VAR} must be one of {_CHOICES}, got {env!r}")
            device = env
        else:
            device = "cuda" if cuda_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be a CPU or CUDA device, got {device!r}") from exc
    if dev.type == "cuda" and not cuda_available():
        raise DeviceUnavailable(f"device {str(dev)!r} requested but CUDA is not available")
    if dev.type not in _CHOICES:
        raise ValueError(f"device must be a CPU or CUDA device, got {str(dev)!r}")
    return dev


def default_device() -> torch.device:
    """The policy device: ``NTKVERIFY_DEVICE`` if set, else CUDA when available, else CPU."""
    return resolve_device(None)


def unit_roundoff(dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """u = eps/2 of a floating dtype (2^-53 for float64, 2^-24 for float32)."""
    return torch.finfo(dtype).eps / 2
