"""Ray RLlib: a shared PPO policy for every satellite of offload_routing_v1, on one machine or a cluster.

    pip install 'leo-envs[rllib]'
    python examples/rllib_offload_routing.py [--scenario tiny] [--iterations 5] [--env-runners 2]

On a cluster, start Ray first and point the script at it (the same script, unchanged):

    ray start --head --port=6379                    # on the head node
    ray start --address=HEAD_IP:6379                # on every other node
    python examples/rllib_offload_routing.py --address HEAD_IP:6379 --env-runners 16

Gymnasium's registry does not reach Ray workers, so the env is registered with Ray's own registry; every
worker imports leo_envs and rebuilds the env from its config (the envs pickle by rebuilding their
satellites). Masks are respected: RLlib's ``ActionMaskingTorchRLModule`` reads ``{"observations",
"action_mask"}``, so ``MaskedObservationView`` renames the env's ``observation`` key and makes the mask float.
"""

from __future__ import annotations

import argparse


def masked_view(env):
    """The env with observations as RLlib's action-masking module wants them."""
    import numpy as np
    from gymnasium import spaces

    from leo_envs.wrappers import ObservationMap

    class MaskedObservationView(ObservationMap):
        def __init__(self, inner):
            super().__init__(inner)
            space = inner.observation_space(inner.possible_agents[0])
            n = space["action_mask"].shape[0]
            view = spaces.Dict({"observations": space["observation"],
                                "action_mask": spaces.Box(0.0, 1.0, (n,), np.float32)})
            self._spaces = dict.fromkeys(inner.possible_agents, view)

        def observation_space(self, agent):
            return self._spaces[agent]

        def map_observations(self, obs):
            return {a: {"observations": o["observation"], "action_mask": o["action_mask"].astype(np.float32)}
                    for a, o in obs.items()}

    return MaskedObservationView(env)


def make_env(config: dict):
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    from leo_envs import offload_routing_v1

    return ParallelPettingZooEnv(masked_view(offload_routing_v1.parallel_env(**config)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="tiny")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--env-runners", type=int, default=2)
    parser.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray on this machine)")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray (ignored with --address)")
    args = parser.parse_args(argv)

    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule
    from ray.tune.registry import register_env

    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    register_env("leo_offload_routing", make_env)
    config = (
        PPOConfig()
        .environment("leo_offload_routing", env_config={"scenario": args.scenario, "max_cycles": 200})
        .env_runners(num_env_runners=args.env_runners, rollout_fragment_length=50)
        .training(train_batch_size_per_learner=200, minibatch_size=50, num_epochs=1)
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, *args, **kwargs: "shared")
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={
            "shared": RLModuleSpec(module_class=ActionMaskingTorchRLModule,
                                   model_config={"head_fcnet_hiddens": [64, 64]})}))
    )
    algo = config.build_algo()
    result = {}
    try:
        for i in range(args.iterations):
            result = algo.train()
            returns = result.get("env_runners", {}).get("episode_return_mean")
            print(f"iteration {i + 1}: episode_return_mean={returns}")
    finally:
        algo.stop()
        ray.shutdown()
    return result


if __name__ == "__main__":
    main()
