import subprocess
import sys


def test_import_does_not_pull_torch():
    code = "import sys, leo_envs, leo_envs.core; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_validate_cli_passes_and_writes_report(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "leo_envs", "validate", "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 failed" in out.stdout
    assert (tmp_path / "validation.md").read_text().count("| yes |") >= 10


def test_version_is_written_once_and_released_in_the_changelog():
    import importlib.metadata
    import re
    from pathlib import Path

    import leo_envs

    root = Path(__file__).resolve().parents[1]
    assert importlib.metadata.version("leo-envs") == leo_envs.__version__  # pyproject reads __version__
    project = (root / "pyproject.toml").read_text().split("\n[project]\n")[1].split("\n[")[0]  # the table
    assert re.search(r"^version\s*=", project, flags=re.MULTILINE) is None
    assert re.search(r'^dynamic = \["version"\]', project, flags=re.MULTILINE)
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (root / "CHANGELOG.md").read_text(),
                          flags=re.MULTILINE)
    assert releases and releases[0] == leo_envs.__version__


def test_citation_cites_the_package_and_both_papers():
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    cff = yaml.safe_load((root / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    refs = {r["title"]: r for r in cff["references"]}
    arxiv = refs["Delay-Aware Large-Small Model Collaboration over LEO Satellite Networks"]
    assert arxiv["identifiers"][0]["value"] == "arXiv:2605.04565" and len(arxiv["authors"]) == 5
    sensors = refs["A Green Computing Business Aggregation Strategy for Low Earth Orbit Satellite Networks"]
    assert (sensors["journal"], sensors["volume"], sensors["issue"], sensors["start"], sensors["doi"]) == (
        "Sensors", 24, 24, 8184, "10.3390/s24248184")
    assert "MIT License" in (root / "LICENSE").read_text()
