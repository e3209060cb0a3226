"""FastAPI + LangGraph agent: the system under test."""
