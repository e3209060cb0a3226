"""The shipped reference case file is the toolbox's catalogue, case for case."""

from __future__ import annotations

from stampede.cases import load_cases, reference_cases
from stampede.cases.reference import REFERENCE_FILE
from target_agent.toolbox.catalogue import by_service, catalogue
from tests.cases import reference_file


def test_the_reference_file_is_generated_from_the_catalogue() -> None:
    """Byte for byte: regenerate with `.venv/bin/python -m tests.cases.reference_file`."""
    assert reference_file.PATH.name == REFERENCE_FILE
    assert reference_file.PATH.read_text(encoding="utf-8") == reference_file.render()


def test_each_case_asks_the_alert_the_toolbox_serves_and_expects_its_root_cause() -> None:
    cases = reference_cases()
    assert [c.id for c in cases] == [i.id for i in catalogue()]
    for case in cases:
        incident = by_service(case.input["service"])
        assert incident is not None, case.id
        assert dict(case.input) == incident.alert()
        assert case.expect.label == incident.root_cause
        assert case.expect.checks() == ("exact",)
        assert case.weight == 1.0 and case.repeat is None


def test_the_packaged_file_loads_like_any_case_file() -> None:
    assert load_cases(reference_file.PATH) == reference_cases()
