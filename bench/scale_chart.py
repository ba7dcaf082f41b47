"""The scale run's chart: rate and p99 of each workload against the number of stored token rows.

Drawn by matplotlib on an Agg canvas (no pyplot) (a file, no display: the bench runs on headless
machines). Two rows (rate, p99) by one column per workload, x logarithmic, one line per
server, so the project's slope and the floor's can be compared at a glance on the same data.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from workloads import NAMES

STYLE = {
    "floor": {"color": "tab:gray", "marker": "s"},
    "project": {"color": "tab:blue", "marker": "o"},
}


def draw(
    points: dict[tuple[str, str], list[tuple[int, float, float]]],
    workloads: list[str],
    path: Path,
    title: str,
) -> None:
    """`points[(server, workload)]` = [(rows, rate, p99_ms), ...]; writes a PNG to `path`."""
    fig = Figure(figsize=(4 * len(workloads), 7), layout="tight")
    FigureCanvasAgg(fig)  # no pyplot, no display: the Agg canvas renders to the file
    axes = fig.subplots(2, len(workloads), squeeze=False, sharex=True)
    for col, w in enumerate(workloads):
        rate_ax, p99_ax = axes[0][col], axes[1][col]
        for (server, workload), series in sorted(points.items()):
            if workload != w or not series:
                continue
            series = sorted(series)
            xs = [p[0] for p in series]
            style = STYLE.get(server, {})
            rate_ax.plot(xs, [p[1] for p in series], label=server, **style)
            p99_ax.plot(xs, [p[2] for p in series], label=server, **style)
        rate_ax.set_title(NAMES[w])
        rate_ax.set_ylabel("rate (good ops/s)" if col == 0 else "")
        p99_ax.set_ylabel("p99 (ms)" if col == 0 else "")
        p99_ax.set_xlabel("stored token rows")
        for ax in (rate_ax, p99_ax):
            ax.set_xscale("log")
            ax.set_ylim(bottom=0)
            ax.grid(True, which="both", alpha=0.3)
        rate_ax.legend(loc="lower left", fontsize="small")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
