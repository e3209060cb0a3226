"""The LLM judge against a fake judge endpoint run as a real uvicorn process."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stampede import procs
from stampede.contract import Outcome
from stampede.judges import Judgement, LLMJudge, LLMJudgeConfig, build_judge
from stampede.judges.llm import read_verdict
from tests.judges.support import case

SLOW_S = 3.0


@pytest.fixture(scope="module")
def judge_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``.../v1``) of a fake judge on a free 127.0.0.1 port, stopped by PID after."""
    port = procs.free_port()
    log = tmp_path_factory.mktemp("fake-judge") / "judge.log"
    proc = procs.spawn(
        procs.python_cmd(
            "-m", "uvicorn", "tests.judges.fake_judge:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log",
        ),
        log,
        env={"FAKE_JUDGE_SLOW_S": str(SLOW_S)},
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        procs.wait_http_ok(f"http://127.0.0.1:{port}/stats", proc, timeout_s=30, what="fake judge")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        procs.stop(proc)


def _requests(judge_url: str) -> int:
    stats = httpx.get(judge_url.removesuffix("/v1") + "/stats", trust_env=False).json()
    return int(stats["requests"])


def _judge(judge_url: str, **config: object) -> LLMJudge:
    return LLMJudge(LLMJudgeConfig(base_url=judge_url, model="fake", **config))  # type: ignore[arg-type]


def test_verdicts_and_reasons_come_from_the_judge_model(judge_url: str) -> None:
    judge = _judge(judge_url)
    c = case("v1", label="oom_killed")
    assert judge.judge(c, "the pod was OOM_KILLED") == Judgement.correct(
        "llm judge: answer mentions oom_killed"
    )
    assert judge.judge(c, "bad deploy") == Judgement.wrong("llm judge: answer lacks oom_killed")
    judge.close()


def test_the_same_answer_to_the_same_case_is_asked_once(judge_url: str) -> None:
    judge = _judge(judge_url)
    before = _requests(judge_url)
    c1, c2 = case("cache-1", label="x"), case("cache-2", label="x")
    results = [judge.judge(c1, "x marks"), judge.judge(c1, "x marks"), judge.judge(c1, "x marks")]
    assert len(set(results)) == 1 and results[0].is_correct
    judge.judge(c2, "x marks")  # another case: another key
    judge.judge(c1, "another answer")  # another answer: another key
    assert _requests(judge_url) - before == 3
    assert (judge.stats().calls, judge.stats().cache_hits) == (3, 2)
    judge.close()


def test_a_timeout_is_unjudged_never_correct_and_not_cached(judge_url: str) -> None:
    judge = _judge(judge_url, timeout_s=0.5)
    c = case("slow", label="x")
    started = time.monotonic()
    result = judge.judge(c, "x SLOW")
    assert time.monotonic() - started < SLOW_S - 1
    assert result == Judgement.unjudged("judge timed out after 0.5 s")
    before = _requests(judge_url)
    assert judge.judge(c, "x SLOW").outcome == Outcome.UNJUDGED
    assert _requests(judge_url) - before == 1  # asked again: unjudged is not cached
    assert judge.stats().unjudged == 2
    judge.close()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("x FAIL500", 'judge endpoint HTTP 500: {"error":"judge exploded"}'),
        ("x GARBAGE", "judge reply is not a verdict: 'hmm, hard to say'"),
    ],
    ids=["http-500", "no-verdict"],
)
def test_a_failing_judge_is_unjudged_with_the_reason(
    judge_url: str, answer: str, reason: str
) -> None:
    judge = _judge(judge_url)
    assert judge.judge(case("fail", label="x"), answer) == Judgement.unjudged(reason)
    judge.close()


def test_an_unreachable_judge_is_unjudged() -> None:
    judge = _judge(f"http://127.0.0.1:{procs.free_port()}/v1", timeout_s=2)
    result = judge.judge(case("gone", label="x"), "x")
    assert result.outcome == Outcome.UNJUDGED
    assert result.reason.startswith("judge unreachable: ConnectError")
    judge.close()


def test_calls_in_flight_are_bounded_by_the_concurrency(judge_url: str) -> None:
    judge = build_judge(
        {"kind": "llm", "base_url": judge_url, "model": "fake", "concurrency": 2, "timeout_s": 10}
    )
    assert isinstance(judge, LLMJudge)
    results: list[Judgement] = []
    threads = [
        threading.Thread(
            target=lambda n=n: results.append(judge.judge(case(f"par-{n}", label="x"), "x PAUSE"))
        )
        for n in range(6)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    elapsed = time.monotonic() - started
    assert [r.outcome for r in results] == [Outcome.CORRECT] * 6
    stats = httpx.get(judge_url.removesuffix("/v1") + "/stats", trust_env=False).json()
    assert stats["max_paused"] == 2
    assert elapsed >= 3 * 0.3 - 0.05  # 6 calls of 0.3 s, two at a time
    judge.close()


def test_the_prompt_carries_question_expectation_rubrics_and_answer() -> None:
    judge = LLMJudge(LLMJudgeConfig("http://127.0.0.1:9/v1", "m", rubric="Be strict."))
    c = case("p", label="oom", aliases=["out of memory"], rubric="Memory words count.")
    prompt = judge.prompt(c, "it ran out of memory")
    assert '{"q": "?"}' in prompt
    assert '"label": "oom", "aliases": ["out of memory"]' in prompt
    assert "Be strict.\nMemory words count." in prompt
    assert prompt.endswith("ANSWER:\nit ran out of memory")
    judge.close()


@pytest.mark.parametrize(
    ("content", "outcome"),
    [
        ('{"verdict": "correct", "reason": "ok"}', Outcome.CORRECT),
        ('Sure! {"verdict": "WRONG"}', Outcome.WRONG),
        ("Correct. It names the cause.", Outcome.CORRECT),
        ("incorrect", Outcome.WRONG),
        ('{"verdict": "maybe"}', Outcome.UNJUDGED),
        ("", Outcome.UNJUDGED),
    ],
    ids=["json", "json-in-text", "word", "incorrect", "bad-verdict", "empty"],
)
def test_read_verdict(content: str, outcome: Outcome) -> None:
    body = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
    assert read_verdict(body).outcome == outcome
    assert read_verdict(b"<html>").outcome == Outcome.UNJUDGED


def test_the_judge_runs_in_greenlets_of_a_gevent_patched_process(judge_url: str) -> None:
    """As inside Locust: 4 paused calls two at a time and one slow call, none blocks the rest."""
    done = subprocess.run(
        procs.python_cmd("-m", "tests.judges.gevent_probe", judge_url),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["outcomes"] == ["correct"] * 5
    # the slow call (3 s) overlaps the paused ones: about 3 s in total, not 3 + 2 x 0.3
    assert SLOW_S - 0.1 <= result["seconds"] < SLOW_S + 0.5
