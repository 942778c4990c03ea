"""Every bad input to the two environments is a ValueError that names the field (issue 16): config
overrides, scenarios, actions (dicts, scalars and the array API), reset options and calls before reset.
Property-based: random field x random bad value, random non-integer or out-of-range actions; valid
values inside the ranges and valid masked actions of every integer type pass."""

import math
import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leo_envs import aggregation_v2, offload_routing_v3
from leo_envs.config import Items
from leo_envs.envs.aggregation import config as aggregation_config
from leo_envs.envs.offload_routing import config as offload_config
from leo_envs.envs.offload_routing.config import ConstellationSource

TLE_FILES = sorted((Path(__file__).parent / "data" / "tle").glob("*.tle"))

SETTINGS = settings(max_examples=80, deadline=None)
ENVS = {
    "offload_routing": (offload_config, lambda **kw: offload_routing_v3.parallel_env("tiny", **kw)),
    "aggregation": (aggregation_config, lambda **kw: aggregation_v2.env("tiny", **kw)),
}
FIELDS = [(env, name) for env, (cfg, _) in ENVS.items() for name in cfg.RANGES]

# values that are a number for no field: NaN, complex, strings, bools, containers, arrays, None
NOT_NUMBERS = st.one_of(
    st.just(math.nan),
    st.just(np.float64("nan")),
    st.complex_numbers(allow_nan=False, allow_infinity=False).filter(lambda z: z.imag != 0),
    st.just(1 + 0j),
    st.just(np.complex128(2.0)),
    st.text(max_size=6),
    st.binary(max_size=3),
    st.booleans(),
    st.just(np.bool_(True)),
    st.lists(st.floats(allow_nan=False), max_size=3),
    st.tuples(st.integers(0, 5)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sets(st.integers(0, 5), max_size=2),
    st.builds(lambda x: np.array([x, x]), st.floats(0.1, 10.0)),
    st.builds(lambda x: np.array([x]), st.floats(0.1, 10.0)),
    st.builds(lambda x: np.array(x, dtype=object), st.floats(0.1, 10.0)),
)


def bad_for(rng) -> st.SearchStrategy:
    """Values ``rng`` refuses."""
    if isinstance(rng, ConstellationSource):  # presets, TLE files or TLE text; no random text is any of them
        return st.one_of(NOT_NUMBERS.filter(lambda v: not isinstance(v, str)), st.floats(), st.integers(),
                         st.text(max_size=12).filter(lambda s: s not in rng.presets),
                         st.sampled_from(rng.presets).map(str.upper),
                         st.just(Path(__file__).parent), st.just(Path(__file__)),
                         st.sampled_from(rng.presets).map(lambda c: [c]))
    if isinstance(rng, Items):
        return st.one_of(st.text(max_size=4), st.floats(300, 3000), st.just(()), st.just({700.0: 1}),
                         st.just({700.0}), st.lists(bad_for(rng.item), min_size=1, max_size=3))
    if rng.choices:
        return st.one_of(NOT_NUMBERS, st.floats(), st.integers(),
                         st.text(max_size=12).filter(lambda s: s not in rng.choices),
                         st.sampled_from(rng.choices).map(lambda c: [c]),
                         st.sampled_from(rng.choices).map(lambda c: np.array([c])),
                         st.sampled_from(rng.choices).map(str.upper).filter(lambda s: s not in rng.choices))
    out_of_range = [st.just(math.inf), st.just(-math.inf), st.just(10**400), st.just(-(10**400)),
                    st.floats(rng.high, rng.high * 10 + 1, exclude_min=not rng.high_open),
                    st.floats(rng.low - abs(rng.low) * 10 - 1, rng.low, exclude_max=not rng.low_open)]
    options = [NOT_NUMBERS, *out_of_range]
    if not rng.optional:
        options.append(st.none())
    if rng.integer:
        options.append(st.floats(rng.low, rng.high).filter(lambda x: not x.is_integer()))
    return st.one_of(*options)


def good_for(rng, low: float, high: float) -> st.SearchStrategy:
    """Values ``rng`` accepts within [low, high] (tighter than the range where fields depend on each other)."""
    if isinstance(rng, ConstellationSource):
        return st.one_of(st.sampled_from(rng.presets), st.sampled_from(TLE_FILES),
                         st.sampled_from(TLE_FILES).map(str), st.sampled_from(TLE_FILES[:1]).map(Path.read_text))
    if isinstance(rng, Items):
        item = (st.integers(int(rng.item.low), int(rng.item.high)) if rng.item.integer
                else st.floats(rng.item.low, rng.item.high))
        values = st.lists(item, min_size=1, max_size=4, unique=rng.distinct)
        return st.one_of(values, st.none()) if rng.optional else values
    if rng.choices:
        return st.sampled_from(rng.choices)
    if rng.integer:
        ints = st.integers(int(math.ceil(low)), int(min(high, 10**6)))
        return st.one_of(ints, ints.map(np.int64), ints.map(np.int32), ints.map(float))
    floats = st.floats(low, high, exclude_min=rng.low_open, exclude_max=rng.high_open)
    # float32 rounds: keep the values whose exact value is inside (NumPy would compare at float32 precision)
    inside = floats.filter(lambda x: abs(x) <= 3e38).map(np.float32).filter(
        lambda v: (low < float(v) if rng.low_open else low <= float(v))
        and (float(v) < high if rng.high_open else float(v) <= high))
    values = st.one_of(floats, floats.map(np.float64), inside, floats.map(np.array))
    return st.one_of(values, st.none()) if rng.optional else values


def limits(env: str, name: str) -> tuple[float, float]:
    """The field's range, narrowed where the aggregation config compares it with another field of the
    tiny scenario (min <= max, sleep <= idle, working_sats <= M)."""
    cfg_module, _ = ENVS[env]
    rng = cfg_module.RANGES[name]
    if isinstance(rng, (Items, ConstellationSource)) or rng.choices:
        return -math.inf, math.inf
    low, high = rng.low, rng.high
    if env == "aggregation":
        base = cfg_module.SCENARIOS["tiny"]
        partner = {"p_sleep_w": ("high", "p_idle_w"), "p_idle_w": ("low", "p_sleep_w"),
                   "working_sats": ("high", None)}
        if name.endswith("_min") or name.endswith("_min_w") or name.endswith("_min_s"):
            partner[name] = ("high", name.replace("_min", "_max"))
        if name.endswith("_max") or name.endswith("_max_w") or name.endswith("_max_s"):
            partner[name] = ("low", name.replace("_max", "_min"))
        if name in partner:
            side, other = partner[name]
            bound = len(base.plane_altitudes_km) * base.sats_per_plane if other is None else getattr(base, other)
            low, high = (low, min(high, bound)) if side == "high" else (max(low, bound), high)
    return low, high


@SETTINGS
@given(st.data())
def test_every_field_refuses_bad_values_naming_the_field(data):
    env, name = data.draw(st.sampled_from(FIELDS))
    cfg_module, make = ENVS[env]
    value = data.draw(bad_for(cfg_module.RANGES[name]), label=name)
    with pytest.raises(ValueError, match=name) as err:
        make(**{name: value})
    assert type(err.value) is ValueError  # not a subclass such as UnicodeError


@SETTINGS
@given(st.data())
def test_every_field_accepts_values_inside_its_range(data):
    env, name = data.draw(st.sampled_from(FIELDS))
    cfg_module, _ = ENVS[env]
    rng = cfg_module.RANGES[name]
    value = data.draw(good_for(rng, *limits(env, name)), label=name)
    got = getattr(cfg_module.make_config("tiny", **{name: value}), name)
    if isinstance(rng, ConstellationSource):
        assert got == os.fspath(value) and type(got) is str
    elif value is None:
        assert got is None
    elif isinstance(rng, Items):
        assert got == tuple((int if rng.item.integer else float)(v) for v in value)
    elif rng.choices:
        assert got == value
    else:
        assert got == (int(value) if rng.integer else float(value))
        assert type(got) is (int if rng.integer else float)


def test_a_float32_just_past_a_bound_is_refused_with_its_exact_value():
    """np.float32(0.99) is 0.9900000095...: outside task_bits_spread's [0, 0.99], and the message says why."""
    with pytest.raises(ValueError, match=r"task_bits_spread: np.float32\(0.99\) \(exactly 0.990000009"):
        offload_routing_v3.parallel_env("tiny", task_bits_spread=np.float32(0.99))
    assert offload_routing_v3.parallel_env("tiny", task_bits_spread=np.float32(0.5)).config.task_bits_spread == 0.5


def test_known_failures_are_value_errors_with_the_field():
    cases = [(offload_routing_v3.parallel_env, "max_cycles", math.inf), (offload_routing_v3.parallel_env,
             "max_cycles", math.nan), (offload_routing_v3.parallel_env, "ratio_levels", math.inf),
             (aggregation_v2.env, "sats_per_plane", math.inf), (aggregation_v2.env, "working_sats", math.inf)]
    for make, name, value in cases:
        with pytest.raises(ValueError, match=f"{name}: {value!r} is not allowed; expected an integer in"):
            make("tiny", **{name: value})


@pytest.mark.parametrize("scenario", [["iridium"], {"tiny": 1}, {"tiny"}, None, 3, np.array(["tiny"]), "atlantis"])
def test_bad_scenarios(scenario):
    for make in (offload_routing_v3.parallel_env, aggregation_v2.env):
        with pytest.raises(ValueError, match="scenario"):
            make(scenario)


def test_numpy_scalars_build_both_envs():
    env = offload_routing_v3.parallel_env("tiny", max_cycles=np.int64(20), dt_s=np.float32(0.05), csat_every=3.0)
    assert env.config.max_cycles == 20 and type(env.config.csat_every) is int
    env = aggregation_v2.env("tiny", sats_per_plane=np.int32(3), plane_altitudes_km=np.array([700.0, 1200.0]))
    assert env.unwrapped.m == 6 and env.unwrapped.config.plane_altitudes_km == (700.0, 1200.0)


# ------------------------------------------------------------------ actions

@cache
def offload_env():
    return offload_routing_v3.parallel_env("tiny", max_cycles=10_000)


@cache
def aggregation_env():
    return aggregation_v2.env("tiny")


def live_offload():
    env = offload_env()
    if not env.agents:
        env.reset(seed=0)
    return env


NON_INTEGER_ACTIONS = st.one_of(
    st.floats(), st.floats(0, 10).map(math.floor).map(float), st.just(np.float64(1.0)), st.just(np.float32(2.0)),
    st.complex_numbers(max_magnitude=10), st.text(max_size=3), st.just("1"), st.binary(max_size=2), st.booleans(),
    st.just(np.bool_(False)), st.none(), st.lists(st.integers(0, 5), max_size=2), st.just(np.array([1])),
    st.just(np.array(1, dtype=object)), st.just(np.array(True)), st.just(np.array("1")), st.just(np.array(1.0)),
    st.just({0: 1}),
)


def out_of_range(n: int) -> st.SearchStrategy:
    ints = st.one_of(st.integers(max_value=-1), st.integers(min_value=n))
    return st.one_of(ints, ints.filter(lambda a: -(2**63) <= a < 2**63).map(np.int64), st.just(np.uint64(2**64 - 1)))


@SETTINGS
@given(st.data())
def test_offload_routing_bad_actions_name_the_agent(data):
    env = live_offload()
    n_act = env.sim.n_actions
    agent = data.draw(st.sampled_from(env.possible_agents))
    value = data.draw(st.one_of(NON_INTEGER_ACTIONS, out_of_range(n_act)))
    before = env.num_cycles
    with pytest.raises(ValueError, match=f"actions\\['{agent}'\\]"):
        env.step({**dict.fromkeys(env.agents, 0), agent: value})
    with pytest.raises(ValueError, match=f"actions\\['{agent}'\\]"):
        env.step({agent: value})
    assert env.num_cycles == before  # nothing happened


INT_TYPES = [int, np.int8, np.uint8, np.int32, np.int64, np.uint64, np.array]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(INT_TYPES), st.integers(0, 2**32))
def test_offload_routing_masked_actions_of_every_integer_type_pass(kind, seed):
    env = live_offload()
    _, mask = env.observation_arrays()
    acts = (np.random.default_rng(seed).random(mask.shape) * mask).argmax(axis=1)
    before = env.num_cycles
    *_, infos = env.step({a: kind(int(x)) for a, x in zip(env.possible_agents, acts)})
    assert env.num_cycles == before + 1 and infos["sat_0"]["masked_actions"] == 0


