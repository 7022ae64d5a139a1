"""Where the units of work of a job run: in this process, or on a Dask distributed cluster.

One interface, :meth:`Executor.map`: it applies a picklable function to each item and returns the results in
the items' order. Three ways to get an executor (:func:`open_executor`, or :func:`add_arguments` and
:func:`from_arguments` on the command line):

* nothing: :class:`InProcess` — the items run one after the other in this process, as without Dask;
* ``--workers N``: a ``dask.distributed.LocalCluster`` of N worker processes (one thread each) on this
  machine, started here and closed at the end;
* ``--scheduler ADDRESS``: the workers of an existing Dask scheduler (``tcp://HOST:PORT``).

The client collects every result; the caller writes the files (no worker writes a file). Faults
(``docs/distributed.md#faults``): a worker that dies while running an item makes the scheduler run it again on
another worker (Dask's ``distributed.scheduler.allowed-failures``, set to :data:`RETRIES` on a cluster started
here); an exception raised by the function is retried ``retries=`` times (Dask's task retries); an item whose
attempts are spent, or whose scheduler went away, is *lost*: its slot holds a :class:`Lost` with the reason.
Every call accounts for every item (:class:`Accounting`: done, retried or lost; :attr:`Executor.accounting`).
Attempts are counted from an event each attempt logs on the scheduler before it starts (topic :data:`TOPIC`).
Each attempt runs under this process's Hypothesis profile with its case sizes
(:class:`~ntkverify.properties.budget.SearchProfile`, sent with the item), since a worker is a fresh process.

Errors before any work starts (:class:`ExecutorError`, one line each): a malformed address or worker count is
a usage error (exit status 2); a scheduler that cannot be reached, has no workers, or whose workers cannot
import this version of ntkverify, and a missing ``ntkverify[distributed]`` install, are environment failures
(exit status 3).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import pkgutil
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ntkverify import __version__
from ntkverify.properties.budget import SearchProfile
from ntkverify.reports.exits import CommandError, exception_text

RETRIES = 3  # attempts after the first, for an item whose worker died or whose function raised
CONNECT_TIMEOUT_S = 10.0  # to reach a scheduler, and for it to have at least one worker
DEFAULT_PORT = 8786  # Dask's scheduler port, when ADDRESS names none
TOPIC = "ntkverify-attempt"


class ExecutorError(CommandError):
    """An executor that cannot start: ``exit_code`` 2 (usage: a bad address or count) or 3 (environment)."""


class ExecutorUsageError(ExecutorError):
    exit_code = 2


@dataclass(frozen=True)
class Lost:
    """The result of an item that did not complete: why (its worker died on every attempt, it raised, or the
    scheduler went away)."""

    reason: str


@dataclass(frozen=True)
class Account:
    """One item of a :meth:`Executor.map` call: ``done`` (first attempt), ``retried`` (completed after more than
    one attempt; recorded once) or ``lost`` (with the reason)."""

    index: int
    status: str
    attempts: int
    reason: str | None = None


@dataclass
class Accounting:
    """Every item of one :meth:`Executor.map` call, with where it ran."""

    where: str
    accounts: list[Account] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(a.status == status for a in self.accounts)

    @property
    def lost(self) -> list[Account]:
        return [a for a in self.accounts if a.status == "lost"]

    def line(self) -> str:
        return (
            f"{len(self.accounts)} items on {self.where}: {self.count('done')} done, "
            f"{self.count('retried')} retried, {self.count('lost')} lost"
        )


def _reason(exc: BaseException) -> str:
    return exception_text(exc)[:2000]


class Executor:
    """``map(fn, items)``: the results of ``fn`` on ``items``, in order (:class:`Lost` where an item did not
    complete). ``fn`` and the items must be picklable (by ``cloudpickle``) for a Dask executor; ``fn`` must
    not write files. ``workers`` is how many items run at once; ``distributed`` whether they run elsewhere."""

    workers: int = 1
    distributed: bool = False
    where: str = "this process"
    accounting: Accounting | None = None  # of the last map call

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        raise NotImplementedError


class InProcess(Executor):
    """The items one after the other in this process; an exception becomes a :class:`Lost`, as on Dask."""

    def map(self, fn, items):
        results, accounting = [], Accounting(self.where)
        for i, item in enumerate(items):
            try:
                results.append(fn(item))
                accounting.accounts.append(Account(i, "done", 1))
            except Exception as exc:  # noqa: BLE001 — accounted for as lost, like an item on a cluster
                results.append(Lost(_reason(exc)))
                accounting.accounts.append(Account(i, "lost", 1, results[-1].reason))
        self.accounting = accounting
        return results


PACKAGES = (
    "ntkverify",
    "ntkverify.bounds",
    "ntkverify.strategies",
    "ntkverify.properties",
    "ntkverify.reports",
    "ntkverify.studies",
)


def import_all() -> None:
    """Import every module of ntkverify (test modules aside), here and before each item on a worker.

    Hypothesis draws a small share of its values from the constants written in the loaded modules of the
    project under test (its "local constants", which an editable install makes of ntkverify), so the examples
    of a seeded search depend on which of the package's modules happen to be loaded. With all of them loaded
    in this process and on every worker, a derandomised run finds the same examples wherever it runs
    (``docs/distributed.md#same-answers``)."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("test_"):
                with contextlib.suppress(ImportError):  # a module of an optional extra that is not installed
                    importlib.import_module(f"{name}.{module.name}")


def _attempt(fn, token: str, index: int, item, profile: SearchProfile):
    """One attempt at one item on a worker: log it on the scheduler (so the client can count retries), load the
    client's profile, run."""
    from distributed import get_worker

    get_worker().log_event(TOPIC, {"token": token, "index": index, "pid": os.getpid()})
    import_all()
    profile.load()
    # the worker's event loop draws from the global `random` in its own thread (timing jitter) while an item
    # runs; Hypothesis sees the global state change under a strategy and warns, although no strategy used it
    warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies")
    return fn(item)


class DaskExecutor(Executor):
    """The items as tasks of a Dask distributed client (module docstring)."""

    distributed = True

    def __init__(self, client, where: str, retries: int = RETRIES):
        self.client, self.where, self.retries = client, where, retries

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info()["workers"]))

    def map(self, fn, items):
        from distributed import KilledWorker

        items, token, profile = list(items), uuid.uuid4().hex, SearchProfile.current()
        futures = [
            self.client.submit(
                _attempt, fn, token, i, item, profile, key=f"ntkverify-{token}-{i}", retries=self.retries
            )
            for i, item in enumerate(items)
        ]
        outcomes = []
        for future in futures:  # in order; each waits for its item (other items run meanwhile)
            try:
                outcomes.append(future.result())
            except KilledWorker as exc:
                outcomes.append(Lost(f"its worker died on every attempt ({_reason(exc)})"))
            except (Exception, asyncio.CancelledError) as exc:  # raised on every attempt, or the scheduler left
                outcomes.append(Lost(_reason(exc)))
        attempts = [0] * len(items)
        for _, msg in self.client.get_events(TOPIC):
            if isinstance(msg, dict) and msg.get("token") == token:
                attempts[msg["index"]] += 1
        accounting = Accounting(self.where)
        for i, outcome in enumerate(outcomes):
            n = max(1, attempts[i])
            if isinstance(outcome, Lost):
                accounting.accounts.append(Account(i, "lost", n, outcome.reason))
            else:
                accounting.accounts.append(Account(i, "retried" if n > 1 else "done", n))
        self.client.cancel(futures)
        self.accounting = accounting
        return outcomes


