"""Label-sheet benchmark: rendering label PDFs, and the QR matrix they draw.

    .venv/bin/python bench/labels.py              # 15 runs per figure
    .venv/bin/python bench/labels.py --runs 5     # a quick run

No database and no server: it times ``traceapp.records.label_pdf`` itself, in one process.

- font: registering the CJK TrueType font (once per process; later sheets reuse it);
- qr matrix: making the QR matrix of a new batch URL (error correction M), cache cleared;
- PDF: ``render_pdf`` of 100 and 1,000 labels on each layout, every run for a new batch code, so
  neither the QR matrix nor the label placement comes from a cache (the font does, as in a
  running app).

Figures are medians over ``--runs``; the target is a 100-label PDF in at most 1 s. Prints a
table, then one JSON object with every figure as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import QUICK_HELP, apply_quick, yes  # noqa: E402 - bench/ is the script's folder

from traceapp.records.label_pdf import LabelContent, label_font, qr_matrix, render_pdf  # noqa: E402
from traceapp.records.label_sheets import LAYOUTS  # noqa: E402

TARGET = 1.0  # seconds for a 100-label PDF
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def content(serial: int) -> LabelContent:
    code = "".join(ALPHABET[(serial // len(ALPHABET) ** i) % len(ALPHABET)] for i in range(13))
    return LabelContent(f"https://trace.example.cn/t/{code}", code, "黄桃", "炎陵黄桃",
                        "炎陵县鹿原镇黄桃专业合作社", "2026-08-01")


def median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per figure (default 15)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), runs=1)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    serial = 1000

    start = time.perf_counter()
    font = label_font()
    results: dict = {"font": font, "font_registration_ms": round((time.perf_counter() - start) * 1000, 3)}

    times = []
    for _ in range(args.runs):
        serial += 1
        qr_matrix.cache_clear()
        start = time.perf_counter()
        qr_matrix(content(serial).url)
        times.append(time.perf_counter() - start)
    results["qr_matrix_first_ms"] = median_ms(times)

    results["pdf"] = {}
    for name, layout in LAYOUTS.items():
        for labels in (100, 1000):
            times, size = [], 0
            for _ in range(args.runs):
                serial += 1
                start = time.perf_counter()
                size = len(render_pdf(content(serial), layout, labels))
                times.append(time.perf_counter() - start)
            results["pdf"][f"{name}/{labels}"] = {"median_ms": median_ms(times), "max_ms": round(max(times) * 1000, 3),
                                                  "pages": len(layout.pages(labels)), "bytes": size}

    worst_100 = max(v["median_ms"] for k, v in results["pdf"].items() if k.endswith("/100"))
    results["target_met"] = worst_100 <= TARGET * 1000
    print(f"font {font}: registered in {results['font_registration_ms']} ms (once per process)")
    print(f"QR matrix of a new URL: {results['qr_matrix_first_ms']} ms (median)")
    print(f"{'layout/labels':<16}{'pages':>7}{'median ms':>12}{'max ms':>10}{'bytes':>10}")
    for key, v in results["pdf"].items():
        print(f"{key:<16}{v['pages']:>7}{v['median_ms']:>12}{v['max_ms']:>10}{v['bytes']:>10}")
    print(f"\n100-label PDF, slowest layout: {worst_100} ms; target <= {TARGET * 1000:.0f} ms: "
          f"{yes(results['target_met'])}; medians over {args.runs} runs")
    run = {"runs": args.runs, "python": sys.version.split()[0], "cpus": os.cpu_count()}
    print(json.dumps({**results, "run": run}, ensure_ascii=False))


if __name__ == "__main__":
    main()