@SETTINGS
@given(st.data())
def test_offload_routing_bad_action_arrays(data):
    env = live_offload()
    n, n_act = env.sim.n, env.sim.n_actions
    ints = np.zeros(n, np.int64)
    bad = data.draw(st.one_of(
        st.sampled_from([bool, float, np.float32, complex, object, str]).map(lambda t: ints.astype(t)),
        st.integers(0, n - 1).map(lambda k: np.where(np.arange(n) == k, n_act, ints)),
        st.integers(0, n - 1).map(lambda k: np.where(np.arange(n) == k, -1, ints)),
        st.integers(0, 3 * n).filter(lambda m: m != n).map(lambda m: np.zeros(m, np.int64)),
        st.just(ints.reshape(1, n)), st.just([True] * n), st.just([0.0] * n), st.just([[0, 1], [0]]),
        st.just(0), st.just(None), st.just("0" * n),
    ))
    with pytest.raises(ValueError, match="actions"):
        env.step_arrays(bad)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint32]), st.integers(0, 2**32))
def test_offload_routing_integer_action_arrays_pass(dtype, seed):
    env = live_offload()
    _, mask = env.observation_arrays()
    acts = (np.random.default_rng(seed).random(mask.shape) * mask).argmax(axis=1).astype(dtype)
    *_, info = env.step_arrays(acts)
    assert info["masked_actions"] == 0


