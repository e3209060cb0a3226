"""Fakes the suite and sampler tests run as processes, by path (see ``FAKES``)."""

from __future__ import annotations

from pathlib import Path

#: This directory: ``FAKES / "fake_agent.py"`` etc.
FAKES = Path(__file__).resolve().parent
