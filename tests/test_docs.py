"""The documentation site: the generated env pages list every config field, and every page's Python blocks
run (unless marked ``<!-- not run: reason -->`` on the line before). ``make test`` also builds the site with
``mkdocs build --strict`` (no warnings)."""

import dataclasses
import importlib.util
import re
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pytest

from agents.specs import SPECS

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
WRITTEN = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = load_hooks()


@pytest.fixture(scope="module")
def generated() -> dict:
    return hooks.generated_files()


def test_every_env_with_docs_gets_a_page_and_a_picture(generated):
    for name, spec in SPECS.items():
        assert spec.docs is not None, f"{name} has no docs page"
        assert f"envs/{name}.md" in generated
        assert generated[f"envs/{name}.png"].startswith(b"\x89PNG")


@pytest.mark.parametrize("env_name", sorted(SPECS))
def test_config_table_lists_every_field_once_with_its_range(env_name, generated):
    docs = SPECS[env_name].docs
    page = generated[f"envs/{env_name}.md"]
    rows = re.findall(r"^\| `(\w+)` \| `[^`]*` \| [^|]+ \| (.+?) \| (.+?) \|$", page, flags=re.MULTILINE)
    fields = [f.name for f in dataclasses.fields(docs.config_class)]
    assert [name for name, _, _ in rows] == fields
    for name, allowed, meaning in rows:
        assert allowed.replace("\\[", "[").replace("\\|", "|") == docs.ranges[name].describe(), name
        assert meaning.strip(), name


@pytest.mark.parametrize("env_name", sorted(SPECS))
def test_summary_names_every_id_and_scenario(env_name, generated):
    spec = SPECS[env_name]
    page = generated[f"envs/{env_name}.md"]
    for env_id in spec.ids + spec.docs.removed_ids:
        assert f"`{env_id}`" in page
    for scenario in spec.scenarios:
        assert f"| `{scenario}` |" in page


def test_a_block_marked_not_run_is_skipped_and_needs_a_reason():
    page = ("text\n\n<!-- not run: starts Ray -->\n```python\nraise SystemExit\n```\n\n"
            "```python\nx = 1\n```\n<!-- not run: -->\n```python\ny = 2\n```\n")
    assert hooks.code_blocks(page) == [("raise SystemExit", "starts Ray"), ("x = 1", None), ("y = 2", None)]


def run_blocks(markdown: str, where: str, monkeypatch) -> int:
    blocks = hooks.code_blocks(markdown)
    assert len(blocks) == len(re.findall(r"^```python$", markdown, flags=re.MULTILINE)), where
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, (body, not_run) in enumerate(blocks):
            if not_run is None:
                exec(compile(body, f"{where}[block {k}]", "exec"), namespace)
                ran += 1
    plt.close("all")
    return ran


@pytest.mark.parametrize("page", WRITTEN)
def test_code_blocks_of_written_pages_run(page, monkeypatch):
    run_blocks((DOCS / page).read_text(), page, monkeypatch)


def test_code_blocks_of_generated_pages_run(generated, monkeypatch):
    ran = sum(run_blocks(text, path, monkeypatch) for path, text in generated.items() if path.endswith(".md"))
    assert ran >= len(SPECS)  # at least each env page's usage block


def test_the_leaderboard_page_has_a_tab_per_env_with_every_row():
    import json

    rows = json.loads((ROOT / "leaderboard.json").read_text())["rows"]
    page = hooks.leaderboard_page()
    for env_name in {r["env"] for r in rows}:
        assert f'=== "{env_name}"' in page and f"leaderboard_{env_name}_normalised.png" in page
    for r in rows:
        assert f"| {r['agent']} | {r['kind']} | {r['mean']:.4g} [" in page, r["agent"]
