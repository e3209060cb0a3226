"""Text judges: exact, normalised, aliases, regex; and the normaliser's properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stampede.contract import Outcome
from stampede.judges import AliasesJudge, ExactJudge, NormalisedJudge, RegexJudge, normalise
from tests.judges.support import case

CAUSE = case(label="db_connection_exhaustion", aliases=["connection pool exhausted"])


@pytest.mark.parametrize(
    ("judge", "answer", "outcome"),
    [
        (ExactJudge(), "db_connection_exhaustion", Outcome.CORRECT),
        (ExactJudge(), "DB_connection_exhaustion", Outcome.WRONG),
        (ExactJudge(), " db_connection_exhaustion", Outcome.WRONG),
        (ExactJudge(match="contains"), "cause: db_connection_exhaustion.", Outcome.CORRECT),
        (NormalisedJudge(), "DB connection-exhaustion!", Outcome.CORRECT),
        (NormalisedJudge(), "  db   CONNECTION  exhaustion ", Outcome.CORRECT),
        (NormalisedJudge(), "db connection", Outcome.WRONG),
        (NormalisedJudge(), "connection pool exhausted", Outcome.WRONG),
        (NormalisedJudge(match="contains"), "It is DB connection exhaustion.", Outcome.CORRECT),
        (NormalisedJudge(match="contains"), "xdb connection exhaustion", Outcome.WRONG),
        (AliasesJudge(), "Connection pool EXHAUSTED", Outcome.CORRECT),
        (AliasesJudge(), "db-connection-exhaustion", Outcome.CORRECT),
        (AliasesJudge(), "bad deploy", Outcome.WRONG),
        (AliasesJudge(match="contains"), "Likely the connection pool exhausted.", Outcome.CORRECT),
        (AliasesJudge(match="contains"), "the pool was fine", Outcome.WRONG),
    ],
    ids=["exact", "exact-case", "exact-space", "exact-contains", "norm-punct", "norm-space",
         "norm-partial", "norm-no-aliases", "norm-contains", "norm-contains-words", "alias",
         "alias-label", "alias-wrong", "alias-contains", "alias-contains-wrong"],
)  # fmt: skip
def test_text_judges(judge: object, answer: str, outcome: Outcome) -> None:
    result = judge.judge(CAUSE, answer)  # type: ignore[attr-defined]
    assert result.outcome == outcome, result
    if outcome == Outcome.WRONG:
        assert answer.strip()[:10] in result.reason or "'" in result.reason


def test_reasons_say_what_was_expected_and_which_alias_hit() -> None:
    assert ExactJudge().judge(CAUSE, "bad_deploy").reason == (
        "answer 'bad_deploy' != expected 'db_connection_exhaustion'"
    )
    assert AliasesJudge().judge(CAUSE, "connection pool exhausted").reason == (
        "alias 'connection pool exhausted'"
    )
    assert AliasesJudge().judge(CAUSE, "no").reason == (
        "answer 'no' matches none of 'db_connection_exhaustion', 'connection pool exhausted'"
    )


def test_a_json_answer_is_judged_as_its_compact_text() -> None:
    assert ExactJudge().judge(case(label="42"), 42).outcome == Outcome.CORRECT
    assert ExactJudge().judge(case(label=""), None).outcome == Outcome.CORRECT


@pytest.mark.parametrize(
    ("judge", "answer", "outcome"),
    [
        (RegexJudge(), "error code E-1234 seen", Outcome.CORRECT),
        (RegexJudge(), "error code e-1234 seen", Outcome.WRONG),
        (RegexJudge(ignore_case=True), "error code e-1234 seen", Outcome.CORRECT),
        (RegexJudge(full=True), "error code E-1234 seen", Outcome.WRONG),
        (RegexJudge(full=True), "E-1234", Outcome.CORRECT),
    ],
    ids=["search", "case", "ignore-case", "full-no", "full-yes"],
)
def test_regex_judge(judge: RegexJudge, answer: str, outcome: Outcome) -> None:
    assert judge.judge(case(regex=r"E-\d{4}"), answer).outcome == outcome


def test_judges_say_what_a_case_lacks() -> None:
    no_label = case(regex="x")
    assert ExactJudge().problem(no_label) == "judge exact needs a label"
    assert AliasesJudge().problem(no_label) == "judge aliases needs a label"
    assert RegexJudge().problem(CAUSE) == "judge regex needs a regex"
    assert "does not compile" in (RegexJudge().problem(case(regex="(")) or "")
    assert ExactJudge().problem(CAUSE) is None


def test_normalise_examples() -> None:
    assert normalise("  Hello,   WORLD!! ") == "hello world"
    assert normalise("db_connection-exhaustion") == "db connection exhaustion"
    assert normalise("Straße") == normalise("STRASSE") == "strasse"
    assert normalise("ﬁle") == "file"  # NFKC: the ligature is two letters
    assert normalise("...") == ""


@given(st.text())
def test_normalise_is_idempotent_and_has_no_outer_or_double_spaces(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip() and "  " not in once


WORDS = st.lists(st.text(string.ascii_letters + string.digits, min_size=1), min_size=1)
NOISE = st.lists(st.sampled_from([" ", "  ", "\t", ".", ",", "-", "_", "!", "?", "'"]), min_size=1)


@given(WORDS, NOISE)
def test_normalise_ignores_case_whitespace_and_punctuation_between_words(
    words: list[str], noise: list[str]
) -> None:
    plain = " ".join(words)
    separators = (noise * len(words))[: len(words)]
    noisy = "".join(w.swapcase() + sep for w, sep in zip(words, separators, strict=True))
    assert normalise(noisy) == normalise(plain) == plain.lower()
