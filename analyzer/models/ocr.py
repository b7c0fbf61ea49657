"""Text: PP-OCRv6 detection and recognition through rapidocr, with the models its wheel ships."""

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rapidocr
from rapidocr import RapidOCR
from rapidocr.ch_ppocr_rec import TextRecInput
from rapidocr.utils.output import RapidOCROutput
from rapidocr.utils.process_img import get_rotate_crop_image

from analyzer.images import Picture
from analyzer.models.text_lines import enclosing_quad, group_pieces

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
        """Lines in reading order; pieces of one visual line are read again as one line."""
        bgr = picture.bgr()
        pieces = self.pieces(bgr)
        lines = []
        for group in group_pieces([piece.quad for piece in pieces]):
            if len(group) == 1:
                lines.append(pieces[group[0]])
                continue
            whole = self._reread(bgr, enclosing_quad([pieces[index].quad for index in group]))
            lines.extend([whole] if whole is not None else [pieces[index] for index in group])
        return lines

    def _reread(self, bgr: npt.NDArray[np.uint8], quad: npt.NDArray[np.float32]) -> Line | None:
        """Recognition (and word boxes) on one quad of the image, or None if it reads nothing."""
        crop = get_rotate_crop_image(bgr, quad.copy())
        recognizer: Any = self._engine.text_rec
        result: Any = recognizer(TextRecInput(img=[crop], return_word_box=True))
        if result.txts is None or not result.txts[0].strip():
            return None
        result = self._engine.cal_rec_boxes([crop], np.asarray([quad]), result, False)
        return _line(result.txts[0], float(result.scores[0]), _quad(quad), result.word_results[0])

    def pieces(self, bgr: npt.NDArray[np.uint8]) -> list[Line]:
        """What rapidocr finds: its boxes, their text and words (a wide word gap splits a line)."""
        result = self._engine(
            bgr,
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
