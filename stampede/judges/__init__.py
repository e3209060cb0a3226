"""Judges: ``(case, answer) -> Judgement(outcome, reason)``, chosen per profile or per case.

A judge answers ``correct`` or ``wrong`` with a reason, or ``unjudged`` when it cannot decide
(an LLM judge that failed or timed out); never ``correct`` by default. The answer is text or
decoded JSON: the profile decides which part of the reply is the answer.

Spec (what a profile's ``judge:`` says; :func:`build_judge`, :func:`build_panel`)::

    judge: auto                        # default: all_of over the checks the case's expect sets
    judge: aliases                     # a kind with default options
    judge: {kind: aliases, match: contains}
    judge:
      kind: any_of
      judges: [exact, {kind: regex, ignore_case: true}]
    judge:
      kind: llm
      base_url: http://127.0.0.1:8080/v1   # any OpenAI-compatible endpoint
      model: gpt-4o-mini
      rubric: "The root cause must name the failing component."
      api_key_env: OPENAI_API_KEY          # the key is read from the environment, never logged
      timeout_s: 30                        # connect, each read, and the wait for a slot
      concurrency: 4                       # calls in flight at most
      cache_size: 10000                    # (case id, answer) -> verdict, decided verdicts only

Kinds and their options (each reads the case's ``expect``):

=============  =============================================  ===============================
kind           correct when                                   options
=============  =============================================  ===============================
exact          answer == label                                match: equals | contains
normalised     normalise(answer) == normalise(label)          match: equals | contains
aliases        ... == label or any alias, normalised          match: equals | contains
regex          re.search(regex, answer)                       ignore_case, full (fullmatch)
number         a number in the answer is number ± tolerance   pick: last | first | any,
                                                              relative (x abs(number))
json_path      the JSON answer has value at json_path         —
all_of         every judge is correct (first wrong decides)   judges: [spec, ...]
any_of         one judge is correct                           judges: [spec, ...]
auto           all_of over ``Expect.checks()``                —
llm            the judge model says correct                   see above
=============  =============================================  ===============================

``normalise``: NFKC, casefold, punctuation as spaces, whitespace collapsed. ``match: contains``
accepts an answer that mentions the expected text as whole words. A case picks its own judge
with ``expect.judge: <kind>`` (default options; ``llm`` uses the profile's configured LLM
judge). :meth:`Panel.check` refuses, before any load, a case its judge cannot judge.
"""

from __future__ import annotations

from stampede.judges.base import Judge, Judgement, answer_text
from stampede.judges.compose import AllOf, AnyOf
from stampede.judges.llm import LLMJudge, LLMJudgeConfig, LLMJudgeStats
from stampede.judges.spec import KINDS, Panel, build_judge, build_panel
from stampede.judges.structured import JsonPathJudge, NumberJudge, numbers_in
from stampede.judges.text import (
    AliasesJudge,
    ExactJudge,
    NormalisedJudge,
    RegexJudge,
    answer_key,
    normalise,
)

__all__ = [
    "KINDS",
    "AliasesJudge",
    "AllOf",
    "AnyOf",
    "ExactJudge",
    "JsonPathJudge",
    "Judge",
    "Judgement",
    "LLMJudge",
    "LLMJudgeConfig",
    "LLMJudgeStats",
    "NormalisedJudge",
    "NumberJudge",
    "Panel",
    "RegexJudge",
    "answer_key",
    "answer_text",
    "build_judge",
    "build_panel",
    "normalise",
    "numbers_in",
]
