"""Target profiles: how to ask an agent a case's question, and how to judge its answer.

A *target profile* is everything agent-specific the load generator needs: the endpoint, the
request built from a case (``stampede.cases``: the reference agent's cases are its incident
catalogue), how to read the answer (status, root cause, tokens, cost, retries, replica) and how
to turn it into one :class:`~stampede.contract.Outcome` plus a human-readable reason. The
reference agent's profile is :class:`TargetProfile` itself; an agent with another API gets a
subclass that overrides :meth:`TargetProfile.build` and :meth:`TargetProfile.read` (see
docs/loadtests.md and ``loadtests/examples/diagnosis_profile.py``).

Pure: no Locust, no I/O. Locust-side code turns a response into a :class:`Reply` and records the
:class:`Verdict`.

Exceptions::

    ValueError
    ├── ProfileError      a profile name or ``module:attr`` path that cannot be resolved
    └── MalformedAnswer   a 200 body the profile cannot read (judged ``error``)

Profiles are chosen by ``loadtests.select.load_profile`` (a name, ``module:attr`` or a
declarative ``PATH.yaml``).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import orjson

from stampede.cases import Case, load_cases, reference_cases
from stampede.contract import FAILED_OUTCOMES as FAILED_OUTCOMES  # re-exported
from stampede.contract import OUTCOMES as OUTCOMES  # re-exported: profiles judge into these
from stampede.contract import Outcome
from stampede.errors import InputError
from stampede.judges import answer_key


class ProfileError(ValueError):
    """A target profile that cannot be resolved or is not a profile."""


class MalformedAnswer(ValueError):
    """A 200 answer whose body does not have the fields the profile needs."""


@dataclass(frozen=True)
class Reply:
    """What came back for one request, independent of the HTTP client.

    ``status`` is the HTTP status, 0 when no response arrived; ``error`` then says why
    (timeout, connection refused). Header names are lower-case.
    """

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def fast_constructor(cls: type) -> Callable[..., Any]:
    """A keyword-only constructor of frozen dataclass ``cls`` for the per-request path.

    Builds the same instance as ``cls(**values)`` (equal, same hash, defaults and default
    factories applied) without the generated ``__init__``'s one ``object.__setattr__`` per
    field: ~1 µs less per object, and a request makes several (bench/README.md,
    ``locust_overhead.py``). Only for classes without ``__post_init__`` (checked here); an
    unknown field name raises TypeError, as ``cls`` would.
    """
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__}: fast_constructor needs a plain frozen dataclass")
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    factories = {f.name: f.default_factory for f in fields(cls) if f.default_factory is not MISSING}
    names = frozenset(f.name for f in fields(cls))
    required = names - defaults.keys() - factories.keys()

    def make(**values: Any) -> Any:
        if not values.keys() <= names or not required <= values.keys():
            cls(**values)  # raises the dataclass's own TypeError
        obj: Any = object.__new__(cls)
        state = obj.__dict__
        state.update(defaults)
        state.update(values)
        for name, factory in factories.items():
            if name not in values:
                state[name] = factory()
        return obj

    return make


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request to send; ``name`` is the bounded label in Locust's stats."""

    method: str
    path: str
    name: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """An agent's answer, normalised: ``status`` is ``complete`` or ``degraded``."""

    status: str
    root_cause: str | None
    investigation_id: str | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    retries: int | None = None
    replica: str | None = None
    missing_evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One ask in a trial group: case ``case_id`` asked ``repeat`` times in a row (pass^k).

    ``trial`` names the group (unique in a run), ``attempt`` is 1..``repeat``.
    """

    case_id: str
    trial: str
    attempt: int
    repeat: int


@dataclass(frozen=True)
class Verdict:
    """The judged outcome of one request and the fields the recorder writes (None = unknown).

    ``answer_key`` is :func:`stampede.judges.answer_key` of the answer ("" without one): equal
    keys mean the same normalised answer (the ``consistency`` SLI). ``attempt`` is set by the
    user that asked (None: a request outside trial groups, such as a look-up).
    """

    outcome: Outcome
    reason: str = ""
    status: int = 0
    tokens: int | None = None
    cost_usd: float | None = None
    retries: int | None = None
    replica: str | None = None
    investigation_id: str | None = None
    answer_key: str = ""
    attempt: Attempt | None = None

    @property
    def failed(self) -> bool:
        """True when Locust should count the request as a failure."""
        return self.outcome in FAILED_OUTCOMES

    def with_attempt(self, attempt: Attempt | None) -> Verdict:
        """A copy with ``attempt`` set: ``dataclasses.replace`` without its per-field cost.

        On the per-request path (``AgentUser.send``): the fields are copied as they are (the
        copy differs only in ``attempt``, so nothing a ``__post_init__`` checks can change).
        """
        fields = getattr(self, "__dict__", None)
        if fields is None:  # a subclass with __slots__
            return replace(self, attempt=attempt)
        copy = object.__new__(type(self))
        copy.__dict__.update(fields)
        copy.__dict__["attempt"] = attempt
        return copy


# Constructors for the objects every request makes (see fast_constructor).
_new_spec = fast_constructor(RequestSpec)
_new_answer = fast_constructor(Answer)
_new_verdict = fast_constructor(Verdict)


#: Every digit as "0", so "19 digits in a row" is a substring test (a regex costs ~15 µs here).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float.
_LONG_NUMBER = b"0" * 19


def loads(body: bytes) -> Any:
    """``json.loads`` of a reply body, fast: orjson first, the standard library when it differs.

    orjson is strict RFC 8259 UTF-8: whatever it rejects (NaN, 1e400, lone surrogates, other
    encodings, malformed JSON) goes to ``json.loads``, and so does a body with 19 digits in a
    row (orjson reads an integer outside -2**63..2**64-1 as a float, ``json`` as an int). So the
    values accepted and the error messages raised are exactly the standard library's (checked
    in tests/loadtests/test_profile.py).
    """
    if _LONG_NUMBER in body.translate(_DIGITS_AS_ZERO):
        return json.loads(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


@lru_cache(maxsize=4096)
def _text_answer_key(answer: str) -> str:
    return answer_key(answer)


def cached_answer_key(answer: Any) -> str:
    """:func:`stampede.judges.answer_key`, cached for text answers (root causes repeat)."""
    return _text_answer_key(answer) if type(answer) is str else answer_key(answer)


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body.decode("utf-8", errors="replace").replace("\n", " ").strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _require(data: Mapping[str, Any], key: str) -> Any:
    if key not in data:
        raise MalformedAnswer(f"missing field '{key}'")
    return data[key]


def _typed(value: Any, key: str, kind: type | tuple[type, ...], nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise MalformedAnswer(f"field '{key}' is {value!r}, expected {_kind_name(kind)}")
    return value


def _plain_answer(data: Mapping[str, Any]) -> tuple[Any, Any, Any, Any, Any] | None:
    """The answer's typed fields when each is exactly the JSON type ``read`` wants, else None.

    The per-request shortcut of ``read``'s ``_typed(_require(...))`` checks: exact types
    (``type(x) is int`` is never a bool) are what those checks accept unchanged; anything
    else (missing, null, bool, a subclass) returns None and takes the checked path, which
    raises the same errors as before.
    """
    try:
        fields = (
            data["root_cause"],
            data["investigation_id"],
            data["tokens"],
            data["cost_usd"],
            data["retries"],
        )
    except KeyError:
        return None
    root, ident, tokens, cost, retries = fields
    if (
        (root is None or type(root) is str)
        and type(ident) is str
        and type(tokens) is int
        and (type(cost) is float or type(cost) is int)
        and type(retries) is int
    ):
        return fields
    return None


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


class TargetProfile:
    """The reference agent's profile; subclass it for another agent.

    Override :meth:`build` (the request) and :meth:`read` (body -> :class:`Answer`); the judging
    rules in :meth:`judge` / :meth:`judge_answer` then apply unchanged. Set ``lookup_path`` to
    None when the agent has no way to fetch a stored answer.
    """

    name: str = "reference"
    method: str = "POST"
    path: str = "/investigate"
    #: GET path of a stored answer, ``{id}`` is replaced; None disables look-ups.
    lookup_path: str | None = "/investigations/{id}"
    #: Statuses that mean "refused on purpose" when they carry Retry-After.
    shed_statuses: frozenset[int] = frozenset({429, 503})
    replica_header: str = "X-Served-By"

    # -- start-up checks -------------------------------------------------------------------

    def check_cases(self, cases: Sequence[Case]) -> None:
        """Raise an InputError naming the case and field the profile cannot ask or judge.

        Called once at start (``loadtests.hooks``), before any load. The reference profile asks
        ``dict(case.input)`` and judges the claimed root cause against ``expect.label``, so every
        case needs a label. A subclass with other needs overrides this.
        """
        for case in cases:
            if case.expect.label is None:
                raise InputError(
                    f"{case.where()}: expect.label: missing; profile {self.name!r} judges the "
                    "root cause against the label"
                )

    # -- the request -----------------------------------------------------------------------

    def build(self, case: Case, key: str) -> RequestSpec:
        """The request for ``case``; ``key`` is unique per request (an idempotency key)."""
        method, path = self.method, self.path
        return _new_spec(  # = RequestSpec(...), faster (per request)
            method=method,
            path=path,
            name=f"{method} {path}",
            json=dict(case.input),
            headers={"Idempotency-Key": key},
        )

    def lookup(self, investigation_id: str) -> RequestSpec | None:
        """The request fetching a stored answer, or None when the agent has none."""
        if self.lookup_path is None:
            return None
        return RequestSpec(
            "GET",
            self.lookup_path.format(id=investigation_id),
            f"GET {self.lookup_path}",
        )

    # -- reading ---------------------------------------------------------------------------

    def read(self, data: Any, reply: Reply) -> Answer:
        """Read the reference agent's JSON answer; raise MalformedAnswer when it does not fit."""
        if not isinstance(data, dict):
            raise MalformedAnswer(f"answer is {type(data).__name__}, expected an object")
        status = _require(data, "status")
        if status not in ("complete", "degraded"):
            raise MalformedAnswer(f"field 'status' is {status!r}, expected complete or degraded")
        replica = data.get("replica") or reply.header(self.replica_header)
        fast = _plain_answer(data)
        if fast is not None:
            root_cause, investigation_id, tokens, cost_usd, retries = fast
            missing = data.get("missing_evidence")
            return _new_answer(  # = the checked construction below, for plain JSON types
                status=status,
                root_cause=root_cause,
                investigation_id=investigation_id,
                tokens=tokens,
                cost_usd=float(cost_usd),
                retries=retries,
                replica=str(replica) if replica else None,
                missing_evidence=tuple(str(t) for t in missing) if missing else (),
            )
        return _new_answer(  # = Answer(...), faster (per request)
            status=status,
            root_cause=_typed(_require(data, "root_cause"), "root_cause", str, nullable=True),
            investigation_id=_typed(_require(data, "investigation_id"), "investigation_id", str),
            tokens=_typed(_require(data, "tokens"), "tokens", int),
            cost_usd=float(_typed(_require(data, "cost_usd"), "cost_usd", (int, float))),
            retries=_typed(_require(data, "retries"), "retries", int),
            replica=str(replica) if replica else None,
            missing_evidence=tuple(str(t) for t in data.get("missing_evidence") or ()),
        )

    # -- judging ---------------------------------------------------------------------------

    def judge_transport(self, reply: Reply) -> Verdict | None:
        """The verdict when the reply is not a 200 answer (error or shed), else None."""
        if reply.status == 200 and not reply.error and 200 not in self.shed_statuses:
            return None  # the usual case, first
        replica = reply.header(self.replica_header)
        if reply.status == 0:
            return Verdict(Outcome.ERROR, reply.error or "no response", 0)
        if reply.status in self.shed_statuses:
            retry_after = reply.header("Retry-After")
            if retry_after:
                reason = f"HTTP {reply.status}, Retry-After {retry_after}"
                return Verdict(Outcome.SHED, reason, reply.status, replica=replica)
            reason = f"HTTP {reply.status} without Retry-After"
            return Verdict(Outcome.ERROR, reason, reply.status, replica=replica)
        if reply.error:
            return Verdict(Outcome.ERROR, reply.error, reply.status, replica=replica)
        if reply.status != 200:
            detail = _snippet(reply.body)
            reason = f"HTTP {reply.status}: {detail}" if detail else f"HTTP {reply.status}"
            return Verdict(Outcome.ERROR, reason, reply.status, replica=replica)
        return None

    def parse(self, reply: Reply) -> Any:
        """The JSON body; raises MalformedAnswer."""
        try:
            return loads(reply.body)
        except ValueError as exc:
            raise MalformedAnswer(f"malformed JSON ({exc}): {_snippet(reply.body, 60)!r}") from exc

    def judge(self, case: Case, reply: Reply) -> Verdict:
        """Classify the answer to the request built for ``case``."""
        early = self.judge_transport(reply)
        if early is not None:
            return early
        try:
            answer = self.read(self.parse(reply), reply)
        except MalformedAnswer as exc:
            reason = f"malformed answer: {exc}"
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            reason = f"malformed answer: {type(exc).__name__} {exc}"
        else:
            return self.judge_answer(case, answer, reply.status)
        return Verdict(
            Outcome.ERROR, reason, reply.status, replica=reply.header(self.replica_header)
        )

    def judge_answer(self, case: Case, answer: Answer, status: int = 200) -> Verdict:
        """The outcome rules: a confident claim must match the case's label (the ground truth)."""
        expected = case.expect.label
        base = _new_verdict(  # = Verdict(...), faster (per request)
            outcome=Outcome.CORRECT,
            reason="",
            status=status,
            tokens=answer.tokens,
            cost_usd=answer.cost_usd,
            retries=answer.retries,
            replica=answer.replica,
            investigation_id=answer.investigation_id,
            answer_key=cached_answer_key(answer.root_cause),
        )
        claim = answer.root_cause
        if answer.status == "complete":
            if claim is None:
                return replace(
                    base,
                    outcome=Outcome.ERROR,
                    reason="malformed answer: complete without a root cause",
                )
            if claim == expected:
                return base
            return replace(
                base,
                outcome=Outcome.WRONG,
                reason=f"root cause '{claim}' != expected '{expected}'",
            )
        if claim is not None and claim != expected:
            reason = f"degraded answer claims root cause '{claim}' != expected '{expected}'"
            return replace(base, outcome=Outcome.WRONG, reason=reason)
        missing = ", ".join(answer.missing_evidence)
        reason = f"degraded: missing {missing}" if missing else "degraded"
        return replace(base, outcome=Outcome.DEGRADED, reason=reason)

    def judge_lookup(self, investigation_id: str, reply: Reply) -> Verdict:
        """A stored answer must come back with the same id; 404 means it was lost."""
        if reply.status == 404:
            reason = f"investigation '{investigation_id}' lost: HTTP 404"
            return Verdict(Outcome.ERROR, reason, 404, replica=reply.header(self.replica_header))
        early = self.judge_transport(reply)
        if early is not None:
            return early
        replica = reply.header(self.replica_header)
        try:
            data = self.parse(reply)
            got = data.get("investigation_id") if isinstance(data, dict) else None
        except MalformedAnswer as exc:
            return Verdict(Outcome.ERROR, f"malformed answer: {exc}", reply.status, replica=replica)
        # a look-up costs no tokens; the stored record's cost belongs to the investigation row
        verdict = Verdict(Outcome.CORRECT, "", reply.status, 0, 0.0, 0, replica, investigation_id)
        if got != investigation_id:
            reason = f"look-up of '{investigation_id}' returned investigation {got!r}"
            return replace(verdict, outcome=Outcome.ERROR, reason=reason, investigation_id=None)
        return verdict


def load_case_set(path: str = "") -> tuple[Case, ...]:
    """The cases of ``path`` (a case file), or the reference cases when ``path`` is empty.

    Raises :class:`~stampede.errors.InputError` naming the file, the line and the field.
    """
    return load_cases(path) if path else reference_cases()


def case_picker(cases: Sequence[Case]) -> Callable[[random.Random], Case]:
    """A function drawing one case with the given RNG, by ``weight``.

    Equal weights draw with ``rng.choice``: the same sequence for a seed as before cases had
    weights, so seeded runs of the reference cases stay reproducible.
    """
    pool = tuple(cases)
    if not pool:
        raise ValueError("no cases to draw from")
    if len({case.weight for case in pool}) == 1:
        return lambda rng: rng.choice(pool)
    cumulative = list(itertools.accumulate(case.weight for case in pool))
    return lambda rng: rng.choices(pool, cum_weights=cumulative)[0]
