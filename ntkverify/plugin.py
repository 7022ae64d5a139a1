"""pytest plugin of ntkverify (entry point ``pytest11``).

Loading the plugin registers the Hypothesis profiles and loads the one chosen by the environment
(:mod:`ntkverify.profiles`); Hypothesis' own ``--hypothesis-profile`` option, applied later, still wins.
"""

from __future__ import annotations

import pytest

from ntkverify.device import cuda_available
from ntkverify.profiles import load_profile

load_profile()


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu``-marked tests cleanly when no CUDA device is present."""
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
