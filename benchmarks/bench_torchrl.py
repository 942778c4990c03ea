"""TorchRL rollout speed on offload_routing_v3: the native ``EnvBase`` (agents/torchrl_env.py, array API) against
TorchRL's ``PettingZooWrapper(HoldWhenIdle(ScalarInfos(env)), use_mask=True)`` on the same scenario, same process.

Both run ``env.rollout(steps, policy, break_when_any_done=False)`` from a seeded reset with the same random masked
policy (uniform over each agent's allowed actions, ``RandomMaskedPolicy``), timed whole: reset, policy, steps and
TorchRL's stacking of the trajectory. Rates are agent-steps/s (env steps x satellites); each is the best of
``--repeats`` runs interleaved with the reference's, and ``ratio`` is ours over the reference in the same run.
Target (issue 29): ratio >= 20. ``no_sim``: the native env with the simulation step replaced by handing back fixed
arrays, i.e. TorchRL's own cost per step: the ceiling of any ``EnvBase`` of this layout.
Usage: python benchmarks/bench_torchrl.py [--steps 300] [--repeats 3] [--out benchmarks/results/torchrl.json]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

try:
    from bench_core import write_results
    from timing import best_interleaved
except ImportError:  # run as a module
    from benchmarks.bench_core import write_results
    from benchmarks.timing import best_interleaved

TARGET_RATIO = 20.0
SCENARIOS = ("tiny", "iridium")


def make_env(kind: str, scenario: str, seed: int):
    """The native env (group "agents") or the PettingZooWrapper reference (group "sat"), seeded."""
    from leo_envs import offload_routing_v3
    from leo_envs.wrappers import HoldWhenIdle, ScalarInfos

    if kind == "native":
        from agents.torchrl_env import OffloadRoutingTorchRLEnv

        return OffloadRoutingTorchRLEnv(scenario, seed=seed), "agents"
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchRL notes it was tested with an older PettingZoo
        env = PettingZooWrapper(HoldWhenIdle(ScalarInfos(offload_routing_v3.parallel_env(scenario))), use_mask=True,
                                seed=seed)
    return env, "sat"


def without_simulation(env) -> None:
    """Replace the native env's simulation step by handing back the reset's arrays: what is left is TorchRL's
    cost per step (our tensors, ``step``, ``step_mdp``, the policy, the stacking), the floor of any ``EnvBase``."""
    pz = env.pz_env
    pz.reset(seed=0)
    obs, mask = (a.copy() for a in pz.observation_arrays())
    _, _, rewards, _, _, info = pz.step_arrays(np.zeros(pz.sim.n, dtype=np.int64))
    pz.step_arrays = lambda actions: (obs.copy(), mask, rewards.copy(), False, False, info)


def rollout_rate(kind: str, scenario: str, steps: int, seed: int = 0) -> dict:
    from agents.torchrl_env import RandomMaskedPolicy

    env, group = make_env("native" if kind == "native_no_sim" else kind, scenario, seed)
    if kind == "native_no_sim":
        without_simulation(env)
    n_agents = env.full_action_spec[group, "action"].shape[0]
    policy = RandomMaskedPolicy(group, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        td = env.rollout(steps, policy, break_when_any_done=False)
        elapsed = time.perf_counter() - t0
    assert td.batch_size[0] == steps
    env.close()
    return {"env": kind, "scenario": scenario, "agents": n_agents, "steps": steps, "seconds": elapsed,
            "steps_per_s": steps / elapsed, "agent_steps_per_s": steps * n_agents / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="env steps per rollout (both envs)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/torchrl.json"))
    args = parser.parse_args(argv)
    rows = []
    for scenario in args.scenarios:
        best = best_interleaved({kind: (lambda k=kind, s=scenario: rollout_rate(k, s, args.steps))
                                 for kind in ("native", "pettingzoo_wrapper", "native_no_sim")},
                                args.repeats, cost=lambda r: r["seconds"])
        ours, ref = best["native"], best["pettingzoo_wrapper"]
        ratio = ours["agent_steps_per_s"] / ref["agent_steps_per_s"]
        rows.append({"scenario": scenario, "agents": ours["agents"], "steps": args.steps, "repeats": args.repeats,
                     "ours": "OffloadRoutingTorchRLEnv", "ours_agent_steps_per_s": ours["agent_steps_per_s"],
                     "ours_steps_per_s": ours["steps_per_s"], "reference": "PettingZooWrapper",
                     "reference_agent_steps_per_s": ref["agent_steps_per_s"],
                     "reference_steps_per_s": ref["steps_per_s"], "ratio": ratio, "target_ratio": TARGET_RATIO,
                     "met": ratio >= TARGET_RATIO, "no_sim_steps_per_s": best["native_no_sim"]["steps_per_s"],
                     "no_sim_ratio": best["native_no_sim"]["agent_steps_per_s"] / ref["agent_steps_per_s"]})
        row = rows[-1]
        print(f"{scenario}: native {ours['agent_steps_per_s']:.0f} agent-steps/s, PettingZooWrapper "
              f"{ref['agent_steps_per_s']:.0f} agent-steps/s, ratio {ratio:.1f} (target {TARGET_RATIO:g}); TorchRL "
              f"alone (no simulation) {row['no_sim_steps_per_s']:.0f} steps/s, ratio {row['no_sim_ratio']:.1f}")
    write_results(args.out, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
