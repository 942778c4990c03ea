"""The spec of offload_routing_v3 (PettingZoo): MADQN, the shortest-path baselines, the delay CDF and the
calibration against the offloading paper."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agents.baselines import OFFLOAD_ROUTING_BASELINES, make_offload_routing_baseline
from agents.checkpoint import read_model
from agents.specs.base import EnvDocs, EnvSpec, EpisodeResult, LearnerSpec, mean_halfwidth, play_parallel
from leo_envs import OFFLOAD_ROUTING_ID, offload_routing_v3
from leo_envs.envs.offload_routing import SCENARIOS, OffloadRoutingEnv
from leo_envs.envs.offload_routing.config import RANGES, OffloadRoutingConfig
from leo_envs.envs.offload_routing.types import DONE

# headline metric first; completion and drop rates beside it in every table
METRICS = ("mean_task_cost_s", "completion_rate", "drop_rate", "mean_delay_s", "p95_delay_s",
           "mean_isl_utilization", "peak_isl_utilization", "csat_load_jain")
# the PPO family's full budget: 128 iridium episodes, 10.1M agent-steps (MARL papers train for 10^7 and up)
PPO_FULL_STEPS = 153_600


def make(scenario: str):
    return offload_routing_v3.parallel_env(scenario)


def run_episode(env, policy, seed: int) -> EpisodeResult:
    """One episode; the final info and the finished tasks' delays (s)."""
    policy.reset(seed)
    info = play_parallel(env, policy, seed)
    tk = env.sim.state.tasks
    done = tk.status[: tk.size] == DONE
    return info, (tk.finish - tk.arrival)[: tk.size][done]


def episode_bound(scenario: str, seed: int) -> float:
    """The lower bound on ``mean_task_cost_s`` of the episode reset with ``seed`` (each scored task alone in the
    network: ``leo_envs.envs.offload_routing.lower_bound``). The tasks and orbits do not depend on the policy, so the
    episode is played by full_local, the cheapest baseline to run."""
    from leo_envs.envs.offload_routing import lower_bound

    env = make(scenario)
    run_episode(env, make_offload_routing_baseline("full_local", env, seed=0), seed)
    return lower_bound(env).mean_task_cost_s


def delay_cdf(report: dict, delays: dict, out: Path, stem: str) -> Path | None:
    """CDF of the finished tasks' delays, one line per agent."""
    if not any(len(d) for d in delays.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, d in delays.items():
        if len(d):
            x = np.sort(d)
            ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=name)
    ax.set_xlabel("service delay (s)")
    ax.set_ylabel("CDF of finished tasks")
    ax.set_title(f"{report['scenario']}: delay CDF")
    ax.legend(fontsize=8)
    path = out / f"{stem}-delay_cdf.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


# the standard learners' leaderboard runs (each in runs/<learner>, trained on iridium), beside MADQN's
STANDARD_RUNS = ("ppo_sb3", "ppo_rllib", "mappo", "ippo")


def leaderboard_checkpoints(scenario: str, runs: Path) -> list[Path]:
    """MADQN everywhere: one network for any constellation (``make reproduce`` trains it on iridium); the
    standard learners (``runs/<learner>``, ``STANDARD_RUNS``) on the scenario they were trained on."""
    found = [runs / "madqn"] if (runs / "madqn").is_dir() and read_model(runs / "madqn").meta else []
    for name in STANDARD_RUNS:
        if (runs / name).is_dir() and read_model(runs / name).meta["config"].get("scenario") == scenario:
            found.append(runs / name)
    return found


CALIBRATION_METRICS = ("mean_task_cost_s", "mean_delay_s", "p95_delay_s", "peak_isl_utilization", "completion_rate",
                       "drop_rate", "csat_load_jain")
PAPER = {"full_local": {"mean_delay_s": 1.84, "p95_delay_s": 2.31, "peak_isl_utilization": None},
         "full_offload": {"mean_delay_s": 1.27, "peak_isl_utilization": 0.85}}


def calibration_episode(name: str, seed: int, scenario: str) -> dict:
    env = offload_routing_v3.parallel_env(scenario)
    return play_parallel(env, make_offload_routing_baseline(name, env, seed=seed), seed)


def calibrate(seeds: int, scenario: str | None = None) -> str:
    """Every baseline on ``scenario`` (default iridium) beside the paper's delays and ISL utilisation."""
    scenario = scenario or "iridium"
    lines = ["| baseline | " + " | ".join(CALIBRATION_METRICS) + " | paper mean / p95 / peak ISL |",
             "|---" * (len(CALIBRATION_METRICS) + 2) + "|"]
    for name in OFFLOAD_ROUTING_BASELINES:
        runs = [calibration_episode(name, s, scenario) for s in range(seeds)]
        cells = []
        for m in CALIBRATION_METRICS:
            mean, half = mean_halfwidth([r[m] for r in runs])
            cells.append(f"{mean:.3f} +- {half:.3f}")
        p = PAPER.get(name, {})
        paper = " / ".join("-" if p.get(k) is None else f"{p[k]:g}"
                           for k in ("mean_delay_s", "p95_delay_s", "peak_isl_utilization"))
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {paper} |")
    return "\n".join(lines)


