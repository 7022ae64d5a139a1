"""``ntkverify list``: from a paper's theorem to its check in two hops, for the four statements of the README."""

from __future__ import annotations

import pytest

from ntkverify.properties import get_property
from ntkverify.properties.listing import select
from ntkverify.shell.cli import main
from ntkverify.studies import all_studies, get_study


def _names(**filters) -> set[str]:
    return {e.name for e in select(**filters)}


@pytest.mark.parametrize(
    "cite,expected",
    [
        ("hinf-gershgorin", {"bound:hinf_gershgorin_lower", "bound:hinf_rayleigh_upper"}),  # Gershgorin for H∞
        # the lower bound's property is retired (it cannot fail at N = 8); the statement is tested by the study
        ("NMM21 limiting-NTK theorem", {"lambda-min-scaling", "bound:nmm21_scaling_upper"}),
        ("A9", {"bound:degenerate_zero", "degenerate-zero-eigenvalue"}),  # the degeneracy statement
        ("C8", {"lipschitz-scaling"}),  # Lipschitz scaling
        ("Arora et al. 2019 Thm 5.1", {"generalization"}),  # the generalisation bound, a study
    ],
)
def test_a_statement_leads_to_its_checks(cite, expected):
    found = _names(cite=cite)
    assert expected <= found
    for name in expected:  # the second hop: the property or study exists and cites what was searched
        check = get_study(name) if name in {s.name for s in all_studies()} else get_property(name)
        assert cite.split()[0].lower() in check.citation.lower()


def test_filters_combine_and_fold_spellings():
    assert _names(cite="DZPS19 Theorem 3.1") == _names(cite="dzps19 thm 3.1") != set()
    prob = select(kind="prob")
    assert prob and all(e.kind == "PROB" for e in prob)
    feature_maps = _names(subject="feature-maps")
    assert "lipschitz-scaling" in feature_maps and "bound:emp_lipschitz" in feature_maps
    assert _names(cite="A9", kind="DET", subject="user-kernel") == {
        "bound:degenerate_zero",
        "degenerate-zero-eigenvalue",
    }
    assert not _names(cite="no such paper 1999")


def test_list_command_prints_statement_citation_kind_and_subjects(capsys):
    assert main(["list", "--cite", "C8"]) == 0
    out = capsys.readouterr().out
    assert "lipschitz-scaling  [PROB]" in out and "subjects: feature-maps" in out
    assert "docs/statements.md#nmm21-lipschitz" in out and "√(Π_{l≤k} n_l/2)" in out


def test_list_command_rejects_an_unknown_subject_as_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["list", "--subject", "nope"])
    assert exc.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_studies_are_listed_with_their_citations():
    entries = [e for e in select(kind="STUDY") if e.what == "study"]
    assert [e.name for e in entries] == [s.name for s in all_studies()]
    assert "lambda-min-scaling" in _names(cite="nmm21", kind="study")
