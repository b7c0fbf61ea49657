"""A generated set of printed phrases, to measure how DetectText forms lines and words.

Nothing here is committed as images: :func:`phrase_set` draws each sample from a seed, with
the TrueType fonts of Debian's font packages (DejaVu, Liberation, FreeFont: whichever are
installed under ``/usr/share/fonts``) and Pillow's own font, at varied sizes, word spacing,
colours and backgrounds, rotated by a few degrees. Most samples hold one line; some stack two
or three rows, or put two phrases side by side as columns: those must stay separate lines.

:class:`Score` compares DetectText's answer with what was drawn: a line matches when a
``LINE`` reads exactly the phrase (so a line split in two, or two columns run together, do
not), a word when a ``WORD`` reads exactly that word.
"""

import io
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_ROOT = Path("/usr/share/fonts/truetype")
_FONT_FAMILIES = ("dejavu", "liberation", "freefont")
_SKIPPED_FONTS = ("Math", "ExtraLight")
"""DejaVu's maths font has no ordinary letters; ExtraLight is a hairline, not ordinary print."""
PILLOW_FONT = "Pillow default"
_VOCABULARY = (
    "open 24 hours hello world again the quick brown fox jumps over lazy dog coffee shop "
    "fresh bread daily welcome to our store please wait here exit only no parking main street "
    "north south east west city hall museum of modern art sale today 50 percent off free wifi "
    "inside station platform 3 departures arrivals gate 12 train bus stop route 66 pharmacy "
    "bakery garden centre opening soon closed on sundays keep calm and carry on happy birthday "
    "serverless image pipeline photo upload recognition label text face moderation report "
    "order number 2026 total price tickets office library school road works ahead slow down "
    "children crossing private property visitors welcome reception floor level car park "
    "entrance hotel restaurant menu lunch dinner breakfast served until 11 am pm call now "
    "summer winter spring autumn market square river bridge tower castle green blue red "
    "yellow orange purple silver gold village news weekly special offer best value quality"
)
WORDS = tuple(_VOCABULARY.split())
_BACKGROUNDS = ("plain", "dark", "gradient", "noise")


@dataclass(frozen=True)
class Sample:
    """One generated image (PNG) and the lines drawn on it, each a phrase of words."""

    name: str
    image: bytes
    lines: tuple[str, ...]


def font_files(root: Path = FONT_ROOT) -> list[Path]:
    """The installed TrueType fonts of the families used here, sorted."""
    return [
        path
        for family in _FONT_FAMILIES
        for path in sorted((root / family).glob("*.ttf"))
        if not any(skipped in path.name for skipped in _SKIPPED_FONTS)
    ]


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    if name == PILLOW_FONT:
        font = ImageFont.load_default(size=size)
        assert isinstance(font, ImageFont.FreeTypeFont)  # Pillow's wheel ships FreeType
        return font
    return ImageFont.truetype(name, size)


def _phrase(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))


