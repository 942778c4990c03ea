"""The spec of Aggregation-v2 (Gymnasium): Double DQN, the heuristics, milp_optimal as the reference of
``evaluate.py``'s optimality gap, the EDR upper bound of the leaderboard, and the calibration against the
aggregation paper's Table 3."""

from __future__ import annotations

from pathlib import Path

from agents.baselines import AGGREGATION_BASELINES, make_aggregation_baseline
from agents.checkpoint import read_model
from agents.specs.base import EnvDocs, EnvSpec, LearnerSpec, mean_halfwidth, play_gym, run_gym_episode
from leo_envs import AGGREGATION_ID, AGGREGATION_VARIANTS, aggregation_v2
from leo_envs.envs.aggregation import SCENARIOS, AggregationEnv
from leo_envs.envs.aggregation.config import RANGES, AggregationConfig

METRICS = ("edr_j_per_s", "energy_reduction", "net_energy_saved_j", "delay_increment_s", "deadline_violations",
           "working_sats")


def make(scenario: str):
    return aggregation_v2.env(scenario)


def leaderboard_checkpoints(scenario: str, runs: Path) -> list[Path]:
    """Double DQN and MaskablePPO where their action space fits (the 12-satellite scenarios, not tiny),
    each preferring the checkpoint ``make reproduce`` trained on that scenario, else its low-traffic one (a
    damaged run directory is refused by ``read_model``, not skipped)."""
    if scenario == "tiny":
        return []
    found = []
    for prefix in ("ddqn", "maskable_ppo"):
        for run in (runs / f"{prefix}_{scenario}", runs / f"{prefix}_low_traffic"):
            if run.is_dir():
                read_model(run)
                found.append(run)
                break
    return found


def episode_bound(scenario: str, seed: int) -> float:
    """An upper bound on the EDR of every episode reset with ``seed``, whatever the policy
    (``leo_envs.envs.aggregation.upper_bound``; the instance does not depend on the policy)."""
    from leo_envs.envs.aggregation import upper_bound

    env = make(scenario)
    env.reset(seed=seed)
    return upper_bound(env).edr_j_per_s


TRAFFIC_LEVELS = ("low_traffic", "medium_traffic", "high_traffic")
CALIBRATION_METRICS = ("energy_reduction", "delay_increment_s", "edr_j_per_s", "deadline_violations")
CALIBRATION_BASELINES = ("random", "greedy", "ant_colony", "q_table")
PAPER = {"low_traffic": (0.4787, 0.0161), "medium_traffic": (0.2675, 0.0189), "high_traffic": (0.0436, 0.0299)}


def calibrate(seeds: int, scenario: str | None = None) -> str:
    """The heuristics at the paper's three traffic levels beside its Double DQN energy reduction and delay
    increment (Table 3). ``scenario`` is ignored: the paper's figures exist for these levels only."""
    lines = ["| traffic | baseline | " + " | ".join(CALIBRATION_METRICS) + " | paper (DDQN): reduction / delay |",
             "|---" * (len(CALIBRATION_METRICS) + 3) + "|"]
    for level, paper in PAPER.items():
        for name in CALIBRATION_BASELINES:
            env = aggregation_v2.env(level)
            policy = make_aggregation_baseline(name, env, 0)
            runs = [play_gym(env, policy, seed) for seed in range(seeds)]
            cells = []
            for m in CALIBRATION_METRICS:
                mean, half = mean_halfwidth([r[m] for r in runs])
                cells.append(f"{mean:.4g} +- {half:.2g}")
            lines.append(f"| {level} | {name} | " + " | ".join(cells) + f" | {paper[0]:.2%} / {paper[1]} s |")
    return "\n".join(lines)


FRAME_SCENARIO, FRAME_SEED, FRAME_STEPS = "medium_traffic", 0, 20


