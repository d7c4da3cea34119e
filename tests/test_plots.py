"""Plots and tables: IQM / bootstrap statistics, Pareto fronts, and the report files."""

import numpy as np
import pandas as pd
import pytest

from jaxrl_rewards.experiments.plots import final_score_table, iqm, iqm_ci, make_report, pareto_front


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0])) == pytest.approx(3.5)  # mean of 2..5
    low, high = iqm_ci(np.arange(16.0))
    assert iqm(np.arange(16.0)) == pytest.approx(7.5) and low < 7.5 < high
    assert iqm_ci(np.array([3.0, 3.0])) == (3.0, 3.0)


def test_pareto_front():
    points = np.array([[1.0, 5.0], [2.0, 4.0], [1.5, 3.0], [3.0, 1.0], [0.5, 5.0], [3.0, 1.0]])
    np.testing.assert_array_equal(pareto_front(points), [True, True, False, True, False, True])


def sweep_frame(seeds=6, iters=4):
    """A synthetic sweep: two variants x two learning rates x seeds, with cost and two objectives."""
    rng = np.random.default_rng(0)
    rows = []
    run = 0
    for variant in ("A", "B"):
        for lr in (1e-3, 1e-2):
            for seed in range(seeds):
                quality = (2.0 if variant == "B" else 1.0) * (1.0 if lr == 1e-3 else 0.5)
                for it in range(iters):
                    evaluated = it % 2 == 1
                    value = quality * (it + 1) + rng.normal(0, 0.1)
                    rows.append({
                        "variant": variant, "run": run, "point": run // seeds, "seed": seed, "learning_rate": lr,
                        "iteration": it, "loss/value": rng.normal(),
                        "eval/return/task": value if evaluated else np.nan,
                        "eval/return/cost": quality * 0.3 if evaluated else np.nan,
                        "eval/return/reward_speed": quality if evaluated else np.nan,
                        "eval/return/reward_energy": -quality + 0.1 * (lr == 1e-2) if evaluated else np.nan,
                        "eval/timesteps": (it + 1) * 100.0 if evaluated else np.nan,
                    })  # fmt: skip
                run += 1
    return pd.DataFrame(rows)


def test_final_score_table_ranks_configurations():
    table = final_score_table(sweep_frame(), ["learning_rate"])
    assert table["config"].tolist()[0] == "B, learning_rate=0.001"
    assert (table["n"] == 6).all()
    assert np.all(table["ci_low"] <= table["iqm"]) and np.all(table["iqm"] <= table["ci_high"])
    assert table["iqm"].iloc[0] == pytest.approx(8.0, abs=0.2)  # quality 2 x 4 iterations


def test_report_writes_every_plot_and_a_summary(tmp_path):
    manifest = {"param_columns": ["learning_rate"], "spec": {"name": "demo"}}
    written = make_report(sweep_frame(), tmp_path, manifest=manifest)
    assert set(written) == {"learning_curves", "sensitivity", "return_vs_cost", "pareto", "performance_profile",
                            "summary"}  # fmt: skip
    for name, path in written.items():
        assert path.exists() and path.stat().st_size > 500, name
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = written["summary"].read_text()
    assert summary.startswith("# Sweep demo")
    assert "| B, learning_rate=0.001 | 7.99 |" in summary and "![pareto](pareto.png)" in summary
    with pytest.raises(ValueError, match="not in the results"):
        make_report(sweep_frame(), tmp_path, metric="eval/return/nothing")


