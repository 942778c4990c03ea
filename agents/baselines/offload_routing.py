"""Heuristic baselines for offload_routing_v3: fixed offload ratios with shortest-path routing to the
nearest C-Sat, congestion-aware routing with a bisected ratio, and a masked random policy.

Routes come from one Dijkstra (scipy.sparse.csgraph) per slot over the whole constellation, from a
virtual sink behind every C-Sat, never from per-agent loops. These baselines read the topology and
queues from the simulator's ``state`` (global knowledge, like the papers' shortest-path baselines).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from agents.bisection import best_level, bisect_ratio, ratio_level
from leo_envs.envs.offload_routing import COMPUTE, FIRST_PORT, FIRST_RATIO, HOLD, OffloadRoutingEnv
from leo_envs.envs.offload_routing.service import local_s_per_bit, remote_s_per_bit, remote_service_s, transmit_s
from leo_envs.envs.offload_routing.types import OffloadRoutingState

MIN_WEIGHT_S = 1e-9  # csgraph drops explicit zeros


def routes_to_csat(st: OffloadRoutingState, edge_cost: np.ndarray, compute_cost: np.ndarray):
    """Least-cost route of every satellite to any C-Sat (anycast), including the C-Sat's compute cost.

    ``edge_cost`` (N, 4): cost of sending over each port; ``compute_cost`` (N,): cost of computing at
    each C-Sat. Returns (cost_to_go (N,), next_port (N,) with -1 for "compute here" or unreachable,
    parent (N+1,) in the route tree whose root is the virtual sink N).
    """
    n = len(st.is_csat)
    src, port = np.nonzero(st.link_up)
    dst = st.port_nbr[src, port]
    csats = np.flatnonzero(st.is_csat & st.sat_up)
    rows = np.concatenate([dst, np.full(csats.size, n)])
    cols = np.concatenate([src, csats])
    w = np.maximum(np.concatenate([edge_cost[src, port], compute_cost[csats]]), MIN_WEIGHT_S)
    graph = csr_matrix((w, (rows, cols)), shape=(n + 1, n + 1))  # reversed: sink -> C-Sats -> ... -> u
    dist, pred = dijkstra(graph, directed=True, indices=n, return_predecessors=True)
    parent = np.where(pred < 0, n, pred)
    parent[n] = n
    hit = (st.port_nbr == parent[:n, None]) & st.link_up
    next_port = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    return dist[:n], next_port, parent


def sum_along_route(parent: np.ndarray, value: np.ndarray) -> np.ndarray:
    """For every node, the sum of ``value`` over the nodes from it up to (not including) the root,
    by pointer doubling (vectorised; log2(depth) rounds)."""
    total = np.append(np.asarray(value, float), 0.0)
    up = parent.copy()
    root = len(parent) - 1
    while np.any(up != root):
        total = total + np.where(up != root, total[up], 0.0)
        up = np.where(up != root, up[up], root)
    return total[:-1]


class BaselinePolicy:
    """Shared plumbing: ``act`` maps the env's observation dict to an action dict."""

    name = "baseline"

    def __init__(self, env: OffloadRoutingEnv, seed: int | None = 0):
        self.env = env
        self.sim = env.sim
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, observations: dict) -> dict:
        obs, mask = self.env.observation_arrays()
        actions = self.act_arrays(obs, mask)
        index = self.env.agent_index
        return {a: int(actions[index[a]]) for a in observations}

    def act_arrays(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def _respect(actions: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ok = mask[np.arange(len(actions)), actions].astype(bool)
        return np.where(ok, actions, HOLD)


class ShortestPathPolicy(BaselinePolicy):
    """A fixed local share rho for every task; bundles follow the least (transmission + propagation
    + computation) delay path to any C-Sat, ignoring queues."""

    def __init__(self, env: OffloadRoutingEnv, rho: float, name: str, seed: int | None = 0):
        super().__init__(env, seed)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"rho: {rho!r} is outside [0, 1]")
        self.rho = rho
        self.name = name

    def route_costs(self, st: OffloadRoutingState):
        cfg = self.sim.cfg
        edge = transmit_s(cfg.task_bits, st.capacity_bps) + st.prop_s
        compute = np.full(len(st.is_csat), float(remote_service_s(cfg.task_bits, cfg)))
        return edge, compute

    def ratios(self, st: OffloadRoutingState, nodes: np.ndarray) -> np.ndarray:
        return np.full(nodes.size, self.rho)

    def act_arrays(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        actions = np.full(len(obs), HOLD, dtype=np.int64)
        has_task = mask[:, FIRST_RATIO] > 0
        routable = (mask[:, FIRST_PORT:COMPUTE].any(axis=1)) | (mask[:, COMPUTE] > 0)
        st = self.sim.state
        if routable.any() or has_task.any():
            edge, compute = self.route_costs(st)
            self._dist, next_port, self._parent = routes_to_csat(st, edge, compute)
            self._edge = edge
            self._compute = compute
            route = np.where(next_port >= 0, FIRST_PORT + next_port, COMPUTE)
            reachable = np.isfinite(self._dist)
            actions = np.where(routable & reachable, route, actions)
        nodes = np.flatnonzero(has_task)
        if nodes.size:
            levels = self.sim.cfg.ratio_levels
            actions[nodes] = FIRST_RATIO + ratio_level(self.ratios(st, nodes), levels)
        return self._respect(actions, mask)


class CongestionAwarePolicy(ShortestPathPolicy):
    """Queue-weighted Dijkstra (link backlogs and C-Sat compute backlogs added to the delays) and a
    local share bisected so that the local and the offloaded part are expected to finish together."""

    def __init__(self, env: OffloadRoutingEnv, seed: int | None = 0):
        super().__init__(env, 0.0, "congestion_aware", seed)

    def route_costs(self, st: OffloadRoutingState):
        edge, compute = super().route_costs(st)
        return edge + st.backlog_s(st.link_free_s), compute + st.backlog_s(st.cpu_free_s)

    def ratios(self, st: OffloadRoutingState, nodes: np.ndarray) -> np.ndarray:
        cfg = self.sim.cfg
        bits = st.tasks.bits[st.head_task[nodes]]
        local_backlog = st.backlog_s(st.local_free_s)[nodes]
        per_bit_local = local_s_per_bit(cfg)
        # offloaded finish = fixed part (queues, propagation) + per-bit part along the chosen route
        link_up = st.link_up
        inv_cap = transmit_s(1.0, st.capacity_bps)
        parent = self._parent
        n = len(st.is_csat)
        port_to_parent = (st.port_nbr == parent[:n, None]) & link_up
        has = port_to_parent.any(axis=1)
        p = port_to_parent.argmax(axis=1)
        rows = np.arange(n)
        fixed_hop = np.where(has, st.backlog_s(st.link_free_s)[rows, p] + st.prop_s[rows, p], 0.0)
        per_bit_hop = np.where(has, inv_cap[rows, p], 0.0)
        at_csat = parent[:n] == n
        fixed_hop = fixed_hop + np.where(at_csat, st.backlog_s(st.cpu_free_s), 0.0)
        per_bit_hop = per_bit_hop + np.where(at_csat, remote_s_per_bit(cfg), 0.0)
        fixed = sum_along_route(parent, fixed_hop)[nodes]
        per_bit = sum_along_route(parent, per_bit_hop)[nodes]
        reachable = np.isfinite(self._dist[nodes])
        rho = bisect_ratio(
            lambda r: local_backlog + r * bits * per_bit_local,
            lambda r: np.where(reachable, fixed + (1.0 - r) * bits * per_bit, np.inf),
            nodes.size,
        )
        # of the two levels around the root, keep the one with the earlier expected finish
        return best_level(rho, cfg.ratio_levels, lambda r: np.maximum(
            local_backlog + r * bits * per_bit_local, np.where(r < 1.0, fixed + (1.0 - r) * bits * per_bit, 0.0)))


class RandomPolicy(BaselinePolicy):
    """Uniform over the allowed actions of each agent (hold included)."""

    name = "random"

    def act_arrays(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        scores = self.rng.random(mask.shape) * mask
        return scores.argmax(axis=1)


def make_offload_routing_baseline(name: str, env: OffloadRoutingEnv, seed: int | None = 0,
                                  rho: float = 0.7) -> BaselinePolicy:
    if name == "full_local":
        return ShortestPathPolicy(env, 1.0, name, seed)
    if name == "full_offload":
        return ShortestPathPolicy(env, 0.0, name, seed)
    if name == "even_split":
        return ShortestPathPolicy(env, 0.5, name, seed)
    if name == "static_ratio":
        return ShortestPathPolicy(env, rho, name, seed)
    if name == "congestion_aware":
        return CongestionAwarePolicy(env, seed)
    if name == "random":
        return RandomPolicy(env, seed)
    raise ValueError(f"baseline: {name!r} is not one of {OFFLOAD_ROUTING_BASELINES}")


OFFLOAD_ROUTING_BASELINES = ("full_local", "full_offload", "even_split", "static_ratio", "congestion_aware", "random")
