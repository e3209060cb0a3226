"""The fault model and its HTTP API, shared by the toolbox and the fault proxy.

Neutral ground: imports nothing of the project (``target_agent``, ``stampede`` and the proxy
all import it). See docs/architecture.md, "Fault API".
"""
