"""stable-baselines3 callbacks that report the envs' end-of-episode metrics while a model trains.

``EpisodeMetrics`` reads the info of a vector slot at the step its episode ended (``dones[i]``), so it works
whether an env puts its metrics into the last step's info only or into every step's (``metrics_final``
True at the last; an info that says False is skipped). SuperSuit's own vector env merges the next episode's
reset info over the done step's: use ``agents.supersuit_sb3.make_sb3_vec_env``, which keeps the last
step's. Parameter sharing through SuperSuit makes every agent of one env a slot: pass
``slots_per_episode=len(env.possible_agents)`` to report each env episode once (from its first agent's slot,
which carries the team metrics); a plain vector env of single-agent envs keeps the default 1.
"""

from __future__ import annotations

import time

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

# the printed metrics per env, headline first; the first key present in an info picks the env
REPORTS = {
    "offload_routing": ("mean_task_cost_s", "completion_rate", "drop_rate"),
    "aggregation": ("edr_j_per_s", "energy_reduction", "deadline_violations"),
}
COUNTERS = ("masked_actions_total", "masked_actions")  # the episode's masked actions, by env


class EpisodeMetrics(BaseCallback):
    """Prints one line per finished episode: agent-steps so far, the domain metrics (``REPORTS``), masked
    actions and wall time; keeps every row in ``rows`` (dicts, for CSV or tests)."""

    def __init__(self, slots_per_episode: int = 1, prefix: str = "train", verbose: int = 1):
        super().__init__(verbose)
        if slots_per_episode < 1:
            raise ValueError(f"slots_per_episode must be >= 1, not {slots_per_episode}")
        self.slots_per_episode = slots_per_episode
        self.prefix = prefix
        self.rows: list[dict] = []
        self.t0 = time.perf_counter()

    def _on_training_start(self) -> None:
        self.t0 = time.perf_counter()

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        infos = self.locals["infos"]
        for i in np.flatnonzero(dones).tolist():
            if i % self.slots_per_episode == 0:
                self._report(infos[i])
        return True

    def _report(self, info: dict) -> None:
        keys = next((keys for keys in REPORTS.values() if keys[0] in info), None)
        if keys is None or info.get("metrics_final") is False:  # no metrics, or running values only
            return
        row = {"agent_steps": self.num_timesteps, **{k: info[k] for k in keys if k in info}}
        row["masked_actions"] = next((int(info[k]) for k in COUNTERS if k in info), 0)
        row["wall_s"] = time.perf_counter() - self.t0
        self.rows.append(row)
        for key, value in row.items():
            if key != "agent_steps":
                self.logger.record_mean(f"episode/{key}", value)
        if self.verbose:
            metrics = "  ".join(f"{k} {row[k]:6.3f}" for k in keys if k in row)
            print(f"{self.prefix}  agent-steps {row['agent_steps']:>9,d}  {metrics}  "
                  f"masked {row['masked_actions']:>6d}  {row['wall_s']:5.0f} s", flush=True)
