"""The briefing in a real browser: headless Chromium renders it and loads every figure.

Chromium dumps the page's DOM after it has loaded; a copy of the page carries a script that
writes what it found (each image's natural width, the headings) into the DOM first. The test
fails, never skips, without Chromium: `.ci/run` installs it (Debian's `chromium`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The flags the briefing's browser test runs Chromium with: no sandbox (CI runs as root), no
#: GPU, no first-run dialogs, no network chatter, and a profile of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
)

#: Run once the page and its images have loaded: the result goes into the DOM Chromium dumps.
PROBE = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(
    (img) => ({complete: img.complete, width: img.naturalWidth, height: img.naturalHeight}));
  const headings = Array.from(document.querySelectorAll("h2")).map((h) => h.textContent);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images, headings, height: document.body.scrollHeight});
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed (apt-get install chromium); .ci/run installs it")


class _Probe(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inside = False
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.inside = self.inside or (tag == "pre" and ("id", "probe") in attrs)

    def handle_endtag(self, tag):
        if tag == "pre":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.text += data


def test_the_briefing_renders_in_chromium_with_every_figure_loaded(mini_project, cli, tmp_path):
    from test_questions import add_question

    add_question(mini_project)
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    assert cli("brief").exit_code == 0
    page = (mini_project / "briefings/mini/briefing.html").read_text()
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    profile = tmp_path / "profile"
    profile.mkdir()
    done = subprocess.run(
        [
            chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            "--virtual-time-budget=10000", "--dump-dom", probed.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    parser = _Probe()
    parser.feed(done.stdout)
    assert parser.text, "the page's script did not run: " + done.stdout[:500]
    found = json.loads(parser.text)
    assert len(found["images"]) == 5
    for image in found["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    assert found["headings"][:2] == ["Bottom line", "Key judgments"]
    assert found["height"] > 1000
