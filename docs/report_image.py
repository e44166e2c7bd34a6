"""Make the README's picture of the report: a screenshot of the top of the demo run's HTML report.

Run it after `uv run kedro run` on the shipped demo (headless Chromium must be installed):

    uv run python docs/report_image.py

It writes docs/images/report.png (the executive summary and the first segment cards, kept small).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

PROJECT = Path(__file__).resolve().parents[1]
REPORT = PROJECT / "data/08_reporting/segmentation_report.html"
IMAGE = PROJECT / "docs/images/report.png"
WINDOW = (1280, 1500)  # CSS pixels rendered: the header, the summary and two rows of segment cards
WIDTH = 900  # pixels of the saved picture
COLOURS = 128  # a palette keeps the PNG small


def screenshot(report: Path, image: Path) -> None:
    """Render ``report`` in headless Chromium and save its top, scaled down, to ``image``."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("headless Chromium is needed: install the chromium package")
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "report.png"
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--screenshot={raw}",
                report.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
        picture = Image.open(raw).convert("RGB")
        height = round(picture.height * WIDTH / picture.width)
        small = picture.resize((WIDTH, height), Image.Resampling.LANCZOS).quantize(COLOURS)
        image.parent.mkdir(parents=True, exist_ok=True)
        small.save(image, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--image", type=Path, default=IMAGE)
    args = parser.parse_args()
    if not args.report.exists():
        raise SystemExit(f"{args.report} does not exist: run `uv run kedro run` first")
    screenshot(args.report, args.image)
    print(f"{args.image} ({args.image.stat().st_size / 1024:.0f} kB)")  # noqa: T201 - a command-line tool's answer


if __name__ == "__main__":
    main()
