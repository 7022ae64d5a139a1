"""The exit-code contract of every ``ntkverify`` command, kept in one wrapper (:func:`run_command`).

====  =================================================================================================
code  meaning
====  =================================================================================================
0     every check holds (``repro``: the failure no longer reproduces; ``nightly``: no regression)
1     a counterexample was found, a regression was detected, or a replayed failure still reproduces
2     usage or input error: a bad argument, an unreadable, corrupt or changed file, an unwritable output
      folder, a selection that matches nothing — one line on stderr, never a traceback
3     the environment or the tool failed: no CUDA device, out of memory, an internal error, an interrupt
      (SIGINT or SIGTERM, after what had finished was written) — one line on stderr, the traceback in a log
      file named by that line
====  =================================================================================================

A command raises :class:`InputError` (or one of :data:`USAGE_ERRORS`) for the user's mistakes and
:class:`EnvironmentFailure` for a machine that cannot run it; anything else that escapes is an internal error.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from ntkverify.device import DeviceUnavailable, resolve_device
from ntkverify.properties.verify import UsageError

OK, FOUND, USAGE, ENVIRONMENT = 0, 1, 2, 3
HELP = (
    "exit status: 0 all checks hold; 1 a counterexample, a regression, or a failure that still reproduces; "
    "2 usage or input error; 3 environment or internal failure (traceback in a log file) or an interrupt"
)


class InputError(ValueError):
    """A user's mistake: a bad argument, an unreadable or corrupt input, an unwritable output, an empty selection."""


class EnvironmentFailure(RuntimeError):
    """The machine cannot run the command (no device, no memory) although the command line is valid."""


class CommandError(Exception):
    """A failure that knows its place in the contract before any work starts: ``exit_code`` 2 (usage, e.g. a
    malformed scheduler address or Redis URL) or 3 (environment, e.g. a scheduler or server that cannot be
    reached). One line, no traceback: the condition is expected, not a bug."""

    exit_code = ENVIRONMENT

    @property
    def kind(self) -> str:
        return "usage error" if self.exit_code == USAGE else "environment error"


USAGE_ERRORS = (InputError, UsageError)
ENVIRONMENT_ERRORS = (EnvironmentFailure, DeviceUnavailable, MemoryError)


def _log_traceback(prog: str, exc: BaseException) -> str:
    """Write the traceback of ``exc`` to a new log file in the temporary folder; its path (or why not)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        with tempfile.NamedTemporaryFile(
            "w", prefix=f"{prog.replace(' ', '-')}-", suffix=".log", delete=False, encoding="utf-8"
        ) as fh:
            fh.write(f"{prog}: {' '.join(sys.argv)}\n{text}")
            return f"traceback in {fh.name}"
    except OSError as err:
        return f"no log file: {err}"


def exception_text(exc: BaseException) -> str:
    """The exception as the last line of its traceback (type and message), for a record of what stopped a unit."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []  # interrupts received under run_command and not yet raised where they count
_deferring = [0]  # depth of interrupts_deferred blocks


def _interrupt(signum) -> KeyboardInterrupt:
    return KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


def _on_interrupt(signum, frame):
    """Record the signal and raise it, unless a bookkeeping block defers it. The raise alone is not enough: an
    exception raised inside a garbage-collector callback or a ``__del__`` is printed and dropped by Python, so
    the jobs also call :func:`check_interrupt` between units of work."""
    _received.append(signum)
    if not _deferring[0]:
        raise _interrupt(signum)


def check_interrupt() -> None:
    """Raise the interrupt received under :func:`run_command` that has not been raised where it counts yet."""
    if _received:
        raise _interrupt(_received[-1])


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """An interrupt arriving inside the block is raised when it ends, so that a few bookkeeping steps happen all
    or not at all (under :func:`run_command`; elsewhere Python's own SIGINT handler is left alone)."""
    _deferring[0] += 1
    try:
        yield
    finally:
        _deferring[0] -= 1
    if not _deferring[0]:
        check_interrupt()


def run_command(prog: str, fn: Callable[..., int], *args, stderr=None) -> int:
    """``fn(*args)`` under the contract of the module docstring: its own exit code, or 2/3 for what it raised.

    SIGINT and SIGTERM raise ``KeyboardInterrupt`` while ``fn`` runs (:func:`_on_interrupt`), so that a
    terminated job writes what has finished exactly as an interrupted one does."""
    stderr = stderr or sys.stderr
    import torch

    previous = {}
    try:
        for sig in INTERRUPTS:
            previous[sig] = signal.signal(sig, _on_interrupt)
    except ValueError:  # not the main thread: leave the handlers alone
        pass
    _received.clear()
    try:
        return fn(*args)
    except USAGE_ERRORS as exc:
        print(f"{prog}: usage error: {_one_line(exc)}", file=stderr)
        return USAGE
    except CommandError as exc:
        print(f"{prog}: {exc.kind}: {_one_line(exc)}", file=stderr)
        return exc.exit_code
    except (*ENVIRONMENT_ERRORS, torch.OutOfMemoryError) as exc:
        print(f"{prog}: environment error: {_one_line(exc)} ({_log_traceback(prog, exc)})", file=stderr)
        return ENVIRONMENT
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted{': ' + str(exc) if str(exc) else ''}", file=stderr)
        return ENVIRONMENT
    except Exception as exc:  # noqa: BLE001 — the contract: an internal failure is exit 3, never a traceback
        print(
            f"{prog}: internal error: {type(exc).__name__}: {_one_line(exc)} ({_log_traceback(prog, exc)})",
            file=stderr,
        )
        return ENVIRONMENT
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _received.clear()


def checked_device(device: str | None):
    """The device a command will use (``None``: the policy's, ``NTKVERIFY_DEVICE``): one this machine lacks is
    :class:`~ntkverify.device.DeviceUnavailable` (exit 3), a name that is no device an :class:`InputError`."""
    try:
        return resolve_device(device)
    except DeviceUnavailable:
        raise
    except ValueError as exc:
        raise InputError(str(exc)) from None


def writable_folder(path: str | Path, what: str) -> Path:
    """Create ``path`` if needed and prove it writable by creating and removing a file in it (permission bits
    do not stop root; a read-only mount does); :class:`InputError` naming ``what`` otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".ntkverify-probe-"):
            pass
    except OSError as exc:
        raise InputError(f"{what} {path} is not a writable folder: {exc.strerror or exc}") from None
    return path


def writable_file(path: str | Path, what: str) -> Path:
    """``path`` may be created or appended to: its folder is writable and it is not a folder itself."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder, expected a file")
    if path.exists():
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise InputError(f"{what} {path} is not writable: {exc.strerror or exc}") from None
    writable_folder(path.parent, f"the folder of {what}")
    return path
