"""The run directory's file formats and the typed words at the boundaries.

One definition so the writer (Locust's recorder, the sampler) and the readers (the suite's
merge, ``reports.load``) cannot drift apart (docs/architecture.md, "Run directory contract").

:class:`Outcome` is the class of one request, :class:`Phase` the part of an experiment a request
falls in. Both are ``StrEnum``: a member *is* its string, so ``Outcome.CORRECT == "correct"`` and
they go into CSV, JSON and pandas unchanged.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FAILED_OUTCOMES",
    "OPTIONAL_REQUEST_COLUMNS",
    "OUTCOMES",
    "PHASES",
    "REQUEST_COLUMNS",
    "SAMPLE_COLUMNS",
    "SCHEDULE_COLUMNS",
    "SUCCESS_OUTCOMES",
    "TRIAL_COLUMNS",
    "Outcome",
    "Phase",
]


class Outcome(StrEnum):
    """The outcome class of one request (docs/architecture.md, "Outcome of a request")."""

    #: answered, and the answer matches the case's expectation
    CORRECT = "correct"
    #: answered, honestly marked partial, no false claim
    DEGRADED = "degraded"
    #: answered with a confident claim that contradicts the expectation
    WRONG = "wrong"
    #: refused on purpose under overload (429/503 with Retry-After)
    SHED = "shed"
    #: any other failure: 5xx, timeout, connection error, malformed body
    ERROR = "error"
    #: answered, but the judge could not decide (it failed or timed out): never counted correct
    UNJUDGED = "unjudged"


class Phase(StrEnum):
    """The part of an experiment's window a request falls in (from the journal's timestamps)."""

    BASELINE = "baseline"
    FAULT = "fault"
    RECOVERY = "recovery"


#: Every outcome's value, in declaration order (best to worst is not implied).
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)

#: Outcomes that count as a success (an answer a user can act on), in ``OUTCOMES`` order.
SUCCESS_OUTCOMES: tuple[Outcome, ...] = (Outcome.CORRECT, Outcome.DEGRADED)

#: Outcomes Locust counts as failures. Not ``shed`` (refusing with Retry-After under overload is
#: wanted; its ratio is an SLO) and not ``unjudged`` (the judge failed, not the agent: it is
#: counted on its own).
FAILED_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.WRONG, Outcome.ERROR})

#: The phases of an experiment, in time order.
PHASES: tuple[str, ...] = tuple(p.value for p in Phase)

#: The pass^k columns of ``requests.csv`` (docs/slo.md, "pass^k"), at its end: ``case_id`` the
#: case asked, ``trial`` the trial group (unique in a run), ``attempt`` 1..``repeat``, ``repeat``
#: the group's K, ``answer_key`` a short digest of the normalised answer ("" without one). All
#: empty on rows outside trial groups (look-ups, dropped arrivals). Runs recorded before these
#: columns existed lack them: readers take them as empty.
TRIAL_COLUMNS: tuple[str, ...] = ("case_id", "trial", "attempt", "repeat", "answer_key")

#: The open model's timing columns of ``requests.csv`` (docs/loadtests.md, "Coordinated
#: omission"), at its end: ``scheduled_ts`` when the request was due by the arrival schedule
#: (epoch s, ``<= ts``), ``user_latency_ms`` the latency the user saw, from the schedule to the
#: answer (wrk2's correction: ``(ts - scheduled_ts) * 1000 + latency_ms``, so ``>=
#: latency_ms``). ``latency_ms`` stays the service time, from the actual send. In the closed
#: model a request is sent when it is due: ``scheduled_ts == ts``, ``user_latency_ms ==
#: latency_ms``. Runs recorded before these columns existed lack them: readers take the closed
#: model (``scheduled_ts = ts``, ``user_latency_ms = latency_ms``).
SCHEDULE_COLUMNS: tuple[str, ...] = ("scheduled_ts", "user_latency_ms")

#: Columns a reader accepts missing (older run directories), with the meaning given above.
OPTIONAL_REQUEST_COLUMNS: tuple[str, ...] = (*TRIAL_COLUMNS, *SCHEDULE_COLUMNS)

#: ``requests.csv``, in this order (the pass^k columns, then the schedule columns, last).
REQUEST_COLUMNS: tuple[str, ...] = (
    "ts",
    "latency_ms",
    "name",
    "status",
    "outcome",
    "tokens",
    "cost_usd",
    "retries",
    "replica",
    "experiment",
    "error",
    *TRIAL_COLUMNS,
    *SCHEDULE_COLUMNS,
)

#: ``samples.csv`` (long format), in this order.
SAMPLE_COLUMNS: tuple[str, ...] = ("ts", "experiment", "metric", "label", "value")
