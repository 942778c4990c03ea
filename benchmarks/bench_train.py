"""Training throughput against stable-baselines3's stock DQN on the same env, run side by side.

- Double DQN (ours, masked, SB3-based) vs SB3 ``DQN("MultiInputPolicy")`` on Aggregation-v1: env steps
  (= transitions) per second of ``learn`` with the same hyper-parameters.
- MADQN vs SB3 ``DQN`` with parameter sharing through SuperSuit (``pettingzoo_env_to_vec_env_v1``, one
  vector slot per satellite) on offload_routing_v2 (iridium): transitions learned from per second. MADQN
  learns from per-bundle routing transitions; SB3 from every agent's every step.

Usage: python benchmarks/bench_train.py [--steps 3000] [--out benchmarks/results/train.json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch


def ddqn_vs_stock(steps: int) -> dict:
    from stable_baselines3 import DQN

    from agents.double_dqn.config import DoubleDQNConfig
    from agents.double_dqn.train import build_model
    from leo_envs import aggregation_v1

    cfg = DoubleDQNConfig(scenario="low_traffic", learning_starts=500, train_freq=1)
    ours = build_model(cfg, aggregation_v1.env(cfg.scenario))
    stock = DQN("MultiInputPolicy", aggregation_v1.env(cfg.scenario), learning_rate=cfg.lr, gamma=cfg.gamma,
                buffer_size=cfg.buffer_size, learning_starts=cfg.learning_starts, batch_size=cfg.batch_size,
                train_freq=cfg.train_freq, target_update_interval=cfg.target_update_interval,
                policy_kwargs={"net_arch": [cfg.hidden, cfg.hidden]}, seed=0, device="cpu")
    out = {}
    for name, model in (("double_dqn", ours), ("sb3_dqn", stock)):
        t0 = time.perf_counter()
        model.learn(steps)
        out[name] = steps / (time.perf_counter() - t0)
    return {"env": "Aggregation-v1 (low_traffic)", "ours": "double_dqn", "ours_per_s": out["double_dqn"],
            "reference": "sb3 DQN", "reference_per_s": out["sb3_dqn"], "ratio": out["double_dqn"] / out["sb3_dqn"]}


def madqn_vs_stock(slots: int) -> dict:
    from stable_baselines3 import DQN

    from agents.madqn.config import MADQNConfig
    from agents.madqn.train import train
    from agents.supersuit_sb3 import make_sb3_vec_env
    from leo_envs import offload_routing_v2

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        train(MADQNConfig(steps=slots, randomize=False, learning_starts=500), Path(tmp), progress=False)
        elapsed = time.perf_counter() - t0
        seen = _transitions_seen(Path(tmp))
    ours = seen / elapsed
    vec = make_sb3_vec_env(offload_routing_v2.parallel_env("iridium"))
    model = DQN("MultiInputPolicy", vec, learning_starts=500, train_freq=1, batch_size=256, buffer_size=100_000,
                device="cpu")
    sb3_steps = max(slots // 4, 50)
    t0 = time.perf_counter()
    model.learn(sb3_steps * vec.num_envs)
    ref = sb3_steps * vec.num_envs / (time.perf_counter() - t0)
    return {"env": "offload_routing_v2 (iridium, 66 agents)", "ours": "madqn", "ours_per_s": ours,
            "reference": "sb3 DQN + SuperSuit parameter sharing", "reference_per_s": ref, "ratio": ours / ref}


def _transitions_seen(run: Path) -> int:
    import numpy as np

    with np.load(run / "checkpoint" / "replay.npz") as data:
        return int(data["size"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [ddqn_vs_stock(args.steps), madqn_vs_stock(args.steps)]
    for r in rows:
        print(f"{r['env']:42s} {r['ours']:10s} {r['ours_per_s']:9.0f} transitions/s   {r['reference']}: "
              f"{r['reference_per_s']:9.0f}/s   ratio {r['ratio']:.2f}")
    from bench_core import write_results

    write_results(args.out, rows)


if __name__ == "__main__":
    main()
