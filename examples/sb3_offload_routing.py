"""Parameter-shared PPO (or DQN) from stable-baselines3 on offload_routing_v0 through SuperSuit: every
satellite is one slot of a vector env and all share one policy.

    python examples/sb3_offload_routing.py [--algo ppo|dqn] [--scenario tiny] [--steps 20000]

SuperSuit does not enforce action masks: a masked action holds the data for the slot (the env counts it).
SB3 .zip files are pickles: load only models you trust.
"""

from __future__ import annotations

import argparse

from stable_baselines3 import DQN, PPO

from agents.supersuit_sb3 import make_sb3_vec_env
from leo_envs import offload_routing_v0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", choices=("ppo", "dqn"), default="ppo")
    parser.add_argument("--scenario", default="tiny")
    parser.add_argument("--steps", type=int, default=20_000, help="agent-steps (vector transitions)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="where to save the trained model (.zip)")
    args = parser.parse_args(argv)

    vec = make_sb3_vec_env(offload_routing_v0.parallel_env(args.scenario))
    if args.algo == "ppo":
        model = PPO("MultiInputPolicy", vec, n_steps=64, batch_size=256, seed=args.seed, device="cpu", verbose=0)
    else:
        model = DQN("MultiInputPolicy", vec, learning_starts=500, train_freq=1, batch_size=64, buffer_size=50_000,
                    seed=args.seed, device="cpu", verbose=0)
    model.learn(args.steps)
    # one greedy episode of the trained shared policy
    env = offload_routing_v0.parallel_env(args.scenario)
    obs, _ = env.reset(seed=args.seed)
    while env.agents:
        actions = {a: int(model.predict(o, deterministic=True)[0]) for a, o in obs.items()}
        obs, _, _, _, infos = env.step(actions)
    result = {k: infos[env.possible_agents[0]][k] for k in ("mean_delay_s", "completion_rate", "masked_actions_total")}
    print(f"{args.algo} after {args.steps} agent-steps: {result}")
    if args.save:
        model.save(args.save)
    return result


if __name__ == "__main__":
    main()
