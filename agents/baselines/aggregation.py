"""Baselines for Aggregation-v2 behind the same policy interface as the routing baselines:
``act(observation) -> action``, ``reset(seed)``, and optional ``reset_options`` for ``env.reset``.

no_aggregation (everyone works), random (masked), greedy (least resulting delay among the satellites
that keep the deadline), fastest_link (greedy, ties to the fastest transmission), ant_colony (ACO over
whole assignments), q_table (MDP-QL: tabular Q-learning on a discretised state, trained by the
baseline itself) and milp_optimal (scipy.optimize.milp with
Dinkelbach's method on the env's exact delay model: the optimum the others are measured against).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from leo_envs.envs.aggregation import AggregationEnv, AggregationState, objective
from leo_envs.envs.aggregation.dynamics import MIN_DELAY_INCREMENT_S

VIOLATION_WEIGHT = 1e12  # scalar fitness: a broken deadline outweighs any EDR


def fitness(metrics: dict) -> float:
    """Scalar form of ``objective``: EDR minus a huge weight per deadline violation."""
    return float(metrics["edr_j_per_s"]) - VIOLATION_WEIGHT * metrics["deadline_violations"]


class AggregationPolicy:
    name = "aggregation_policy"
    reset_options: dict | None = None

    def __init__(self, env, seed: int | None = 0):
        self.env = env
        self.rng = np.random.default_rng(seed)

    @property
    def core(self) -> AggregationEnv:
        return self.env.unwrapped

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, observation: dict) -> int:
        raise NotImplementedError


class NoAggregationPolicy(AggregationPolicy):
    """Every satellite keeps working: the reference without energy savings or added delay."""

    name = "no_aggregation"
    reset_options = {"working_sats": "all"}

    def act(self, observation: dict) -> int:
        return 0  # nothing to reassign (the mask is empty); the single step only reports the metrics


class RandomPolicy(AggregationPolicy):
    name = "random"

    def act(self, observation: dict) -> int:
        mask = np.asarray(observation["action_mask"], bool)
        return int(self.rng.choice(np.flatnonzero(mask))) if mask.any() else 0


def greedy_choice(state: AggregationState, tie_break: str = "own_load") -> int:
    """Least-loaded valid: the satellite whose resulting max working finish time is smallest among those
    that keep the business's deadline (all valid ones if none can). Ties (common: the max is often
    another satellite's) go to the least own load, or with ``tie_break="transmission"`` to the link that
    frees the sleeping sender soonest for its next business."""
    inst = state.inst
    trial = state.trial_delays()
    if not np.isfinite(trial).any():
        return 0
    deadline = inst.deadline_s[inst.transfer[state.k]]
    keeps = np.isfinite(trial) & (state.own_trial() <= deadline)
    pool = keeps if keeps.any() else np.isfinite(trial)
    if tie_break == "transmission":
        best = np.min(trial[pool])
        tied = pool & (trial <= best + 1e-12)
        return int(np.argmin(np.where(tied, inst.send_s[state.k], np.inf)))
    score = np.where(pool, trial + 1e-9 * inst.own_load_s, np.inf)
    return int(np.argmin(score))


class GreedyPolicy(AggregationPolicy):
    name = "greedy"

    def act(self, observation: dict) -> int:
        return greedy_choice(self.core.state)


class FastestLinkPolicy(AggregationPolicy):
    """Greedy with ties broken by the fastest transmission (see ``greedy_choice``)."""

    name = "fastest_link"

    def act(self, observation: dict) -> int:
        return greedy_choice(self.core.state, tie_break="transmission")


class _PlanningPolicy(AggregationPolicy):
    """Plans the whole assignment at an episode's first step, then plays it."""

    def act(self, observation: dict) -> int:
        state = self.core.state
        if state.k == 0 or getattr(self, "_plan_for", None) is not state:
            self._plan = self.plan(state)
            self._plan_for = state
        if state.done:
            return 0
        j = int(self._plan[state.k])
        return j if j >= 0 and state.valid()[j] else greedy_choice(state)  # a plan never strays; a guard

    def plan(self, state: AggregationState) -> np.ndarray:
        raise NotImplementedError


def simulate(state: AggregationState, plan: np.ndarray) -> dict:
    """Metrics of playing ``plan`` (a satellite per business to reassign) from a copy of ``state``; a
    choice the state no longer allows ends the play there (the rest stays unassigned)."""
    st = state.clone()
    while not st.done:
        j = int(plan[st.k])
        if j < 0 or not st.valid()[j]:
            break
        st.assign(j)
    return st.metrics()


