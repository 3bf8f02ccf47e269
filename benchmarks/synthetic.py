"""Write a synthetic project of a given size (claims x hypotheses x sources) for benchmarks.

Source texts and evidence files are split so that each stays under the project's limits
(``MAX_DOCUMENT_BYTES``, ``MAX_SPEC_BYTES``): 100 000 claims make about 4 texts and 50
evidence files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import yaml

from forecast.constants import MAX_DOCUMENT_BYTES, MAX_SPEC_BYTES

#: About 60 bytes a sentence: a text stays well under MAX_DOCUMENT_BYTES.
_SENTENCES_PER_TEXT = MAX_DOCUMENT_BYTES // 80
#: About 500 bytes a claim: an evidence file stays under MAX_SPEC_BYTES.
_CLAIMS_PER_FILE = 1500
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


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
    document_of = []
    documents = []
    for start in range(0, claims, _SENTENCES_PER_TEXT):
        doc_id = f"reports-{len(documents):02d}"
        chunk = sentences[start : start + _SENTENCES_PER_TEXT]
        (root / "seeds" / f"{doc_id}.txt").write_text("\n".join(chunk) + "\n")
        documents.append(
            {"id": doc_id, "path": f"seeds/{doc_id}.txt", "title": "Reports", "author": "Generated"}
        )
        document_of += [doc_id] * len(chunk)
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
        "documents": documents,
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
                        "document": document_of[c],
                        # Distinct passages of the same sentence, one per witness.
                        "quote": sentences[c].split(" says ")[0]
                        if k == 0
                        else sentences[c][-(30 + k) :],
                    }
                    for k, w in enumerate(witnesses)
                ],
            }
        )
    (root / "models" / "synthetic.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    for number, start in enumerate(range(0, claims, _CLAIMS_PER_FILE)):
        evidence = {
            "model": "synthetic",
            "judged_by": "Generator",
            "judged_on": "2026-11-30",
            "claims": claim_items[start : start + _CLAIMS_PER_FILE],
        }
        text = yaml.dump(evidence, Dumper=_Dumper, sort_keys=False)
        assert len(text.encode()) < MAX_SPEC_BYTES, "lower _CLAIMS_PER_FILE"
        (root / "evidence" / f"synthetic-{number:03d}.yaml").write_text(text)
    return root / "models" / "synthetic.yaml"


def write_analysts(root: Path, count: int, *, shrink: float = 0.1) -> list[Path]:
    """``count`` further analysts for the project at ``root``, in judgments/a1.yaml, ...

    Each judges every plain claim that is not an opinion, its evidence judgments drawn toward
    0.5 by ``shrink`` times its number (so the caps and ``contradicts`` still hold).
    """
    import yaml

    from forecast.api import Project

    spec = Project.open(root).load()
    folder = root / "judgments"
    folder.mkdir(exist_ok=True)
    written = []
    for k in range(1, count + 1):
        claims = {}
        for claim in spec.claims:
            if claim.fact is not None or claim.is_opinion or claim.kind == "outcome":
                continue
            factor = shrink * k
            claims[claim.id] = {
                h: round(t + factor * (0.5 - t), 6)
                for h, t in zip(spec.hypothesis_ids, claim.theta, strict=True)
            }
        data = {
            "model": spec.name,
            "judged_by": f"Analyst {k}",
            "judged_on": "2025-07-06",
            "blind": True,
            "claims": claims,
        }
        path = folder / f"a{k}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        written.append(path)
    return written


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
