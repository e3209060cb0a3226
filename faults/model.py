"""The fault model: what may be injected into one call, with its bounds (422 outside them).

One ``FaultSpec`` is the body of ``PUT /faults/{target}`` on the toolbox and on the proxy. Every
field is optional; a spec with only defaults injects nothing but still expires (``ttl_s``).

Targets are names, and which names exist is the server's business (``FaultStore(targets=...)``):
``llm`` (an OpenAI-compatible chat endpoint), ``tool:<name>`` (one HTTP tool) and, on the
toolbox, ``tools`` (every tool). A field that only makes sense on the LLM or on a tool is refused
elsewhere by the store (``InvalidFault``), not here.

Errors::

    FaultError (ValueError)
    ├── UnknownTarget   the target names nothing this server serves (HTTP 404)
    └── InvalidFault    the spec does not fit the target or the TTL ceiling (HTTP 422)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from faults.jsonpath import write_path

LLM_TARGET = "llm"
TOOLS_TARGET = "tools"
TOOL_PREFIX = "tool:"

#: Bounds of the delay knobs, in ms (two minutes: longer is a hang, which has its own knob).
MAX_DELAY_MS = 120_000.0
MAX_TOKEN_DELAY_MS = 10_000.0
MAX_RATE_LIMIT_RPS = 10_000.0
MAX_RATE_LIMIT_TPM = 100_000_000.0
MAX_RETRY_AFTER_S = 3_600
MAX_CHUNKS = 1_000_000
MAX_RULES = 16

LatencyDist = Literal["fixed", "uniform", "lognormal"]
RetryAfterFormat = Literal["seconds", "http-date"]
BodyCorruption = Literal["truncate", "malformed"]


class FaultError(ValueError):
    """A fault request the store refuses."""


class UnknownTarget(FaultError):
    """The fault target names nothing this server serves."""


class InvalidFault(FaultError):
    """The fault spec does not fit its target or exceeds the TTL ceiling."""


def tool_target(tool: str) -> str:
    """The target name of one tool: ``tool:<name>``."""
    return f"{TOOL_PREFIX}{tool}"


def is_tool_target(target: str) -> bool:
    return target == TOOLS_TARGET or target.startswith(TOOL_PREFIX)


class JsonRule(BaseModel):
    """Set or replace the value at ``path`` of a JSON answer (a lying tool).

    ``path`` is a JSONPath starting with ``$``, in jsonpath-ng's ``ext`` dialect
    (``faults.jsonpath``): ``.key``, ``["key"]``, ``[0]`` (negative from the end), ``[*]``,
    ``..key``, filters; one it cannot write at (``$.a * 2``, ``$.a.`len```) is refused.
    ``op="set"`` also creates a missing last ``.key`` on the objects the path's parent finds;
    ``op="replace"`` changes only values that exist. A path that matches nothing changes nothing.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    path: str = Field(min_length=1, max_length=500, pattern=r"^\$")
    value: Any = None
    op: Literal["set", "replace"] = "set"

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str) -> str:
        write_path(value)  # PathError is a ValueError: pydantic reports it (HTTP 422)
        return value


