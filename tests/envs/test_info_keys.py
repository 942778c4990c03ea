"""Info dicts have the same keys with the same types at reset and at every step of an episode (nested dicts
too), in both envs and through the wrappers of ``leo_envs.wrappers``; the episode metrics run from reset and
``metrics_final`` is True at the last step only. No wrapper hands out an all-zero mask."""

import gymnasium as gym
import numpy as np
import pytest

import leo_envs  # noqa: F401  (registers the ids)
from leo_envs import offload_routing_v3
from leo_envs.envs.aggregation import AggregationEnv
from leo_envs.envs.offload_routing.dynamics import percentile
from leo_envs.envs.offload_routing.types import DONE, DROPPED
from leo_envs.wrappers import GymHoldWhenIdle, GymScalarInfos, HoldWhenIdle, ScalarInfos

OFFLOAD_METRICS = ("mean_task_cost_s", "total_cost_s", "scored_tasks", "mean_delay_s", "p95_delay_s",
                   "completion_rate", "drop_rate", "mean_isl_utilization", "peak_isl_utilization",
                   "csat_load_jain", "finished_tasks", "arrived_tasks", "drops_by_reason", "masked_actions_total")
AGGREGATION_METRICS = ("edr_j_per_s", "energy_reduction", "net_energy_saved_j", "delay_increment_s",
                       "deadline_violations", "working_sats", "sleeping_sats", "aggregated", "unassigned",
                       "stranded", "masked_actions")


def signature(info: dict) -> dict:
    """Key -> type name, recursing into nested dicts."""
    return {k: (type(v).__name__, signature(v) if isinstance(v, dict) else None) for k, v in info.items()}


def masked_random(mask: np.ndarray, rng) -> int:
    allowed = np.flatnonzero(mask)
    return int(rng.choice(allowed)) if allowed.size else 0


def offload_episodes(env, episodes: int, seed: int = 0):
    """(reset infos, [(step infos, observations)], idle agents at the end) per episode under a random
    masked policy that also plays "compute here" (5), masked for deciding RS-Sats, at random and at every
    agent's last step (so the next reset's ``masked_actions`` would show a stale count)."""
    rng = np.random.default_rng(seed)
    out = []
    raw = env.unwrapped
    for ep in range(episodes):
        obs, infos = env.reset(seed=seed + ep)
        reset_infos, steps = infos, []
        while env.agents:
            last = raw.num_cycles == raw.config.max_cycles - 1
            acts = {a: (5 if last or rng.random() < 0.2 else masked_random(o["action_mask"], rng))
                    for a, o in obs.items()}
            obs, _, _, _, infos = env.step(acts)
            steps.append((infos, obs))
        out.append((reset_infos, steps, ~raw.sim.deciding))
    return out


def test_offload_routing_info_keys_and_types_identical_at_every_step():
    env = offload_routing_v3.parallel_env("tiny", max_cycles=120, isl_mtbf_s=60.0, sat_mtbf_s=600.0, ttl_s=2.0)
    episodes = offload_episodes(env, 2)
    ref = signature(episodes[0][0]["sat_0"])
    for key in (*OFFLOAD_METRICS, "rewards", "transitions", "masked_actions", "t_s", "metrics_final"):
        assert key in ref
    assert set(ref["drops_by_reason"][1]) == {"ttl", "buffer", "sat_failure"}
    assert set(ref["rewards"][1]) == {"holding", "drop"}
    masked_seen = drops_seen = 0
    for reset_infos, steps, _ in episodes:
        assert set(reset_infos) == set(env.possible_agents)
        first = reset_infos["sat_0"]
        assert first["metrics_final"] is False and first["masked_actions"] == 0 and first["arrived_tasks"] == 0
        for agent, info in reset_infos.items():
            assert signature(info) == ref, agent
        arrived = 0
        for k, (infos, _) in enumerate(steps):
            last = k == len(steps) - 1
            info = infos["sat_0"]
            assert signature(info) == ref
            assert all(i is info for i in infos.values())  # one shared team-level dict
            assert info["metrics_final"] is last
            assert info["arrived_tasks"] >= arrived  # running values, not placeholders
            arrived = info["arrived_tasks"]
            masked_seen += info["masked_actions"]
            drops_seen += sum(info["drops_by_reason"].values())
        assert steps[-1][0]["sat_0"]["t_s"] == pytest.approx(120 * env.config.dt_s)
        assert steps[-1][0]["sat_0"]["masked_actions"] > 0  # the next reset must not repeat it
    assert masked_seen > 0 and drops_seen > 0 and arrived > 0


