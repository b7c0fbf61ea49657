"""How DetectText reads a generated set of printed phrases: exact LINE and WORD match rates.

Run: ``python bench/text_lines.py [--count 240] [--seed 0] [--show-misses] [--pieces]``. The phrases are
drawn by :mod:`analyzer.phrases` (Debian's fonts and Pillow's, varied sizes, spacing,
backgrounds, rotations of a few degrees; single lines, rows and columns) and read by the
DetectText operation in this process. Prints the rates, per layout and overall. ``--pieces``
scores rapidocr's own lines instead (each detected box a line, as before lines were joined).
"""

import argparse
import time
from collections import defaultdict
from typing import Any

from analyzer.analysis import ImageAnalysis
from analyzer.images import decode
from analyzer.models.ocr import Line
from analyzer.models.registry import Models
from analyzer.operations import detect_text
from analyzer.phrases import Score, font_files, phrase_set


def _as_detections(lines: list[Line]) -> list[dict[str, Any]]:
    """Just the texts of lines and words, in DetectText's shape (enough for :class:`Score`)."""
    found: list[dict[str, Any]] = [{"Type": "LINE", "DetectedText": line.text} for line in lines]
    return found + [{"Type": "WORD", "DetectedText": word.text} for line in lines for word in line.words]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--pieces", action="store_true", help="score rapidocr's boxes as lines (the old answer)")
    args = parser.parse_args()
    models = Models()
    request = detect_text.parse({})
    overall = Score()
    per_layout: defaultdict[str, Score] = defaultdict(Score)
    started = time.perf_counter()
    for drawn in phrase_set(args.count, args.seed):
        picture = decode(drawn.image)
        if args.pieces:
            with models.text.use() as reader:
                detections = _as_detections(reader.pieces(picture.bgr()))
        else:
            detections = detect_text.run(request, ImageAnalysis(picture, models))["TextDetections"]
        overall.add(drawn, detections)
        per_layout[drawn.name.rsplit("-", 1)[-1]].add(drawn, detections)
    elapsed = time.perf_counter() - started
    print(f"{args.count} samples (seed {args.seed}), {len(font_files())} Debian fonts + Pillow's, {elapsed:.0f} s")
    for name, score in [*sorted(per_layout.items()), ("all", overall)]:
        print(
            f"{name:<8} lines {score.lines_matched}/{score.lines_expected} = {score.line_rate:6.1%}"
            f"   words {score.words_matched}/{score.words_expected} = {score.word_rate:6.1%}"
        )
    if args.show_misses:
        print("\n".join(overall.misses))


if __name__ == "__main__":
    main()
