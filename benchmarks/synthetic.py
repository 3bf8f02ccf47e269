"""Write a synthetic project of a given size (claims x hypotheses x sources) for benchmarks."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import yaml


def write_project(
    root: Path, *, claims: int = 1000, hypotheses: int = 10, sources: int = 20, seed: int = 1
) -> Path:
    """Create models/, evidence/ and seeds/ under ``root``; return the model path."""
    rng = np.random.default_rng(seed)
    for part in ("models", "evidence", "seeds"):
        (root / part).mkdir(parents=True, exist_ok=True)
    hyp_ids = [f"h{i:02d}" for i in range(hypotheses)]
    src_ids = [f"s{i:02d}" for i in range(sources)]
    grades = "ABCDEF"
    sentences = [
        f"Report {c:04d} says that event {c:04d} took place as described." for c in range(claims)
    ]
    (root / "seeds" / "reports.txt").write_text("\n".join(sentences) + "\n")
    model = {
        "name": "synthetic",
        "title": "Synthetic benchmark",
        "explanandum": "Which synthetic hypothesis holds.",
        "background": "Generated for benchmarks.",
        "hypotheses": [
            {
                "id": h,
                "label": f"Hypothesis {h}",
                "description": "Synthetic.",
                "prior": 1.0 / hypotheses
                if i < hypotheses - 1
                else 1.0 - (hypotheses - 1) / hypotheses,
                "prior_rationale": "Uniform.",
            }
            for i, h in enumerate(hyp_ids)
        ],
        "documents": [
            {
                "id": "reports",
                "path": "seeds/reports.txt",
                "title": "Reports",
                "author": "Generated",
            }
        ],
        "sources": [
            {
                "id": s,
                "name": f"Source {s}",
                "grade": grades[i % 5],
                "grade_rationale": "Synthetic.",
            }
            for i, s in enumerate(src_ids)
        ],
    }
    truth = rng.integers(hypotheses)
    claim_items = []
    for c in range(claims):
        theta = rng.choice([0.1, 0.3, 0.5, 0.7, 0.9], size=hypotheses)
        theta[truth] = max(theta[truth], 0.5)
        witnesses = rng.choice(sources, size=rng.integers(1, 4), replace=False)
        claim_items.append(
            {
                "id": f"c{c:04d}",
                "kind": "act",
                "text": f"Event {c:04d} took place.",
                "judgments": {h: float(t) for h, t in zip(hyp_ids, theta, strict=True)},
                "attestations": [
                    {
                        "id": f"a{c:04d}-{src_ids[w]}",
                        "source": src_ids[w],
                        "document": "reports",
                        # Distinct passages of the same sentence, one per witness.
                        "quote": sentences[c].split(" says ")[0]
                        if k == 0
                        else sentences[c][-(30 + k) :],
                    }
                    for k, w in enumerate(witnesses)
                ],
            }
        )
    evidence = {
        "model": "synthetic",
        "judged_by": "Generator",
        "judged_on": "2026-11-30",
        "claims": claim_items,
    }
    (root / "models" / "synthetic.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    (root / "evidence" / "synthetic.yaml").write_text(yaml.safe_dump(evidence, sort_keys=False))
    return root / "models" / "synthetic.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--hypotheses", type=int, default=10)
    parser.add_argument("--sources", type=int, default=20)
    args = parser.parse_args()
    print(
        write_project(
            args.root, claims=args.claims, hypotheses=args.hypotheses, sources=args.sources
        )
    )


if __name__ == "__main__":
    main()
