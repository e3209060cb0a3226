"""The report knows every outcome and phase of the contract (a new one cannot be left out)."""

from __future__ import annotations

from reports.catalogue import PHASES, SLIS
from reports.figures import OUTCOME_COLORS, PHASE_COLORS
from stampede.contract import OUTCOMES, Outcome, Phase


def test_every_outcome_has_a_colour_and_a_ratio_sli() -> None:
    assert set(OUTCOME_COLORS) == set(OUTCOMES)
    assert {f"{o}_ratio" for o in Outcome} <= set(SLIS)


def test_every_phase_has_a_colour_and_is_a_scope() -> None:
    assert tuple(p.value for p in Phase) == PHASES
    assert set(PHASE_COLORS) == set(PHASES)
