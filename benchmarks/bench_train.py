"""Training throughput against stable-baselines3's stock DQN on the same env, run side by side.

The figure is *transitions learned from per second*: transitions sampled into gradient updates (gradient
steps x batch size) per second of training wall time. The training wall time is everything the learner does
from its first env step to its last update: stepping the env, acting, filling replay, updates, target syncs,
episode logs. Building the env and the model, and imports, are outside the clock on both sides. Both
sides take one gradient step of the same batch size per env step, so the ratio is the ratio of their
training speeds at the same learning work.

- Double DQN (ours, masked, SB3-based) vs SB3 ``DQN("MultiInputPolicy")`` on Aggregation-v2, same
  hyper-parameters.
- MADQN vs SB3 ``DQN`` with parameter sharing through SuperSuit (``pettingzoo_env_to_vec_env_v1``, one
  vector slot per satellite) on offload_routing_v3 (iridium). Both run the same number of slots, and SB3
  takes MADQN's hyper-parameters: network width, learning rate, batch, replay capacity, exploration
  schedule, target sync every ``target_sync`` gradient steps, gradient clip, one gradient step per slot.
  SB3's warm-up is set to the slots MADQN's takes, so both take the same number of gradient steps. The
  pairs of runs alternate which side goes first (``--repeats``), and the row gives the medians.

Each side also reports env steps per second and transitions collected into replay per second. Collected
transitions are not the headline because the two learners cut experience into transitions differently.
SB3 stores one transition per satellite per slot: 66 a slot on iridium, whether or not that satellite had
anything to decide. An idle satellite has an all-zero action mask, and the env ignores its action.
``sb3_deciding_share`` is the measured share of stored transitions whose satellite had something to
decide. MADQN stores one transition per routing decision on a bundle (``info["transitions"]``), from that
decision to the bundle's next one, so a slot yields about ten. A count of collected transitions would weigh
how each learner defines a transition, not how fast it learns: at equal speed, SB3 would score 66 / 10
times MADQN. Both sides sample the same 256 transitions per slot into a gradient step.

Usage: python benchmarks/bench_train.py [--steps 3000] [--repeats 3] [--out benchmarks/results/train.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def ddqn_vs_stock(steps: int) -> dict:
    from stable_baselines3 import DQN

    from agents.double_dqn.config import DoubleDQNConfig
    from agents.double_dqn.train import build_model
    from leo_envs import AGGREGATION_ID, aggregation_v2

    cfg = DoubleDQNConfig(scenario="low_traffic", learning_starts=500, train_freq=1)
    ours = build_model(cfg, aggregation_v2.env(cfg.scenario))
    stock = DQN("MultiInputPolicy", aggregation_v2.env(cfg.scenario), learning_rate=cfg.lr, gamma=cfg.gamma,
                buffer_size=cfg.buffer_size, learning_starts=cfg.learning_starts, batch_size=cfg.batch_size,
                train_freq=cfg.train_freq, target_update_interval=cfg.target_update_interval,
                policy_kwargs={"net_arch": [cfg.hidden, cfg.hidden]}, seed=0, device="cpu")
    out = {}
    for name, model in (("double_dqn", ours), ("sb3_dqn", stock)):
        t0 = time.perf_counter()
        model.learn(steps)
        wall = time.perf_counter() - t0
        out[name] = {"learned_per_s": model._n_updates * model.batch_size / wall, "steps_per_s": steps / wall,
                     "updates": model._n_updates, "wall_s": wall}
    ours_row, ref_row = out["double_dqn"], out["sb3_dqn"]
    return {"env": f"{AGGREGATION_ID.split('/')[1]} (low_traffic)", "ours": "double_dqn",
            "ours_per_s": ours_row["learned_per_s"],
            "reference": "sb3 DQN", "reference_per_s": ref_row["learned_per_s"],
            "ratio": ours_row["learned_per_s"] / ref_row["learned_per_s"],
            "ours_detail": ours_row, "reference_detail": ref_row}


def madqn_run(slots: int) -> dict:
    """MADQN trained for ``slots`` slots on iridium (no domain randomisation): its own clock and counters."""
    from agents.madqn.config import MADQNConfig
    from agents.madqn.train import train

    cfg = MADQNConfig(steps=slots, randomize=False, learning_starts=500)
    with tempfile.TemporaryDirectory() as tmp:
        counters = train(cfg, Path(tmp), progress=False)
        meta = json.loads((Path(tmp) / "checkpoint" / "meta.json").read_text())
        with np.load(Path(tmp) / "checkpoint" / "replay.npz", allow_pickle=False) as data:
            collected = int(data["size"])
    if collected >= cfg.buffer_size:
        raise RuntimeError(f"replay filled up ({collected}): the collected count would be clipped; use fewer --steps")
    wall = float(meta["train_wall_s"])  # TrainClock: from after building the env and the agent to the last update
    return {"learned_per_s": counters["updates"] * cfg.batch_size / wall, "steps_per_s": counters["step"] / wall,
            "collected_per_s": collected / wall, "collected_per_step": collected / counters["step"],
            "updates": counters["updates"], "batch_size": cfg.batch_size, "wall_s": wall}


def sb3_run(slots: int, warmup_slots: int) -> dict:
    """SB3 DQN with MADQN's hyper-parameters on the same env through SuperSuit, for the same ``slots``; its
    first gradient step comes after ``warmup_slots`` slots."""
    from stable_baselines3 import DQN

    from agents.madqn.config import MADQNConfig
    from agents.supersuit_sb3 import make_sb3_vec_env
    from leo_envs import offload_routing_v3

    cfg = MADQNConfig(steps=slots, randomize=False, learning_starts=500)
    vec = make_sb3_vec_env(offload_routing_v3.parallel_env(cfg.scenario))
    n = vec.num_envs
    # train_freq=1 is one vector step (a slot: n transitions); learning_starts and target_update_interval count
    # transitions (SB3 updates once num_timesteps > learning_starts)
    model = DQN("MultiInputPolicy", vec, learning_rate=cfg.lr, gamma=cfg.gamma, buffer_size=cfg.buffer_size,
                learning_starts=warmup_slots * n, batch_size=cfg.batch_size, train_freq=1,
                gradient_steps=cfg.updates_per_step, target_update_interval=cfg.target_sync * n,
                exploration_fraction=cfg.eps_fraction, exploration_initial_eps=cfg.eps_start,
                exploration_final_eps=cfg.eps_end, max_grad_norm=cfg.grad_clip,
                policy_kwargs={"net_arch": [cfg.hidden, cfg.hidden]}, seed=cfg.seed, device="cpu")
    t0 = time.perf_counter()
    model.learn(slots * n)
    wall = time.perf_counter() - t0
    buf = model.replay_buffer
    stored = buf.buffer_size if buf.full else buf.pos
    deciding = float(np.any(buf.observations["action_mask"][:stored] > 0, axis=-1).mean())
    return {"learned_per_s": model._n_updates * model.batch_size / wall, "steps_per_s": slots / wall,
            "collected_per_s": slots * n / wall, "collected_per_step": float(n), "sb3_deciding_share": deciding,
            "updates": model._n_updates, "batch_size": model.batch_size, "wall_s": wall}


def madqn_vs_stock(slots: int, repeats: int) -> dict:
    """``repeats`` pairs of runs, the order alternating (MADQN first, then SB3 first, ...), so that a
    machine that slows down or speeds up during the benchmark (it is shared) weighs on both sides alike.
    The row gives the medians over the pairs; ``pair_ratios`` each pair's own ratio."""
    import torch.utils.tensorboard  # noqa: F401  (MADQN's run log imports it inside its clock: a one-off cost)

    from agents.madqn.config import MADQNConfig

    pairs, warmup = [], None
    for i in range(repeats):
        if i % 2 == 0:
            ours = madqn_run(slots)
            # MADQN's warm-up (learning_starts transitions) lasts this many slots (the same in every run: it
            # is seeded); SB3 waits as long, so both take the same number of gradient steps on the same slots
            warmup = slots - ours["updates"] // MADQNConfig.updates_per_step if warmup is None else warmup
            ref = sb3_run(slots, warmup)
        else:
            ref = sb3_run(slots, warmup)
            ours = madqn_run(slots)
        pairs.append((ours, ref))

    def median(side: int, key: str) -> float:
        return float(np.median([pair[side][key] for pair in pairs]))

    detail = [{k: median(side, k) for k in pairs[0][side]} for side in (0, 1)]
    return {"env": "offload_routing_v3 (iridium, 66 agents)", "ours": "madqn", "ours_per_s": detail[0]["learned_per_s"],
            "reference": "sb3 DQN + SuperSuit parameter sharing", "reference_per_s": detail[1]["learned_per_s"],
            "ratio": float(np.median([o["learned_per_s"] / r["learned_per_s"] for o, r in pairs])),
            "pair_ratios": [o["learned_per_s"] / r["learned_per_s"] for o, r in pairs],
            "steps_ratio": float(np.median([o["steps_per_s"] / r["steps_per_s"] for o, r in pairs])),
            "slots": slots, "repeats": repeats, "ours_detail": detail[0], "reference_detail": detail[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train.json"))
    parser.add_argument("--repeats", type=int, default=3, help="MADQN / SB3 pairs (medians are reported)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [ddqn_vs_stock(args.steps), madqn_vs_stock(args.steps, args.repeats)]
    for r in rows:
        print(f"{r['env']:42s} {r['ours']:10s} {r['ours_per_s']:9.0f} learned/s   {r['reference']}: "
              f"{r['reference_per_s']:9.0f}/s   ratio {r['ratio']:.2f}")
        for side in ("ours_detail", "reference_detail"):
            print(f"    {side:17s} " + "  ".join(f"{k} {v:.4g}" for k, v in r[side].items()))
    from bench_core import write_results

    write_results(args.out, rows, definition="transitions sampled into gradient updates (gradient steps x batch "
                  "size) per second of training wall time; env steps/s and transitions collected/s per side in "
                  "ours_detail / reference_detail")


if __name__ == "__main__":
    main()
