"""DetectText's lines as Rekognition forms them: one LINE per visual line, its WORDs under it."""

import io
import math
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from analyzer.analysis import ImageAnalysis
from analyzer.images import decode
from analyzer.models.text_lines import Quad, enclosing_quad, group_pieces
from analyzer.operations import detect_text
from analyzer.phrases import Score, font_files, phrase_set
from analyzer.server import RunningServer

SAMPLED_PHRASES = 16
"""A small sample of bench/text_lines.py's set (which measures 240) keeps this layer fast."""
MONOSPACE = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _box(left: float, top: float, width: float, height: float) -> Quad:
    return ((left, top), (left + width, top), (left + width, top + height), (left, top + height))


def _rotated(quad: Quad, degrees: float, centre: tuple[float, float] = (0.0, 0.0)) -> Quad:
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    cx, cy = centre
    return tuple((cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos) for x, y in quad)


def test_pieces_a_word_gap_apart_form_one_line() -> None:
    # "open" "24" "hours" boxed separately, 30 px high, 20-35 px apart.
    pieces = [_box(10, 50, 80, 30), _box(110, 51, 40, 30), _box(185, 50, 100, 29)]

    assert group_pieces(pieces) == [[0, 1, 2]]


def test_columns_and_rows_stay_separate() -> None:
    left_column = [_box(10, 50, 80, 30), _box(110, 50, 60, 30)]
    right_column = [_box(300, 50, 90, 30)]  # 130 px (over four line heights) to the right
    next_row = [_box(10, 100, 120, 30)]

    groups = group_pieces(left_column + right_column + next_row)

    assert sorted(groups) == [[0, 1], [2], [3]]


def test_pieces_of_a_slanted_line_are_joined_and_their_box_follows_the_slant() -> None:
    pieces = [_rotated(_box(10, 50, 80, 30), 4.0), _rotated(_box(110, 50, 60, 30), 4.0)]

    (group,) = group_pieces(pieces)
    quad = enclosing_quad([pieces[index] for index in group])

    top_left, top_right = quad[0], quad[1]
    slope = (top_right[1] - top_left[1]) / (top_right[0] - top_left[0])
    assert group == [0, 1]
    assert slope == pytest.approx(0.0699, abs=0.005)  # tan(4 degrees)


def test_a_short_piece_joins_whatever_its_box_s_slant() -> None:
    # "3" in an oblique font: a box around one slanted character leans 10 degrees.
    three = ((55.0, 47.0), (75.0, 51.0), (70.0, 75.0), (51.0, 72.0))
    sale = ((98.0, 51.0), (167.0, 55.0), (166.0, 81.0), (97.0, 77.0))

    assert group_pieces([three, sale]) == [[0, 1]]


def test_a_word_without_ascenders_does_not_break_the_line() -> None:
    # "lazy" "menu" "pipeline restaurant": "menu" is boxed a third lower than its neighbours.
    pieces = [_box(676, 80, 111, 45), _box(795, 88, 127, 31), _box(917, 79, 484, 47.5)]

    assert group_pieces(pieces) == [[0, 1, 2]]


def test_pieces_of_different_sizes_are_different_lines() -> None:
    heading, small_print = _box(10, 40, 200, 60), _box(230, 70, 100, 20)

    assert len(group_pieces([heading, small_print])) == 2


def test_widely_spaced_words_come_back_as_one_line_with_its_words(rekognition: Any) -> None:
    # Given a monospace font and double word spacing: PP-OCR boxes each word on its own.
    font = ImageFont.truetype(MONOSPACE, 40)
    canvas = Image.new("RGB", (900, 260), "white")
    draw = ImageDraw.Draw(canvas)
    gap = font.getlength(" ") * 2
    for row, words in enumerate((["open", "24", "hours"], ["Hello", "world", "again"])):
        x = 40.0
        for word in words:
            draw.text((x, 40 + row * 110), word, fill="black", font=font)
            x += font.getlength(word) + gap
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")

    detections = rekognition.detect_text(Image={"Bytes": buffer.getvalue()})["TextDetections"]

    lines = [d for d in detections if d["Type"] == "LINE"]
    assert [line["DetectedText"] for line in lines] == ["open 24 hours", "Hello world again"]
    for line in lines:
        children = [d["DetectedText"] for d in detections if d["Type"] == "WORD" and d["ParentId"] == line["Id"]]
        assert children == line["DetectedText"].split()


def test_generated_phrases_read_as_whole_lines_and_exact_words(server: RunningServer) -> None:
    # In this process (the wire format is checked elsewhere): no HTTP timeout on a busy machine.
    request = detect_text.parse({})
    score = Score()
    for drawn in phrase_set(SAMPLED_PHRASES, seed=0):
        analysis = ImageAnalysis(decode(drawn.image), server.models)
        score.add(drawn, detect_text.run(request, analysis)["TextDetections"])

    assert font_files(), (
        "no Debian fonts found: run `make install` (fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf)"
    )
    assert score.line_rate >= 0.95, score.misses
    assert score.word_rate >= 0.98, score.misses
