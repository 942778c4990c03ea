"""Ray RLlib: a shared PPO policy for every satellite of offload_routing_v3, on one machine or a cluster.

    pip install 'leo-envs[rllib]'
    python examples/rllib_offload_routing.py [--scenario tiny] [--iterations 5] [--env-runners 2]

On a cluster, start Ray first and point the script at it (the same script, unchanged; README, "RLlib on a
cluster"):

    ray start --head --port=6379                    # on the head node
    ray start --address=HEAD_IP:6379                # on every other node
    python examples/rllib_offload_routing.py --address HEAD_IP:6379 --env-runners 16

Every iteration prints the env steps sampled so far, the episodes finished, ``episode_return_mean`` and the
env's end-of-episode metrics that ``agents.rllib_support.EpisodeMetricsCallback`` puts into RLlib's results
(the headline ``mean_task_cost_s``, completion and drop rates: means over the recent episodes, like
``episode_return_mean``; "-" until an episode has ended). An episode of ``tiny`` is 800 env steps (four
TTLs); ``mean_task_cost_s`` scores the tasks older than one TTL, so ``--max-cycles`` below 200 leaves it out.

Gymnasium's registry does not reach Ray workers, so the env is registered with Ray's own registry; every
worker imports leo_envs and agents (install the package on every node) and rebuilds the env from its config.
Masks are respected: ``agents.rllib_support.ActionMaskingPPOModule`` masks the logits of PPO's default module.
The rewards are scaled (``reward_scale``, ``agents.rllib_support.reward_factor``): RLlib clips each row's squared
value error at ``vf_clip_param`` and a clipped row trains nothing, which the env's raw returns (seconds of task
cost, hundreds to thousands) would make of nearly every row. For a trained, evaluated learner use
``python train.py offload_routing ppo_rllib`` (``agents.ppo_rllib``).
"""

from __future__ import annotations

import argparse
import time

REPORT = ("mean_task_cost_s", "completion_rate", "drop_rate")


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> dict:
    """Trains and returns the last iteration's result dict, plus ``env_runner_node_ids`` (the Ray node of
    every env runner)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="tiny")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--env-runners", type=int, default=2)
    parser.add_argument("--max-cycles", type=int, default=None, help="episode length (default: the scenario's)")
    parser.add_argument("--train-batch", type=int, default=1600,
                        help="env steps per training iteration (each is one step of every satellite); "
                             "split evenly over the env runners")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--address", default=None,
                        help="address of a running Ray cluster, e.g. HEAD_IP:6379 (default: a fresh local Ray)")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray (ignored with --address)")
    args = parser.parse_args(argv)

    import ray
    import torch
    from ray.tune.registry import register_env

    from agents.rllib_support import OFFLOAD_ROUTING_ENV, env_runner_node_ids, make_offload_routing_env, ppo_config

    torch.set_num_threads(1)  # the learner runs here: small nets on shared cores (Ray gives each env runner 1)
    if args.address:
        ray.init(address=args.address)
    else:  # "local": never join a cluster some earlier run left behind
        ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False)
    register_env(OFFLOAD_ROUTING_ENV, make_offload_routing_env)
    # rewards / satellites x 0.1 (team mode): returns of a few units, which RLlib's value loss clip leaves alone
    env_config = {"scenario": args.scenario, "reward_scale": 0.1}
    if args.max_cycles is not None:
        env_config["max_cycles"] = args.max_cycles
    config = ppo_config(OFFLOAD_ROUTING_ENV, env_config, num_env_runners=args.env_runners,
                        train_batch_size=args.train_batch, minibatch_size=min(500, args.train_batch),
                        seed=args.seed)
    result = {}
    try:
        algo = config.build_algo()
        try:
            nodes = env_runner_node_ids(algo)
            print(f"{len(nodes)} env runners on {len(set(nodes))} Ray node(s)", flush=True)
            t0 = time.perf_counter()
            for i in range(args.iterations):
                result = algo.train()
                r = result.get("env_runners", {})
                metrics = "  ".join(f"{k} {_fmt(r.get(k))}" for k in REPORT)
                print(f"iteration {i + 1}  env-steps {int(r.get('num_env_steps_sampled_lifetime', 0)):>7,d}  "
                      f"episodes {int(r.get('num_episodes_lifetime', 0)):>3d}  "
                      f"return {_fmt(r.get('episode_return_mean'))}  {metrics}  {time.perf_counter() - t0:5.0f} s",
                      flush=True)
        finally:
            algo.stop()
    finally:
        ray.shutdown()
    return {**result, "env_runner_node_ids": nodes}


if __name__ == "__main__":
    main()
