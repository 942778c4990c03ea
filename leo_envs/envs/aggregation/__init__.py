from .bound import UpperBound, upper_bound
from .config import SCENARIOS, AggregationConfig, make_config
from .dynamics import AggregationState, objective
from .env import AggregationEnv
from .generator import InstanceGenerator
from .types import GLOBAL_FEATURES, SAT_FEATURES, AggregationInstance, ObservationLayout

__all__ = ["GLOBAL_FEATURES", "SAT_FEATURES", "SCENARIOS", "AggregationConfig", "AggregationEnv",
           "AggregationInstance", "AggregationState", "InstanceGenerator", "ObservationLayout", "UpperBound",
           "make_config", "objective", "upper_bound"]
