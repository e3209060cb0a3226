"""Toolbox configuration: environment variables with the ``TOOLBOX_`` prefix, validated at start.

``TOOLBOX_ADMIN_TOKEN`` guards the fault API. When it is empty the fault API is *disabled*: every
``/faults`` call answers 401 and the lifespan logs a warning — a toolbox started without a token
can never be steered by anyone (fail closed), while the LLM and tool endpoints still serve.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Upper bound for ``TOOLBOX_MAX_FAULT_TTL_S``: no fault may outlive a working day.
TTL_CEILING_S = 86_400.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOOLBOX_", extra="ignore")

    admin_token: str = ""
    seed: int = 0
    max_fault_ttl_s: float = Field(default=900.0)
    model: str = "stampede-sim"
    # Request bodies over this many bytes are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)

    @field_validator("admin_token")
    @classmethod
    def _strip_token(cls, value: str) -> str:
        token = value.strip()
        if token and any(ch.isspace() for ch in token):
            raise ValueError("TOOLBOX_ADMIN_TOKEN must not contain whitespace")
        return token

    @field_validator("max_fault_ttl_s")
    @classmethod
    def _ttl_in_range(cls, value: float) -> float:
        if not 1.0 <= value <= TTL_CEILING_S:
            raise ValueError(
                f"TOOLBOX_MAX_FAULT_TTL_S must be between 1 and {TTL_CEILING_S:.0f} s, got {value}"
            )
        return value

    @field_validator("model")
    @classmethod
    def _model_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("TOOLBOX_MODEL must not be empty")
        return value.strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings, read from the environment once (tests pass their own instead)."""
    return Settings()
