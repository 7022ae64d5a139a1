"""ntkverify: property-based verification of Neural Tangent Kernel theory.

``ntkverify.verify(kernel_fn, claim=...)`` checks a user's kernel function (see
:mod:`ntkverify.properties.verify`); the engines live in the submodules (``analytic``, ``empirical``,
``spectra``, ``bounds``, …).
"""

__version__ = "0.1.0"


def __getattr__(name):  # lazy: importing the package must not pull in Hypothesis and the property catalogue
    if name == "verify":
        from ntkverify.properties.verify import verify

        return verify
    raise AttributeError(f"module 'ntkverify' has no attribute {name!r}")
