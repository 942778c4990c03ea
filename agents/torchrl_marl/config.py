"""Hyper-parameters of the TorchRL MARL learners: BenchMARL 1.5.2's where they did not hurt, and otherwise what
measured best on iridium (docs/marl_harness.md lists every deviation and its measurement); one dataclass per
learner, a docstring per field."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

REWARD_MODES = ("team", "hop")


@dataclass
class MARLConfig:
    """What every TorchRL MARL learner shares: the env, the budget, the run and the networks."""

    RESUME_MAY_CHANGE: ClassVar[tuple[str, ...]] = ("steps", "torch_threads")
    """Config fields a resumed run may set differently from the run it continues (budget and resources)."""

    scenario: str = "iridium"
    """offload_routing_v3 scenario to train on"""
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
    reward_mode: str = "team"
    """the env's credit (``reward_mode``, its docstring's Rewards): "team" (every satellite gets the team's cost)
    or "hop" (each satellite pays for the work it holds and hands over; the rewards sum to the team's)"""
    reward_scale: float = 0.01
    """factor on the rewards the learner trains on (BenchMARL: none, 1.0). An iridium slot costs about 10 s
    of task time, so values are near -1000 at gamma 0.99; 0.01 brings them near -10 for the l2 losses"""
    torch_threads: int = 1
    """torch threads (the same count replays a run bit for bit)"""

    def __post_init__(self):
        if self.reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode: {self.reward_mode!r} is not one of {REWARD_MODES}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PPOConfig(MARLConfig):
    """MAPPO and IPPO: ``ClipPPOLoss`` with GAE; the critic is what tells them apart (``centralised``)."""

    centralised: bool = True
    """the critic reads the global state (MAPPO; one value for the team) or each satellite's own observation
    (IPPO; one value per satellite, parameters shared)"""
    reward_mode: str = "hop"
    """the env's credit; "hop" (BenchMARL has no such choice): on iridium, 6,000 env steps of MAPPO reached
    1.19 s on hop and 9.74 s on team, IPPO 0.81 s and 4.63 s (training episodes, docs/marl_harness.md)"""
    reward_scale: float = 0.1
    """factor on the rewards (BenchMARL: 1.0); hop rewards are per satellite, about 1/66 of the team's, so
    0.1 keeps the values in the same range as 0.01 on team (as agents.ppo_sb3)"""
    episodes_per_batch: int = 1
    """whole episodes per iteration (a log row and a snapshot); the updates come every ``rollout_frames``"""
    rollout_frames: int | None = 120
    """frames (env steps) collected per PPO update, the last piece of an episode taking what is left (None: the
    whole iteration, ``episodes_per_batch`` episodes, as BenchMARL's 6000 frames); an episode is then several
    updates, each GAE bootstrapping from the critic at its end, and snapshots are still taken between episodes.
    120 slots (as agents.ppo_sb3's 128) updates ten times an iridium episode, where BenchMARL's batch updates
    once per five"""
    minibatch_size: int = 30
    """frames (env steps, each with every satellite's row) per gradient step (BenchMARL: 400 of 6000)"""
    minibatch_iters: int = 16
    """gradient steps per update, minibatches drawn without replacement, reshuffled each pass: 4 epochs of 4
    minibatches (BenchMARL: 45 of 400 frames, 3 epochs of its 6000)"""
    clip_epsilon: float = 0.2
    """PPO's clip of the probability ratio (BenchMARL)"""
    entropy_coef: float = 0.01
    """weight of the entropy bonus (BenchMARL: none); 0.01 measured better on IPPO (docs/marl_harness.md)"""
    critic_coef: float = 1.0
    """weight of the critic's l2 loss (BenchMARL)"""
    lmbda: float = 0.95
    """GAE lambda (BenchMARL: 0.9); 0.95 measured better on IPPO (docs/marl_harness.md)"""
    normalize_advantage: bool = True
    """standardise the advantages of each minibatch (BenchMARL: no)"""
    lr: float = 3e-4
    """Adam learning rate (BenchMARL: 5e-5). On iridium, BenchMARL's settings (lr 5e-5, rewards unscaled,
    advantages as they are) left mean_task_cost_s at 6.5-7.7 s over 36k env steps; lr 3e-4 with
    ``reward_scale`` 0.01 and normalised advantages brought it from 6.5 to 3.1 s (docs/marl_harness.md)"""
    anneal_lr: bool = True
    """decay the learning rate linearly from ``lr`` to 0 over ``steps`` (CleanRL's ``anneal_lr``; BenchMARL: no).
    On iridium (seed 0, greedy, 3 evaluation episodes) MAPPO's final policy at a constant rate wandered (0.69,
    0.76, 0.77, 0.72 s at 2.4k-19.2k steps) and ended at 0.71 s at 9.6k and 19.2k with the decay; IPPO 0.71 s
    either way"""


def mappo_config(**fields) -> PPOConfig:
    return PPOConfig(**{"centralised": True, **fields})


def ippo_config(**fields) -> PPOConfig:
    return PPOConfig(**{"centralised": False, **fields})


@dataclass
class QMIXConfig(MARLConfig):
    """QMIX: per-satellite Q-values (shared network) mixed by ``QMixer`` on the global state, ``QMixerLoss``."""

    mixing_embed_dim: int = 32
    """QMixer's embedding width (BenchMARL)"""
    hidden: tuple = (64, 64)
    """hidden layers of the Q-network (BenchMARL: 256-256); QMIX does not beat random on iridium with either
    at the budgets measured (docs/marl_harness.md), and 64-64 costs less per gradient step"""
    lr: float = 5e-4
    """Adam learning rate (BenchMARL: 5e-5, which makes 3,000 gradient steps in an 18k-step budget barely move
    the Q-values)"""
    episodes_per_batch: int = 1
    """whole episodes per iteration (a log row and a snapshot)"""
    buffer_frames: int = 6_000
    """replay capacity in frames (BenchMARL keeps 1e6; one iridium frame holds 66 x 41 observations twice, so
    6k frames, five episodes, is about 0.25 GB)"""
    batch_size: int = 32
    """frames per gradient step (BenchMARL: 128)"""
    rollout_frames: int | None = 120
    """frames (env steps) collected between two rounds of ``updates_per_batch`` gradient steps, the last piece of
    an episode taking what is left (None: the whole iteration, as BenchMARL's 6000 frames); epsilon follows the
    step count from one piece to the next (with whole 6000-frame iterations it took three values in an 18k-step
    run)"""
    updates_per_batch: int = 20
    """gradient steps after each collection (BenchMARL: 1000 per 6000 frames; 20 per 120 is 1000 per 6000)"""
    eps_start: float = 0.8
    """initial epsilon of the epsilon-greedy exploration over the allowed actions (BenchMARL)"""
    eps_end: float = 0.01
    """final epsilon (BenchMARL)"""
    eps_fraction: float = 0.5
    """share of ``steps`` over which epsilon anneals linearly (BenchMARL anneals over its whole budget)"""
    polyak_tau: float = 0.005
    """soft target update rate per gradient step (BenchMARL)"""
