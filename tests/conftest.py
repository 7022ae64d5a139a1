"""Test-session set-up: under pytest-xdist each worker runs torch on one thread.

The README's command runs two workers on two cores; with torch's default of one intra-op thread per core each
worker would start two, four busy threads would share two cores, and torch's spinning threads then slow the
large cases of the ``ci`` budget (n up to ~650) many times over (measured: a 600 × 600 kernel took 2.6 s with
two threads and 0.07 s with one on a busy two-core machine).
"""

from __future__ import annotations

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
