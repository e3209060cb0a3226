"""The project's Chaos Toolkit extension: <target>/actions.py and <target>/probes.py."""
