"""RLlib PPO hyper-parameters for offload_routing_v3 (one dataclass, a docstring per field).

Issue 29: ppo_rllib scored 8.93 s mean_task_cost_s on iridium, worse than random (7.10 s). The cause was the
scale of the rewards against RLlib's value loss clip (``reward_scale``, ``vf_clip_param``): every row's value
error was clipped, the critic got no gradient (explained variance 0.02-0.04) and PPO trained without a
baseline. Budgets count env steps (slots, ``steps``) and agent steps (env steps x satellites: 66 on iridium),
both in meta.json and progress.csv; see ``steps`` for the quick and full budgets and their wall times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar


@dataclass
class PPORLlibConfig:
    RESUME_MAY_CHANGE: ClassVar[tuple[str, ...]] = ("steps", "num_env_runners", "torch_threads", "address")
    """Config fields a resumed run may set differently from the run it continues (budget and resources)."""

    scenario: str = "iridium"
    """offload_routing_v3 scenario to train on"""
    steps: int = 19_200
    """environment steps (slots; each one step of every satellite) to train for; training stops after the
    first iteration that reaches them, so the last iteration may overshoot by less than ``train_batch``.
    An env step is 66 agent steps on iridium (meta.json and progress.csv record both).
    Quick budget (the default, ``make reproduce``): 19,200 env steps = 1,267,200 agent steps, 8 iterations.
    Full budget: 153,600 env steps = 10,137,600 agent steps, 64 iterations.
    Throughput on 2 cores (iridium, defaults): an iteration (2,400 env steps, 42-52k rows) took 14 s once
    warm, 11.8 s sampling and 2.3 s learner update (the first: 39 s, torch warm-up), with another training
    run beside it: 170 env steps/s, 11,200 agent steps/s, env-runner-bound (RLlib's per-agent episode
    bookkeeping, not the env). The committed leaderboard run did 21,600 env steps in 170.5 s (8,360 agent
    steps/s, Ray start-up included). So the quick budget trains in about 2.5-3 min and the full one in
    about 16-20 min. On a machine busy with other jobs (load 10-17) it was 3-10x slower"""
    seed: int = 0
    """seeds RLlib (networks, sampling) and picks the run's block of training env seeds
    (``agents.common.training_seed_range``), disjoint from evaluation's"""
    reward_mode: str = "hop"
    """the env's reward: "hop" gives each satellite its share of the cost of the tasks it holds plus the
    hand-over credit (the shares sum to the team reward), "team" gives every satellite the team reward
    (minus the slot's total cost). Chosen by measurement (iridium, seed 0, 12,000 env steps, the defaults
    otherwise; ``train(PPORLlibConfig(reward_mode=M, steps=12_000), out)``, then ``python evaluate.py
    offload_routing --checkpoint OUT --seeds 2``): hop 1.094 s [1.047, 1.140] greedy (1.623 s sampled),
    team 11.76 s sampled (20.0 s greedy: every task dropped); random 7.07 s, full_offload 1.31 s on the
    same seeds. Team with ``skip_idle=False`` (every satellite a row every slot, so GAE discounts per slot
    like the one-file PPO of issue 29) learns, but slower: 1.91 s greedy, 3.64 s sampled at 12,000 env
    steps (seeds 0 and 1000), on three times the rows per iteration. With ``skip_idle`` a step of a
    satellite lasts until its next decision, so under team rewards it carries every other satellite's cost
    over that gap: passing work on (and so idling longer) looks costly and the policy learned to keep it
    (drop rate 0.39 sampled, every task dropped greedy). Hop rewards charge a satellite for its own work
    only"""
    reward_scale: float = 0.1
    """the rewards RLlib sees are the env's times this, and in ``team`` mode also divided by the number of
    satellites (``agents.rllib_support.reward_factor``: both modes then have the same mean reward per
    satellite). Unscaled, a decision's discounted return was about -2300 (team) or -36 (hop) under a random
    policy on iridium, so nearly every row's value loss exceeded ``vf_clip_param`` and was clipped to a
    zero gradient: the critic never learned (explained variance 0.02) and PPO trained on returns without a
    baseline. Scaled, those returns are about -3.5 in both modes. The metrics are unchanged"""
    allow_hold: bool = False
    """whether a satellite with something to decide may hold (the env allows it); False offers hold only
    to satellites with nothing else allowed, as MADQN never chooses it: a held task or bundle only waits
    (a short trained PPO run that could hold played hold greedily and dropped every task)"""
    skip_idle: bool = True
    """only satellites with a choice (two or more allowed actions) observe and act in a slot, so RLlib
    samples and trains on their steps alone (about a fifth of iridium's 66 per slot); the others hold and
    their rewards accrue to their next decision (a semi-MDP step, discounted once; checked against RLlib's
    episodes in the tests). Right for ``hop`` (an idle satellite earns nothing), biased for ``team`` (see
    ``reward_mode``). False: every satellite every slot, the idle ones on hold-only masks (no gradient),
    three times the rows"""
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
    vf_clip_param: float = 100.0
    """RLlib clips each row's squared value error at this, and a clipped row gives the critic no gradient:
    with ``reward_scale`` the returns are a few units, so this only guards against outliers (10 on the
    unscaled rewards clipped 97-100% of the rows)"""
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
