"""Settings: TOOLBOX_ environment, defaults, fail-fast validation, cached dependency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from target_agent.toolbox.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def _fresh_settings_cache() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOOLBOX_ADMIN_TOKEN", "TOOLBOX_SEED", "TOOLBOX_MAX_FAULT_TTL_S", "TOOLBOX_MODEL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.admin_token, settings.seed, settings.max_fault_ttl_s) == ("", 0, 900.0)


def test_reads_the_toolbox_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLBOX_ADMIN_TOKEN", " s3cret ")
    monkeypatch.setenv("TOOLBOX_SEED", "42")
    monkeypatch.setenv("TOOLBOX_MAX_FAULT_TTL_S", "30")
    settings = get_settings()
    assert (settings.admin_token, settings.seed, settings.max_fault_ttl_s) == ("s3cret", 42, 30)
    assert get_settings() is settings


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TOOLBOX_MAX_FAULT_TTL_S", "0", "must be between 1 and 86400"),
        ("TOOLBOX_MAX_FAULT_TTL_S", "100000", "must be between 1 and 86400"),
        ("TOOLBOX_SEED", "abc", "valid integer"),
        ("TOOLBOX_ADMIN_TOKEN", "two words", "must not contain whitespace"),
        ("TOOLBOX_MODEL", " ", "must not be empty"),
    ],
    ids=["ttl-zero", "ttl-too-long", "seed-not-int", "token-whitespace", "model-empty"],
)
def test_bad_values_fail_fast(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
