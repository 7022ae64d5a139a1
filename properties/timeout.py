"""A per-call time limit for users' kernels: a kernel that hangs becomes a finding with its case, not a hung job.

:func:`deadline` interrupts the code it wraps after ``seconds`` by raising :class:`CallExpired` in the calling
thread, without any extra thread left running afterwards:

* in the main thread (where ``ntkverify check``, ``pytest`` and its xdist workers run the properties) with a
  ``SIGALRM`` interval timer (``signal.setitimer``); the previous handler and timer are restored afterwards;
* in any other thread with a watchdog (``threading.Timer``) that injects the exception into the calling
  thread (``PyThreadState_SetAsyncExc``) and exits; it is cancelled when the call returns in time.

Limitation: the exception is raised when the interpreter next runs Python code in that thread. A kernel stuck
inside one long C call (a huge matrix product, a blocking read) is interrupted when that call returns, and on
the watchdog path a ``time.sleep`` is not interrupted either; a pure-Python loop, or a kernel returning to
Python between its operations, is interrupted at once. ``CallExpired`` derives from ``BaseException``, like
``KeyboardInterrupt``, so that a kernel's own ``except Exception`` does not swallow it.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CallExpired(BaseException):
    """Raised into a call that ran past its deadline."""


def _on_alarm(signum, frame):
    raise CallExpired


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    outer_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:  # someone else's timer was running: give it back what remains (at least a tick)
            signal.setitimer(signal.ITIMER_REAL, max(outer_delay - seconds, 1e-3))


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    target = ctypes.c_ulong(threading.get_ident())
    fired = threading.Event()

    def expire():
        fired.set()
        ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(CallExpired))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        if fired.is_set():  # the exception may still be pending if the call returned just in time: clear it
            ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CallExpired` in the calling thread if the block runs longer than ``seconds`` (None: no
    limit). See the module docstring for how, and for the limitation."""
    if seconds is None:
        yield
        return
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    with _alarm(seconds) if main else _watchdog(seconds):
        yield
