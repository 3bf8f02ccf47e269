"""Make the README's briefing pictures from the seed model, as a reader's machine would.

    python docs/make_briefing_png.py

Copies the seed project (models, evidence, seeds, judgments) into a temporary folder, runs
`forecast fit` and `forecast brief` there, and writes:

- ``docs/briefing.png``: headless Chromium's screenshot of the top of ``briefing.html``, at
  A4's proportions (1240 x 1754 px);
- ``docs/briefing-p_H.png``: the briefing's P(H) figure;
- ``docs/briefing-excerpt.md``: the briefing's bottom line, which the README quotes.

Needs Debian's ``chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
FORECAST = [sys.executable, "-m", "forecast"]
#: A4 at 150 dpi: the page as it prints.
WINDOW = "1240,1754"


def main() -> None:
    """Fit and brief a copy of the seed project; write the pictures and the excerpt."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("Chromium is not installed: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        for part in ("models", "evidence", "seeds", "judgments"):
            shutil.copytree(REPO / part, project / part)
        subprocess.run([*FORECAST, "fit"], cwd=project, check=True, capture_output=True)
        subprocess.run([*FORECAST, "brief"], cwd=project, check=True, capture_output=True)
        folder = project / "briefings" / "azerbaijan-2025"
        profile = Path(tmp) / "profile"
        profile.mkdir()
        subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", f"--user-data-dir={profile}",
                "--hide-scrollbars", f"--window-size={WINDOW}",
                f"--screenshot={DOCS / 'briefing.png'}", (folder / "briefing.html").as_uri(),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        shutil.copyfile(folder / "p_H.png", DOCS / "briefing-p_H.png")
        page = (folder / "briefing.md").read_text()
        bottom_line = re.search(r"^## Bottom line\n(.*?)\n!\[", page, flags=re.S | re.M)
        assert bottom_line is not None, "the briefing has no bottom line"
        (DOCS / "briefing-excerpt.md").write_text(bottom_line.group(1).strip() + "\n")
    for name in ("briefing.png", "briefing-p_H.png", "briefing-excerpt.md"):
        print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