class FaultSpec(BaseModel):
    """What to inject on one target. Every field is optional; ``ttl_s`` defaults to 60 s."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    # -- failing calls --------------------------------------------------------------------------
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="share of calls that fail")
    error_status: int = Field(
        default=500, ge=400, le=599, description="HTTP status of a failed call"
    )
    retry_after_s: int = Field(
        default=1, ge=0, le=MAX_RETRY_AFTER_S, description="Retry-After value (429 and 503)"
    )
    retry_after_format: RetryAfterFormat = Field(
        default="seconds", description="Retry-After as delta-seconds or as an HTTP date"
    )
    hang: bool = Field(default=False, description="hold the call until the client leaves or expiry")
    reset: bool = Field(default=False, description="reset the connection (TCP RST), no answer")
    # -- delays ---------------------------------------------------------------------------------
    latency_ms: float = Field(default=0.0, ge=0.0, le=MAX_DELAY_MS, description="added delay")
    jitter_ms: float = Field(
        default=0.0,
        ge=0.0,
        le=MAX_DELAY_MS,
        description="uniform: extra U(0, j); lognormal: median of the extra delay",
    )
    latency_dist: LatencyDist = Field(
        default="uniform", description="fixed (no jitter), uniform or lognormal (heavy tail)"
    )
    jitter_sigma: float = Field(
        default=1.0, gt=0.0, le=3.0, description="lognormal shape: p99 = median * e^(2.33 sigma)"
    )
    # -- rate limits ----------------------------------------------------------------------------
    rate_limit_rps: float | None = Field(default=None, gt=0.0, le=MAX_RATE_LIMIT_RPS)
    rate_limit_tpm: float | None = Field(
        default=None,
        gt=0.0,
        le=MAX_RATE_LIMIT_TPM,
        description="llm only: tokens per minute, counted from the usage of answered calls",
    )
    # -- content --------------------------------------------------------------------------------
    corrupt_body: BodyCorruption | None = Field(
        default=None, description="truncate the JSON answer in half, or make it malformed"
    )
    json_rules: tuple[JsonRule, ...] = Field(
        default=(), max_length=MAX_RULES, description="set/replace values in a JSON answer"
    )
    llm_content: str | None = Field(
        default=None,
        max_length=100_000,
        description="llm only: the content of answers (no tool calls) instead",
    )
    llm_tool_arguments: dict[str, Any] | None = Field(
        default=None, description="llm only: the arguments of every tool call instead"
    )
    llm_tool_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="llm only: rewrite only the tool calls of this function",
    )
    lie: bool = Field(
        default=False, description="toolbox tools only: valid data, findings support the decoy"
    )
    hallucinate: bool = Field(
        default=False, description="toolbox llm only: the reasoner names the decoy"
    )
    # -- streams (SSE answers) ------------------------------------------------------------------
    stream_first_token_ms: float = Field(
        default=0.0, ge=0.0, le=MAX_DELAY_MS, description="delay before the first event"
    )
    stream_token_ms: float = Field(
        default=0.0, ge=0.0, le=MAX_TOKEN_DELAY_MS, description="delay before each later event"
    )
    stream_cut_after: int | None = Field(
        default=None, ge=0, le=MAX_CHUNKS, description="close the connection after N events"
    )
    stream_malformed_chunk: int | None = Field(
        default=None, ge=1, le=MAX_CHUNKS, description="the Nth event's data is malformed JSON"
    )
    ttl_s: float = Field(default=60.0, ge=1.0, description="seconds until the fault expires")

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpec:
        if self.latency_dist == "fixed" and self.jitter_ms > 0:
            raise ValueError("latency_dist 'fixed' takes no jitter_ms")
        if self.llm_tool_name is not None and self.llm_tool_arguments is None:
            raise ValueError("llm_tool_name needs llm_tool_arguments")
        return self

    @property
    def rewrites_llm(self) -> bool:
        """True when the spec changes the assistant message (content or tool arguments)."""
        return self.llm_content is not None or self.llm_tool_arguments is not None

    @property
    def needs_body(self) -> bool:
        """True when applying the spec needs the whole (non-streamed) answer in memory."""
        return bool(
            self.corrupt_body or self.json_rules or self.rewrites_llm or self.rate_limit_tpm
        )

    @property
    def shapes_stream(self) -> bool:
        """True when the spec changes an SSE stream's events or their timing."""
        return bool(
            self.stream_first_token_ms
            or self.stream_token_ms
            or self.stream_cut_after is not None
            or self.stream_malformed_chunk is not None
            or self.rewrites_llm
            or self.rate_limit_tpm
        )


#: Fields that apply to the ``llm`` target only, and to tool targets only.
LLM_ONLY: tuple[str, ...] = (
    "rate_limit_tpm",
    "llm_content",
    "llm_tool_arguments",
    "llm_tool_name",
    "hallucinate",
)
TOOL_ONLY: tuple[str, ...] = ("lie",)
