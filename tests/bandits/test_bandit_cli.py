"""The bandit sub-command app (mounted as ``jaxrl-rewards bandit``), through typer's CliRunner."""

import json

from typer.testing import CliRunner

from jaxrl_rewards.bandits.cli import app

runner = CliRunner()


def test_list_shows_environments_and_algorithms():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    for word in ("bernoulli", "satiation", "constrained", "ucb1", "thompson_beta", "optimistic_pessimistic"):
        assert word in result.output


def test_run_prints_a_table_and_writes_plot_and_results(tmp_path):
    # same shapes as tests/bandits/test_bandit_algorithms.py (3 arms, T=200, 8 seeds): one compile
    args = ["run", "-a", "ucb1", "--arms", "3", "--horizon", "200", "--seeds", "8", "--out-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ucb1" in result.output
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["config"]["seeds"] == list(range(8))
    summary = data["results"]["ucb1"]
    assert summary["runs"] == 8 and summary["horizon"] == 200
    assert 0.0 < summary["final_regret"] < 0.3 * 200
    assert (tmp_path / "regret.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_input_fails_with_a_clear_message(tmp_path):
    cases = [
        (["run", "--horizon", "-5"], "horizon must be a positive integer"),
        (["run", "--env", "bernouli"], "unknown bandit environment"),
        (["run", "-a", "ucb2"], "unknown bandit algorithm"),
        (["run", "-a", "linucb"], "needs a contextual bandit"),
        (["run", "-a", "primal_dual", "--horizon", "10"], "constrained bandit"),
        (["run", "-t", "sharpen"], "unknown transform"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, "--out-dir", str(tmp_path)])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
