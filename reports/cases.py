"""How a report stores, describes, replays and minimises a case: one adapter per case type.

A case type is made reportable by registering a :class:`CaseAdapter` for it (:func:`register_case_type`);
lookup follows the class's MRO, so a subclass inherits its parent's adapter unless it registers its own.
An adapter turns a case into JSON fields plus named arrays (stored in ``case.npz``) and back, describes it in a
few lines, and offers the minimiser (:mod:`ntkverify.reports.minimise`) its moves: keep a subset of the data
points, replace the data (rounded coordinates), and smaller structures (depth − 1, narrower layers).

Built-in adapters: :class:`ntkverify.properties.cases.KernelCase` (data + depth of a kernel property),
:class:`ntkverify.strategies.Case` (data + a network) and :class:`ntkverify.strategies.Dataset`, and the bounds
library's ``Case`` (data, depth, δ) and ``EmpiricalCase`` (data and weights).

Replays are bit-for-bit: the data are stored as float64 arrays, never regenerated; a law and its seed are
kept as provenance and re-attached to the replayed case only when re-sampling reproduces the stored points
exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ntkverify.architecture import Architecture
from ntkverify.bounds.cases import Case as BoundCase
from ntkverify.bounds.cases import EmpiricalCase
from ntkverify.device import DEFAULT_DTYPE
from ntkverify.empirical import empirical_ntk
from ntkverify.properties.cases import KernelCase, NetworkCase
from ntkverify.properties.subjects import KernelError
from ntkverify.strategies import Case, Dataset, Distribution, get_distribution


class UnsupportedCase(TypeError):
    """No adapter is registered for this case type (see :func:`register_case_type`)."""


def _cpu(X: torch.Tensor) -> torch.Tensor:
    return X.detach().to(device="cpu", dtype=DEFAULT_DTYPE)


def _array(X: torch.Tensor) -> np.ndarray:
    return _cpu(X).numpy().copy()


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


class CaseAdapter:
    """The protocol a reportable case type implements (subclass and override; defaults use ``case.X``)."""

    type_name: str = ""

    def encode(self, case) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-serialisable fields and the arrays (float64) that rebuild the case exactly."""
        raise NotImplementedError

    def decode(self, fields: dict[str, Any], arrays: dict[str, np.ndarray]):
        raise NotImplementedError

    def describe(self, case) -> dict[str, Any]:
        """A few human lines: distribution, n, d, depth/architecture, seed, device, dtype."""
        return {
            "n": int(case.X.shape[0]),
            "d": int(case.X.shape[1]),
            "device": str(case.X.device),
            "dtype": str(case.X.dtype).replace("torch.", ""),
        }

    def n_points(self, case) -> int:
        return int(case.X.shape[0])

    def data(self, case) -> torch.Tensor:
        return case.X

    def subset(self, case, rows: list[int]):
        """The same case on the data points ``rows`` (in order)."""
        return self.with_data(case, case.X[torch.as_tensor(rows, dtype=torch.long, device=case.X.device)])

    def with_data(self, case, X: torch.Tensor):
        """The same case on other points of the same shape (d), e.g. rounded coordinates."""
        raise NotImplementedError

    def smaller(self, case, subject) -> Iterator[tuple[str, str, Any]]:
        """Structurally smaller candidates ``(step, detail, case)``: ``step`` is ``"depth"`` or ``"widths"``."""
        return iter(())

    def kernel(self, case, subject) -> torch.Tensor | None:
        """The kernel matrix of the case (stored in ``case.npz`` and plotted), or None if unavailable."""
        return None


_ADAPTERS: dict[type, CaseAdapter] = {}
_BY_NAME: dict[str, CaseAdapter] = {}


