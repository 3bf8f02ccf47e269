"""Run one update in this process and kill it at step k: ``fault_runner.py ROOT FILE K WHEN``."""

from __future__ import annotations

import sys

from fault_injection import Injector, kill
from forecast import Project

if __name__ == "__main__":
    root, evidence, k, when = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with Injector(k, when, kill).installed() as injector:
        Project.open(root).update(evidence, plots=False)
    print(injector.count)
