"""Progress bars at 80 columns: long labels and statuses give way, the count and the ETA stay."""

import io
import re

from rich.console import Console
from rich.progress import Progress

from jaxrl_rewards.experiments.runner import progress_columns


def test_long_labels_keep_count_and_eta_visible_at_80_columns():
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False, color_system=None)
    progress = Progress(*progress_columns(), console=console)
    label = "scale + normalize [big] chunk 12/40 iterations of a long variant name"
    task = progress.add_task(label, total=960, completed=96, status="eval/return/task 123.4 and a long status text")
    progress.update(task, completed=96)
    console.print(progress.make_tasks_table(progress.tasks))
    line = out.getvalue().splitlines()[0]
    assert len(line) <= 80
    assert "96/960" in line
    assert re.search(r"\d:\d\d:\d\d.*(\d:\d\d:\d\d|-:--:--)", line)  # elapsed and remaining
    assert line.startswith("scale + normalize [big]")  # brackets are text, not markup