@SETTINGS
@given(st.data())
def test_aggregation_bad_actions(data):
    env = aggregation_env()
    env.reset(seed=data.draw(st.integers(0, 50)))
    value = data.draw(st.one_of(NON_INTEGER_ACTIONS, out_of_range(env.unwrapped.m)))
    with pytest.raises(ValueError, match="action: "):
        env.step(value)
    assert env.unwrapped.steps == 0


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(INT_TYPES), st.integers(0, 50))
def test_aggregation_masked_actions_of_every_integer_type_pass(kind, seed):
    env = aggregation_env()
    obs, _ = env.reset(seed=seed)
    allowed = np.flatnonzero(obs["action_mask"])
    _, _, _, _, info = env.step(kind(int(allowed[0]) if allowed.size else 0))
    assert not info["masked_action"]


# ------------------------------------------------------------------ reset and calls before it

def test_calls_before_reset_say_reset_first():
    env = offload_routing_v3.parallel_env("tiny")
    for call in (env.state, env.observation_arrays, lambda: env.step({}),
                 lambda: env.step_arrays(np.zeros(env.sim.n, int))):
        with pytest.raises(ValueError, match=r"call reset\(\) first"):
            call()
    agg = aggregation_v2.env("tiny").unwrapped
    for call in (agg.transfer_prior, lambda: agg.step(0)):
        with pytest.raises(ValueError, match=r"call reset\(\) first"):
            call()


