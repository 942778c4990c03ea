"""Behaviour cloning of the congestion-aware baseline on offload_routing_v3, exported as a leaderboard submission.

    python examples/submission/bc_offload_routing.py --out leaderboard/submissions/bc-congestion-aware [--seed 0]

1. Play the ``congestion_aware`` baseline on training seeds (100_000_000 upward; the evaluation seeds are far below)
   and keep every satellite's (observation, action_mask, action) row that had at least two allowed actions.
2. Fit one MLP shared by all satellites with a masked cross-entropy: the logits of disallowed actions are -inf.
3. Optionally (``--dagger-episodes``) play the learned policy, label the states it visits with the baseline,
   and refit on everything collected (DAgger).
4. Export the network to ONNX (inputs ``observation`` and ``action_mask``, output ``logits``) beside a
   ``submission.json``, then score it with ``python evaluate.py --submission DIR``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import shlex
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agents.baselines import make_offload_routing_baseline
from leo_envs import offload_routing_v3

TRAIN_SEED_BASE = 100_000_000  # evaluation seeds are 0..4000 and validation 3_000_000+: far from these


@dataclass
class Args:
    out: str = "leaderboard/submissions/bc-congestion-aware"
    """the submission folder to write (created if missing)"""
    seed: int = 0
    """seed of torch, numpy and the training episodes (episode k of run s plays env seed 100_000_000 + 10_000 s + k)"""
    scenario: str = "iridium"
    """the constellation to train on"""
    episodes: int = 12
    """baseline episodes collected for behaviour cloning"""
    dagger_episodes: int = 0
    """episodes played by the learned policy and labelled by the baseline (0: no DAgger round)"""
    epochs: int = 15
    """passes over the collected rows (the same number again after a DAgger round)"""
    batch_size: int = 512
    """rows per gradient step"""
    lr: float = 1e-3
    """Adam learning rate"""
    hidden: int = 256
    """width of the MLP's two hidden layers"""
    threads: int = 1
    """torch CPU threads"""


def field_docs(cls) -> dict[str, str]:
    """The string literal under each dataclass field, used as its --help text."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
    return {a.target.id: b.value.value for a, b in zip(body, body[1:])
            if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant)}


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    docs = field_docs(Args)
    for f in dataclasses.fields(Args):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                            help=f"{docs[f.name]} (default: {f.default})")
    return Args(**vars(parser.parse_args()))


class Policy(nn.Module):
    """Normalised observation -> MLP -> logits, -inf where the mask disallows an action."""

    def __init__(self, obs_mean: np.ndarray, obs_std: np.ndarray, n_actions: int, hidden: int):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(obs_mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(obs_std, dtype=torch.float32))
        self.net = nn.Sequential(nn.Linear(len(obs_mean), hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_actions))

    def forward(self, observation: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        logits = self.net((observation - self.mean) / self.std)
        return logits.masked_fill(~action_mask, float("-inf"))


def play(env, expert, seed: int, policy: Policy | None = None):
    """One episode on ``seed``: rows (obs, mask, expert action) with >= 2 allowed actions, the number of env steps
    and the final mean_task_cost_s. The learned ``policy`` acts if given (DAgger), else the expert does."""
    expert.reset(seed)
    env.reset(seed=seed)
    rows, steps = [], 0
    while env.agents:
        obs, mask_i8 = env.observation_arrays()
        obs, mask = obs.copy(), mask_i8.astype(bool)
        label = expert.act_arrays(obs, mask_i8)
        action = label
        if policy is not None:
            with torch.no_grad():
                action = policy(torch.from_numpy(obs), torch.from_numpy(mask)).argmax(1).numpy()
            action = np.where(mask.any(1), action, 0)
        keep = (mask.sum(1) >= 2) & mask[np.arange(len(mask)), label]
        rows.append((obs[keep], mask[keep], label[keep]))
        _, _, _, _, infos = env.step(dict(zip(env.agents, action.tolist())))
        steps += 1
    return stack(rows), steps, infos[env.possible_agents[0]]["mean_task_cost_s"]


def stack(parts: list) -> tuple:
    """Episodes' (obs, mask, label) rows as one (obs, mask, label)."""
    return tuple(np.concatenate(x) for x in zip(*parts))


