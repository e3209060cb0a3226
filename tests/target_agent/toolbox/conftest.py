"""Fixtures: the in-process toolbox (real app and lifespan behind ``httpx.ASGITransport``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from target_agent.toolbox.settings import Settings
from tests.target_agent.toolbox.support import make_settings, open_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(settings) as opened:
        yield opened
