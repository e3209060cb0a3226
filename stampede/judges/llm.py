"""An LLM judge through any OpenAI-compatible endpoint (``POST {base_url}/chat/completions``).

The judge model gets the case's input, what the case expects, the rubric and the answer, and
replies ``{"verdict": "correct" | "wrong", "reason": "..."}``. Bounded on every side:

* a cache keyed by (case id, answer text): the same answer to the same case is judged once
  (decided verdicts only: an ``unjudged`` one is asked again next time);
* at most ``concurrency`` calls in flight (a semaphore; waiting for a slot counts against the
  timeout);
* ``timeout_s`` for connect, each read and the slot wait; no retries.

Anything that goes wrong — timeout, connection error, a non-200 status, a reply that is not a
verdict — gives ``unjudged`` with the reason, never ``correct``. Synchronous ``httpx.Client``,
so it runs inside Locust (gevent-patched threads and sockets) and in plain threads alike. The
API key is read from the environment variable ``api_key_env`` names and never logged.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

from stampede.cases import Case
from stampede.contract import Outcome
from stampede.judges.base import Judgement, answer_text, shorten

__all__ = ["LLMJudge", "LLMJudgeConfig", "LLMJudgeStats"]

SYSTEM_PROMPT = (
    "You grade the answers of an AI agent. Decide whether the ANSWER is correct for the "
    "QUESTION, given what the EXPECTED section says a correct answer contains and the RUBRIC. "
    "Judge meaning, not wording. Reply with one JSON object and nothing else: "
    '{"verdict": "correct" or "wrong", "reason": "<one short sentence>"}'
)
_VERDICTS = {"correct": True, "wrong": False, "incorrect": False}
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


@dataclass(frozen=True)
class LLMJudgeConfig:
    """Where and how to ask the judge model (the profile's ``judge: {kind: llm, ...}``)."""

    base_url: str
    model: str
    rubric: str = ""
    api_key_env: str | None = None
    timeout_s: float = 30.0
    concurrency: int = 4
    cache_size: int = 10_000
    max_answer_chars: int = 8_000
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: {self.base_url!r} is not an http(s) URL")
        if not self.model:
            raise ValueError("model: required (the judge model's name)")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s: {self.timeout_s}: expected > 0")
        if not 1 <= self.concurrency <= 256:
            raise ValueError(f"concurrency: {self.concurrency}: expected 1..256")
        if not 0 <= self.cache_size <= 1_000_000:
            raise ValueError(f"cache_size: {self.cache_size}: expected 0..1000000")
        if self.max_answer_chars < 1:
            raise ValueError(f"max_answer_chars: {self.max_answer_chars}: expected >= 1")


@dataclass(frozen=True)
class LLMJudgeStats:
    """Counters since the judge was built: calls sent, answers served from cache, unjudged."""

    calls: int
    cache_hits: int
    unjudged: int


class LLMJudge:
    """Judges an answer by asking a model; see the module docstring for the bounds."""

    kind = "llm"

    def __init__(
        self, config: LLMJudgeConfig, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.config = config
        headers = {"Content-Type": "application/json"}
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise ValueError(f"api_key_env: environment variable {config.api_key_env} is unset")
            headers["Authorization"] = f"Bearer {key}"
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s),
            transport=transport,
            trust_env=False,
            limits=httpx.Limits(max_connections=config.concurrency),
        )
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._cache: OrderedDict[tuple[str, str], Judgement] = OrderedDict()
        self._lock = threading.Lock()
        self._calls = self._hits = self._unjudged = 0

    def problem(self, case: Case) -> str | None:
        if case.expect.checks() or case.expect.rubric or self.config.rubric:
            return None
        return "judge llm needs something to judge by: an expectation or a rubric"

    def stats(self) -> LLMJudgeStats:
        with self._lock:
            return LLMJudgeStats(self._calls, self._hits, self._unjudged)

    def close(self) -> None:
        self._client.close()

    def judge(self, case: Case, answer: Any) -> Judgement:
        text = answer_text(answer)[: self.config.max_answer_chars]
        key = (case.id, text)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self._hits += 1
                return cached
        result = self._ask(case, text)
        with self._lock:
            if result.outcome == Outcome.UNJUDGED:
                self._unjudged += 1
            elif self.config.cache_size:
                self._cache[key] = result
                while len(self._cache) > self.config.cache_size:
                    self._cache.popitem(last=False)
        return result

    def _ask(self, case: Case, text: str) -> Judgement:
        if not self._slots.acquire(timeout=self.config.timeout_s):
            return Judgement.unjudged(
                f"judge busy: {self.config.concurrency} calls in flight for "
                f"{self.config.timeout_s:g} s"
            )
        try:
            with self._lock:
                self._calls += 1
            response = self._client.post(self._url, json=self._body(case, text))
        except httpx.TimeoutException:
            return Judgement.unjudged(f"judge timed out after {self.config.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return Judgement.unjudged(f"judge unreachable: {type(exc).__name__}: {exc}")
        finally:
            self._slots.release()
        if response.status_code != 200:
            detail = shorten(response.text, 120)
            return Judgement.unjudged(f"judge endpoint HTTP {response.status_code}: {detail}")
        return read_verdict(response.content)

    def _body(self, case: Case, text: str) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "temperature": self.config.temperature,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": self.prompt(case, text)},
            ],
        }

    def prompt(self, case: Case, text: str) -> str:
        """The user message: question, expectation, rubric, answer."""
        e = case.expect
        expected = {
            "label": e.label,
            "aliases": list(e.aliases) or None,
            "regex": e.regex,
            "number": e.number,
            "tolerance": e.tolerance if e.number is not None else None,
            "json_path": e.json_path,
            "value": e.value if e.json_path is not None else None,
        }
        shown = {k: v for k, v in expected.items() if v is not None}
        rubric = "\n".join(r for r in (self.config.rubric, e.rubric or "") if r) or "(none)"
        return (
            f"QUESTION (the agent's input):\n{json.dumps(dict(case.input), ensure_ascii=False)}"
            f"\n\nEXPECTED:\n{json.dumps(shown, ensure_ascii=False)}"
            f"\n\nRUBRIC:\n{rubric}\n\nANSWER:\n{text}"
        )


def read_verdict(body: bytes) -> Judgement:
    """The judgement in an OpenAI chat completion body; ``unjudged`` when there is none."""
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return Judgement.unjudged(
            f"judge reply malformed: {shorten(body.decode(errors='replace'))!r}"
        )
    if not isinstance(content, str):
        return Judgement.unjudged("judge reply has no text content")
    stripped = _FENCE.sub("", content.strip())
    verdict, reason = _parse_json_verdict(stripped) or _parse_word_verdict(stripped)
    if verdict is None:
        return Judgement.unjudged(f"judge reply is not a verdict: {shorten(content)!r}")
    reason = f"llm judge: {reason}" if reason else "llm judge"
    return Judgement.correct(reason) if verdict else Judgement.wrong(reason)


def _parse_json_verdict(text: str) -> tuple[bool | None, str] | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    verdict = _VERDICTS.get(str(data.get("verdict", "")).strip().lower())
    reason = data.get("reason")
    return verdict, reason.strip() if isinstance(reason, str) else ""


def _parse_word_verdict(text: str) -> tuple[bool | None, str]:
    words = text.split(maxsplit=1)
    if not words:
        return None, ""
    verdict = _VERDICTS.get(words[0].strip(".:,!").lower())
    return verdict, words[1].strip() if len(words) > 1 and verdict is not None else ""
