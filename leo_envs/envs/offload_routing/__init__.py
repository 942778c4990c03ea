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
           "OffloadRoutingConfig", "OffloadRoutingEnv", "OffloadRoutingSim", "OffloadRoutingState", "Transitions",
           "make_config"]
