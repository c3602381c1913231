"""Render a run directory's report.html in headless Chromium, save a screenshot and check the loaded DOM.

    python benchmarks/report_screenshot.py RUN_DIR --out shot.png [--docs docs/img/report-screenshot.png]
    python benchmarks/report_screenshot.py --smoke     # a tiny fit, rendered (and checked where chromium exists)

Writes the report first (``lpzero_sr.report.write_report``), then runs
``chromium --headless --disable-gpu --no-sandbox --screenshot=OUT --window-size=1200,2400 file://.../report.html``
and ``--dump-dom`` on the same page, and asserts on the DOM the browser built
(:func:`lpzero_sr.report.pagecheck.check_page`): the formula ``<img>`` is present with a nonzero width and height,
no literal ``$$`` is left in the visible text, every ``<img>`` src is a decodable data: URI or a relative file that
exists, nothing is fetched from the network, and the tables have the expected header cells. Exit 1 on a problem.
``--docs`` also saves a cropped, downscaled copy for the documentation (Pillow, a matplotlib dependency).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import smoke
from PIL import Image

from lpzero_sr.report import write_report
from lpzero_sr.report.pagecheck import check_page, dump_dom, find_browser, screenshot

FIT_HEADERS = ("split", "metric", "found proxy", "chosen", "complexity", "formula")
PROTOCOL_HEADERS = ("metric", "mean", "std")


def shrink(shot: Path, out: Path, width: int = 760) -> Path:
    """Crop the empty page bottom and scale to ``width`` pixels (a small PNG for the docs)."""
    image = Image.open(shot).convert("RGB")
    box = Image.eval(image, lambda v: 255 - v).getbbox()  # the non-white area
    if box:
        image = image.crop((0, 0, image.width, min(image.height, box[3] + 20)))
    image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.quantize(colors=256).save(out, optimize=True)
    return out


def tiny_run(folder: Path) -> Path:
    """A fit of a 12-row table with one generation (``--smoke``): a run folder to render."""
    import numpy as np
    import pandas as pd

    from lpzero_sr.cli import main as cli

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(12)], "x": rng.normal(size=12), "z": rng.normal(size=12)})
    frame.assign(acc=frame["x"] + rng.normal(size=12)).to_csv(folder / "table.csv", index=False)
    run = folder / "run"
    args = ["fit", str(folder / "table.csv"), "--target", "acc", "--maximize", "--train-size", "6"]
    cli([*args, "--generations", "1", "--population", "8", "--jobs", "1", "--out", str(run)], standalone_mode=False)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, nargs="?", help="A fit or protocol run (--smoke: a tiny fit made here).")
    parser.add_argument("--out", type=Path, default=Path("report-screenshot.png"))
    parser.add_argument("--docs", type=Path, help="also save a cropped, downscaled copy here")
    args = smoke.parse(parser, out=lambda: smoke.scratch()() / "shot.png", docs=None)
    if args.run_dir is None:
        if not args.smoke:
            parser.error("RUN_DIR is required")
        args.run_dir = tiny_run(args.out.parent)
    browser = find_browser()
    if browser is None:
        print("no chromium on PATH (apt-get install -y chromium)", file=sys.stderr)
        if args.smoke:
            _, page = write_report(args.run_dir)
            print(f"smoke: wrote {page}; the browser check is skipped")
            return 0
        return 2
    _, page = write_report(args.run_dir)
    screenshot(browser, page, args.out)
    dom = dump_dom(browser, page)
    fit = (args.run_dir / "proxy.json").is_file()
    problems = check_page(dom, page.parent, FIT_HEADERS if fit else PROTOCOL_HEADERS)
    print(
        f"screenshot {args.out} ({Image.open(args.out).size[0]}x{Image.open(args.out).size[1]}), "
        f"DOM {len(dom)} characters from {browser}"
    )
    if args.docs:
        print(f"docs copy {shrink(args.out, args.docs)}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(
            "OK: formula image with nonzero size, no $$ in visible text, images are data: URIs or existing "
            "relative files, no network references, expected table headers present"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
