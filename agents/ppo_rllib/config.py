"""RLlib PPO hyper-parameters for offload_routing_v2 (one dataclass, a docstring per field)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar


@dataclass
class PPORLlibConfig:
    RESUME_MAY_CHANGE: ClassVar[tuple[str, ...]] = ("steps", "num_env_runners", "torch_threads", "address")
    """Config fields a resumed run may set differently from the run it continues (budget and resources)."""

    scenario: str = "iridium"
    """offload_routing_v2 scenario to train on"""
    steps: int = 20_000
    """environment steps (slots; each one step of every satellite) to train for; training stops after the
    first iteration that reaches them, so the last iteration may overshoot by less than ``train_batch``"""
    seed: int = 0
    """seeds RLlib (networks, sampling) and picks the run's block of training env seeds
    (``agents.common.training_seed_range``), disjoint from evaluation's"""
    reward_mode: str = "hop"
    """the env's reward: "hop" gives each satellite its share of the cost of the tasks it holds (per-agent
    credit for the shared policy; the shares sum to the team reward), "team" gives every satellite the team
    reward"""
    allow_hold: bool = False
    """whether a satellite with something to decide may hold (the env allows it); False offers hold only
    to satellites with nothing else allowed, as MADQN never chooses it: a held task or bundle only waits
    (a short trained PPO run that could hold played hold greedily and dropped every task)"""
    skip_idle: bool = True
    """only satellites with a choice (two or more allowed actions) observe and act in a slot, so RLlib
    samples and trains on their steps alone (about a fifth of iridium's 66 per slot); the others hold and
    their rewards accrue to their next decision (a semi-MDP step, discounted once). False: every satellite
    every slot, the idle ones on hold-only masks"""
    max_cycles: int | None = None
    """episode length in slots (None: the scenario's, 1200 on iridium)"""
    train_batch: int = 2_400
    """env steps sampled per training iteration, split evenly over the env runners (2 x 1200: one iridium
    episode each); each holds one row per observing satellite (``skip_idle``)"""
    minibatch_size: int = 2_048
    """agent steps (rows) per gradient step; RLlib requires it to be at most ``train_batch``"""
    num_epochs: int = 4
    """passes over each iteration's batch"""
    lr: float = 3e-4
    """Adam learning rate"""
    gamma: float = 0.99
    """discount per slot (0.05 s on iridium: a horizon of about 5 s, a task's TTL is 10 s)"""
    lambda_: float = 0.95
    """GAE lambda"""
    clip_param: float = 0.2
    """PPO's clip of the probability ratio"""
    entropy_coeff: float = 0.01
    """weight of the entropy bonus"""
    vf_loss_coeff: float = 0.5
    """weight of the value loss"""
    vf_clip_param: float = 10.0
    """clip of the value loss (in the reward's units: seconds of task cost)"""
    grad_clip: float = 0.5
    """global gradient norm clip"""
    hidden: tuple = (128, 128)
    """hidden layers of the encoder (tanh); the policy and value heads are linear on top of it, each with
    its own encoder (RLlib's default PPO module with ``vf_share_layers=False``)"""
    num_env_runners: int = 2
    """Ray actors sampling the env (one CPU each); 2 fits a 2-core machine, where the learner runs in the
    driver while the env runners wait"""
    torch_threads: int = 2
    """torch threads of the learner in the driver (the env runners are idle while it updates)"""
    address: str | None = None
    """address of a running Ray cluster (e.g. "HEAD_IP:6379"); None starts a fresh local Ray
    (``ray.init(address="local")``) with one CPU per env runner"""

    def to_dict(self) -> dict:
        return asdict(self)
