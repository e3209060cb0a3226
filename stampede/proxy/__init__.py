"""The fault proxy: a reverse proxy between an agent and its LLM and tools, with the fault API.

``stampede proxy`` (``stampede.cli_proxy``) runs ``app.create_app(config)`` under uvicorn.
"""
