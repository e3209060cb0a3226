"""Locust users, load shapes, response classification and the per-request recorder."""