def fit(policy: Policy, data, args: Args, rng: np.random.Generator) -> float:
    """Masked cross-entropy over ``args.epochs`` passes; the last epoch's training accuracy."""
    obs, mask, label = (torch.from_numpy(x) for x in data)
    optimizer = torch.optim.Adam(policy.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(len(obs)))
        total, correct = 0.0, 0
        for start in range(0, len(obs), args.batch_size):
            idx = order[start:start + args.batch_size]
            logits = policy(obs[idx], mask[idx])
            loss = nn.functional.cross_entropy(logits, label[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == label[idx]).sum())
        print(f"  epoch {epoch + 1:2d}: loss {total / len(obs):.4f}  accuracy {correct / len(obs):.4f}")
    return correct / len(obs)


def export(policy: Policy, out: Path, obs_dim: int, n_actions: int) -> Path:
    path = out / "policy.onnx"
    example = (torch.zeros(2, obs_dim), torch.ones(2, n_actions, dtype=torch.bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(policy.eval(), example, str(path), dynamo=False, opset_version=17,
                          input_names=["observation", "action_mask"], output_names=["logits"],
                          dynamic_axes={name: {0: "batch"} for name in ("observation", "action_mask", "logits")})
    return path


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    env = offload_routing_v3.parallel_env(args.scenario)
    expert = make_offload_routing_baseline("congestion_aware", env, seed=0)
    n_agents = len(env.possible_agents)
    seeds = iter(range(TRAIN_SEED_BASE + 10_000 * args.seed, TRAIN_SEED_BASE + 10_000 * (args.seed + 1)))
    t0 = time.perf_counter()

    print(f"collecting {args.episodes} congestion_aware episodes on {args.scenario}")
    data, env_steps, costs = [], 0, []
    for _ in range(args.episodes):
        rows, steps, cost = play(env, expert, next(seeds))
        data.append(rows)
        env_steps += steps
        costs.append(cost)
    print(f"  {sum(len(r[0]) for r in data)} rows, expert mean_task_cost_s {np.mean(costs):.4f}")

    obs_all = np.concatenate([r[0] for r in data])
    policy = Policy(obs_all.mean(0), obs_all.std(0) + 1e-3, env.action_space(env.possible_agents[0]).n, args.hidden)
    fit(policy, stack(data), args, rng)

    if args.dagger_episodes:
        print(f"DAgger: {args.dagger_episodes} episodes of the learned policy, labelled by the expert")
        costs = []
        for _ in range(args.dagger_episodes):
            rows, steps, cost = play(env, expert, next(seeds), policy)
            data.append(rows)
            env_steps += steps
            costs.append(cost)
        print(f"  learned policy mean_task_cost_s {np.mean(costs):.4f}; {sum(len(r[0]) for r in data)} rows in all")
        fit(policy, stack(data), args, rng)
    train_s = time.perf_counter() - t0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    obs_dim, n_actions = len(obs_all[0]), int(env.action_space(env.possible_agents[0]).n)
    path = export(policy, out, obs_dim, n_actions)
    command = shlex.join(["python", "examples/submission/bc_offload_routing.py", *sys.argv[1:]])
    manifest = {
        "name": "bc-congestion-aware",
        "authors": ["leo-envs examples"],
        "env_id": "leo_envs/OffloadRouting-v3",
        "scenarios": [args.scenario],
        "env_steps": env_steps,
        "agent_steps": env_steps * n_agents,
        "training_seeds": [args.seed],
        "library": "torch",
        "library_version": torch.__version__,
        "reproduce": command,
        "eval_mode": "greedy",
        "policy": path.name,
    }
    (out / "submission.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"trained in {train_s:.0f} s on {env_steps} env steps; wrote {path} and {out / 'submission.json'}")
    print(f"score it: python evaluate.py --submission {shlex.quote(str(out))}")


if __name__ == "__main__":
    main()
