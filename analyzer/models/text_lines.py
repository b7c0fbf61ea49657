"""Rekognition's lines from a text detector's boxes: pieces of one visual line become one line.

A detector such as PP-OCR's boxes text regions, and a wide word gap (a monospace font, a
sign set with generous spacing) splits a printed line into pieces, sometimes overlapping
ones. Rekognition returns one ``LINE`` per line of equally spaced words, so pieces that lie
on one baseline, share a direction and a height, and are at most a few word gaps apart are
grouped; separate columns (far apart) and rows (on other baselines) stay separate.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Quad = tuple[tuple[float, float], ...]
MAX_GAP = 1.3
"""The widest gap between two pieces of one line, in line heights (box heights)."""
MAX_OFFSET = 0.35
"""How far a piece's centre may sit off the line's axis, in line heights."""
MAX_ANGLE = 6.0
"""Degrees between two pieces' directions."""
MAX_HEIGHT_RATIO = 1.5
_DIRECTION_FROM = 2.0
"""Pieces at least this many heights long have a direction worth comparing."""


@dataclass(frozen=True)
class Piece:
    """A detected box seen as a stretch of a line: along ``direction`` from ``start`` to ``end``."""

    quad: Quad
    direction: tuple[float, float]
    normal: tuple[float, float]
    height: float
    centre: tuple[float, float]

    @classmethod
    def of(cls, quad: Quad) -> "Piece":
        points = np.asarray(quad, np.float64)
        top_left, top_right, bottom_right, bottom_left = points
        along = (top_right - top_left) + (bottom_right - bottom_left)
        norm = float(np.hypot(*along)) or 1.0
        dx, dy = float(along[0]) / norm, float(along[1]) / norm
        normal = (-dy, dx)
        heights = (bottom_left - top_left, bottom_right - top_right)
        height = float(np.mean([abs(h[0] * normal[0] + h[1] * normal[1]) for h in heights]))
        centre = points.mean(axis=0)
        return cls(quad, (dx, dy), normal, max(height, 1.0), (float(centre[0]), float(centre[1])))

    @property
    def length(self) -> float:
        start, end = self.span(self.direction)
        return end - start

    def span(self, direction: tuple[float, float]) -> tuple[float, float]:
        projections = [x * direction[0] + y * direction[1] for x, y in self.quad]
        return min(projections), max(projections)


def _continues(line: Sequence[Piece], right: Piece) -> bool:
    """Does ``right`` carry on ``line`` (its pieces so far), after a word gap?

    The line's height is its tallest piece's (a word without ascenders or descenders is
    boxed lower than its neighbours), its axis the longest piece's (a box around one or two
    characters says little about the direction).
    """
    last = line[-1]
    axis = max(line, key=lambda piece: piece.length)
    if min(axis.length, right.length) >= _DIRECTION_FROM * max(axis.height, right.height):
        cosine = axis.direction[0] * right.direction[0] + axis.direction[1] * right.direction[1]
        if cosine < math.cos(math.radians(MAX_ANGLE)):
            return False
    high = max(max(piece.height for piece in line), right.height)
    if high / min(max(piece.height for piece in line), right.height) > MAX_HEIGHT_RATIO:
        return False
    offset = (right.centre[0] - last.centre[0]) * axis.normal[0] + (right.centre[1] - last.centre[1]) * axis.normal[1]
    if abs(offset) > MAX_OFFSET * high:
        return False
    ends_after = right.span(axis.direction)[1] > last.span(axis.direction)[1]
    return ends_after and _gap(last, right, axis.direction) <= MAX_GAP * high


def _gap(left: Piece, right: Piece, direction: tuple[float, float]) -> float:
    """How far ``right`` starts after ``left`` ends, along ``direction``."""
    return right.span(direction)[0] - left.span(direction)[1]


def group_pieces(quads: Sequence[Quad]) -> list[list[int]]:
    """Indices of ``quads`` grouped into lines, each in reading order (along the line)."""
    pieces = [Piece.of(quad) for quad in quads]
    order = sorted(range(len(pieces)), key=lambda i: pieces[i].span(pieces[i].direction)[0])
    groups: list[list[int]] = []
    for index in order:
        piece = pieces[index]
        candidates = [group for group in groups if _continues([pieces[i] for i in group], piece)]
        if candidates:
            nearest = min(candidates, key=lambda group: _gap(pieces[group[-1]], piece, pieces[group[-1]].direction))
            nearest.append(index)
        else:
            groups.append([index])
    return sorted(groups, key=lambda group: (pieces[group[0]].centre[1], pieces[group[0]].centre[0]))


def enclosing_quad(quads: Sequence[Quad]) -> npt.NDArray[np.float32]:
    """The rotated rectangle around pieces of one line (top-left, top-right, bottom-right,
    bottom-left), along their mean direction."""
    pieces = [Piece.of(quad) for quad in quads]
    dx = sum(p.direction[0] * p.height for p in pieces)
    dy = sum(p.direction[1] * p.height for p in pieces)
    norm = math.hypot(dx, dy) or 1.0
    direction = np.array([dx / norm, dy / norm])
    normal = np.array([-direction[1], direction[0]])
    points = np.asarray([point for quad in quads for point in quad], np.float64)
    along, across = points @ direction, points @ normal
    corners = [
        (along.min(), across.min()),
        (along.max(), across.min()),
        (along.max(), across.max()),
        (along.min(), across.max()),
    ]
    return np.asarray([a * direction + c * normal for a, c in corners], np.float32)
