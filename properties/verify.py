"""Verifying someone else's kernel: ``ntkverify.verify(kernel_fn, claim=...)`` and ``ntkverify check``.

The user's callable takes ``X`` (an n × d float64 torch tensor) and returns the n × n kernel matrix (a torch
tensor or a numpy array). Every property of the catalogue that applies to the claim runs on shrinking
Hypothesis cases: differential agreement with the reference kernel, symmetry, PSD, the diagonal identity, the
invariances the claim implies and the degeneracy zeros. A non-finite output, a wrong shape or an exception on a
valid case is a failure with its counterexample; the same problems on the very first call are usage errors.
:func:`verify` runs under the Hypothesis profile in force; ``ntkverify.verify`` (:mod:`ntkverify.shell.api`)
first loads the project's profile the environment names.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ntkverify.architecture import Architecture
from ntkverify.distributions import DOMAINS, domain_radius, in_domain
from ntkverify.properties.accuracy import AccuracyProfile, accuracy_profile
from ntkverify.properties.core import Property, all_properties
from ntkverify.properties.diagnosis import diagnose
from ntkverify.properties.empirical_claim import EmpiricalSubject
from ntkverify.properties.runner import PropertyResult, run_property
from ntkverify.properties.subjects import (
    USER_EMPIRICAL,
    USER_KERNEL,
    CallClock,
    Claim,
    KernelError,
    KernelShapeError,
    Subject,
)

__all__ = [
    "USER_KERNEL",
    "UsageError",
    "VerifyResult",
    "load_callable",
    "make_subject",
    "select_for",
    "user_properties",
    "user_subject",
    "verify",
]

#: seconds one call of a user's kernel may take (``--kernel-timeout``): generous, a hang is minutes or forever
DEFAULT_KERNEL_TIMEOUT = 60.0


class UsageError(ValueError):
    """The kernel cannot be checked at all (not importable, not callable, unknown claim, wrong first output)."""


@dataclass
class VerifyResult:
    """Per-property results and, for a claim with a reference, the kernel's accuracy profile
    (:mod:`ntkverify.properties.accuracy`) and, when it fails, what it computes instead
    (:mod:`ntkverify.properties.diagnosis`); ``note`` explains a pattern in the failures (e.g. that they are
    all off the unit sphere, with the domain to state)."""

    subject: Subject
    results: list[PropertyResult]
    accuracy: AccuracyProfile | None = None
    diagnosis: list[str] = field(default_factory=list)
    note: str | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[PropertyResult]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> str:
        lines = [f"verify {self.subject}: {'OK' if self.ok else 'FAILED'}"]
        if self.accuracy is not None:
            lines.append(f"  {self.accuracy.line()}")
        lines += [f"  diagnosis: {finding}" for finding in self.diagnosis]
        for r in self.results:
            lines.append(
                f"  {r.status:8s} {r.property.name:28s} examples={r.examples:<4d} "
                f"tightest margin={r.tightest_margin:.3g}"
            )
        for r in self.failures:
            lines.append(r.explain())
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


_PROBE = torch.tensor([[1.0, 0.0], [0.6, 0.8], [-0.5, 0.25]], dtype=torch.float64)


def _check_signature(subject: Subject) -> None:
    """The kernel must accept the arguments it will get: ``(X)`` when the claim fixes the depth, ``(X, depth)``
    otherwise. A kernel taking ``(X, L)`` checked with ``--depth`` would otherwise fail every property."""
    try:
        signature = inspect.signature(subject.kernel)
    except (TypeError, ValueError):  # no introspectable signature (a C function): the first call decides
        return
    if subject.claim.name == "empirical-ntk":
        args, shape = (None, _PROBE), "kernel(model, X)"
    elif subject.claim.depth is not None:
        args, shape = (_PROBE,), "kernel(X)"
    else:
        args, shape = (_PROBE, 1), "kernel(X, depth)"
    try:
        signature.bind(*args)
    except TypeError as exc:
        raise UsageError(f"{subject.name}{signature} cannot be called as {shape}: {exc}") from None


def _probe(subject: Subject) -> None:
    """A wrong signature, type or shape on the very first call is a usage error; an exception or a non-finite
    entry on a valid case is a finding like any other, reported with its (shrunk) counterexample."""
    _check_signature(subject)
    try:
        if isinstance(subject, EmpiricalSubject):
            subject.on(Architecture(2, (3,)).build(torch.Generator().manual_seed(0), device="cpu"), _PROBE[:, :2])
        else:
            subject(_PROBE, subject.claim.depth or 1)
    except KernelShapeError as exc:
        raise UsageError(f"first call on a 3×2 input: {exc}") from exc
    except KernelError:
        pass


def make_subject(
    kernel_fn: Callable,
    claim: str = "relu-ntk",
    *,
    depth: int | None = None,
    sigma_w: float | None = None,
    sigma_b: float | None = None,
    domain: str = "any",
    name: str | None = None,
    origin: str | None = None,
    timeout: float | None = None,
) -> Subject:
    """Wrap a user's kernel function with its claim (see :class:`~ntkverify.properties.subjects.Claim`) and its
    per-call time limit in seconds (None: none)."""
    if not callable(kernel_fn):
        raise UsageError(f"kernel must be callable, got {type(kernel_fn).__name__}")
    try:
        if depth is None and claim in ("relu-ntk", "relu-nngp", "psd-kernel"):
            depth = 1 if claim == "psd-kernel" else None
            if depth is None:
                raise ValueError(f"claim {claim!r} needs a depth (the number of weight matrices)")
        c = Claim(claim, depth, sigma_w, sigma_b, domain)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if (sigma_w is None) != (sigma_b is None):
        given, missing = ("sigma_w", "sigma_b") if sigma_b is None else ("sigma_b", "sigma_w")
        raise UsageError(
            f"{given} without {missing}: give both (the standard parameterisation, e.g. --sigma-w 1 --sigma-b 0) "
            "or neither (the seed normalisation)"
        )
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise UsageError(f"kernel timeout must be a number of seconds > 0, got {timeout!r}")
    name = name or getattr(kernel_fn, "__name__", "kernel")
    kind = EmpiricalSubject if c.name == "empirical-ntk" else Subject
    return kind(name, kernel_fn, c, origin=origin, clock=CallClock(timeout))


def user_subject(
    spec: str,
    claim: str = "relu-ntk",
    *,
    depth: int | None = None,
    sigma_w: float | None = None,
    sigma_b: float | None = None,
    domain: str = "any",
    timeout: float | None = DEFAULT_KERNEL_TIMEOUT,
) -> Subject:
    """The kernel ``spec`` (``MODULE:CALLABLE`` or ``path/to/file.py:CALLABLE``) with its claim, checked by a first
    call: what ``run --kernel`` and ``nightly --kernel`` search. :class:`UsageError` when it cannot be checked."""
    kernel_fn = load_callable(spec)
    subject = make_subject(
        kernel_fn, claim, depth=depth, sigma_w=sigma_w, sigma_b=sigma_b, domain=domain, origin=spec, timeout=timeout
    )
    _probe(subject)
    return subject


def verify(
    kernel_fn: Callable,
    claim: str = "relu-ntk",
    *,
    depth: int | None = None,
    sigma_w: float | None = None,
    sigma_b: float | None = None,
    properties: list[str] | None = None,
    settings=None,
    budget=None,
    domain: str = "any",
    origin: str | None = None,
    kernel_timeout: float | None = DEFAULT_KERNEL_TIMEOUT,
) -> VerifyResult:
    """Check a user's kernel against its claim; returns per-property results with counterexamples.

    ``kernel_timeout``: seconds one call of the kernel may take before it counts as hanging (a finding with its
    case; :mod:`ntkverify.properties.timeout`), None for no limit. ``budget``: the case sizes (a
    :class:`ntkverify.properties.budget.SearchBudget`; default: the profile in force). ``domain``: where the kernel is
    defined (``"any"``, ``"unit-sphere"``, ``"sphere-sqrt-d"``); data are drawn there. Raises :class:`UsageError`
    when the kernel cannot be checked at all, or when ``properties`` names a property that does not apply to the
    claim (a typo must not turn a check into one that checks nothing).
    """
    subject = make_subject(
        kernel_fn,
        claim,
        depth=depth,
        sigma_w=sigma_w,
        sigma_b=sigma_b,
        domain=domain,
        origin=origin,
        timeout=kernel_timeout,
    )
    chosen = select_for(subject, properties)
    _probe(subject)
    results = [run_property(p, subject, settings=settings, budget=budget) for p in chosen]
    failed = any(not r.ok for r in results)
    return VerifyResult(
        subject,
        results,
        accuracy_profile(subject),
        diagnose(subject) if failed else [],
        _domain_note(subject, results, settings, budget),
    )


def user_properties(subject: Subject) -> list[Property]:
    """The properties that apply to a user's kernel: the kernel checks of the catalogue and the bounds of the
    bounds library that hold for the claimed kernel (for ``empirical-ntk``, the checks of a module's NTK)."""
    tag = USER_EMPIRICAL if isinstance(subject, EmpiricalSubject) else USER_KERNEL
    return [p for p in all_properties() if tag in p.subjects and p.applies(subject) is None]


def select_for(subject: Subject, names: list[str] | str | None = None) -> list:
    """The properties that apply to a user's ``subject``: all of them, or exactly those ``names`` (each must
    name one: :class:`UsageError` otherwise, listing the choices)."""
    applicable = user_properties(subject)
    if names is None:
        return applicable
    names = [names] if isinstance(names, str) else list(names)
    known = {p.name for p in applicable}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(
            f"no property named {', '.join(map(repr, unknown)) or '(empty selection)'} applies to {subject}; "
            f"choose from {', '.join(sorted(known))}"
        )
    return [p for p in applicable if p.name in names]


def _domain_note(subject: Subject, results: list[PropertyResult], settings, budget) -> str | None:
    """When a claim on all of R^d fails only with counterexamples off a sphere, rerun the failed properties with
    data drawn on that sphere; if they all hold there, say that the kernel fails only off it and suggest the
    domain (many published formulas, Du et al.'s H∞ among them, are stated for unit-norm data)."""
    failed = [r for r in results if not r.ok]
    if isinstance(subject, EmpiricalSubject):  # its cases are modules and their inputs: no domain to state
        return None
    if subject.claim.domain != "any" or not failed or any(r.counterexample is None for r in failed):
        return None
    for domain in DOMAINS[1:]:
        on = replace(subject, claim=replace(subject.claim, domain=domain))
        cases = [r.counterexample.case for r in failed]
        if any(in_domain(case.X, domain) for case in cases):
            continue
        # cheap test first: each counterexample projected onto the sphere must pass its check there
        if not all(r.property.check(on, _projected(case, domain)).holds for r, case in zip(failed, cases)):
            continue
        rerun = [run_property(r.property, on, settings=settings, budget=budget) for r in failed]
        if all(r.ok for r in rerun):
            return (
                f"every counterexample lies off the {domain} and the failed properties hold on data drawn there: "
                f"if the kernel is defined on the {domain} only, state it (--domain {domain}, verify(domain=...))"
            )
    return None


def _projected(case, domain: str):
    """The case with its rows projected radially onto the sphere ``domain`` names (a zero row becomes r·e₁)."""
    X = case.X.clone()
    X[~X.any(dim=1), 0] = 1.0
    return case.with_points(X * (domain_radius(domain, X.shape[1]) / torch.linalg.vector_norm(X, dim=1, keepdim=True)))


def load_callable(spec: str) -> Callable:
    """``package.module:name`` or ``path/to/file.py:name`` → the callable (``UsageError`` otherwise)."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected MODULE:CALLABLE or path/to/file.py:CALLABLE, got {spec!r}")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise UsageError(f"no such file: {module_name}")
            mod_spec = importlib.util.spec_from_file_location(f"_ntkverify_user_{path.stem}", path)
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[mod_spec.name] = module
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    try:
        fn = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{module_name!r} has no attribute {attr!r}") from None
    if not callable(fn):
        raise UsageError(f"{spec} is not callable")
    return fn
