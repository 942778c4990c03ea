from .config import SCENARIOS, OffloadRoutingConfig, make_config
from .dynamics import OffloadRoutingSim
from .env import OffloadRoutingEnv
from .types import COMPUTE, FIRST_PORT, FIRST_RATIO, HOLD, NUM_PORTS, PORT_NAMES, Transitions

__all__ = ["COMPUTE", "FIRST_PORT", "FIRST_RATIO", "HOLD", "NUM_PORTS", "PORT_NAMES", "SCENARIOS",
           "OffloadRoutingConfig", "OffloadRoutingEnv", "OffloadRoutingSim", "Transitions", "make_config"]
