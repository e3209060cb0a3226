"""Chaos activities on the toolbox's fault API (inject, clear, list faults)."""
