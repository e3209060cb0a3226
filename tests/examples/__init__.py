"""Tests of the example agents in examples/ (real processes)."""