class AntColonyPolicy(_PlanningPolicy):
    """Ant colony optimisation over complete assignments (Dorigo's ant system with an elitist deposit):
    ants build assignments business by business with probability ~ pheromone^alpha x heuristic^beta,
    the heuristic being 1 / (resulting max working delay); the best ant of each round and the best so
    far deposit pheromone in proportion to their fitness rank."""

    name = "ant_colony"

    def __init__(self, env, seed: int | None = 0, ants: int = 12, rounds: int = 20, alpha: float = 1.0,
                 beta: float = 2.0, evaporation: float = 0.3):
        super().__init__(env, seed)
        self.ants, self.rounds, self.alpha, self.beta, self.evaporation = ants, rounds, alpha, beta, evaporation

    def plan(self, state: AggregationState) -> np.ndarray:
        inst = state.inst
        k_total, m = inst.num_transfers, inst.num_sats
        tau = np.ones((k_total, m))
        best_plan, best_fit = None, -np.inf
        for _ in range(self.rounds):
            round_best, round_fit = None, -np.inf
            for _ in range(self.ants):
                st = state.clone()
                plan = np.zeros(k_total, dtype=np.int64)
                plan[:] = -1
                while not st.done:
                    k = st.k
                    trial = st.trial_delays()
                    ok = np.isfinite(trial)
                    eta = np.where(ok, 1.0 / np.maximum(trial, 1e-6), 0.0)
                    w = np.where(ok, tau[k] ** self.alpha * eta**self.beta, 0.0)
                    j = int(self.rng.choice(m, p=w / w.sum()))
                    plan[k] = j
                    st.assign(j)
                f = fitness(st.metrics())
                if f > round_fit:
                    round_best, round_fit = plan, f
            if round_fit > best_fit:
                best_plan, best_fit = round_best, round_fit
            tau *= 1.0 - self.evaporation
            for p, amount in ((round_best, 1.0), (best_plan, 1.0)):
                placed = p >= 0  # businesses left stranded deposit nothing
                tau[np.flatnonzero(placed), p[placed]] += amount
        return best_plan


class QTablePolicy(AggregationPolicy):
    """MDP-QL: tabular Q-learning. State = (share of businesses left, delay added so far, current
    business's deadline slack), each in a few bins; actions = satellites (masked). ``fit`` trains it on
    instances drawn from the env's own scenario (the baseline trains itself; ``act`` trains lazily)."""

    name = "q_table"
    BINS = 4

    def __init__(self, env, seed: int | None = 0, episodes: int = 300, alpha: float = 0.2, gamma: float = 0.99,
                 epsilon_decay: float = 0.99):
        super().__init__(env, seed)
        self.episodes, self.alpha, self.gamma, self.epsilon_decay = episodes, alpha, gamma, epsilon_decay
        m = self.core.m
        self.q = np.zeros((self.BINS,) * 3 + (m,))
        self.trained = False

    def _state(self, obs: np.ndarray) -> tuple[int, int, int]:
        col = self.core.layout.glob
        left = obs[col("left")]
        added = max(obs[col("t_after")] - obs[col("t_before")], 0.0)  # in units of deadline_max_s
        slack = obs[col("deadline")] - obs[col("t_after")]
        b = self.BINS - 1
        return (min(int(left * self.BINS), b), min(int(added * 10 * self.BINS), b),
                int(np.clip((slack + 0.5) * self.BINS, 0, b)))

    def _greedy(self, s, mask) -> int:
        q = np.where(mask, self.q[s], -np.inf)
        return int(np.argmax(q))

    def fit(self, seed: int = 12345) -> QTablePolicy:
        train_env = AggregationEnv(self.core.config)
        epsilon = 1.0
        for ep in range(self.episodes):
            obs, _ = train_env.reset(seed=seed + ep)
            done = False
            while not done and obs["action_mask"].any():
                s = self._state(obs["observation"])
                mask = obs["action_mask"].astype(bool)
                if self.rng.random() < epsilon:
                    a = int(self.rng.choice(np.flatnonzero(mask)))
                else:
                    a = self._greedy(s, mask)
                obs, r, terminated, truncated, _ = train_env.step(a)
                done = terminated or truncated
                target = r
                if not done:
                    s2 = self._state(obs["observation"])
                    nmask = obs["action_mask"].astype(bool)
                    target += self.gamma * np.max(np.where(nmask, self.q[s2], -np.inf))
                self.q[s + (a,)] += self.alpha * (target - self.q[s + (a,)])
            epsilon = max(0.05, epsilon * self.epsilon_decay)
        self.trained = True
        return self

    def act(self, observation: dict) -> int:
        if not self.trained:
            self.fit()
        mask = np.asarray(observation["action_mask"], bool)
        if not mask.any():
            return 0
        return self._greedy(self._state(observation["observation"]), mask)


