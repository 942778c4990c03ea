from .agent import MADQNAgent, MADQNPolicy
from .config import MADQNConfig

__all__ = ["MADQNAgent", "MADQNConfig", "MADQNPolicy"]
