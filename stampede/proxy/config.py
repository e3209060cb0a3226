"""The proxy's configuration: flags and/or a YAML file, validated before anything starts.

YAML (every key optional except ``upstreams``; flags given on the command line win)::

    listen: 127.0.0.1:8200          # host:port; a non-loopback host needs allow_remote: true
    admin_token: s3cret             # or admin_token_env: NAME (read from the environment)
    upstreams:
      llm: http://127.0.0.1:8100/v1                      # an OpenAI-compatible base URL
      tool:get_logs: http://127.0.0.1:8100/tools/get_logs  # any HTTP base URL
    max_fault_ttl_s: 900
    seed: 0
    connect_timeout_s: 5
    read_timeout_s: 300

A problem is a ``ConfigError`` naming the field (``upstreams.tool:x``), shown in one line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stampede.errors import InputError
from stampede.yamlinput import MAX_CONFIG_CHARS, load_yaml, read_text

LLM = "llm"
TOOL_PREFIX = "tool:"
_TOOL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
TTL_CEILING_S = 86_400.0


class ConfigError(InputError):
    """The proxy configuration is wrong; the message names the field."""


def check_upstream_name(name: str) -> str:
    """``llm`` or ``tool:<name>`` (letters, digits, ``_.-``), else ``ValueError``."""
    if name == LLM:
        return name
    tool = name.removeprefix(TOOL_PREFIX)
    if name.startswith(TOOL_PREFIX) and _TOOL_NAME.match(tool):
        return name
    raise ValueError(f"upstream name {name!r}: expected 'llm' or 'tool:<name>' ([A-Za-z0-9_.-])")


def check_upstream_url(url: str) -> str:
    """An absolute http(s) URL with a host and no query or fragment, else ``ValueError``."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{url!r} is not a URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{url!r}: expected http(s)://host[:port][/path]")
    if parsed.query or parsed.fragment:
        raise ValueError(f"{url!r}: a base URL takes no query or fragment")
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProxyConfig(BaseModel):
    """Everything the proxy needs; built by ``load_config`` (flags over YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8200, ge=1, le=65_535)
    allow_remote: bool = False
    admin_token: str = ""
    upstreams: dict[str, str] = Field(min_length=1)
    max_fault_ttl_s: float = Field(default=900.0, ge=1.0, le=TTL_CEILING_S)
    seed: int = 0
    connect_timeout_s: float = Field(default=5.0, gt=0.0, le=600.0)
    read_timeout_s: float = Field(default=300.0, gt=0.0, le=86_400.0)
    max_connections: int = Field(default=512, ge=1, le=100_000)

    @field_validator("upstreams")
    @classmethod
    def _upstreams(cls, value: dict[str, str]) -> dict[str, str]:
        checked: dict[str, str] = {}
        for name, url in value.items():
            try:
                checked[check_upstream_name(name)] = check_upstream_url(str(url))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from exc
        return checked

    @field_validator("admin_token")
    @classmethod
    def _token(cls, value: str) -> str:
        token = value.strip()
        if any(ch.isspace() for ch in token):
            raise ValueError("must not contain whitespace")
        return token

    def check_listen(self) -> None:
        if not self.allow_remote and not is_loopback(self.host):
            raise ConfigError(
                f"listen: {self.host} is not a loopback address; pass --allow-remote "
                "(allow_remote: true) to listen beyond this machine"
            )


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) -> (host, port); ``ConfigError`` naming ``listen``."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"listen: {value!r}: expected host:port, e.g. 127.0.0.1:8200")
    return host.strip("[]"), int(port)


def parse_upstream(value: str) -> tuple[str, str]:
    """``NAME=URL`` -> (name, url); ``ConfigError`` naming ``--upstream``."""
    name, sep, url = value.partition("=")
    if not sep or not name or not url:
        raise ConfigError(f"--upstream {value!r}: expected NAME=URL (llm=... or tool:<name>=...)")
    return name.strip(), url.strip()


def _read_yaml(path: Path) -> dict[str, Any]:
    text = read_text(path, ConfigError, limit=MAX_CONFIG_CHARS)
    data, _ = load_yaml(text, str(path), ConfigError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    if "listen" in data:
        data["host"], data["port"] = parse_listen(str(data.pop("listen")))
    env = data.pop("admin_token_env", None)
    if env is not None:
        if str(env) not in os.environ:
            raise ConfigError(f"{path}: admin_token_env: ${env} is not set")
        data.setdefault("admin_token", os.environ[str(env)])
    return data


def load_config(path: Path | None, overrides: dict[str, Any]) -> ProxyConfig:
    """The configuration from ``path`` (YAML) with ``overrides`` (flags) on top."""
    data = _read_yaml(path) if path is not None else {}
    where = f"{path}: " if path is not None else ""
    upstreams = data.get("upstreams") or {}
    if not isinstance(upstreams, dict):
        raise ConfigError(f"{where}upstreams: expected a mapping NAME: URL")
    upstreams = dict(upstreams)
    upstreams.update(overrides.pop("upstreams", {}))
    data.update({key: value for key, value in overrides.items() if value is not None})
    data["upstreams"] = upstreams
    try:
        config = ProxyConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "config"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}{field}: {message}") from exc
    config.check_listen()
    return config