class MilpOptimalPolicy(_PlanningPolicy):
    """The exact optimum of an instance: deadlines first (fewest violations), then the best EDR, by
    Dinkelbach's method (max N(x) - lambda D(x) repeatedly) with every subproblem a MILP solved by
    scipy.optimize.milp (HiGHS). Instances up to ``max_businesses`` reassignments."""

    name = "milp_optimal"

    def __init__(self, env, seed: int | None = 0, max_businesses: int = 40, max_rounds: int = 30):
        super().__init__(env, seed)
        self.max_businesses, self.max_rounds = max_businesses, max_rounds
        self.last_solve = {}

    def plan(self, state: AggregationState) -> np.ndarray:
        inst = state.inst
        k_total = inst.num_transfers
        if k_total > self.max_businesses:
            raise ValueError(f"max_businesses: this instance reassigns {k_total} businesses; milp_optimal "
                             f"handles at most {self.max_businesses} (raise it or use a smaller scenario)")
        model = _MilpModel(state)
        v_best = model.solve_violations()
        plan = model.solve_edr(v_best, self.max_rounds, start=np.array([greedy_plan(state)]))
        self.last_solve = model.info
        return plan


def greedy_plan(state: AggregationState) -> np.ndarray:
    """The greedy choice for every business to reassign (-1 for those left stranded)."""
    st = state.clone()
    out = np.full(state.inst.num_transfers, -1, dtype=np.int64)
    while not st.done:
        j = greedy_choice(st)
        out[st.k] = j
        st.assign(j)
    return out


