"""leo-envs: reinforcement-learning environments for LEO satellite networks."""

__version__ = "0.1.0"
