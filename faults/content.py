"""Content faults on a whole JSON answer: JSON-path rules, LLM rewrites, corrupt bodies.

* ``apply_rules(value, rules)`` — a lying tool: set or replace values at JSON paths
  (``faults.jsonpath``: jsonpath-ng).
* ``rewrite_completion(body, spec)`` — a hallucinating model: the assistant's content and/or the
  arguments of its tool calls, in a chat-completions body (``choices[*].message``).
* ``corrupt(raw, how)`` — ``truncate``: the first half of the bytes; ``malformed``: a comma
  before the last closing bracket (still looks like JSON, never parses).

All pure; the caller decides which answers they apply to and counts them.
"""

from __future__ import annotations

import json
from typing import Any

from faults.jsonpath import write, write_path
from faults.model import BodyCorruption, FaultSpec, JsonRule


def apply_rules(value: Any, rules: tuple[JsonRule, ...]) -> tuple[Any, int]:
    """Apply ``rules`` in order to ``value`` (changed in place); the value and writes made."""
    written = 0
    for rule in rules:
        value, count = write(value, write_path(rule.path), rule.value, create=rule.op == "set")
        written += count
    return value, written


def _rewrite_calls(calls: Any, spec: FaultSpec, arguments: str) -> int:
    changed = 0
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        if spec.llm_tool_name is None or function.get("name") == spec.llm_tool_name:
            function["arguments"] = arguments
            changed += 1
    return changed


def rewrite_completion(body: Any, spec: FaultSpec) -> int:
    """Replace content / tool-call arguments in a chat-completions body; the changes made."""
    changed = 0
    choices = body.get("choices") if isinstance(body, dict) else None
    for choice in choices if isinstance(choices, list) else ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        if spec.llm_content is not None and not message.get("tool_calls"):
            message["content"] = spec.llm_content
            changed += 1
        if spec.llm_tool_arguments is not None:
            arguments = json.dumps(spec.llm_tool_arguments)
            changed += _rewrite_calls(message.get("tool_calls"), spec, arguments)
    return changed


def corrupt(raw: bytes, how: BodyCorruption) -> bytes:
    """A broken copy of the JSON bytes ``raw`` (see the module docstring)."""
    if how == "truncate":
        return raw[: len(raw) // 2]
    stripped = raw.rstrip()
    if stripped[-1:] in (b"}", b"]"):
        return stripped[:-1] + b"," + stripped[-1:]
    return b"{" + raw


def usage_tokens(body: Any) -> int | None:
    """``usage.total_tokens`` of a completion body or chunk (prompt + completion as fallback)."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
    numbers = [p for p in parts if isinstance(p, int) and not isinstance(p, bool)]
    return sum(numbers) if numbers else None
