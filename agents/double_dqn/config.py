"""Double DQN hyper-parameters for Aggregation-v2 (the paper's Table 2 where it gives them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class DoubleDQNConfig:
    scenario: str = "medium_traffic"
    """Aggregation-v2 scenario to train on"""
    episodes: int = 500
    """training episodes (the paper: 500); --steps overrides with a step budget"""
    steps: int | None = None
    """environment steps to train for (None: ``episodes`` times the scenario's mean episode length)"""
    seed: int = 0
    """seeds the env, exploration and the network"""
    lr: float = 1e-3
    """Adam learning rate (the paper: 0.001)"""
    gamma: float = 0.99
    """discount of the per-instance fine-tuning (the paper: 0.99)"""
    pretrain_gamma: float = 0.0
    """discount while training across instances: 0 learns what each step's assignment does to log EDR,
    which carries over between instances (at 0.99 the greedy policy did worse on 30 held-out
    medium-traffic instances: EDR 8.97e6 against 1.00e7 J/s)"""
    epsilon_decay: float = 0.995
    """epsilon <- epsilon_decay ** episodes (the paper: 0.995)"""
    epsilon_min: float = 0.05
    """floor of epsilon"""
    hidden: int = 128
    """width of the two hidden layers"""
    batch_size: int = 64
    """transitions per gradient step"""
    buffer_size: int = 50_000
    """replay capacity"""
    learning_starts: int = 500
    """steps before the first update"""
    train_freq: int = 1
    """environment steps between gradient steps"""
    target_update_interval: int = 500
    """environment steps between target-network copies"""
    instance_episodes: int = 150
    """the paper's protocol: before acting on an instance, fine-tune a copy of the trained network on it for
    this many episodes and play the best assignment found (the paper trains 500 per instance); 0: the
    trained network acts greedily, one pass, no search"""
    instance_epsilon: float = 0.3
    """epsilon at the start of fine-tuning (then times epsilon_decay per episode)"""
    input_stats_episodes: int = 30
    """random (masked) episodes whose observations set the network's input standardisation"""
    validate_every: int = 25
    """every this many episodes the greedy policy plays ``validation_instances`` fixed validation instances
    (env seeds apart from training's and evaluate.py's); model.pt keeps the weights with the best mean
    EDR (0: no validation, model.pt is the last weights)"""
    validation_instances: int = 10
    """instances of each validation"""
    checkpoint_every: int = 5_000
    """steps between checkpoints (written at the next episode end)"""

    def to_dict(self) -> dict:
        return asdict(self)
