"""The episode-metrics callbacks on hand-made episode ends (no Ray cluster, no training): they read the last
step's info, skip running values (``metrics_final`` False) and the unscored headline placeholder.
The RLlib callback in real training: tests/test_ray_cluster.py."""

from types import SimpleNamespace

import pytest

FINAL = {"mean_task_cost_s": 2.5, "mean_delay_s": 1.5, "completion_rate": 0.8, "drop_rate": 0.1,
         "scored_tasks": 40, "masked_actions_total": 3, "metrics_final": True, "t_s": 799.0}


def test_rllib_callback_logs_the_last_steps_metrics_of_a_multi_agent_episode():
    pytest.importorskip("ray.rllib", reason="Ray RLlib is the optional extra: pip install 'leo-envs[rllib]'")
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
    from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

    from agents.rllib_support import EpisodeMetricsCallback

    agents = ("sat_0", "sat_1")
    running = {**FINAL, "mean_task_cost_s": 9.0, "completion_rate": 0.1, "metrics_final": False}
    logger = MetricsLogger()
    for final in (FINAL, {**FINAL, "completion_rate": 0.6}):
        episode = MultiAgentEpisode()
        episode.add_env_reset(observations=dict.fromkeys(agents, 0), infos=dict.fromkeys(agents, running))
        episode.add_env_step(dict.fromkeys(agents, 1), dict.fromkeys(agents, 0), dict.fromkeys(agents, -1.0),
                             dict.fromkeys(agents, final), truncateds={"__all__": True, **dict.fromkeys(agents, True)})
        EpisodeMetricsCallback().on_episode_end(episode=episode, metrics_logger=logger, env_index=0)
    assert logger.peek("mean_task_cost_s") == pytest.approx(2.5)
    assert logger.peek("completion_rate") == pytest.approx(0.7)  # the mean over the two episode ends
    assert logger.peek("masked_actions_total") == pytest.approx(3.0)
    # the episode metrics only: not t_s, scored_tasks or the flag
    assert set(logger.peek()) == {"mean_task_cost_s", "mean_delay_s", "completion_rate", "drop_rate",
                                  "masked_actions_total"}


def test_rllib_metrics_skip_running_values_and_the_unscored_headline():
    pytest.importorskip("ray.rllib", reason="Ray RLlib is the optional extra: pip install 'leo-envs[rllib]'")
    from agents.rllib_support import episode_metrics

    assert episode_metrics({**FINAL, "metrics_final": False}) == {}
    unscored = episode_metrics({**FINAL, "mean_task_cost_s": 0.0, "scored_tasks": 0})
    assert "mean_task_cost_s" not in unscored and unscored["completion_rate"] == 0.8
    # Aggregation's final info (no flag: metrics only at the last step)
    assert episode_metrics({"edr_j_per_s": 12.0, "energy_reduction": 0.3, "deadline_violations": 0}) == {
        "edr_j_per_s": 12.0, "energy_reduction": 0.3, "deadline_violations": 0.0}


def test_sb3_callback_reports_each_env_episode_once_from_its_done_step(capsys):
    pytest.importorskip("stable_baselines3")
    import numpy as np
    from stable_baselines3.common.logger import configure

    from agents.sb3_callbacks import EpisodeMetrics

    callback = EpisodeMetrics(slots_per_episode=3)
    callback.model = SimpleNamespace(num_timesteps=600, logger=configure(None, []))
    running = {**FINAL, "metrics_final": False}
    # two copies of a three-agent env: the first copy's episode ends, the second is still running
    callback.update_locals({"dones": np.array([True, True, True, False, False, False]),
                            "infos": [FINAL] * 3 + [running] * 3})
    callback.on_step()
    callback.update_locals({"dones": np.array([False, False, False, True, True, True]),
                            "infos": [running] * 6})  # running values at a done step: not reported
    callback.on_step()
    assert len(callback.rows) == 1
    row = callback.rows[0]
    assert row["mean_task_cost_s"] == 2.5 and row["drop_rate"] == 0.1 and row["masked_actions"] == 3
    assert capsys.readouterr().out.count("train  agent-steps") == 1
