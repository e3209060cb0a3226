"""A fake OpenAI-compatible judge: ``POST /v1/chat/completions`` answers a verdict.

Run it as a real process: ``python -m uvicorn tests.judges.fake_judge:app --port P``. The
verdict is ``correct`` when the answer mentions the expected label (case-insensitive), else
``wrong``. Markers in the answer choose a failure: ``SLOW`` sleeps ``FAKE_JUDGE_SLOW_S``
(default 3 s), ``FAIL500`` answers HTTP 500, ``GARBAGE`` answers text that is no verdict,
``PAUSE`` sleeps 0.3 s (to measure concurrency). ``GET /stats`` returns the number of
completion requests received and the most ``PAUSE`` requests that were in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()
_state = {"requests": 0, "paused": 0, "max_paused": 0}
_SECTION = re.compile(
    r"EXPECTED:\n(?P<expected>.*?)\n\nRUBRIC:.*?\n\nANSWER:\n(?P<answer>.*)", re.S
)


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "fake",
        "object": "chat.completion",
        "model": "fake-judge",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }


@app.get("/stats")
def stats() -> dict[str, int]:
    return {"requests": _state["requests"], "max_paused": _state["max_paused"]}


@app.post("/v1/chat/completions")
async def complete(request: Request) -> JSONResponse:
    _state["requests"] += 1
    body = await request.json()
    match = _SECTION.search(body["messages"][-1]["content"])
    assert match is not None, "prompt without EXPECTED/ANSWER sections"
    answer, expected = match["answer"], json.loads(match["expected"])
    if "SLOW" in answer:
        await asyncio.sleep(float(os.environ.get("FAKE_JUDGE_SLOW_S", "3")))
    if "PAUSE" in answer:
        _state["paused"] += 1
        _state["max_paused"] = max(_state["max_paused"], _state["paused"])
        try:
            await asyncio.sleep(0.3)
        finally:
            _state["paused"] -= 1
    return _reply(answer, expected)


def _reply(answer: str, expected: dict[str, Any]) -> JSONResponse:
    if "FAIL500" in answer:
        return JSONResponse({"error": "judge exploded"}, status_code=500)
    if "GARBAGE" in answer:
        return JSONResponse(_completion("hmm, hard to say"))
    label = str(expected.get("label", "")).lower()
    hit = bool(label) and label in answer.lower()
    reply = {
        "verdict": "correct" if hit else "wrong",
        "reason": f"answer {'mentions' if hit else 'lacks'} {label}",
    }
    return JSONResponse(_completion("```json\n" + json.dumps(reply) + "\n```"))