def _colours(rng: random.Random, background: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(paper, ink) with enough contrast to read."""
    light = tuple(rng.randint(200, 255) for _ in range(3))
    dark = tuple(rng.randint(0, 70) for _ in range(3))
    if background == "dark":
        return dark, light  # type: ignore[return-value]
    return light, dark  # type: ignore[return-value]


def _background(rng: random.Random, kind: str, size: tuple[int, int], paper: tuple[int, int, int]) -> Image.Image:
    width, height = size
    base = np.empty((height, width, 3), np.float32)
    base[:] = paper
    if kind == "gradient":
        other = np.array([rng.randint(170, 255) for _ in range(3)], np.float32)
        ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[np.newaxis, :, np.newaxis]
        base = base * (1 - ramp) + other * ramp
    elif kind == "noise":
        base += np.random.default_rng(rng.randrange(2**32)).normal(0.0, rng.uniform(6, 18), base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


@dataclass
class _Layout:
    """Phrases and where each starts on an unrotated text layer, in px."""

    kind: str
    lines: list[str] = field(default_factory=list)
    origins: list[tuple[float, float]] = field(default_factory=list)


def _layout(rng: random.Random, font: ImageFont.FreeTypeFont, size: int, spacing: float) -> tuple[_Layout, int, int]:
    kind = rng.choices(("single", "rows", "columns"), weights=(6, 2, 2))[0]
    count = 1 if kind == "single" else rng.randint(2, 3) if kind == "rows" else 2
    layout = _Layout(kind, [_phrase(rng) for _ in range(count)])
    widths = [_width(font, line, spacing) for line in layout.lines]
    x = y = 0.0
    for width in widths:
        layout.origins.append((x, y))
        if kind == "rows":
            y += size * rng.uniform(1.4, 2.2)
        else:
            x += width + size * rng.uniform(3.0, 6.0)  # a column gap: well beyond word spacing
    if kind == "rows":
        return layout, int(max(widths)), int(y)
    return layout, int(x - size * 3.0), size * 2


def _width(font: ImageFont.FreeTypeFont, line: str, spacing: float) -> float:
    words = line.split()
    gap = font.getlength(" ") * spacing
    return sum(font.getlength(word) for word in words) + gap * (len(words) - 1)


def _draw(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont,
    line: str,
    origin: tuple[float, float],
    spacing: float,
    ink: tuple[int, int, int],
) -> None:
    x, y = origin
    gap = font.getlength(" ") * spacing
    for word in line.split():
        draw.text((x, y), word, fill=(*ink, 255), font=font)
        x += font.getlength(word) + gap


def sample(index: int, seed: int = 0, fonts: Sequence[str] | None = None) -> Sample:
    """The ``index``-th sample of the set drawn from ``seed``: the same every time."""
    rng = random.Random(f"{seed}:{index}")
    choices = list(fonts) if fonts is not None else [str(path) for path in font_files()] + [PILLOW_FONT]
    font_name = rng.choice(choices)
    size = rng.randint(18, 56)
    font = _font(font_name, size)
    spacing = rng.uniform(1.0, 2.0)
    layout, width, height = _layout(rng, font, size, spacing)
    margin = size * 2
    canvas = (max(width + 2 * margin, 120), max(height + size + 2 * margin, 100))
    background = rng.choice(_BACKGROUNDS)
    paper, ink = _colours(rng, background)
    layer = Image.new("RGBA", canvas, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for line, (x, y) in zip(layout.lines, layout.origins, strict=True):
        _draw(draw, font, line, (x + margin, y + margin), spacing, ink)
    angle = rng.uniform(-4.0, 4.0)
    layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, center=(canvas[0] / 2, canvas[1] / 2))
    image = _background(rng, background, canvas, paper)
    image.paste(layer, (0, 0), layer)
    if rng.random() < 0.2:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    label = Path(font_name).stem if font_name != PILLOW_FONT else "pillow"
    name = f"{index:04d}-{label}-{size}px-{background}-{angle:+.1f}deg-{layout.kind}"
    return Sample(name, buffer.getvalue(), tuple(layout.lines))


def phrase_set(count: int, seed: int = 0, fonts: Sequence[str] | None = None) -> Iterator[Sample]:
    """``count`` samples drawn from ``seed`` (see :func:`sample`)."""
    for index in range(count):
        yield sample(index, seed, fonts)


@dataclass
class Score:
    """Exact line and word matches of DetectText's answers against the drawn phrases."""

    lines_expected: int = 0
    lines_matched: int = 0
    words_expected: int = 0
    words_matched: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, drawn: Sample, detections: Sequence[Mapping[str, Any]]) -> None:
        found_lines = Counter(d["DetectedText"] for d in detections if d["Type"] == "LINE")
        found_words = Counter(d["DetectedText"] for d in detections if d["Type"] == "WORD")
        expected_words = Counter(word for line in drawn.lines for word in line.split())
        matched_lines = sum((Counter(drawn.lines) & found_lines).values())
        self.lines_expected += len(drawn.lines)
        self.lines_matched += matched_lines
        self.words_expected += sum(expected_words.values())
        self.words_matched += sum((expected_words & found_words).values())
        if matched_lines < len(drawn.lines):
            self.misses.append(f"{drawn.name}: drawn {list(drawn.lines)}, read {list(found_lines.elements())}")

    @property
    def line_rate(self) -> float:
        return self.lines_matched / self.lines_expected if self.lines_expected else 0.0

    @property
    def word_rate(self) -> float:
        return self.words_matched / self.words_expected if self.words_expected else 0.0
