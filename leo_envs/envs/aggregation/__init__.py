from .config import SCENARIOS, AggregationConfig, make_config
from .dynamics import AggregationState, objective
from .env import AggregationEnv
from .generator import AggregationInstance, InstanceGenerator

__all__ = ["SCENARIOS", "AggregationConfig", "AggregationEnv", "AggregationInstance", "AggregationState",
           "InstanceGenerator", "make_config", "objective"]
