"""The bandit sub-command app (mounted as ``jaxrl-rewards bandit``), through typer's CliRunner."""

import json

from typer.testing import CliRunner

from jaxrl_rewards.cli.bandit import app

runner = CliRunner()


def test_list_shows_environments_and_algorithms():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    for word in ("bernoulli", "satiation", "constrained", "ucb1", "thompson_beta", "optimistic_pessimistic"):
        assert word in result.output


def test_run_constrained_learns_with_little_violation_and_writes_plot_and_results(tmp_path):
    """Optimistic–pessimistic on a 4-arm constrained bandit (arms 0, 1 feasible with costs 0.05,
    0.25; arms 2, 3 cost >= 0.8; threshold 0.5), 8 seeds in one call."""
    args = ["run", "-a", "optimistic_pessimistic", "--env", "constrained", "--arms", "4"]
    result = runner.invoke(app, [*args, "--horizon", "300", "--seeds", "8", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "constrained: 4 arms, horizon 300, 8 seeds" in result.output
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["config"]["seeds"] == list(range(8))
    summary = data["results"]["optimistic_pessimistic"]
    assert summary["runs"] == 8 and summary["horizon"] == 300
    assert summary["best_arm_fraction"] > 0.6
    # infeasible arms are ruled out after a few pulls: far below uniform play (0.19 per round)
    assert summary["cumulative_violation"] < 0.1 * 300
    assert summary["long_term_violation"] == 0.0
    assert (tmp_path / "regret.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_input_fails_with_a_clear_message(tmp_path):
    cases = [
        (["run", "--horizon", "-5"], "horizon must be a positive integer"),
        (["run", "--env", "bernouli"], "unknown bandit environment"),
        (["run", "-a", "ucb2"], "unknown bandit algorithm"),
        (["run", "-a", "linucb"], "needs a contextual bandit"),
        (["run", "-a", "primal_dual", "--horizon", "10"], "constrained bandit"),
        (["run", "-t", "sharpen"], "unknown transform"),
        (["run", "-t", "scale:fator=0.5"], "has no option 'fator' (did you mean 'factor'?)"),
        (["run", "-t", "scale:factor=[0.5"], "unclosed bracket"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, "--out-dir", str(tmp_path)])
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
