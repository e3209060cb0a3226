"""Agents that are not Stampede's, kept here to test Stampede against (docs/byo-agent.md)."""