def check_address(address: str) -> str:
    """A Dask scheduler address with its protocol (``tcp://`` when none is given) and port; anything else is an
    :class:`ExecutorUsageError`."""
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address.strip(), strict=False)
        if scheme not in backends:
            raise ValueError(f"unknown protocol {scheme!r} (known: {', '.join(sorted(backends))})")
        if scheme in ("tcp", "tls"):
            host, port = parse_host_port(location, DEFAULT_PORT)
            if not host:
                raise ValueError("no host")
            location = f"{host}:{port}"
    except (ValueError, TypeError) as exc:
        raise ExecutorUsageError(f"--scheduler {address!r} is not a Dask scheduler address: {exc}") from None
    return f"{scheme}://{location}"


def _ntkverify_version() -> str:
    from ntkverify import __version__ as version

    return version


def _check_workers(client, where: str) -> None:
    """At least one worker, and every worker imports this version of ntkverify."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except Exception:  # noqa: BLE001 — a timeout, whatever its type in this Dask version
        raise ExecutorError(f"{where} has no worker after {CONNECT_TIMEOUT_S:.0f} s") from None
    try:
        versions = client.run(_ntkverify_version)
    except Exception as exc:  # noqa: BLE001 — the workers cannot unpickle or run ntkverify
        raise ExecutorError(f"the workers of {where} cannot import ntkverify: {_reason(exc)}") from None
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        raise ExecutorError(f"workers of {where} run another ntkverify version than {__version__}: {wrong}")


@contextlib.contextmanager
def open_executor(
    workers: int | None = None, scheduler: str | None = None, *, retries: int = RETRIES
) -> Iterator[Executor]:
    """The executor of a job (module docstring): :class:`InProcess` without arguments, else a Dask client on a
    ``LocalCluster`` of ``workers`` processes or on ``scheduler``; closed on exit. Raises
    :class:`ExecutorError` before any work starts."""
    if workers is not None and scheduler is not None:
        raise ExecutorUsageError("give --workers N or --scheduler ADDRESS, not both")
    if workers is None and scheduler is None:
        yield InProcess()
        return
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ExecutorUsageError(f"--workers must be an integer >= 1, got {workers!r}")
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ExecutorError(f"Dask is not installed ({exc}); install ntkverify[distributed]") from None
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            address = check_address(scheduler)
            where = f"the scheduler at {address}"
            try:
                client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except Exception as exc:  # noqa: BLE001 — OSError or TimeoutError, whatever the protocol
                raise ExecutorError(f"cannot reach {where}: {_reason(exc)}") from None
            stack.callback(client.close)
        else:
            with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                        silence_logs=logging.CRITICAL,
                    )
                )
            client = stack.enter_context(Client(cluster, set_as_default=False))
            where = f"a local cluster of {workers} worker processes"
        _check_workers(client, where)
        yield DaskExecutor(client, where, retries)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` / ``--scheduler ADDRESS`` (mutually exclusive), the same in every command."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--workers", type=int, default=None, metavar="N", help="run on a local Dask cluster of N worker processes"
    )
    group.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on the workers of this Dask scheduler, e.g. tcp://10.0.0.5:8786 (docs/distributed.md)",
    )


def from_arguments(args: argparse.Namespace) -> contextlib.AbstractContextManager[Executor]:
    """:func:`open_executor` for the parsed :func:`add_arguments` options."""
    return open_executor(args.workers, args.scheduler)


def report_accounting(executor: Executor, labels: list[str], prog: str) -> int:
    """Print the accounting of a distributed ``executor``'s last map (``labels``: its items' names) and return
    the exit status it calls for: 3 when an item was lost (the job's results are incomplete), else 0."""
    accounting = executor.accounting
    if not executor.distributed or accounting is None:
        return 0
    print(f"{prog}: {accounting.line()}")
    for a in accounting.accounts:
        if a.status == "retried":
            print(f"  retried {labels[a.index]} ({a.attempts} attempts, recorded once)")
        elif a.status == "lost":
            print(f"  lost {labels[a.index]} after {a.attempts} attempts: {a.reason}")
    return 3 if accounting.lost else 0
