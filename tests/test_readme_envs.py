import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_offload_routing_example_runs():
    text = README.read_text()
    code = re.search(r"## offload_routing_v3\s+```python\n(.*?)```", text, re.S).group(1)
    code = code.replace('scenario="iridium"', 'scenario="tiny"')  # same code path, a faster constellation
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "mean_task_cost_s" in out.stdout


def test_readme_aggregation_example_runs():
    text = README.read_text()
    code = re.search(r"## Aggregation-v2\s+```python\n(.*?)```", text, re.S).group(1)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "energy_reduction" in out.stdout
