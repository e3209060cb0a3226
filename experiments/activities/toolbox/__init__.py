"""Chaos activities on the fault API (inject, clear, list): a fault proxy's or the toolbox's."""
