"""leo-envs: reinforcement-learning environments for LEO satellite networks.

Importing the package registers the environments:
PettingZoo (1.27+): ``pettingzoo.make("parallel", "leo_envs/OffloadRouting-v0", scenario="iridium")``.
"""

from __future__ import annotations

__version__ = "0.1.0"

OFFLOAD_ROUTING_ID = "leo_envs/OffloadRouting-v0"


def _register_pettingzoo() -> None:
    import pettingzoo

    if not hasattr(pettingzoo, "register"):  # registry arrived in PettingZoo 1.27
        return
    from pettingzoo.env_registry import registration

    entries = {"parallel": "leo_envs.offload_routing_v0:parallel_env", "aec": "leo_envs.offload_routing_v0:env"}
    for kind, entry_point in entries.items():
        registry = registration.parallel_registry if kind == "parallel" else registration.aec_registry
        if OFFLOAD_ROUTING_ID not in registry:  # safe to import twice (subprocess workers)
            pettingzoo.register(kind, OFFLOAD_ROUTING_ID, entry_point=entry_point)


def scenarios() -> dict[str, list[str]]:
    """Named scenario presets per environment."""
    from .envs.offload_routing.config import SCENARIOS as ROUTING

    return {"offload_routing": sorted(ROUTING)}


_register_pettingzoo()

from . import offload_routing_v0  # noqa: E402  (module form, after registration)

__all__ = ["OFFLOAD_ROUTING_ID", "__version__", "offload_routing_v0", "scenarios"]