def docs_frame():
    """Medium traffic under the greedy baseline, 20 reassignments into the episode of seed 0."""
    env = aggregation_v2.env(FRAME_SCENARIO, render_mode="rgb_array")
    policy = make_aggregation_baseline("greedy", env, FRAME_SEED)
    policy.reset(FRAME_SEED)
    obs, _ = env.reset(seed=FRAME_SEED)
    for _ in range(FRAME_STEPS):
        obs, _, terminated, truncated, _ = env.step(policy.act(obs))
        if terminated or truncated:
            break
    frame = env.render()
    env.close()
    return frame


def episode_length(cfg: AggregationConfig) -> str:
    sats = len(cfg.plane_altitudes_km) * cfg.sats_per_plane
    return (f"one step per business to reassign (K, random per instance), truncated after "
            f"ceil({cfg.step_limit_factor:g} K) steps; {sats} service satellites, about "
            f"{cfg.businesses_per_sat:g} businesses each")


DOCS = EnvDocs(
    title="Aggregation-v2: business aggregation (Gymnasium)",
    env_class=AggregationEnv,
    usage='''import gymnasium as gym
import leo_envs  # registers the ids

env = gym.make("leo_envs/Aggregation-v2", scenario="low_traffic")
observation, info = env.reset(seed=0)
action = env.action_space.sample(observation["action_mask"])
observation, reward, terminated, truncated, info = env.step(action)''',
    config_class=AggregationConfig,
    ranges=RANGES,
    scenario_configs=SCENARIOS,
    episode_length=episode_length,
    frame=docs_frame,
    frame_caption=f"{FRAME_SCENARIO}, seed {FRAME_SEED}, greedy baseline, after {FRAME_STEPS} reassignments",
    removed_ids=tuple(old for version in ("v0", "v1") for old in
                      (AGGREGATION_ID.replace("-v2", f"-{version}"),
                       *(i.replace("-v2", f"-{version}") for i in AGGREGATION_VARIANTS))),
)

SPEC = EnvSpec(
    name="aggregation",
    api="gymnasium",
    ids=(AGGREGATION_ID, *AGGREGATION_VARIANTS),
    make=make,
    scenarios=tuple(sorted(SCENARIOS)),
    default_scenario="medium_traffic",
    test_scenario="tiny",
    primary_metric="edr_j_per_s",
    better="higher",
    metrics=METRICS,
    side_metrics=("deadline_violations",),
    baselines=AGGREGATION_BASELINES,
    make_baseline=make_aggregation_baseline,
    run_episode=run_gym_episode,
    learners=(
        LearnerSpec(name="double_dqn", config="agents.double_dqn.config:DoubleDQNConfig",
                    train="agents.double_dqn.train:train", policy="agents.double_dqn.train:DoubleDQNPolicy.load",
                    quick_budget="agents.double_dqn.train:quick_steps",
                    full_budget="agents.double_dqn.train:full_steps"),
        LearnerSpec(name="maskable_ppo", config="agents.maskable_ppo.config:MaskablePPOConfig",
                    train="agents.maskable_ppo.train:train",
                    policy="agents.maskable_ppo.policy:MaskablePPOPolicy.load",
                    quick_budget="agents.maskable_ppo.train:quick_steps",
                    full_budget="agents.maskable_ppo.train:full_steps",
                    eval_modes=("greedy", "sampled"), export="agents.maskable_ppo.policy:onnx_export"),
    ),
    reference_baseline="milp_optimal",
    bound=episode_bound,
    bound_source=("every plan a policy can play, deadlines ignored: proven by node-limited MILPs (Dinkelbach, then "
                  "bisection; up to 40 businesses), else the LP relaxation"),
    leaderboard_checkpoints=leaderboard_checkpoints,
    leaderboard_runs=tuple((f"{prefix}_{level}", learner, level) for level in TRAFFIC_LEVELS
                           for prefix, learner in (("ddqn", "double_dqn"), ("maskable_ppo", "maskable_ppo"))),
    calibrate=calibrate,
    quality_scenario="low_traffic",
    quality_targets=("greedy", "ant_colony"),
    docs=DOCS,
)
