"""The README's Python examples run as written, and .ci/run runs the README's test command."""

import re
from pathlib import Path

import pytest

from jaxrl_rewards.experiments.spec import check_spec, load_spec

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


@pytest.mark.slow  # runs every Python example of the README
def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["sweep"]["eval/return/task"].shape == (2, 4, 2)


def test_readme_sweep_spec_is_accepted(tmp_path):
    (block,) = re.findall(r"```toml\n(.*?)```", README, flags=re.S)
    path = tmp_path / "spec.toml"
    path.write_text(block)
    spec = load_spec(path)
    configs = check_spec(spec)  # builds every variant's config and checks the swept leaves, compiles nothing
    assert set(configs) == {v.label for v in spec.variants}
    assert spec.params["learning_rate"] == [1e-4, 3e-4, 1e-3]


def test_ci_runs_the_readme_test_command():
    command = re.search(r"<!-- test-command[^>]*-->\n```bash\n(.+?)\n```", README).group(1)
    assert command == 'pip install -e ".[test]" && python -m pytest -q && python -m pytest -q -m slow'
    assert "test-command" in (ROOT / ".ci" / "run").read_text()


def test_readme_opens_with_the_two_commands():
    commands = re.findall(r"```bash\n(.+?)\n```", README)
    assert "jaxrl-rewards quickstart" in commands[0]
    assert "pytest" in commands[1]
