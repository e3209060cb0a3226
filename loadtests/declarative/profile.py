"""``DeclarativeProfile``: a :class:`~loadtests.profile.TargetProfile` driven by a profile file.

Builds the request from the file's template and the case, reads the reply with JSON paths or
headers, and judges it (the rules are in ``loadtests/declarative/__init__.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jsonpath_ng.ext import parse as parse_json_path

from loadtests.declarative.model import (
    ProfileFile,
    ProfileFileError,
    SourceRef,
    Template,
    fill_body,
    parse_profile,
)
from loadtests.profile import MalformedAnswer, Reply, RequestSpec, TargetProfile, Verdict
from stampede.cases import Case
from stampede.contract import Outcome
from stampede.errors import InputError
from stampede.judges import Judge, Judgement, Panel, answer_key
from stampede.metricmap import MetricMap
from stampede.yamlinput import MAX_CONFIG_CHARS, read_text

__all__ = ["DeclarativeProfile", "Read", "load_declarative_profile"]

_MISSING = object()


@dataclass(frozen=True)
class Read:
    """What a declarative profile read from a 200 reply (None: not given or not configured)."""

    answer: Any
    partial: bool
    answer_id: str | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    retries: int | None = None
    replica: str | None = None


def load_declarative_profile(path: str | Path) -> DeclarativeProfile:
    """Read and validate a YAML profile; raises ProfileFileError naming file, line and field."""
    path = Path(path)
    text = read_text(path, ProfileFileError, limit=MAX_CONFIG_CHARS)  # bounded before reading
    spec, panel = parse_profile(text, str(path))
    return DeclarativeProfile(spec, panel, str(path))


class _Reader:
    """Reads one :data:`Source` from a decoded body and the reply's headers."""

    def __init__(self, source: SourceRef) -> None:
        self.header = source.header.lower() if source.header is not None else None
        self.text = source.describe()
        self.expr = parse_json_path(source.path) if source.path is not None else None

    def get(self, data: Any, reply: Reply) -> Any:
        """The value, or ``_MISSING`` when the header or path is not in the reply."""
        if self.header is not None:
            value = reply.header(self.header)
            return _MISSING if value is None else value
        assert self.expr is not None
        found = self.expr.find(data)
        return found[0].value if found else _MISSING


