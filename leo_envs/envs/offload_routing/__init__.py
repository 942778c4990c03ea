from .bound import LowerBound, lower_bound
from .config import SCENARIOS, OffloadRoutingConfig, make_config
from .dynamics import OffloadRoutingSim
from .env import OffloadRoutingEnv
from .types import (
    COMPUTE,
    FIRST_PORT,
    FIRST_RATIO,
    HOLD,
    NUM_PORTS,
    OBS,
    PORT_NAMES,
    OffloadRoutingState,
    Transitions,
)

__all__ = ["COMPUTE", "FIRST_PORT", "FIRST_RATIO", "HOLD", "NUM_PORTS", "OBS", "PORT_NAMES", "SCENARIOS",
           "LowerBound", "OffloadRoutingConfig", "OffloadRoutingEnv", "OffloadRoutingSim", "OffloadRoutingState",
           "Transitions", "lower_bound", "make_config"]
