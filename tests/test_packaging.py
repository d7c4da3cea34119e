"""The wheel ships jaxrl_rewards with envs/ and agents/ mapped inside it, never top-level."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_mapped_subpackages(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", "*.egg-info", "build", "dist", ".venv*", "__pycache__", "runs", "results"
        ),
    )
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        check=True,
    )
    (wheel,) = out.glob("jaxrl_rewards-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "jaxrl_rewards/__init__.py",
        "jaxrl_rewards/transforms/core.py",
        "jaxrl_rewards/envs/__init__.py",
        "jaxrl_rewards/envs/registry.py",
        "jaxrl_rewards/agents/__init__.py",
        "jaxrl_rewards/agents/ppo.py",
    ):
        assert required in names, required
    assert not [n for n in names if n.startswith(("envs/", "agents/", "tests/", "benchmarks/"))]
    # every source module ships (a subpackage missing from pyproject's list would be dropped silently)
    sources = {"jaxrl_rewards": "jaxrl_rewards", "envs": "jaxrl_rewards/envs", "agents": "jaxrl_rewards/agents"}
    expected = {
        f"{target}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder, target in sources.items()
        for path in (ROOT / folder).rglob("*.py")
    }
    assert sorted(expected - set(names)) == []
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "jaxrl-rewards = jaxrl_rewards.cli.app:app" in zipfile.ZipFile(wheel).read(entry_points).decode()