class _MilpModel:
    """Variables: x[k, j] (reachable pairs), T[j] (working satellites), D (delay increment, >= 1 ms) and
    v[k] (deadline broken). Delay, capacity and energy model of ``leo_envs.envs.aggregation.dynamics``
    (exact when every business has a route; one without stays unassigned, as in the env)."""

    def __init__(self, state: AggregationState):
        inst = self.inst = state.inst
        self.state = state
        k_total = inst.num_transfers
        self.pairs = np.argwhere(inst.link)  # (P, 2): k, j
        self.work = np.flatnonzero(inst.working)
        self.nx, self.nt = len(self.pairs), len(self.work)
        self.ix_t = {j: self.nx + i for i, j in enumerate(self.work)}
        self.ix_d = self.nx + self.nt
        self.ix_v = self.ix_d + 1
        self.n = self.ix_v + k_total
        sender = inst.sender
        kk, jj = self.pairs[:, 0], self.pairs[:, 1]
        comp = inst.comp_s[inst.transfer]
        bits = inst.bits[inst.transfer]
        big = (inst.own_load_s.max() + (inst.tx_s.max(axis=1) + inst.prop_s.max(axis=1)).sum()
               + comp.sum() + inst.deadline_s.max() + 1.0)
        routed = np.unique(kk)
        lo, hi = [], []
        a = lil_matrix((len(routed) + 2 * self.nt + 2 * self.nx, self.n))
        r = 0
        for k in routed:  # each business with a route goes to exactly one satellite
            a[r, np.flatnonzero(kk == k)] = 1.0
            lo.append(1.0), hi.append(1.0)
            r += 1
        for j in self.work:
            sel = np.flatnonzero(jj == j)
            # T_j >= own_j + batch compute
            a[r, self.ix_t[j]] = 1.0
            a[r, sel] = -comp[kk[sel]]
            lo.append(inst.own_load_s[j]), hi.append(np.inf)
            r += 1
            # capacity: what it receives fits in C_max - own volume
            a[r, sel] = bits[kk[sel]]
            lo.append(-np.inf), hi.append(max(inst.capacity_bits - inst.volume_bits[j], 0.0))
            r += 1
        for p, (k, j) in enumerate(self.pairs):
            # T_j >= arrival_k + batch compute of j  when x_kj = 1 (arrival: the sender's earlier first hops)
            a[r, self.ix_t[j]] = 1.0
            sel = np.flatnonzero(jj == j)
            a[r, sel] = -comp[kk[sel]]
            earlier = np.flatnonzero((sender[kk] == sender[k]) & (kk < k))
            for q in earlier:
                a[r, q] -= inst.send_s[kk[q], jj[q]]
            a[r, p] -= big
            lo.append(inst.tx_s[k, j] + inst.prop_s[k, j] - big), hi.append(np.inf)
            r += 1
            # deadline: T_j <= deadline_k unless x_kj = 0 or v_k = 1
            a[r, self.ix_t[j]] = 1.0
            a[r, p] += big
            a[r, self.ix_v + k] = -big
            lo.append(-np.inf), hi.append(inst.deadline_s[inst.transfer[k]] + big)
            r += 1
        self.a_base = a.tocsr()[:r]
        self.lo, self.hi = np.array(lo), np.array(hi)
        # D >= T_j - T_before for every working satellite
        dt = lil_matrix((self.nt, self.n))
        for i, j in enumerate(self.work):
            dt[i, self.ix_d] = 1.0
            dt[i, self.ix_t[j]] = -1.0
        self.a_delay = dt.tocsr()
        # energy a pair costs: transfer + extra compute + the sleep its sender loses while sending
        sleep_rate = inst.power.p_idle_w - inst.power.p_sleep_w
        self.pair_cost_j = (inst.transfer_energy_j[kk, jj] + inst.extra_comp_j[kk, jj]
                            + sleep_rate * inst.send_s[kk, jj])
        self.own_violations = state.own_violations() + int(k_total - len(routed))
        self.info = {"rounds": 0}

    def _solve(self, c, extra=None):
        cons = [LinearConstraint(self.a_base, self.lo, self.hi),
                LinearConstraint(self.a_delay, -self.inst.t_before_s, np.inf)]
        if extra is not None:
            cons.append(extra)
        integrality = np.zeros(self.n)
        integrality[: self.nx] = 1
        integrality[self.ix_v:] = 1
        lb = np.zeros(self.n)
        ub = np.full(self.n, np.inf)
        ub[: self.nx] = 1
        ub[self.ix_v:] = 1
        lb[self.ix_d] = MIN_DELAY_INCREMENT_S
        res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub))
        if not res.success:
            raise RuntimeError(f"milp_optimal: HiGHS failed: {res.message}")
        return res.x

    def _plan_of(self, x) -> np.ndarray:
        plan = np.full(self.inst.num_transfers, -1, dtype=np.int64)
        chosen = x[: self.nx] > 0.5
        plan[self.pairs[chosen, 0]] = self.pairs[chosen, 1]
        return plan

    def solve_violations(self) -> int:
        c = np.zeros(self.n)
        c[self.ix_v:] = 1.0
        c[self.ix_d] = 1e-9  # keeps D tight
        x = self._solve(c)
        return int(round(x[self.ix_v:].sum()))

    def solve_edr(self, v_max: int, max_rounds: int, start: np.ndarray) -> np.ndarray:
        """Dinkelbach: lambda <- N(x)/D(x) until max N - lambda D reaches 0 (N: net energy, D: delay
        increment >= 1 ms; N is a constant minus the pair costs)."""
        row = np.zeros(self.n)
        row[self.ix_v:] = 1.0
        cap = LinearConstraint(row[None, :], -np.inf, v_max)
        best_plan, best = None, None
        for plan in start:
            m = simulate(self.state, plan)
            if m["deadline_violations"] - self.own_violations <= v_max and (best is None or objective(m) > best):
                best_plan, best = plan, objective(m)
        # lambda >= 0: with a negative ratio the subproblem would reward delay, which the model cannot bound
        lam = max(best[1], 0.0) if best is not None else 0.0
        for rnd in range(max_rounds):
            c = np.zeros(self.n)
            c[: self.nx] = self.pair_cost_j  # minimise pair costs + lambda D  ==  maximise N - lambda D
            c[self.ix_d] = lam
            x = self._solve(c, cap)
            plan = self._plan_of(x)
            m = simulate(self.state, plan)
            self.info = {"rounds": rnd + 1, "lambda": lam}
            if best is None or objective(m) > best:
                best_plan, best = plan, objective(m)
            n_val, d_val = m["net_energy_saved_j"], max(m["delay_increment_s"], MIN_DELAY_INCREMENT_S)
            if abs(n_val - lam * d_val) <= 1e-9 * max(1.0, abs(n_val)) or n_val / d_val <= lam:
                break
            lam = max(n_val / d_val, 0.0)
        return best_plan


AGGREGATION_BASELINES = ("no_aggregation", "random", "greedy", "fastest_link", "ant_colony", "q_table",
                         "milp_optimal")


def make_aggregation_baseline(name: str, env, seed: int | None = 0, **kwargs) -> AggregationPolicy:
    classes = {"no_aggregation": NoAggregationPolicy, "random": RandomPolicy, "greedy": GreedyPolicy,
               "fastest_link": FastestLinkPolicy, "ant_colony": AntColonyPolicy, "q_table": QTablePolicy,
               "milp_optimal": MilpOptimalPolicy}
    if name not in classes:
        raise ValueError(f"baseline: {name!r} is not one of {AGGREGATION_BASELINES}")
    return classes[name](env, seed, **kwargs)
