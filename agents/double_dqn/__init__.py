from .agent import MaskedDoubleDQN, masked_argmax
from .config import DoubleDQNConfig

__all__ = ["DoubleDQNConfig", "MaskedDoubleDQN", "masked_argmax"]
