"""Learners and baselines for the leo-envs environments. torch and stable-baselines3 live here only."""
