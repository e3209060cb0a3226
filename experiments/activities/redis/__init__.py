"""Chaos activities on the local stack's Redis (stop, start, brownout, PING)."""