@pytest.mark.parametrize("options", [[("a", 1)], "instance", 3, np.zeros(2)])
def test_offload_routing_reset_options_that_are_not_a_dict(options):
    env = offload_routing_v3.parallel_env("tiny")
    with pytest.raises(ValueError, match="options: .* is not a dict"):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize("options", [{"seed": 1}, {"working_sats": 2}, {"options": 1}])
def test_offload_routing_takes_no_reset_options(options):
    # a warning, not an error: PettingZoo's API tests reset with options={"options": 1}
    env = offload_routing_v3.parallel_env("tiny")
    key = next(iter(options))
    with pytest.warns(UserWarning, match=f"options: unknown key '{key}' ignored; this environment takes no"):
        env.reset(seed=0, options=options)
    env.reset(seed=0, options={})
    env.reset(seed=0, options=None)


@pytest.mark.parametrize("options", [{"working": 2}, {"instance": None}, {"working_sats": 2.0},
                                     {"working_sats": True}, {"working_sats": np.array([1, 2])}, [1], "all"])
def test_aggregation_bad_reset_options(options):
    env = aggregation_v2.env("tiny")
    with pytest.raises(ValueError, match="options"):
        env.reset(seed=0, options=options)
    env.reset(seed=0, options={"working_sats": np.int64(2)})
    env.reset(seed=0, options={"working_sats": "all"})