def register_case_type(cls: type, adapter: CaseAdapter) -> CaseAdapter:
    """Make ``cls`` reportable. ``adapter.type_name`` is the stable name stored in report.json."""
    if not adapter.type_name:
        raise ValueError(f"adapter for {cls.__name__} needs a type_name, got {adapter.type_name!r}")
    if adapter.type_name in _BY_NAME and _BY_NAME[adapter.type_name] is not adapter:
        raise ValueError(f"case type name {adapter.type_name!r} is already registered")
    _ADAPTERS[cls] = adapter
    _BY_NAME[adapter.type_name] = adapter
    return adapter


def adapter_for(case) -> CaseAdapter:
    for cls in type(case).__mro__:
        if cls in _ADAPTERS:
            return _ADAPTERS[cls]
    raise UnsupportedCase(
        f"no report adapter for case type {type(case).__name__}; register one with "
        "ntkverify.reports.cases.register_case_type"
    )


def adapter_named(type_name: str) -> CaseAdapter:
    try:
        return _BY_NAME[type_name]
    except KeyError:
        raise UnsupportedCase(f"unknown case type {type_name!r}; known: {sorted(_BY_NAME)}") from None


def encode_case(case) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``({"type": name, **fields}, arrays)`` for report.json and case.npz."""
    adapter = adapter_for(case)
    fields, arrays = adapter.encode(case)
    return {"type": adapter.type_name, **fields}, arrays


def decode_case(record: dict[str, Any], arrays: dict[str, np.ndarray]):
    fields = {k: v for k, v in record.items() if k != "type"}
    return adapter_named(record["type"]).decode(fields, arrays)


# ---------------------------------------------------------------------------------------------------------
# Laws as provenance

_LAW = re.compile(r"^(?P<family>[a-z_]+)(\((?P<params>.*)\))?$")


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _law_from_repr(text: str | None) -> Distribution | None:
    """The law printed as ``family`` or ``family(k=v, …)``; None when it cannot be rebuilt."""
    match = _LAW.match(text or "")
    if not match:
        return None
    try:
        base = get_distribution(match["family"])
        if not match["params"]:
            return base
        params = dict(item.split("=", 1) for item in match["params"].split(", "))
        return type(base)(**{k: _number(v) for k, v in params.items()})
    except (ValueError, TypeError):
        return None


def _law_record(distribution, seed) -> dict[str, Any]:
    return {"distribution": None if distribution is None else repr(distribution), "seed": seed}


def _provenance(fields: dict[str, Any], X: torch.Tensor) -> tuple[Distribution | None, int | None]:
    """The stored law and seed if re-sampling reproduces ``X`` bit for bit, else (None, None)."""
    law, seed = _law_from_repr(fields.get("distribution")), fields.get("seed")
    if law is None or seed is None:
        return None, None
    resampled = law.sample(X.shape[0], X.shape[1], np.random.default_rng(seed), device="cpu")
    return (law, seed) if torch.equal(resampled, X) else (None, None)


def _law_lines(distribution, seed) -> dict[str, Any]:
    return {"distribution": "explicit points" if distribution is None else repr(distribution), "seed": seed}


# ---------------------------------------------------------------------------------------------------------
# Built-in adapters


class KernelCaseAdapter(CaseAdapter):
    """Kernel properties: the data and the depth (the kernel is analytic: no weights)."""

    type_name = "kernel-case"

    def encode(self, case: KernelCase):
        return {"depth": case.depth, **_law_record(case.dataset.distribution, case.dataset.seed)}, {"X": _array(case.X)}

    def decode(self, fields, arrays):
        X = _tensor(arrays["X"])
        return KernelCase(Dataset(X, *_provenance(fields, X)), int(fields["depth"]))

    def describe(self, case: KernelCase):
        lines = super().describe(case)
        return {**_law_lines(case.dataset.distribution, case.dataset.seed), **lines, "depth": case.depth}

    def with_data(self, case: KernelCase, X):
        return case.with_data(X)

    def smaller(self, case: KernelCase, subject):
        # depth − 1 only where the depth is drawn (a claim with a fixed depth fixes it)
        if case.depth > 1 and (subject is None or subject.claim.depth is None):
            yield "depth", f"depth {case.depth} → {case.depth - 1}", KernelCase(case.dataset, case.depth - 1)

    def kernel(self, case: KernelCase, subject):
        if subject is None:
            return None
        try:
            return subject(case.X, case.depth)
        except KernelError:
            return None


class DatasetAdapter(CaseAdapter):
    type_name = "dataset"

    def encode(self, case: Dataset):
        return _law_record(case.distribution, case.seed), {"X": _array(case.X)}

    def decode(self, fields, arrays):
        X = _tensor(arrays["X"])
        return Dataset(X, *_provenance(fields, X))

    def describe(self, case: Dataset):
        return {**_law_lines(case.distribution, case.seed), **super().describe(case)}

    def with_data(self, case: Dataset, X):
        return Dataset(X, None, None)


def _architecture_record(a: Architecture) -> dict[str, Any]:
    return {
        "d": a.d,
        "widths": list(a.widths),
        "activation": a.activation,
        "sigma_w": a.sigma_w,
        "sigma_b": a.sigma_b,
        "parameterization": a.parameterization,
    }


def _replace_widths(a: Architecture, widths) -> Architecture:
    return Architecture(a.d, tuple(widths), a.activation, a.sigma_w, a.sigma_b, a.parameterization)


class StrategyCaseAdapter(DatasetAdapter):
    """A strategies :class:`~ntkverify.strategies.Case`: data and a network description (architecture,
    designated wide layer)."""

    type_name = "network-case"

    def encode(self, case: Case):
        fields, arrays = super().encode(case)
        return {
            **fields,
            "architecture": _architecture_record(case.architecture),
            "wide_layer": case.wide_layer,
        }, arrays

    def decode(self, fields, arrays):
        data = super().decode(fields, arrays)
        a = fields["architecture"]
        arch = Architecture(
            a["d"], tuple(a["widths"]), a["activation"], a["sigma_w"], a["sigma_b"], a["parameterization"]
        )
        return Case(data.X, data.distribution, data.seed, arch, fields["wide_layer"])

    def describe(self, case: Case):
        return {
            **super().describe(case),
            "depth": case.depth,
            "architecture": str(case.architecture),
            "wide_layer": case.wide_layer,
        }

    def with_data(self, case: Case, X):
        return Case(X, None, None, case.architecture, case.wide_layer)

    def smaller(self, case: Case, subject):
        a, wide = case.architecture, case.wide_layer
        if a.depth - 1 > (wide or 0) and a.depth > 1:  # keep the designated wide layer
            yield (
                "depth",
                f"depth {a.depth} → {a.depth - 1}",
                Case(case.X, case.distribution, case.seed, _replace_widths(a, a.widths[:-1]), wide),
            )
        for i, w in enumerate(a.widths):
            if i + 1 != wide and w > 1:  # the wide layer's width is tied to n (docs/statements.md#nmm21-finite-width)
                widths = list(a.widths)
                widths[i] = w // 2
                yield (
                    "widths",
                    f"width of layer {i + 1}: {w} → {w // 2}",
                    Case(case.X, case.distribution, case.seed, _replace_widths(a, widths), wide),
                )

    def kernel(self, case: Case, subject):
        try:
            return case.architecture.analytic_ntk(case.X)
        except (ValueError, RuntimeError):
            return None


class BoundCaseAdapter(CaseAdapter):
    """The bounds library's limiting-kernel cases: data, depth and δ."""

    type_name = "bound-case"

    def encode(self, case: BoundCase):
        return {"depth": case.depth, "delta": case.delta}, {"X": _array(case.X)}

    def decode(self, fields, arrays):
        return BoundCase(_tensor(arrays["X"]), fields["depth"], delta=fields["delta"], device="cpu")

    def describe(self, case: BoundCase):
        return {"distribution": "explicit points", **super().describe(case), "depth": case.depth, "delta": case.delta}

    def with_data(self, case: BoundCase, X):
        return BoundCase(X, case.depth, delta=case.delta, device=X.device)

    def smaller(self, case: BoundCase, subject):
        if case.depth > 1:
            yield (
                "depth",
                f"depth {case.depth} → {case.depth - 1}",
                BoundCase(case.X, case.depth - 1, delta=case.delta, device=case.X.device),
            )

    def kernel(self, case: BoundCase, subject):
        return case.K


