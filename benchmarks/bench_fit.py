"""Time the main jobs in one run and print them as ratios to `python -c "import pymc"`.

    python benchmarks/bench_fit.py [--repeat 2] [--write benchmarks/RESULTS.md]

(a) import pymc, (b) `forecast fit` on the seed model with a warm compile cache,
(c) `forecast fit --method exact` and (i) the same with `--no-robustness`, so that c - i is what
the robustness analysis adds, (d) `forecast fit` on a synthetic model of 1000 claims x
10 hypotheses x 20 sources, end to end, (e) `forecast update` of one claim against (b), and the
start-up of (f) `forecast --help` and (g) `forecast check` on the seed model, and (h)
`forecast check` on a synthetic project of 100 000 claims x 10 hypotheses x 20 sources, with its
peak memory (``--no-scale`` leaves (h) out), and (j) `forecast sensitivity` on the 1000-claim
model, and on the seed model with one further analyst (3 in all with its second analyst;
benchmarks/synthetic.py) (k)
`forecast judges` and (m) `forecast fit`, and (n) `forecast questions` and (o) `forecast
indicators` on a copy never fitted, and (p) `forecast score --retrospective` (which draws the
calibration figure) on a copy fitted once with three questions resolved, and (q) `forecast
brief` on a copy fitted once (with its second analyst). ``--only a,b,c`` times some jobs alone.
Each job runs once to warm caches, then ``--repeat`` times, all jobs in turns so that a drifting
machine slows them alike; the median is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from synthetic import write_analysts, write_project  # noqa: E402

FORECAST = [sys.executable, "-m", "forecast"]


def timed_with_memory(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and peak resident memory (GB) of one run of a command."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise RuntimeError("a larger child ran before; run the scale job in its own process")
    return seconds, peak / 1024**2


def timed_in_turns(
    jobs: dict[str, tuple[list[str], Path]], repeat: int, env: dict[str, str]
) -> dict[str, float]:
    """Median wall time of each job after one warm-up run of each.

    The jobs run in turns (a, b, c, ..., a, b, c, ...), not one after another, so that a
    machine whose speed drifts during the run slows every job alike and the ratios hold.
    """
    times: dict[str, list[float]] = {key: [] for key in jobs}
    for turn in range(repeat + 1):
        for key, (command, cwd) in jobs.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
            if turn:
                times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def copy_seed_project(target: Path) -> Path:
    for part in ("models", "evidence", "judgments", "seeds", "examples"):
        if (REPO / part).exists():
            shutil.copytree(REPO / part, target / part)
    return target


#: Retrospective seed questions resolved in the copy (p) scores; the outcomes only exercise
#: the scoring and the figure, they are not a reading of events.
RESOLVED = (
    ("putin-aliyev-contact-2025", "yes", "2025-10-09"),
    ("us-trilateral-aliyev-pashinyan-2025", "yes", "2025-08-08"),
    ("azerbaijan-russian-schools-closure-2025", "no", "2025-12-31"),
)


def prepare_scores(project: Path) -> None:
    """Fit ``project`` once (recording its forecasts) and resolve :data:`RESOLVED`.

    The seed's two undated documents get a stand-in date first, so the evidence cutoff is
    known, the forecasts are scorable and the timed job draws its figure.
    """
    model = next((project / "models").glob("*.yaml"))
    text = model.read_text()
    for document in ("nc-powerplay", "kobakhidze-oped"):
        text = text.replace(f"  - id: {document}\n", f"  - id: {document}\n    date: 2025-07-05\n")
    model.write_text(text)
    run = {"cwd": project, "check": True, "capture_output": True}
    subprocess.run([*FORECAST, "fit", "--method", "exact", "--no-plots"], **run)
    for question, outcome, date in RESOLVED:
        resolve = ["resolve", question, "--outcome", outcome, "--date", date]
        subprocess.run([*FORECAST, *resolve], **run)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def publish(text: str, results: Path | None) -> None:
    """Print a benchmark's table, and append it to the results file if one is given."""
    print(text)
    if results:
        previous = results.read_text() if results.exists() else "# Benchmark results\n"
        results.write_text(previous.rstrip("\n") + "\n\n" + text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--only", default=None, help="comma-separated jobs, e.g. a,b")
    args = parser.parse_args()
    only = set(args.only.split(",")) | {"a"} if args.only else None

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_scale and only is None:
            # First, so that no larger child has run: ru_maxrss is the largest child so far.
            scale = tmp / "scale"
            write_project(scale, claims=100_000, hypotheses=10, sources=20)
            figures["h"], figures["h_gb"] = timed_with_memory([*FORECAST, "check"], scale)
            shutil.rmtree(scale)
        seed = copy_seed_project(tmp / "seed")
        judged = copy_seed_project(tmp / "judged")
        asked = copy_seed_project(tmp / "asked")  # never fitted: questions compute their own
        write_analysts(judged, 1)  # with the seed's own second analyst, 3 in all
        scored = copy_seed_project(tmp / "scored")
        prepare_scores(scored)
        briefed = copy_seed_project(tmp / "briefed")
        subprocess.run(
            [*FORECAST, "fit", "--no-plots"], cwd=briefed, check=True, capture_output=True
        )
        synthetic = tmp / "synthetic"
        write_project(synthetic, claims=1000, hypotheses=10, sources=20)

        jobs = {
            "a": ([sys.executable, "-c", "import pymc"], tmp),
            "b": ([*FORECAST, "fit", "--no-plots"], seed),
            "c": ([*FORECAST, "fit", "--method", "exact", "--no-plots"], seed),
            "i": ([*FORECAST, "fit", "--method", "exact", "--no-plots", "--no-robustness"], seed),
            "d": ([*FORECAST, "fit", "--no-plots"], synthetic),
            "j": ([*FORECAST, "sensitivity", "--format", "csv"], synthetic),
            "k": ([*FORECAST, "judges"], judged),
            "m": ([*FORECAST, "fit", "--no-plots"], judged),
            "n": ([*FORECAST, "questions"], asked),
            "o": ([*FORECAST, "indicators"], asked),
            "p": ([*FORECAST, "score", "--retrospective"], scored),
            "q": ([*FORECAST, "brief"], briefed),
            "f": ([*FORECAST, "--help"], seed),
            "g": ([*FORECAST, "check"], seed),
        }
        example = seed / "examples" / "new-evidence.yaml"
        if example.exists():
            jobs["e"] = ([*FORECAST, "update", "--evidence", str(example), "--dry-run"], seed)
        if only is not None:
            jobs = {key: job for key, job in jobs.items() if key in only}
        # A compile cache of its own, warmed by the warm-up turn: the cache a user of this
        # project has, whatever else this machine has compiled before.
        env = os.environ | {"PYTENSOR_FLAGS": f"base_compiledir={tmp / 'pytensor'}"}
        figures |= timed_in_turns(jobs, args.repeat, env)
        summary_path = synthetic / "results" / "synthetic" / "summary.json"
        rhat = (
            json.loads(summary_path.read_text())["diagnostics"]["max_rhat"]
            if "d" in figures
            else None
        )

    a = figures["a"]
    described = {
        "a": "python -c 'import pymc'",
        "b": "forecast fit (seed model, warm cache)",
        "c": "forecast fit --method exact (seed model)",
        "i": "forecast fit --method exact --no-robustness (seed model)",
        "d": "forecast fit (1000 claims x 10 hypotheses x 20 sources)",
        "j": "forecast sensitivity (1000 claims x 10 hypotheses x 20 sources)",
        "k": "forecast judges (seed model, 3 analysts)",
        "m": "forecast fit (seed model, 3 analysts)",
        "n": "forecast questions (seed model, no published fit: its own exact pass)",
        "o": "forecast indicators (seed model, no published fit)",
        "p": "forecast score --retrospective (seed model, 3 resolved; draws calibration.png)",
        "q": "forecast brief (seed model, fitted, 2 analysts)",
        "e": "forecast update --dry-run (one new claim, seed model)",
        "f": "forecast --help",
        "g": "forecast check (seed model)",
        "h": "forecast check (100 000 claims x 10 x 20, one run)",
    }
    lines = [
        f"Benchmark of {dt.date.today().isoformat()} on {machine()}",
        f"median of {args.repeat} runs in turns after one warm-up; ratios against (a) in the same run",
        "",
        "| job | what | seconds | ratio to (a) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {key} | {what} | {figures[key]:.2f} | {figures[key] / a:.2f} |"
        for key, what in described.items()
        if key in figures
    ]
    lines.append("")
    if "b" in figures:
        lines.append(f"- b/a = {figures['b'] / a:.2f} (target <= 3)")
    if "c" in figures and "i" in figures:
        lines.append(
            f"- robustness on the seed model adds c - i = {figures['c'] - figures['i']:.2f} s "
            f"(target <= i = {figures['i']:.2f} s, the exact fit without it)"
        )
    if "d" in figures:
        lines.append(
            f"- d = {figures['d']:.1f} s end to end (target <= 30 s), "
            f"max r-hat {rhat:.3f} (target <= 1.01)"
        )
    if "j" in figures:
        lines.append(f"- j = {figures['j']:.1f} s (target <= 60 s)")
    if "k" in figures and "c" in figures:
        lines.append(f"- k/c = {figures['k'] / figures['c']:.2f} (target <= 3)")
    if "m" in figures:
        lines.append(f"- m/a = {figures['m'] / a:.2f} (fit with 3 analysts; target <= 3)")
    for key in ("n", "o", "p"):
        if key in figures and "c" in figures:
            lines.append(f"- {key}/c = {figures[key] / figures['c']:.2f} (target <= 1)")
    if "q" in figures:
        lines.append(f"- q = {figures['q']:.1f} s (target <= 30 s)")
    if "e" in figures and "b" in figures:
        lines.append(
            f"- e/b = {figures['e'] / figures['b']:.2f} (one-claim update against a full fit)"
        )
    if "f" in figures and "g" in figures:
        lines.append(
            f"- f = {figures['f']:.2f} s, g = {figures['g']:.2f} s (target < 1 s each; "
            f"{figures['f'] / a:.2f} and {figures['g'] / a:.2f} of (a))"
        )
    if "h" in figures:
        lines.append(
            f"- h = {figures['h']:.1f} s (target < 30 s), peak memory {figures['h_gb']:.2f} GB "
            "(target < 1 GB)"
        )
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
