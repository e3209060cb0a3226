"""Chaos activities on the local agent's worker processes (kill, restart, count, readiness)."""