class EmpiricalCaseAdapter(CaseAdapter):
    """The bounds library's empirical cases: data, the weights W_1..W_L and the kernel under test."""

    type_name = "empirical-case"

    def encode(self, case: EmpiricalCase):
        arrays = {"X": _array(case.X), "K": _array(case.K)}
        arrays.update({f"W{k + 1}": _array(W) for k, W in enumerate(case.weights)})
        return {"depth": case.depth, "widths": list(case.widths)}, arrays

    def decode(self, fields, arrays):
        weights = [_tensor(arrays[f"W{k + 1}"]) for k in range(fields["depth"])]
        return EmpiricalCase(_tensor(arrays["X"]), weights, kernel=_tensor(arrays["K"]), device="cpu")

    def describe(self, case: EmpiricalCase):
        return {
            "distribution": "explicit points",
            **super().describe(case),
            "depth": case.depth,
            "architecture": f"widths {list(case.widths)} (weights stored)",
        }

    def subset(self, case: EmpiricalCase, rows):
        index = torch.as_tensor(rows, dtype=torch.long, device=case.X.device)
        return EmpiricalCase(case.X[index], case.weights, kernel=case.K[index][:, index], device=case.X.device)

    def with_data(self, case: EmpiricalCase, X):
        # the stored kernel came from the engine under test, which the report cannot call on new points
        raise NotImplementedError("an empirical case keeps the engine's kernel: its points cannot be replaced")

    def kernel(self, case: EmpiricalCase, subject):
        return case.K


