"""Targets the suite runs against; the interface is `stampede.targets.base.Target`."""
