"""Hyper-parameters of the TorchRL MARL learners: BenchMARL 1.5.2's, but for the reward scale and, for the PPO
learners, the learning rate and advantage normalisation (measured in docs/marl_harness.md); one dataclass per
learner, a docstring per field."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar


@dataclass
class MARLConfig:
    """What every TorchRL MARL learner shares: the env, the budget, the run and the networks."""

    RESUME_MAY_CHANGE: ClassVar[tuple[str, ...]] = ("steps", "torch_threads")
    """Config fields a resumed run may set differently from the run it continues (budget and resources)."""

    scenario: str = "iridium"
    """offload_routing_v2 scenario to train on"""
    steps: int = 60_000
    """environment steps (slots; each one step of every satellite, so ``steps x satellites`` agent-steps) to
    train for; training stops after the first iteration that reaches them (whole iterations of
    ``episodes_per_batch`` episodes)"""
    seed: int = 0
    """seeds torch (networks, sampling, minibatches) and picks the run's block of training env seeds
    (``agents.common.training_seed_range``), disjoint from evaluation's"""
    max_cycles: int | None = None
    """episode length in slots (None: the scenario's, 1200 on iridium)"""
    episodes_per_batch: int = 5
    """whole episodes collected per iteration (BenchMARL's 6000 frames per batch = 5 iridium episodes); an
    iteration always starts with a fresh episode, so a checkpoint at its end resumes bit for bit"""
    allow_hold: bool = False
    """whether a satellite with something to decide may hold (the env allows it); False offers hold only to
    satellites with nothing else allowed (as agents.ppo_rllib: a held task only waits)"""
    hidden: tuple = (256, 256)
    """hidden layers of every MLP (tanh), BenchMARL's default"""
    lr: float = 5e-5
    """Adam learning rate (BenchMARL)"""
    adam_eps: float = 1e-6
    """Adam epsilon (BenchMARL)"""
    max_grad_norm: float = 5.0
    """global gradient norm clip (BenchMARL's clip_grad_val)"""
    gamma: float = 0.99
    """discount per slot (0.05 s on iridium: a horizon of about 5 s; a task's TTL is 10 s)"""
    reward_scale: float = 0.01
    """factor on the team reward the learner trains on (BenchMARL: none, 1.0). An iridium slot costs about 10 s
    of task time, so values are near -1000 at gamma 0.99; 0.01 brings them near -10 for the l2 losses"""
    torch_threads: int = 1
    """torch threads (the same count replays a run bit for bit)"""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PPOConfig(MARLConfig):
    """MAPPO and IPPO: ``ClipPPOLoss`` with GAE; the critic is what tells them apart (``centralised``)."""

    centralised: bool = True
    """the critic reads the global state (MAPPO; one value for the team) or each satellite's own observation
    (IPPO; one value per satellite, parameters shared)"""
    minibatch_size: int = 400
    """frames (env steps, each with every satellite's row) per gradient step (BenchMARL)"""
    minibatch_iters: int = 45
    """gradient steps per iteration, minibatches drawn without replacement, reshuffled each pass (BenchMARL)"""
    clip_epsilon: float = 0.2
    """PPO's clip of the probability ratio (BenchMARL)"""
    entropy_coef: float = 0.0
    """weight of the entropy bonus (BenchMARL: none)"""
    critic_coef: float = 1.0
    """weight of the critic's l2 loss (BenchMARL)"""
    lmbda: float = 0.9
    """GAE lambda (BenchMARL)"""
    normalize_advantage: bool = True
    """standardise the advantages of each minibatch (BenchMARL: no)"""
    lr: float = 3e-4
    """Adam learning rate (BenchMARL: 5e-5). On iridium, BenchMARL's settings (lr 5e-5, rewards unscaled,
    advantages as they are) left mean_task_cost_s at 6.5-7.7 s over 36k env steps; lr 3e-4 with
    ``reward_scale`` 0.01 and normalised advantages brought it from 6.5 to 3.1 s (docs/marl_harness.md)"""


def mappo_config(**fields) -> PPOConfig:
    return PPOConfig(**{"centralised": True, **fields})


def ippo_config(**fields) -> PPOConfig:
    return PPOConfig(**{"centralised": False, **fields})


@dataclass
class QMIXConfig(MARLConfig):
    """QMIX: per-satellite Q-values (shared network) mixed by ``QMixer`` on the global state, ``QMixerLoss``."""

    mixing_embed_dim: int = 32
    """QMixer's embedding width (BenchMARL)"""
    buffer_frames: int = 12_000
    """replay capacity in frames (BenchMARL keeps 1e6; one iridium frame holds 66 x 41 observations twice, so
    12k frames is about 0.5 GB)"""
    batch_size: int = 128
    """frames per gradient step (BenchMARL)"""
    updates_per_batch: int = 1000
    """gradient steps per iteration (BenchMARL's off_policy_n_optimizer_steps)"""
    eps_start: float = 0.8
    """initial epsilon of the epsilon-greedy exploration over the allowed actions (BenchMARL)"""
    eps_end: float = 0.01
    """final epsilon (BenchMARL)"""
    eps_fraction: float = 0.5
    """share of ``steps`` over which epsilon anneals linearly (BenchMARL anneals over its whole budget)"""
    polyak_tau: float = 0.005
    """soft target update rate per gradient step (BenchMARL)"""
