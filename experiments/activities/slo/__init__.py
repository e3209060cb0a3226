"""Chaos activities that judge the agent by real investigations against an SLO window."""
