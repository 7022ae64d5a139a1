"""ntkverify: property-based verification of Neural Tangent Kernel theory.

``ntkverify.verify(kernel_fn, claim=...)`` checks a user's kernel function under the project's Hypothesis profile
(see :mod:`ntkverify.shell.api`); the engines live in the submodules (``analytic``, ``empirical``, ``spectra``,
``bounds``, …), the command line, the pytest plugin and the profiles in :mod:`ntkverify.shell`.
"""

__version__ = "0.1.0"


def __getattr__(name):  # lazy: importing the package must not pull in Hypothesis and the property catalogue
    if name == "verify":  # the package's front door to the shell, the one import of it below the shell
        from ntkverify.shell.api import verify

        return verify
    raise AttributeError(f"module 'ntkverify' has no attribute {name!r}")