def reference_metrics(sim) -> dict:
    """offload_routing's metrics as first written (np.percentile, copies of the windows): the faster
    ``sim.metrics()`` must give the same values to the bit."""
    tk = sim.tasks
    status = tk.status[: tk.size]
    done = status == DONE
    delays = (tk.finish[: tk.size] - tk.arrival[: tk.size])[done]
    arrived = max(int(tk.size), 1)
    elapsed = max(sim.t, 1e-12)
    w_len = sim.cfg.utilization_window_s
    lengths = np.clip(elapsed - np.arange(sim.link_busy.shape[0]) * w_len, 0.0, w_len)
    used = lengths > 0
    exists = sim.port_nbr >= 0
    util = sim.link_busy[used] / lengths[used, None, None]
    cpu = sim.cpu_busy_s[sim.is_csat]
    cost = sim.task_costs()
    scored = (sim.t - tk.arrival[: tk.size]) > sim.cfg.ttl_s
    return {
        "mean_task_cost_s": float(cost[scored].mean()) if scored.any() else 0.0,
        "total_cost_s": float(cost.sum()),
        "scored_tasks": int(scored.sum()),
        "mean_delay_s": float(delays.mean()) if delays.size else 0.0,
        "p95_delay_s": float(np.percentile(delays, 95)) if delays.size else 0.0,
        "completion_rate": float(done.sum() / arrived),
        "drop_rate": float(np.count_nonzero(status == DROPPED) / arrived),
        "mean_isl_utilization": float(sim.link_busy.sum(axis=0)[exists].mean() / elapsed),
        "peak_isl_utilization": float(util[:, exists].max()),
        "csat_load_jain": float(cpu.sum() ** 2 / (cpu.size * np.sum(cpu**2))) if np.any(cpu > 0) else 1.0,
        "finished_tasks": int(done.sum()),
        "arrived_tasks": int(tk.size),
    }


@pytest.mark.parametrize("scenario,kw", [("tiny", {"isl_mtbf_s": 120.0, "sat_mtbf_s": 900.0}),
                                         ("iridium", {"max_cycles": 500}),
                                         ("starlink_shell1", {"max_cycles": 60})])  # every port exists
def test_offload_routing_running_metrics_equal_the_reference_to_the_bit(scenario, kw):
    env = offload_routing_v3.parallel_env(scenario, **kw)
    env.reset(seed=4)
    rng = np.random.default_rng(4)
    checked = 0
    while env.agents:
        _, mask = env.observation_arrays()
        _, _, _, _, _, info = env.step_arrays((rng.random(mask.shape) * mask).argmax(axis=1))
        if env.num_cycles % 9 == 0 or env.num_cycles < 5 or not env.agents:
            ref = reference_metrics(env.sim)
            assert {k: info[k] for k in ref} == ref, env.num_cycles
            checked += 1
    assert checked > 10 and info["finished_tasks"] > 0 and info["metrics_final"]


def test_percentile_is_numpys_to_the_bit():
    rng = np.random.default_rng(0)
    for n in [*range(1, 70), 641, 2000]:
        x = rng.exponential(size=n) * rng.uniform(0.01, 10.0)
        for q in (0, 5, 50, 95, 99, 100):
            assert percentile(x, q) == float(np.percentile(x, q)), (n, q)


