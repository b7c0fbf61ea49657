"""Text: PP-OCRv6 detection and recognition through rapidocr, with the models its wheel ships."""

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import rapidocr
from rapidocr import RapidOCR
from rapidocr.utils.output import RapidOCROutput

from analyzer.images import Picture

VERSION = f"PP-OCRv6-small/rapidocr-{metadata.version('rapidocr')}"
Quad = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float
    quad: Quad


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    quad: Quad
    words: tuple[Word, ...]


def _quad(points: object) -> Quad:
    return tuple((float(x), float(y)) for x, y in points)  # type: ignore[attr-defined]


def _line(text: str, confidence: float, quad: Quad, words: Sequence[Any]) -> Line:
    """A line and its words; a line whose words rapidocr could not box is one word."""
    boxed = tuple(
        Word(word_text, float(word_score), _quad(word_box))
        for word_text, word_score, word_box in words
        if word_text.strip()
    )
    return Line(text, confidence, quad, boxed or (Word(text, confidence, quad),))


class TextReader:
    """Finds lines of text and their words; models are taken from the installed wheel.

    Every model path is given explicitly so rapidocr never looks for (or downloads)
    anything else.
    """

    def __init__(self) -> None:
        bundled = Path(rapidocr.__file__).parent / "models"
        self._engine = RapidOCR(
            params={
                "Global.log_level": "error",
                "Det.model_path": str(bundled / "PP-OCRv6_det_small.onnx"),
                "Cls.model_path": str(bundled / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
                "Rec.model_path": str(bundled / "PP-OCRv6_rec_small.onnx"),
            }
        )
        # rapidocr loads each model at its first use: use each once now, on a blank image.
        blank = np.full((48, 192, 3), 255, np.uint8)
        self._engine(blank, use_det=True, use_cls=False, use_rec=False)
        self._engine(blank, use_det=False, use_cls=True, use_rec=True)

    def read(self, picture: Picture) -> list[Line]:
        result = self._engine(
            picture.bgr(),
            use_det=True,
            use_cls=True,
            use_rec=True,
            return_word_box=True,
        )
        if not isinstance(result, RapidOCROutput) or result.txts is None:
            return []
        # Each line's words are (text, score, box) triples; rapidocr's types are loose.
        words_per_line: Sequence[Any] = result.word_results or [() for _ in result.txts]
        boxes: Sequence[Any] = [] if result.boxes is None else list(result.boxes)
        return [
            _line(text, float(score), _quad(box), words)
            for text, score, box, words in zip(
                result.txts,
                result.scores or (),
                boxes,
                words_per_line,
                strict=True,
            )
        ]
