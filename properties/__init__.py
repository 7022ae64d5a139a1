"""ntkverify.properties: the property registry, its catalogue, the runner and the verifier of user kernels.

``pytest --pyargs ntkverify.properties`` runs every registered property on the built-in kernels.
"""

from ntkverify.properties.core import Kind, Property, Verdict, all_properties, get_property, register, select
from ntkverify.properties.runner import Counterexample, PropertyResult, run_property
from ntkverify.properties.subjects import BUILTIN_SUBJECTS, Claim, KernelError, Subject
from ntkverify.properties.verify import UsageError, VerifyResult, load_callable, make_subject, verify

__all__ = [
    "BUILTIN_SUBJECTS",
    "Claim",
    "Counterexample",
    "KernelError",
    "Kind",
    "Property",
    "PropertyResult",
    "Subject",
    "UsageError",
    "Verdict",
    "VerifyResult",
    "all_properties",
    "get_property",
    "load_callable",
    "make_subject",
    "register",
    "run_property",
    "select",
    "verify",
]
