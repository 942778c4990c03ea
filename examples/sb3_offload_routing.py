"""Parameter-shared PPO (or DQN) from stable-baselines3 on offload_routing_v3 through SuperSuit: every
satellite is one slot of a vector env and all share one policy.

    python examples/sb3_offload_routing.py [--algo ppo|dqn] [--scenario iridium] [--steps 6000000]
                                           [--reward-mode team|hop] [--seed 0] [--save model.zip]

While it trains it prints one line per finished training episode (agent-steps, the headline metric
``mean_task_cost_s``, completion and drop rates, masked actions, wall time); at the end it evaluates the
greedy shared policy on evaluation seeds (1000 s, as ``evaluate.py`` does; training resets start at
seed 10_000 so the two never meet) beside the ``random`` and ``full_local`` baselines.
This path is UNMASKED: SuperSuit does not enforce action masks, so PPO samples masked actions while it trains
(the env holds a masked action's data for the slot and counts it in ``masked_actions``; the policy sees the mask
as part of its input) and learns to hold; it scores worse than random. The masked path is ``ppo_sb3``
(``python train.py offload_routing ppo_sb3``: sb3-contrib's MaskablePPO on ``agents.sb3_offload_vec_env``).
SB3 .zip files are pickles: load only models you trust.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from stable_baselines3 import DQN, PPO

from agents.baselines import make_offload_routing_baseline
from agents.sb3_callbacks import EpisodeMetrics
from agents.supersuit_sb3 import make_sb3_vec_env
from leo_envs import offload_routing_v3

REPORT = ("mean_task_cost_s", "completion_rate", "drop_rate")
TRAIN_SEED_BASE = 10_000  # evaluation uses seeds 1000 s + e (evaluate.py); training starts far above


def evaluate(env, act, seeds: int) -> dict:
    """Mean of REPORT over greedy episodes on evaluation seeds 1000 s."""
    runs = []
    for s in range(seeds):
        obs, _ = env.reset(seed=1000 * s)
        while env.agents:
            obs, _, _, _, infos = env.step(act(obs))
        runs.append(infos[env.possible_agents[0]])
    return {k: float(np.mean([r[k] for r in runs])) for k in REPORT}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", choices=("ppo", "dqn"), default="ppo")
    parser.add_argument("--scenario", default="iridium")
    parser.add_argument("--steps", type=int, default=6_000_000, help="agent-steps (vector transitions)")
    parser.add_argument("--reward-mode", choices=("team", "hop"), default="hop",
                        help="hop: per-agent credit, which parameter-shared PPO learns from much faster")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-seeds", type=int, default=2)
    parser.add_argument("--save", default=None, help="where to save the trained model (.zip)")
    args = parser.parse_args(argv)

    train_env = offload_routing_v3.parallel_env(args.scenario, reward_mode=args.reward_mode)
    vec = make_sb3_vec_env(train_env)
    seed = TRAIN_SEED_BASE + args.seed
    if args.algo == "ppo":
        model = PPO("MultiInputPolicy", vec, n_steps=128, batch_size=2112, n_epochs=4, learning_rate=1e-3,
                    gamma=0.99, ent_coef=0.01, seed=seed, device="cpu", verbose=0)
    else:
        model = DQN("MultiInputPolicy", vec, learning_starts=5000, train_freq=4, batch_size=256, buffer_size=200_000,
                    seed=seed, device="cpu", verbose=0)
    callback = EpisodeMetrics(slots_per_episode=len(train_env.possible_agents))
    t0 = time.perf_counter()
    model.learn(args.steps, callback=callback)
    train_s = time.perf_counter() - t0

    env = offload_routing_v3.parallel_env(args.scenario)
    index = env.agent_index
    names = [args.algo, "random", "full_local"]

    def shared_policy(obs):
        keys = list(obs)
        batch = {k: np.stack([obs[a][k] for a in keys]) for k in ("observation", "action_mask")}
        return dict(zip(keys, model.predict(batch, deterministic=True)[0].tolist()))

    def baseline(name):
        policy = make_offload_routing_baseline(name, env, seed=0)
        return lambda obs: {a: int(x) for a, x in zip(obs, policy.act_arrays(*env.observation_arrays())
                                                      [[index[a] for a in obs]])}

    result = {name: evaluate(env, shared_policy if name == args.algo else baseline(name), args.eval_seeds)
              for name in names}
    print(f"{args.algo} after {args.steps:,d} agent-steps ({train_s:.0f} s of training), {args.scenario}, "
          f"{args.eval_seeds} evaluation seeds:")
    for name, r in result.items():
        print(f"  {name:>10}  mean_task_cost_s {r['mean_task_cost_s']:.3f}  completion {r['completion_rate']:.3f}  "
              f"drops {r['drop_rate']:.3f}")
    if args.save:
        model.save(args.save)
    return {"train_s": train_s, **result}


if __name__ == "__main__":
    main()
