"""Chaos Toolkit experiments and the project's Chaos Toolkit extension."""
