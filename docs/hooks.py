"""mkdocs hooks: the pages written from the code at build time, so they cannot drift from it.

- ``envs/<name>.md`` and its picture ``envs/<name>.png`` for every env spec with ``docs``
  (``agents.specs.SPECS``): summary table, rendered frame, spec sheet (the env class docstring), scenarios,
  and every config field with default, unit, allowed values and meaning (``leo_envs.config.field_docs``);
- ``validation.md``: the core's validation report (``python -m leo_envs validate``), run now;
- ``leaderboard.md``: leaderboard.json (``make leaderboard``) as one tab per env, the normalised plot and the
  aggregate first, then compact tables per scenario;
- ``benchmarks.md``, ``changelog.md``: BENCHMARKS.md (``make bench``) and CHANGELOG.md, with the pictures they show.

``generated_files()`` is what the build adds; ``tests/test_docs.py`` reads the same pages.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = re.compile(r"<!-- not run: (?P<reason>\S.*?) -->")


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("[", "\\[")


def code(text: object) -> str:
    return f"`{str(text).replace('|', chr(92) + '|')}`"


def value_text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(value_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def spec_sheet(env_class: type) -> str:
    """The class docstring as Markdown: its first paragraph, then its sections one heading level down."""
    doc = inspect.cleandoc(env_class.__doc__ or "")
    return re.sub(r"^## ", "### ", doc, flags=re.MULTILINE)


def png_bytes(frame) -> bytes:
    import matplotlib.image

    buf = io.BytesIO()
    matplotlib.image.imsave(buf, frame, format="png")
    return buf.getvalue()


def make_line(spec) -> str:
    if spec.api == "pettingzoo":
        return f'pettingzoo.make("parallel", "{spec.ids[0]}", scenario="{spec.default_scenario}")'
    return f'gymnasium.make("{spec.ids[0]}", scenario="{spec.default_scenario}")'


def spaces(spec, env) -> tuple[str, str, int]:
    """Action space, observation space and number of agents of a fresh env."""
    if spec.api == "pettingzoo":
        agent = env.possible_agents[0]
        return str(env.action_space(agent)), str(env.observation_space(agent)), len(env.possible_agents)
    return str(env.action_space), str(env.observation_space), 1


def config_table(docs) -> list[str]:
    from leo_envs.config import field_docs

    lines, section = [], None
    for f in field_docs(docs.config_class, docs.ranges):
        if f.section != section:
            section = f.section
            lines.append("")
            if section:
                lines += [f"*{cell(section[0].upper() + section[1:])}*", ""]
            lines += ["| field | default | unit | allowed | meaning |", "|---|---|---|---|---|"]
        lines.append(f"| {code(f.name)} | {code(value_text(f.default))} | {cell(f.unit) or '-'} | "
                     f"{cell(f.allowed)} | {cell(f.meaning)} |")
    return lines


def scenario_rows(spec, docs) -> tuple[list[str], dict[str, int]]:
    defaults = docs.config_class()
    rows, agents = [], {}
    for name in spec.scenarios:
        cfg = docs.scenario_configs[name]
        env = spec.make(name)
        agents[name] = spaces(spec, env)[2]
        env.close()
        changed = [f"{code(f.name + '=' + value_text(getattr(cfg, f.name)))}" for f in dataclasses.fields(cfg)
                   if getattr(cfg, f.name) != getattr(defaults, f.name)]
        rows.append(f"| {code(name)} | {agents[name]} | {cell(docs.episode_length(cfg))} | "
                    f"{', '.join(changed) or 'the defaults'} |")
    return rows, agents


def agents_text(agents: dict[str, int]) -> str:
    if len(set(agents.values())) == 1:
        return f"{next(iter(agents.values()))} (every scenario)"
    return ", ".join(f"{n} ({code(s)})" for s, n in agents.items())


def env_page(spec) -> tuple[str, bytes]:
    """The Markdown page of an env and its picture (PNG)."""
    docs = spec.docs
    env = spec.make(spec.default_scenario)
    action_space, observation_space, _ = spaces(spec, env)
    render_modes = env.metadata.get("render_modes", [])
    env.close()
    rows, agents = scenario_rows(spec, docs)
    api = {"pettingzoo": "PettingZoo `ParallelEnv` (AEC form too: `env()`)", "gymnasium": "Gymnasium `Env`"}
    ids = ", ".join(code(i) for i in spec.ids)
    removed = ", ".join(code(i) for i in docs.removed_ids)
    lines = [
        f"# {docs.title}",
        "",
        "<!-- written by docs/hooks.py from the env's spec, class docstring and config at build time -->",
        "",
        "| | |",
        "|---|---|",
        f"| Make | {code(make_line(spec))} |",
        f"| API | {api[spec.api]} |",
        f"| Agents | {agents_text(agents)} |",
        f"| Action space | {code(action_space)} |",
        f"| Observation space | {code(observation_space)} |",
        f"| Episode length | {cell(docs.episode_length(docs.scenario_configs[spec.default_scenario]))} "
        f"({code(spec.default_scenario)}; every scenario below) |",
        f"| Render modes | {', '.join(code(m) for m in render_modes)} |",
        f"| Headline metric | {code(spec.primary_metric)} ({spec.better} is better) |",
        f"| Ids | {ids}" + (f"; removed: {removed}" if removed else "") + " |",
        "",
        f"![{spec.name}]({spec.name}.png)",
        "",
        f"*{docs.frame_caption}.*",
        "",
        "```python",
        docs.usage,
        "```",
        "",
        "## Spec sheet",
        "",
        spec_sheet(docs.env_class),
        "",
        "## Scenarios",
        "",
        "| scenario | agents | episode length | fields that differ from the defaults |",
        "|---|---|---|---|",
        *rows,
        "",
        "## Configuration",
        "",
        f"Every field of `{docs.config_class.__module__}.{docs.config_class.__name__}` can be passed as a keyword "
        "when making the env; a value outside its range raises `ValueError` naming the field.",
        *config_table(docs),
        "",
        "## Baselines and learners",
        "",
        f"Baselines: {', '.join(code(b) for b in spec.baselines)}. "
        f"Learners (`train.py {spec.name} NAME`): {', '.join(code(lr.name) for lr in spec.learners)}. "
        "See [Agents and baselines](../agents.md) and the [leaderboard](../leaderboard.md).",
        "",
    ]
    return "\n".join(lines), png_bytes(docs.frame())


def validation_page() -> str:
    from leo_envs.validation import render_markdown, run_checks

    checks = run_checks()
    failed = sum(not c.passed for c in checks)
    return ("# Validation report\n\n"
            "The core's checks, run when this site was built (`python -m leo_envs validate` prints the same "
            "table): Vallado's SGP4 verification set through our TLE path, geometric identities and "
            "hand-computed link budgets. See [the physical model](physics.md) for the equations.\n\n"
            + render_markdown(checks) + f"\n{len(checks) - failed} passed, {failed} failed.\n")


def copied_page(name: str, title_note: str) -> str:
    text = (ROOT / name).read_text()
    return text.replace("(LEADERBOARD.md)", "(leaderboard.md)").replace("(BENCHMARKS.md)", "(benchmarks.md)") + (
        f"\n\n*{title_note}*\n")


def leaderboard_page() -> str:
    """The leaderboard from leaderboard.json: one tab per env, the normalised plot and the aggregate first, then a
    compact table per scenario (the full columns are in LEADERBOARD.md, leaderboard.csv and leaderboard.json)."""
    import json

    from agents.specs import SPECS

    data = json.loads((ROOT / "leaderboard.json").read_text())
    rows, bounds = data["rows"], data["bounds"]
    lines = ["# Leaderboard", "",
             "Every agent on every registered scenario, over the same evaluation episodes (env seeds "
             f"{rows[0]['eval_seeds']}). *Gap*: the mean relative distance to the scenario's bound (0: as good as "
             "the bound); *score*: normalised per episode between random (0) and the bound (1). Kinds: baseline, "
             "learner (our checkpoint; not re-checked by CI), submission ([submit yours](submit.md)). Every column, "
             "per-seed value and training record: LEADERBOARD.md, leaderboard.csv and leaderboard.json in the "
             "repository, written by `make leaderboard` and checked by `make leaderboard-check`.", ""]
    for env_name, spec in SPECS.items():
        env_rows = [r for r in rows if r["env"] == env_name]
        if not env_rows:
            continue
        lines += [f'=== "{env_name}"', ""]
        body = [f"{spec.ids[0]}: `{spec.primary_metric}`, {spec.better} is better.", ""]
        if (ROOT / f"leaderboard_{env_name}_normalised.png").exists():
            body += [f"![{env_name}, normalised](leaderboard_{env_name}_normalised.png)", ""]
        entries = data.get("aggregates", {}).get(env_name, [])
        if entries:
            body += ["IQM of the normalised score over every evaluation episode of the bounded scenarios each agent "
                     "has rows on, 95% stratified bootstrap interval (rliable).", "",
                     "| agent | kind | IQM [95% CI] | scenarios |", "|---|---|---|---|"]
            body += [f"| {e['agent']} | {e['kind']} | {e['iqm']:.4f} [{e['ci_low']:.4f}, {e['ci_high']:.4f}] | "
                     f"{', '.join(e['scenarios'])} |" for e in entries]
            body.append("")
        for scenario in dict.fromkeys(r["scenario"] for r in env_rows):
            bound = bounds.get(f"{env_name}/{scenario}")
            note = f" (bound {sum(bound['per_seed']) / len(bound['per_seed']):.4g})" if bound else " (no bound)"
            body += [f"**{scenario}**{note}", "", "| rank | agent | kind | mean [95% CI] | gap | score |",
                     "|---|---|---|---|---|---|"]
            for rank, r in enumerate((r for r in env_rows if r["scenario"] == scenario), start=1):
                gap = "-" if r["optimality_gap"] == "" else f"{r['optimality_gap']:.1%}"
                score = "-" if r["normalized_score"] == "" else f"{r['normalized_score']:.3f}"
                body.append(f"| {rank} | {r['agent']} | {r['kind']} | {r['mean']:.4g} [{r['ci95_low']:.4g}, "
                            f"{r['ci95_high']:.4g}] | {gap} | {score} |")
            body.append("")
        lines += ["    " + line if line else "" for line in body]
    return "\n".join(lines) + "\n"


def generated_files() -> dict[str, str | bytes]:
    """Path inside the site -> content, for every page and picture the build writes."""
    from agents.specs import SPECS

    out: dict[str, str | bytes] = {}
    for spec in SPECS.values():
        if spec.docs is not None:
            page, picture = env_page(spec)
            out[f"envs/{spec.name}.md"] = page
            out[f"envs/{spec.name}.png"] = picture
    out["validation.md"] = validation_page()
    out["leaderboard.md"] = leaderboard_page()
    out["benchmarks.md"] = copied_page("BENCHMARKS.md", "BENCHMARKS.md of the repository, written by `make bench`.")
    out["changelog.md"] = (ROOT / "CHANGELOG.md").read_text()
    for png in sorted(re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", out["leaderboard.md"] + out["benchmarks.md"])):
        out[png] = (ROOT / png).read_bytes()
    return out


def code_blocks(markdown: str) -> list[tuple[str, str | None]]:
    """The ```python blocks of a page, each with the reason it is not run (None: it runs)."""
    blocks = []
    for m in re.finditer(r"(?P<before>[^\n]*)\n+```python\n(?P<body>.*?)\n```", "\n" + markdown, flags=re.DOTALL):
        mark = NOT_RUN.search(m.group("before"))
        blocks.append((m.group("body"), mark.group("reason") if mark else None))
    return blocks


def on_files(files, config):
    from mkdocs.structure.files import File

    for path, content in generated_files().items():
        files.append(File.generated(config, path, content=content))
    return files


__all__ = ["code_blocks", "generated_files", "on_files"]
