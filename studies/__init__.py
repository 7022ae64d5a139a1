"""ntkverify.studies: the theorems at the scale where they speak.

A study (:class:`~ntkverify.studies.core.Study`) is a statement with a declared design: a grid of sizes and
seeds, a statistic per grid point, a decision rule with a stated false-alarm rate and a stated power against a
named alternative, at least one negative control that the rule must reject, a table and plots. Verdicts:
``supported``, ``rejected`` or ``inconclusive`` (with the reason). A study is a record of kind STUDY in the
registry of the properties (``ntkverify.registry.STATEMENTS``). Run a set of them with ``ntkverify study`` or
:func:`~ntkverify.studies.runner.run_studies` (one with :func:`~ntkverify.studies.runner.run_study`); the
designs are documented in ``docs/studies.md``.
"""

from ntkverify.studies.core import KernelSpec, Plan, Point, Study, all_studies, evaluate, get_study
from ntkverify.studies.runner import StudyRun, exit_code, run_studies, run_study

__all__ = [
    "KernelSpec",
    "Plan",
    "Point",
    "Study",
    "StudyRun",
    "all_studies",
    "evaluate",
    "exit_code",
    "get_study",
    "run_studies",
    "run_study",
]