class DeclarativeProfile(TargetProfile):
    """A target profile read from a YAML file (see :func:`load_declarative_profile`)."""

    def __init__(self, spec: ProfileFile, panel: Panel, source: str = "") -> None:
        self.spec = spec
        self.panel = panel
        self.source = source
        self.name = spec.name
        self.method = spec.request.method
        self.path = spec.request.path
        self.lookup_path = spec.lookup.path if spec.lookup else None
        self.shed_statuses = frozenset(spec.shed.statuses)
        self.replica_header = (
            spec.response.replica.header
            if spec.response.replica is not None and spec.response.replica.header is not None
            else "X-Served-By"
        )
        self.request_name = spec.request.name or f"{self.method} {self.path}"
        #: The ``metrics:`` section for the sampler (empty, named after the file, without one).
        self.metric_map: MetricMap = (
            spec.metrics if spec.metrics is not None else MetricMap({}, name=source or spec.name)
        )
        r = spec.response
        self._answer = _Reader(r.answer)
        self._fields = {
            name: _Reader(src)
            for name, src in (
                ("status", r.status),
                ("id", r.id),
                ("tokens", r.tokens),
                ("cost_usd", r.cost_usd),
                ("retries", r.retries),
                ("replica", r.replica),
            )
            if src is not None
        }
        partial = spec.partial
        self._partial_path = _Reader(partial.path) if partial and partial.path else None
        self._partial_regex = re.compile(partial.regex) if partial and partial.regex else None
        self._claim_regex = (
            re.compile(partial.claim_regex) if partial and partial.claim_regex else None
        )
        self._lookup_id = _Reader(spec.lookup.id) if spec.lookup and spec.lookup.id else None

    # -- start-up checks -------------------------------------------------------------------

    def check_cases(self, cases: Sequence[Case]) -> None:
        """Raise ProfileFileError when a case cannot fill the template or be judged."""
        for case in cases:
            try:
                self.build(case, "check")
            except KeyError as exc:
                raise ProfileFileError(
                    f"{self.source or self.name}: request template needs {exc.args[0]!r}, "
                    f"which {case.where()} does not have"
                ) from exc
        try:
            self.panel.check(cases)
        except InputError as exc:
            raise ProfileFileError(f"{self.source or self.name}: {exc}") from exc

    # -- the request -----------------------------------------------------------------------

    def build(self, case: Case, key: str) -> RequestSpec:
        """The request for ``case``; raises KeyError naming an input the template needs."""
        values = {"input": dict(case.input), "key": key, "case_id": case.id}
        req = self.spec.request
        body = fill_body(req.body, values) if req.body is not None else None
        return RequestSpec(
            self.method,
            str(Template(req.path).fill(values)),
            self.request_name,
            json=body,
            headers={k: str(Template(v).fill(values)) for k, v in req.headers.items()},
        )

    def lookup(self, investigation_id: str) -> RequestSpec | None:
        """The request fetching a stored answer, or None when the profile has no look-up."""
        if self.spec.lookup is None:
            return None
        path = self.spec.lookup.path.replace("{id}", investigation_id)
        return RequestSpec(self.spec.lookup.method, path, f"GET {self.spec.lookup.path}")

    # -- reading ---------------------------------------------------------------------------

    def read_reply(self, data: Any, reply: Reply) -> Read:
        """Read a decoded 200 body; raises MalformedAnswer when the answer is not there."""
        answer = self._answer.get(data, reply)
        if answer is _MISSING:
            raise MalformedAnswer(f"no answer at {self._answer.text}")
        got = {name: reader.get(data, reply) for name, reader in self._fields.items()}
        return Read(
            answer=answer,
            partial=self._is_partial(data, reply, answer),
            answer_id=_opt_str(got.get("id", _MISSING)),
            tokens=_opt_int(got.get("tokens", _MISSING), "tokens"),
            cost_usd=_opt_float(got.get("cost_usd", _MISSING), "cost_usd"),
            retries=_opt_int(got.get("retries", _MISSING), "retries"),
            replica=_opt_str(got.get("replica", _MISSING)),
        )

    def _is_partial(self, data: Any, reply: Reply, answer: Any) -> bool:
        partial = self.spec.partial
        if partial is None:
            return False
        if self._partial_regex is not None:
            return isinstance(answer, str) and self._partial_regex.search(answer) is not None
        assert self._partial_path is not None
        value = self._partial_path.get(data, reply)
        if value in partial.values:
            return True
        if partial.complete_values and value not in partial.complete_values:
            shown = "nothing" if value is _MISSING else repr(value)
            raise MalformedAnswer(
                f"{self._partial_path.text} is {shown}, expected one of "
                f"{[*partial.complete_values, *partial.values]}"
            )
        return False

    # -- judging ---------------------------------------------------------------------------

    def judge_of(self, case: Case) -> Judge:
        """The case's own judge (``expect.judge``) or the profile's; InputError if unknown."""
        return self.panel.for_case(case)

    def judge(self, case: Case, reply: Reply) -> Verdict:
        """Classify the reply to the request built for ``case`` (see the package docstring)."""
        early = self.transport_verdict(reply)
        if early is not None:
            return early
        replica = reply.header(self.replica_header)
        try:
            read = self.read_reply(self.parse(reply), reply)
        except MalformedAnswer as exc:
            return Verdict(Outcome.ERROR, f"malformed answer: {exc}", reply.status, replica=replica)
        return self.judge_read(case, read, reply.status)

    def transport_verdict(self, reply: Reply) -> Verdict | None:
        """``error`` / ``shed`` for a reply that is not a 200 answer, else None."""
        if (
            self.spec.shed.retry_after == "optional"
            and reply.status in self.shed_statuses
            and not reply.header("Retry-After")
        ):
            reason = f"HTTP {reply.status} (no Retry-After)"
            return Verdict(
                Outcome.SHED, reason, reply.status, replica=reply.header(self.replica_header)
            )
        return self.judge_transport(reply)

    def judge_read(self, case: Case, read: Read, status: int = 200) -> Verdict:
        """The outcome rules for an answer that was read; ``answer_key`` keys the whole answer."""
        base = Verdict(
            Outcome.CORRECT,
            "",
            status,
            read.tokens,
            read.cost_usd,
            read.retries,
            read.replica,
            read.answer_id,
            answer_key=answer_key(read.answer),
        )
        if read.partial:
            return self._judge_partial(case, read, base)
        if read.answer is None or (isinstance(read.answer, str) and not read.answer.strip()):
            return replace(base, outcome=Outcome.ERROR, reason="malformed answer: empty answer")
        judgement = self._run_judge(case, read.answer)
        return replace(base, outcome=judgement.outcome, reason=judgement.reason)

    def _judge_partial(self, case: Case, read: Read, base: Verdict) -> Verdict:
        partial = self.spec.partial
        assert partial is not None
        claim: Any = read.answer
        if partial.claims == "none" or claim is None or claim == "":
            return replace(base, outcome=Outcome.DEGRADED, reason="degraded: partial answer")
        if self._claim_regex is not None:
            found = self._claim_regex.search(claim) if isinstance(claim, str) else None
            if found is None:
                return replace(base, outcome=Outcome.DEGRADED, reason="degraded: no claim")
            claim = found.group(1) if found.re.groups else found.group(0)
        judgement = self._run_judge(case, claim)
        if judgement.outcome == Outcome.WRONG:
            reason = f"partial answer makes a wrong claim: {judgement.reason}"
            return replace(base, outcome=Outcome.WRONG, reason=reason)
        if judgement.outcome == Outcome.UNJUDGED:
            return replace(base, outcome=Outcome.UNJUDGED, reason=judgement.reason)
        return replace(base, outcome=Outcome.DEGRADED, reason="degraded: partial, claim correct")

    def _run_judge(self, case: Case, answer: Any) -> Judgement:
        judge = self.judge_of(case)
        try:
            judgement = judge.judge(case, answer)
        except Exception as exc:  # a judge that fails decides nothing: unjudged, never correct
            return Judgement.unjudged(f"judge {judge.kind} failed: {type(exc).__name__}: {exc}")
        if judgement.outcome not in (Outcome.CORRECT, Outcome.WRONG, Outcome.UNJUDGED):
            return Judgement.unjudged(f"judge {judge.kind} returned {judgement.outcome!r}")
        return judgement

    def judge_lookup(self, investigation_id: str, reply: Reply) -> Verdict:
        """A stored answer must come back with the same id; 404 means it was lost."""
        replica = reply.header(self.replica_header)
        if reply.status == 404:
            return Verdict(
                Outcome.ERROR, f"answer '{investigation_id}' lost: HTTP 404", 404, replica=replica
            )
        early = self.transport_verdict(reply)
        if early is not None:
            return early
        verdict = Verdict(Outcome.CORRECT, "", reply.status, 0, 0.0, 0, replica, investigation_id)
        if self._lookup_id is None:
            return verdict
        try:
            got = self._lookup_id.get(self.parse(reply), reply)
        except MalformedAnswer as exc:
            return replace(verdict, outcome=Outcome.ERROR, reason=f"malformed answer: {exc}")
        if got is _MISSING or str(got) != investigation_id:
            shown = "nothing" if got is _MISSING else repr(got)
            reason = f"look-up of '{investigation_id}' returned {shown} at {self._lookup_id.text}"
            return replace(verdict, outcome=Outcome.ERROR, reason=reason, investigation_id=None)
        return verdict


def _opt_str(value: Any) -> str | None:
    if value is _MISSING or value is None:
        return None
    return str(value)


def _opt_int(value: Any, name: str) -> int | None:
    number = _opt_number(value, name, whole=True)
    return None if number is None else int(number)


def _opt_float(value: Any, name: str) -> float | None:
    return _opt_number(value, name, whole=False)


def _opt_number(value: Any, name: str, whole: bool) -> float | None:
    """A number read from the reply (a JSON number or a numeric string); None if not given."""
    if value is _MISSING or value is None:
        return None
    expected = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedAnswer(f"{name} is {value!r}, expected {expected}")
    try:
        number = float(value)
    except ValueError as exc:
        raise MalformedAnswer(f"{name} is {value!r}, expected {expected}") from exc
    if whole and not number.is_integer():
        raise MalformedAnswer(f"{name} is {value!r}, expected {expected}")
    return number
