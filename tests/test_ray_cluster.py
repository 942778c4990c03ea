"""RLlib across machines: a Ray cluster of two nodes on this machine (a head and one added node, one CPU each),
the RLlib example run against it with ``--address`` for one training iteration, then shut down. Two env
runners of one CPU each cannot share a one-CPU node, so they sample on both nodes; each crosses an episode
end of tiny offload_routing (220 slots, past one TTL so the headline metric is scored), and the callback's
domain metrics arrive in the results."""

import contextlib
import io

import pytest

pytest.importorskip("ray.rllib", reason="Ray RLlib is the optional extra: pip install 'leo-envs[rllib]'")


@pytest.fixture(scope="module")
def cluster_run():
    from ray.cluster_utils import Cluster

    from examples.rllib_offload_routing import main

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    out = io.StringIO()
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            # 600 env steps, 300 a runner: one episode of 220 ends and the next is under way
            result = main(["--address", cluster.address, "--scenario", "tiny", "--max-cycles", "220",
                           "--iterations", "1", "--env-runners", "2", "--train-batch", "600"])
    finally:
        cluster.shutdown()
    return result, out.getvalue()


def test_example_trains_one_iteration_with_env_runners_on_both_nodes(cluster_run):
    result, out = cluster_run
    assert result["training_iteration"] == 1
    assert len(result["env_runner_node_ids"]) == 2
    assert len(set(result["env_runner_node_ids"])) == 2  # one env runner on each node
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 600
    assert "2 env runners on 2 Ray node(s)" in out
    assert "DeprecationWarning" not in out  # ours and, for what reaches the driver, the env runners'


def test_callback_puts_the_domain_metrics_of_two_episode_ends_into_the_results(cluster_run):
    result, out = cluster_run
    runners = result["env_runners"]
    assert runners["num_episodes_lifetime"] >= 2  # each env runner finished an episode and went on
    assert runners["episode_len_mean"] == 220
    assert runners["mean_task_cost_s"] > 0.0
    assert runners["mean_delay_s"] > 0.0
    for key in ("completion_rate", "drop_rate"):
        assert 0.0 <= runners[key] <= 1.0
    assert runners["completion_rate"] + runners["drop_rate"] <= 1.0
    line = next(s for s in out.splitlines() if s.startswith("iteration 1"))
    assert f"mean_task_cost_s {runners['mean_task_cost_s']:.3f}" in line
