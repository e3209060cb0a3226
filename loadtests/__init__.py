"""Locust users, load shapes, response classification and the per-request recorder.

Only ``agent_user``, ``shapes`` and ``hooks`` import Locust (it monkey-patches the process on
import); ``profile``, ``shape_math``, ``settings``, ``recorder`` and ``merge`` are pure. Nothing
is imported here, so ``import loadtests.merge`` stays Locust-free. See docs/loadtests.md.
"""
