"""leo-envs: reinforcement-learning environments for LEO satellite networks.

Importing the package registers the environments:
Gymnasium: ``gym.make("leo_envs/Aggregation-v2", scenario="low_traffic")`` (and traffic-level variants);
PettingZoo (1.27+): ``pettingzoo.make("parallel", "leo_envs/OffloadRouting-v3", scenario="iridium")``.
"""

from __future__ import annotations

__version__ = "0.1.0"

OFFLOAD_ROUTING_ID = "leo_envs/OffloadRouting-v3"
AGGREGATION_ID = "leo_envs/Aggregation-v2"
AGGREGATION_VARIANTS = {
    "leo_envs/Aggregation-LowTraffic-v2": "low_traffic",
    "leo_envs/Aggregation-MediumTraffic-v2": "medium_traffic",
    "leo_envs/Aggregation-HighTraffic-v2": "high_traffic",
}


def _register_gymnasium() -> None:
    import gymnasium

    entry = "leo_envs.envs.aggregation:AggregationEnv"
    vector_entry = "leo_envs.envs.aggregation.vector:AggregationVectorEnv"
    ids = {AGGREGATION_ID: {}, **{k: {"scenario": v} for k, v in AGGREGATION_VARIANTS.items()}}
    for env_id, kwargs in ids.items():
        if env_id not in gymnasium.registry:  # safe to import twice (subprocess workers)
            # no max_episode_steps: the env truncates itself after its step limit (with the final metrics)
            gymnasium.register(env_id, entry_point=entry, vector_entry_point=vector_entry, kwargs=kwargs)


def _register_pettingzoo() -> None:
    import pettingzoo
    from pettingzoo.env_registry import registration

    entries = {"parallel": "leo_envs.offload_routing_v3:parallel_env", "aec": "leo_envs.offload_routing_v3:env"}
    for kind, entry_point in entries.items():
        registry = registration.parallel_registry if kind == "parallel" else registration.aec_registry
        if OFFLOAD_ROUTING_ID not in registry:  # safe to import twice (subprocess workers)
            pettingzoo.register(kind, OFFLOAD_ROUTING_ID, entry_point=entry_point)


def scenarios() -> dict[str, list[str]]:
    """Named scenario presets per environment."""
    from .envs.aggregation.config import SCENARIOS as AGGREGATION
    from .envs.offload_routing.config import SCENARIOS as ROUTING

    return {"offload_routing": sorted(ROUTING), "aggregation": sorted(AGGREGATION)}


CURRENT_VERSIONS = {"offload_routing": 3, "aggregation": 2}  # module forms ``<name>_v<version>``


def __getattr__(name: str):
    """An earlier version's module form (PettingZoo's convention): ``leo_envs.offload_routing_v1`` is a
    stand-in whose constructors raise ``DeprecatedEnv`` naming the current version."""
    from pettingzoo.utils.deprecated_module import DeprecatedModule

    base, sep, version = name.rpartition("_v")
    if sep and version.isdigit() and int(version) < CURRENT_VERSIONS.get(base, -1):
        return DeprecatedModule(base, version, CURRENT_VERSIONS[base])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_register_pettingzoo()
_register_gymnasium()

from . import aggregation_v2, offload_routing_v3  # noqa: E402  (module forms, after registration)

__all__ = ["AGGREGATION_ID", "AGGREGATION_VARIANTS", "OFFLOAD_ROUTING_ID", "__version__", "aggregation_v2",
           "offload_routing_v3", "scenarios"]