FRAME_SCENARIO, FRAME_SEED, FRAME_SLOTS = "iridium", 0, 300


def docs_frame() -> np.ndarray:
    """Iridium under the congestion-aware baseline, 15 s (300 slots) into the episode of seed 0."""
    env = offload_routing_v3.parallel_env(FRAME_SCENARIO, render_mode="rgb_array")
    obs, _ = env.reset(seed=FRAME_SEED)
    policy = make_offload_routing_baseline("congestion_aware", env, seed=FRAME_SEED)
    for _ in range(FRAME_SLOTS):
        obs, *_ = env.step(policy.act(obs))
    frame = env.render()
    env.close()
    return frame


DOCS = EnvDocs(
    title="offload_routing_v3: offloading and routing (PettingZoo)",
    env_class=OffloadRoutingEnv,
    usage='''import pettingzoo
import leo_envs  # registers the ids

env = pettingzoo.make("parallel", "leo_envs/OffloadRouting-v3", scenario="tiny")
# or: from leo_envs import offload_routing_v3; env = offload_routing_v3.parallel_env("tiny")
observations, infos = env.reset(seed=0)
actions = {agent: env.action_space(agent).sample(observations[agent]["action_mask"]) for agent in env.agents}
observations, rewards, terminations, truncations, infos = env.step(actions)''',
    config_class=OffloadRoutingConfig,
    ranges=RANGES,
    scenario_configs=SCENARIOS,
    episode_length=lambda cfg: f"{cfg.max_cycles} slots of {cfg.dt_s:g} s ({cfg.max_cycles * cfg.dt_s:g} s)",
    frame=docs_frame,
    frame_caption=f"{FRAME_SCENARIO}, seed {FRAME_SEED}, congestion-aware baseline, after {FRAME_SLOTS} slots",
    removed_ids=("leo_envs/OffloadRouting-v0", "leo_envs/OffloadRouting-v1", "leo_envs/OffloadRouting-v2"),
)

SPEC = EnvSpec(
    name="offload_routing",
    api="pettingzoo",
    ids=(OFFLOAD_ROUTING_ID,),
    make=make,
    scenarios=tuple(sorted(SCENARIOS)),
    default_scenario="iridium",
    test_scenario="tiny",
    primary_metric="mean_task_cost_s",
    better="lower",
    metrics=METRICS,
    side_metrics=("completion_rate", "drop_rate"),
    baselines=OFFLOAD_ROUTING_BASELINES,
    make_baseline=make_offload_routing_baseline,
    run_episode=run_episode,
    learners=(
        LearnerSpec(name="madqn", config="agents.madqn.config:MADQNConfig", train="agents.madqn.train:train",
                    policy="agents.madqn.agent:MADQNPolicy.load", options=("randomize",),
                    quick_budget=lambda scenario: 20_000, full_budget=lambda scenario: 120_000),
        LearnerSpec(name="ppo_sb3", config="agents.ppo_sb3.config:PPOSB3Config", train="agents.ppo_sb3.train:train",
                    policy="agents.ppo_sb3.policy:PPOSharedPolicy.load", eval_modes=("greedy", "sampled"),
                    full_budget=lambda scenario: PPO_FULL_STEPS, export="agents.ppo_sb3.policy:onnx_export"),
        LearnerSpec(name="ppo_rllib", config="agents.ppo_rllib.config:PPORLlibConfig",
                    train="agents.ppo_rllib.train:train", policy="agents.ppo_rllib.policy:PPORLlibPolicy.load",
                    eval_modes=("greedy", "sampled"), quick_budget=lambda scenario: 19_200,
                    full_budget=lambda scenario: PPO_FULL_STEPS, export="agents.ppo_rllib.policy:onnx_export"),
        *(LearnerSpec(name=name, config=f"agents.torchrl_marl.config:{name}_config",
                      train="agents.torchrl_marl.ppo:train", policy="agents.torchrl_marl.policy:MARLPolicy.load",
                      eval_modes=("greedy", "sampled"), quick_budget=lambda scenario: 4_800,
                      full_budget=lambda scenario: PPO_FULL_STEPS, export="agents.torchrl_marl.policy:onnx_export")
          for name in ("mappo", "ippo")),
        LearnerSpec(name="qmix", config="agents.torchrl_marl.config:QMIXConfig",
                    train="agents.torchrl_marl.qmix:train", policy="agents.torchrl_marl.policy:MARLPolicy.load",
                    quick_budget=lambda scenario: 6_000, export="agents.torchrl_marl.policy:onnx_export"),
    ),
    bound=episode_bound,
    bound_source="each scored task alone in the network: best split, earliest path to a C-Sat, no queueing",
    extra_plots=(delay_cdf,),
    leaderboard_checkpoints=leaderboard_checkpoints,
    leaderboard_runs=tuple((name, name, "iridium") for name in ("madqn", *STANDARD_RUNS)),
    calibrate=calibrate,
    quality_scenario="iridium",
    quality_targets=("full_offload", "even_split", "congestion_aware"),
    docs=DOCS,
)
