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