def test_offload_routing_wrappers_keep_keys_and_never_an_all_zero_mask():
    env = HoldWhenIdle(ScalarInfos(offload_routing_v3.parallel_env("tiny", max_cycles=40)))
    episodes = offload_episodes(env, 2, seed=3)
    ref = signature(episodes[0][0]["sat_0"])
    assert "metrics_final" in ref and "rewards" not in ref and "transitions" not in ref
    for reset_infos, steps, idle in episodes:
        assert all(signature(i) == ref for i in reset_infos.values())
        for k, (infos, obs) in enumerate(steps):
            assert all(signature(i) == ref for i in infos.values())
            assert infos["sat_0"]["metrics_final"] is (k == len(steps) - 1)
            assert all(o["action_mask"].any() and o["action_mask"].dtype == np.int8 for o in obs.values())
        # the terminal observation: the idle agents' all-zero masks allow hold only
        hold_only = [1] + [0] * (env.unwrapped.num_actions - 1)
        terminal = steps[-1][1]
        assert idle.any() and all(terminal[f"sat_{i}"]["action_mask"].tolist() == hold_only
                                  for i in np.flatnonzero(idle))


def aggregation_episodes(env, episodes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        steps, done = [], False
        while not done:
            a = 0 if rng.random() < 0.2 else masked_random(obs["action_mask"], rng)
            obs, _, terminated, truncated, step_info = env.step(a)
            done = terminated or truncated
            steps.append((step_info, obs))
        out.append((info, steps))
    return out


@pytest.mark.parametrize("scenario", ["tiny", "high_traffic", "sparse_traffic"])
def test_aggregation_info_keys_and_types_identical_at_every_step(scenario):
    env = gym.make("leo_envs/Aggregation-v2", scenario=scenario)
    episodes = aggregation_episodes(env, 8)
    ref = signature(episodes[0][0])
    for key in (*AGGREGATION_METRICS, "rewards", "masked_action", "businesses_to_reassign", "metrics_final"):
        assert key in ref
    assert set(ref["rewards"][1]) == {"edr", "deadline", "invalid", "delay", "energy", "log_edr"}
    lengths = []
    for info, steps in episodes:
        assert signature(info) == ref
        assert info["metrics_final"] is False and info["masked_actions"] == 0
        assert all(v == 0.0 for v in info["rewards"].values())
        for k, (step_info, _) in enumerate(steps):
            assert signature(step_info) == ref
            assert step_info["metrics_final"] is (k == len(steps) - 1)
        lengths.append(len(steps))
    # the last episode's final info holds the metrics of its end state
    final = episodes[-1][1][-1][0]
    assert final == {**final, **env.unwrapped.state.metrics(), "masked_actions": env.unwrapped.masked_actions}
    assert max(lengths) > 1


def test_aggregation_terminal_and_empty_first_masks():
    """The mask is all zero after the last step, and at the start of an episode with nothing to reassign
    (whose one step ignores the action); GymHoldWhenIdle allows action 0 there, and only there."""
    raw = AggregationEnv("high_traffic")
    env = GymHoldWhenIdle(GymScalarInfos(gym.make("leo_envs/Aggregation-v2", scenario="high_traffic")))
    empty_starts = 0
    for seed in range(12):
        obs, _ = raw.reset(seed=seed)
        wobs, winfo = env.reset(seed=seed)
        if not obs["action_mask"].any():
            empty_starts += 1
            assert wobs["action_mask"].tolist() == [1] + [0] * (raw.m - 1)
            _, _, terminated, _, info = raw.step(int(raw.m - 1))  # any action: ignored
            assert terminated and info["masked_actions"] == 0
        else:
            assert np.array_equal(wobs["action_mask"], obs["action_mask"])
        assert np.array_equal(env.action_masks(), wobs["action_mask"].astype(bool))
        assert all(isinstance(v, np.generic) for v in winfo.values()) and "rewards" not in winfo
        done = False
        while not done:
            mask = wobs["action_mask"]
            assert mask.any()
            wobs, _, terminated, truncated, winfo = env.step(masked_random(mask, np.random.default_rng(seed)))
            done = terminated or truncated
        assert bool(winfo["metrics_final"]) and wobs["action_mask"].tolist() == [1] + [0] * (raw.m - 1)
        assert not env.unwrapped.action_masks().any() and env.action_masks().tolist() == [True] + [False] * (raw.m - 1)
    assert empty_starts > 0
