"""The fault API (``Authorization: Bearer <TOOLBOX_ADMIN_TOKEN>``): the shared router."""

from __future__ import annotations

import logging

from faults.api import fault_router
from target_agent.toolbox.deps import NO_TOKEN, get_admin_token, get_store

router = fault_router(
    get_store, get_admin_token, NO_TOKEN, logging.getLogger("target_agent.toolbox.faults")
)
