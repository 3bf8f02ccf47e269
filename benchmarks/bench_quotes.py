"""Time the search for the closest passage to a mis-cited quote, as ratios to `import pymc`.

    python benchmarks/bench_quotes.py [--repeat 3] [--write benchmarks/RESULTS.md]

(a) import pymc, (q) `closest_passage` of a 200-character mis-cited quote in a generated 2 MB
text (the largest document a project may hold), and (k) `forecast check` of a generated project
with 1.9 MB of texts in three documents and one mis-cited quote, end to end (it must exit 2).
Targets: q under 1 s, k under 3 s. Each job runs once to warm caches, then ``--repeat`` times;
the median is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from forecast.constants import MAX_DOCUMENT_BYTES
from forecast.spec.quotes import NormalizedText, closest_passage, find_quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_fit import machine, publish, timed  # noqa: E402

FORECAST = [sys.executable, "-m", "forecast"]
QUOTE_LENGTH = 200
COMMON_WORDS = "the of and to in a said that was on for by with at from as had were it not"
SYLLABLES = "ka lo mi ne ru sa te vo di pa gen hol mar ist ent ber tor lan qu os"


def generated_text(size: int, seed: int) -> str:
    """Plain text of about ``size`` bytes: sentences of common and made-up words, wrapped lines."""
    rng = random.Random(seed)
    syllables = SYLLABLES.split()
    vocabulary = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(3000)]
    vocabulary += COMMON_WORDS.split() * 60
    lines: list[str] = []
    line: list[str] = []
    total = 0
    while total < size:
        sentence = rng.choices(vocabulary, k=rng.randint(6, 24))
        sentence[0] = sentence[0].capitalize()
        sentence[-1] += rng.choice([".", ".", ".", ",", ";", "?"])
        for word in sentence:
            if sum(len(w) + 1 for w in line) + len(word) > 90:
                lines.append(" ".join(line))
                total += len(lines[-1]) + 1
                line = []
                if rng.random() < 0.05:
                    lines.append("")
                    total += 1
            line.append(word)
    return "\n".join(lines) + "\n"


def mis_cite(text: str, at: float) -> tuple[str, int]:
    """About 200 characters of whole words from ``at`` (a fraction) into the text, one changed;
    and the line they start on."""
    start = text.index(" ", int(len(text) * at)) + 1
    end = text.rindex(" ", start, start + QUOTE_LENGTH + 1)
    words = text[start:end].split()
    words[len(words) // 2] = "holiday"
    quote = " ".join(words)
    assert find_quote(quote, NormalizedText(text)) is None
    return quote, text.count("\n", 0, start) + 1


def write_project(root: Path, sizes: tuple[int, ...], seed: int = 1) -> int:
    """A project whose documents have the given sizes; one quote in the largest is mis-cited.

    Returns the line that quote was taken from.
    """
    for part in ("models", "evidence", "seeds"):
        (root / part).mkdir(parents=True, exist_ok=True)
    texts = {f"doc{i}": generated_text(size, seed + i) for i, size in enumerate(sizes)}
    for name, text in texts.items():
        (root / "seeds" / f"{name}.txt").write_text(text)
    model = {
        "name": "quotes",
        "title": "Quote benchmark",
        "explanandum": "Which generated hypothesis holds.",
        "background": "Generated for benchmarks.",
        "hypotheses": [
            {"id": h, "label": h, "description": "Generated.", "prior": 0.5, "prior_rationale": "-"}
            for h in ("h1", "h2")
        ],
        "documents": [
            {"id": name, "path": f"seeds/{name}.txt", "title": name, "author": "Generator"}
            for name in texts
        ],
        "sources": [{"id": "s1", "name": "Source", "grade": "C", "grade_rationale": "-"}],
    }
    largest = max(texts, key=lambda name: len(texts[name]))
    mis_cited, line = mis_cite(texts[largest], 0.7)
    claims = []
    for number, (name, text) in enumerate(texts.items()):
        start = text.index(" ", len(text) // 3) + 1
        claims.append(
            {
                "id": f"c{number}",
                "kind": "act",
                "text": f"Claim {number}.",
                "judgments": {"h1": 0.7, "h2": 0.3},
                "attestations": [
                    {
                        "id": f"a{number}",
                        "source": "s1",
                        "document": name,
                        "quote": " ".join(text[start : start + 120].split()),
                    }
                ],
            }
        )
    claims.append(
        {
            "id": "mis-cited",
            "kind": "act",
            "text": "The mis-cited claim.",
            "judgments": {"h1": 0.6, "h2": 0.4},
            "attestations": [
                {
                    "id": "a-mis-cited",
                    "source": "s1",
                    "document": largest,
                    "quote": mis_cited,
                }
            ],
        }
    )
    evidence = {"model": "quotes", "judged_by": "Generator", "judged_on": "2026-12-01"}
    evidence["claims"] = claims
    (root / "models" / "quotes.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    (root / "evidence" / "quotes.yaml").write_text(yaml.safe_dump(evidence, sort_keys=False))
    return line


def timed_check(root: Path, repeat: int) -> tuple[float, str]:
    """Median wall time of `forecast check` after one warm-up, and the problem it reports."""
    times = []
    for run in range(repeat + 1):
        start = time.perf_counter()
        result = subprocess.run(
            [*FORECAST, "check"], cwd=root, capture_output=True, text=True, check=False
        )
        if run:
            times.append(time.perf_counter() - start)
    if result.returncode != 2 or "closest passage" not in result.stderr:
        raise SystemExit(f"forecast check: exit {result.returncode}\n{result.stderr}")
    return statistics.median(times), result.stderr.strip()


def timed_closest_passage(repeat: int) -> tuple[float, str]:
    """Median time of `closest_passage` for a mis-cited quote in a 2 MB text, and its answer."""
    text = generated_text(MAX_DOCUMENT_BYTES - 200, seed=7)
    document = NormalizedText(text)
    quote, line = mis_cite(text, 0.7)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        close = closest_passage(quote, document)
        times.append(time.perf_counter() - start)
    answer = f"line {close.line} (quoted from line {line}), similarity {close.similarity:.2f}"
    return statistics.median(times), answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        quoted_line = write_project(project, sizes=(1_500_000, 250_000, 150_000))
        texts = sum(path.stat().st_size for path in (project / "seeds").iterdir())
        pymc = timed([sys.executable, "-c", "import pymc"], Path(tmp), args.repeat)
        check, problem = timed_check(project, args.repeat)
    search, answer = timed_closest_passage(args.repeat)

    rows = [
        ("a", "python -c 'import pymc'", pymc),
        ("q", "closest_passage, 200-char mis-cited quote, 2 MB text", search),
        ("k", f"forecast check, {texts / 1e6:.1f} MB of texts, one mis-cited quote", check),
    ]
    lines = [
        f"Quote search benchmark of {dt.date.today().isoformat()} on {machine()}",
        f"median of {args.repeat} runs; ratios against (a) in the same run",
        "",
        "| job | what | seconds | ratio to (a) |",
        "|---|---|---|---|",
        *(f"| {key} | {what} | {sec:.3f} | {sec / pymc:.3f} |" for key, what, sec in rows),
        "",
        f"- q = {search:.3f} s (target < 1 s): {answer}",
        f"- k = {check:.3f} s (target < 3 s), exit 2 (quoted from line {quoted_line}): {problem}",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