def test_plot_command_accepts_a_train_metrics_file(tmp_path):
    """`jaxrl-rewards plot runs/x.parquet` on `train` output (no run / variant columns): a report,
    not a KeyError."""
    from typer.testing import CliRunner

    from jaxrl_rewards.cli.app import app
    from jaxrl_rewards.experiments.results import save_result
    from jaxrl_rewards.experiments.runner import RunResult

    evals = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, 4.0]])  # 3 seeds x 2 evaluations, 4 iterations
    metrics = {
        "train/episode_return": np.arange(12.0).reshape(3, 4),
        "eval/return/task": evals,
        "eval/timesteps": np.array([[64.0, 128.0]] * 3),
    }
    result = RunResult(metrics=metrics, seeds=[0, 1, 2], compile_s=0.0, run_s=0.0, total_s=0.0, timesteps=128)
    path = save_result(tmp_path / "cp.parquet", result, {"env": "CartPole-v1", "agent": "ppo", "transform": [],
                                                         "overrides": [], "steps": 128})  # fmt: skip
    out = CliRunner().invoke(app, ["plot", str(path), "--out", str(tmp_path / "report")])
    assert out.exit_code == 0, out.output
    assert "ppo on CartPole-v1" in out.output
    assert (tmp_path / "report" / "learning_curves.png").stat().st_size > 500
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "3 runs" in summary
    # IQM of the final evaluations [2, 5, 4] (25% trimmed of 3 values keeps all): their mean
    assert f"| {np.mean([2.0, 5.0, 4.0]):.2f} |" in summary


def test_probability_of_improvement_and_performance_profile_match_brute_force():
    from jaxrl_rewards.experiments.stats import performance_profile, probability_of_improvement

    x, y = np.array([1.0, 4.0, 4.0, 7.0]), np.array([2.0, 4.0, 5.0])
    wins = sum((a > b) + 0.5 * (a == b) for a in x for b in y)  # 0 + (1+0.5+0) x2 + 3 = 6
    p, low, high = probability_of_improvement(x, y)
    assert p == pytest.approx(wins / 12) and low <= p <= high
    assert probability_of_improvement(y + 100, y)[:3] == (1.0, 1.0, 1.0)
    taus = np.array([0.0, 3.0, 4.0, 10.0])
    point, low, high = performance_profile(x, taus)
    np.testing.assert_allclose(point, [4 / 4, 3 / 4, 1 / 4, 0.0])
    assert np.all(low <= point) and np.all(point <= high)


def test_summary_counts_runs_of_every_variant_and_flags_few_seeds(tmp_path):
    frame = sweep_frame(seeds=2)
    frame["run"] = frame["run"] % 4  # run ids restart in every variant, as in a store
    summary = make_report(frame, tmp_path, manifest={"param_columns": ["learning_rate"]})["summary"].read_text()
    assert "8 runs" in summary  # 2 variants x 2 learning rates x 2 seeds
    assert "Caveat" in summary and "fewer than 3 seeds" in summary
    assert "P(B, learning_rate=0.001 > " in summary  # probability of improvement of the best configuration


def test_axis_labels_titles_and_log_x_for_a_log_spaced_grid(tmp_path, monkeypatch):
    from jaxrl_rewards.experiments import plots

    seen = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: seen.append(fig) or path)
    frame = sweep_frame(seeds=4)
    frame["learning_rate"] = frame["learning_rate"].map({1e-3: 1e-4, 1e-2: 1e-2})  # a factor 100: log-spaced
    plots.plot_sensitivity(frame, ["learning_rate"], tmp_path / "s.png")
    plots.plot_learning_curves(frame, ["learning_rate"], tmp_path / "c.png")
    sensitivity, curves = (fig.axes[0] for fig in seen)
    assert sensitivity.get_xscale() == "log" and "Sensitivity to learning_rate" in sensitivity.get_title()
    assert curves.get_ylabel() == "evaluation return (task stream) (IQM)"
    assert curves.get_xlabel() == "environment steps" and curves.get_title()
    assert curves.get_legend() is not None


def test_every_printed_table_names_the_variant_and_keeps_brackets():
    import io

    from rich.console import Console

    from jaxrl_rewards.cli.common import score_table

    frame = sweep_frame(seeds=3)
    frame = frame[frame["variant"] == "A"].assign(variant="scale [0.1]")  # one variant, with brackets
    table = final_score_table(frame, ["learning_rate"])
    assert table["config"].tolist() == ["scale [0.1], learning_rate=0.001", "scale [0.1], learning_rate=0.01"]
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(score_table("final [task]", table, "eval/return/task"))
    assert "scale [0.1], learning_rate=0.001" in out.getvalue() and "final [task]" in out.getvalue()
