"""Settings for the whole test session. ``make test`` runs pytest on both cores (pytest-xdist, ``-n 2 --dist
loadgroup``); the tests that start Ray share one worker, so two Ray clusters never start side by side."""

import pytest

RAY_MODULES = {"test_ppo_rllib.py", "test_ray_cluster.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in RAY_MODULES or "rllib" in item.name:
            item.add_marker(pytest.mark.xdist_group("ray"))
