"""``ntkverify.verify``: a user's kernel checked under the project's Hypothesis profile.

:func:`ntkverify.properties.verify.verify` runs under whatever profile is in force. A user who calls
``ntkverify.verify`` from a script or a notebook has loaded none, so this entry point first loads the
environment's profile (``NTKVERIFY_PROFILE``, ``ci`` under ``CI``, else ``dev``;
:func:`~ntkverify.shell.profiles.ensure_project_profile`) unless one of the project's profiles is already in
force, as under pytest.
"""

from __future__ import annotations

from ntkverify.properties.verify import VerifyResult
from ntkverify.properties.verify import verify as verify_in_force
from ntkverify.shell.profiles import ensure_project_profile


def verify(kernel_fn, claim: str = "relu-ntk", **options) -> VerifyResult:
    """:func:`ntkverify.properties.verify.verify` (same arguments) under the project's profile (module docstring)."""
    ensure_project_profile()
    return verify_in_force(kernel_fn, claim, **options)
