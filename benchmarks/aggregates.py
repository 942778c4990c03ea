"""The leaderboard's scores aggregated per env as the field's evaluation protocol reports them (rliable: Agarwal et
al., "Deep RL at the Edge of the Statistical Precipice", NeurIPS 2021): the interquartile mean (IQM) of normalised
scores over every evaluation episode of every scenario with a bound, its 95% stratified bootstrap interval,
the probability that the leader improves on the next entries, and performance profiles.

A row's normalised score on an episode is ``(value - random) / (bound - random)``: random 0, the bound 1 (the
leaderboard's ``normalized_score`` is its mean). An agent is aggregated over the bounded scenarios it has rows on,
listed beside it (our learners were trained on one scenario); the probability of improvement compares two agents on
the scenarios they share. The bootstrap is seeded, so the same rows give the same intervals.
"""

from __future__ import annotations

import numpy as np

REPS = 2000
"""Bootstrap resamples (rliable's default)."""
SEED = 0
"""Seed of the bootstrap (rliable draws from NumPy's global generator)."""
RIVALS = 2
"""The leader's probability of improvement is reported over this many next entries."""


def normalised(row: dict, bound: dict | None, random_row: dict | None) -> np.ndarray | None:
    """A row's per-episode normalised scores (random 0, bound 1); None without a bound, a random row, or where the
    bound equals random's value."""
    if bound is None or random_row is None:
        return None
    b, rnd = np.asarray(bound["per_seed"], float), np.asarray(random_row["per_seed"], float)
    if np.any(b == rnd):
        return None
    return (np.asarray(row["per_seed"], float) - rnd) / (b - rnd)


def random_rows(rows: list[dict]) -> dict[tuple[str, str], dict]:
    """(env, scenario) -> its random baseline's row."""
    return {(r["env"], r["scenario"]): r for r in rows if r["agent"] == "random" and r["kind"] == "baseline"}


def normalised_runs(rows: list[dict], bounds: dict[str, dict]) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """env -> agent -> scenario -> per-episode normalised scores, for every scenario with a bound and a random row."""
    randoms, out = random_rows(rows), {}
    for r in rows:
        score = normalised(r, bounds.get(f"{r['env']}/{r['scenario']}"), randoms.get((r["env"], r["scenario"])))
        if score is not None:
            out.setdefault(r["env"], {}).setdefault(r["agent"], {})[r["scenario"]] = score
    return out


def _iqm(matrix: np.ndarray) -> np.ndarray:
    from rliable import metrics

    return np.array([metrics.aggregate_iqm(matrix)])


def aggregates(rows: list[dict], bounds: dict[str, dict]) -> dict[str, list[dict]]:
    """env -> entries ``{agent, kind, scenarios, runs, iqm, ci_low, ci_high}``, best IQM first."""
    from rliable import library as rly

    kinds = {(r["env"], r["agent"]): r["kind"] for r in rows}
    out = {}
    for env_name, agents in normalised_runs(rows, bounds).items():
        entries = []
        for agent, by_scenario in agents.items():
            scenarios = sorted(by_scenario)
            matrix = np.stack([by_scenario[s] for s in scenarios], axis=1)  # (episodes, scenarios)
            np.random.seed(SEED)  # noqa: NPY002 - rliable's bootstrap draws from NumPy's global generator
            point, ci = rly.get_interval_estimates({agent: matrix}, _iqm, reps=REPS)
            entries.append({"agent": agent, "kind": kinds[(env_name, agent)], "scenarios": scenarios,
                            "runs": int(matrix.size), "iqm": float(point[agent][0]),
                            "ci_low": float(ci[agent][0][0]), "ci_high": float(ci[agent][1][0])})
        out[env_name] = sorted(entries, key=lambda e: -e["iqm"])
    return out


def improvements(rows: list[dict], bounds: dict[str, dict], ranked: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """env -> ``{agent, rival, scenarios, p, ci_low, ci_high}``: the probability that the leader's score on an
    episode beats the rival's (ties count a half), over the scenarios both have, for the next ``RIVALS`` entries."""
    from rliable import library as rly
    from rliable import metrics

    runs = normalised_runs(rows, bounds)
    out = {}
    for env_name, entries in ranked.items():
        if len(entries) < 2:
            continue
        leader, pairs = entries[0]["agent"], []
        for rival in (e["agent"] for e in entries[1:1 + RIVALS]):
            shared = sorted(set(runs[env_name][leader]) & set(runs[env_name][rival]))
            x = np.stack([runs[env_name][leader][s] for s in shared], axis=1)
            y = np.stack([runs[env_name][rival][s] for s in shared], axis=1)
            np.random.seed(SEED)  # noqa: NPY002 - rliable's bootstrap draws from NumPy's global generator
            point, ci = rly.get_interval_estimates({"pair": (x, y)}, metrics.probability_of_improvement, reps=REPS)
            low, high = np.ravel(ci["pair"])
            pairs.append({"agent": leader, "rival": rival, "scenarios": shared, "p": float(point["pair"]),
                          "ci_low": float(low), "ci_high": float(high)})
        out[env_name] = pairs
    return out


def plot(rows: list[dict], bounds: dict[str, dict], ranked: dict[str, list[dict]], out_dir, top: int = 8) -> list:
    """Per env, ``leaderboard_<env>_normalised.png``: the leaders' IQM and interval on the normalised axis (left) and
    their performance profiles (right: the share of episodes scoring above tau). The paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rliable import library as rly

    runs = normalised_runs(rows, bounds)
    written = []
    for env_name, entries in ranked.items():
        leaders = entries[:top]
        fig, (bars, profile) = plt.subplots(1, 2, figsize=(11, 0.45 * len(leaders) + 1.8))
        names = [e["agent"] for e in leaders][::-1]
        iqm = np.array([e["iqm"] for e in leaders])[::-1]
        low = np.array([e["ci_low"] for e in leaders])[::-1]
        high = np.array([e["ci_high"] for e in leaders])[::-1]
        bars.errorbar(iqm, range(len(names)), xerr=[iqm - low, high - iqm], fmt="o", capsize=3)
        bars.set_yticks(range(len(names)), [f"{n} ({len(e['scenarios'])} sc.)" for n, e in
                                            zip(names, leaders[::-1])], fontsize=8)
        bars.set_xlabel("IQM of normalised score (random 0, bound 1), 95% stratified bootstrap CI")
        bars.set_title(f"{env_name}: the {len(leaders)} leaders")
        taus = np.linspace(float(low.min()) - 0.05, 1.0, 301)  # the leaders' range, finely
        scores = {e["agent"]: np.concatenate([runs[env_name][e["agent"]][s] for s in e["scenarios"]])
                  for e in leaders}
        for agent, runs_of in scores.items():  # rliable's run-score distribution: the share of runs above tau
            profile.plot(taus, [rly.run_score_deviation(runs_of, tau) for tau in taus], label=agent)
        profile.set_xlabel("normalised score tau")
        profile.set_ylabel("share of episodes scoring > tau")
        profile.set_xlim(taus[0], 1.0)
        profile.legend(fontsize=7)
        profile.set_title("performance profiles")
        fig.tight_layout()
        path = out_dir / f"leaderboard_{env_name}_normalised.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written
