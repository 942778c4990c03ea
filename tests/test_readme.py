import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_core_example_runs_and_prints_what_it_says():
    text = README.read_text()
    code = re.search(r"## Core example\s+```python\n(.*?)```", text, re.S).group(1)
    promised = re.search(r"prints `(.*?)`", text).group(1)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == promised


def test_readme_quick_start_is_the_two_make_commands():
    block = re.search(r"## Quick start.*?```\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make reproduce", "make test"]