class NetworkCaseAdapter(CaseAdapter):
    """Engine-level properties: a strategies case and the seed of the network's N(0,1) weights, which rebuild
    the network exactly (``NetworkCase.model``); data, depth and widths shrink through the case's adapter."""

    type_name = "network-seed-case"

    def __init__(self, inner: StrategyCaseAdapter):
        self.inner = inner

    def encode(self, nc: NetworkCase):
        fields, arrays = self.inner.encode(nc.case)
        return {**fields, "weight_seed": nc.weight_seed}, arrays

    def decode(self, fields, arrays):
        return NetworkCase(self.inner.decode(fields, arrays), int(fields["weight_seed"]))

    def describe(self, nc: NetworkCase):
        return {**self.inner.describe(nc.case), "weight_seed": nc.weight_seed}

    def with_data(self, nc: NetworkCase, X):
        return nc.with_data(X)

    def smaller(self, nc: NetworkCase, subject):
        for step, detail, case in self.inner.smaller(nc.case, subject):
            yield step, detail, NetworkCase(case, nc.weight_seed)

    def kernel(self, nc: NetworkCase, subject):
        return empirical_ntk(nc.model(), nc.X)


_STRATEGY_CASES = StrategyCaseAdapter()
for _cls, _adapter in (
    (KernelCase, KernelCaseAdapter()),
    (Dataset, DatasetAdapter()),
    (Case, _STRATEGY_CASES),
    (NetworkCase, NetworkCaseAdapter(_STRATEGY_CASES)),
    (BoundCase, BoundCaseAdapter()),
    (EmpiricalCase, EmpiricalCaseAdapter()),
):
    register_case_type(_cls, _adapter)


def round_significant(X: torch.Tensor, digits: int) -> torch.Tensor:
    """Every coordinate rounded to ``digits`` significant decimal digits (zeros and non-finite values kept)."""
    a = _array(X)
    flat = [float(f"{v:.{digits - 1}e}") if math.isfinite(v) else v for v in a.ravel().tolist()]
    return torch.tensor(flat, dtype=DEFAULT_DTYPE).reshape(a.shape).to(X.device)
