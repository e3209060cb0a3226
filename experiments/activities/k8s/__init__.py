"""Kubernetes activities for experiments/kind/*.json (and any cluster on the allow-list).

    guard.py    the kube-context guard as a Chaos Toolkit control (declared by every experiment)
    probes.py   kube_context_allowed (records the vetted context), replica_counts,
                ready_replicas_at_least, hpa_can_scale, hpa_scales_out_within,
                rollout_completes_without_unavailable
    actions.py  drain_node (PDB-aware, like kubectl drain), uncordon_nodes
    _client.py  context resolution, allow-list, the one guarded API client

Pod kill, scaling and rollout triggers come from chaosk8s; these cover what it lacks.
"""

from __future__ import annotations

__all__: list[str] = []
