"""Simulated LLM (OpenAI-compatible), simulated tools, incident catalogue and fault API."""
