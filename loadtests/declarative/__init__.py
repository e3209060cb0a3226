"""Declarative target profiles: ask and judge any HTTP agent from a YAML file, no Python.

``load_declarative_profile(path)`` reads a profile file (format: docs/byo-agent.md) into a
:class:`DeclarativeProfile`, a :class:`~loadtests.profile.TargetProfile` that builds its request
from a template filled with the case (``"{input.question}"`` inside a string; a whole-value
``"{input.x}"`` keeps its JSON type; ``{key}`` is unique per request; ``{case_id}`` the case's
id; ``{{`` / ``}}`` are literal braces), reads the reply with JSON paths (``jsonpath-ng``) or
headers, and judges it with ``stampede.judges`` under the outcome rules of docs/architecture.md
("Outcomes"):

* no response, timeout, a 5xx or other non-200, a malformed body or no answer -> ``error``;
* a status in ``shed.statuses`` with ``Retry-After`` -> ``shed``; without it -> ``error``
  (``shed.retry_after: optional`` makes it ``shed`` anyway);
* a partial answer (``partial``: a field's value, or a regex on the answer) -> ``degraded``,
  unless the claim it makes is judged wrong (``wrong``); ``partial.claims: none`` never judges
  a partial answer, ``partial.claim_regex`` judges only the claim it extracts;
* a complete answer: the judge says ``correct`` or ``wrong``; a judge that fails or cannot
  decide -> ``unjudged``.

The ``metrics`` section (which of the target's Prometheus series mean breaker state, retries,
in-flight, queue depth) is data for the sampler, read by :mod:`stampede.metricmap` (its format
and errors): :attr:`DeclarativeProfile.metric_map` is a :class:`stampede.metricmap.MetricMap`.

Every problem in the file raises :class:`ProfileFileError` (a ``stampede.errors.InputError``)
naming the file, the line and the field: ``profile.yaml:7: response.answer: not a JSON path:
'$..['``.
"""

from __future__ import annotations

from loadtests.declarative.model import ProfileFile, ProfileFileError, parse_profile
from loadtests.declarative.profile import DeclarativeProfile, Read, load_declarative_profile

__all__ = [
    "DeclarativeProfile",
    "ProfileFile",
    "ProfileFileError",
    "Read",
    "load_declarative_profile",
    "parse_profile",
]
