"""Image checks, geometry and the label taxonomy, without a server."""

import io

import pytest
from PIL import Image

from analyzer import taxonomy
from analyzer.errors import InvalidImageFormatException, InvalidParameterException
from analyzer.geometry import PixelBox, bounding_box
from analyzer.images import decode
from analyzer.models import ocr
from analyzer.models.nudity import BodyPart
from analyzer.operations import detect_moderation_labels as moderation


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "LA", "I;16", "1"])
def test_png_modes_decode_to_rgb(mode: str) -> None:
    picture = decode(_png(Image.new(mode, (120, 90))))

    assert (picture.width, picture.height) == (120, 90)
    assert picture.rgb.shape == (90, 120, 3)


def test_magic_bytes_must_match_the_decoded_format() -> None:
    # A PNG's magic followed by a JPEG's body is not trusted.
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buffer, format="JPEG")
    forged = b"\x89PNG\r\n\x1a\n" + buffer.getvalue()

    with pytest.raises(InvalidImageFormatException):
        decode(forged)


def test_size_is_checked_before_decoding() -> None:
    with pytest.raises(InvalidParameterException):
        decode(_png(Image.new("1", (10_001, 80))))


def test_bounding_boxes_are_ratios_clipped_to_the_image() -> None:
    box = bounding_box(PixelBox(-10, 50, 60, 100), width=200, height=100)

    assert box == {"Left": 0.0, "Top": 0.5, "Width": 0.25, "Height": 0.5}


def test_every_label_and_parent_is_in_the_hierarchy() -> None:
    for index in range(1000):
        general = taxonomy.general_label(index)
        if general is not None:
            assert general in taxonomy.ANCESTORS
    for parents in taxonomy.ANCESTORS.values():
        assert set(parents) <= taxonomy.ANCESTORS.keys()


@pytest.mark.parametrize(
    ("index", "imagenet", "name"),
    [
        (281, "tabby cat", "Tabby Cat"),
        (352, "impala (antelope)", "Impala"),
        (282, "a cat having a striped coat", "Tiger Cat"),
        (478, "cardboard box / carton", "Cardboard Box"),
    ],
)
def test_display_names_are_title_case(index: int, imagenet: str, name: str) -> None:
    assert taxonomy.display_name(index, imagenet) == name


def test_a_line_without_word_boxes_is_one_word() -> None:
    quad = ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))

    line = ocr._line("縦書き", 0.9, quad, ())

    assert line.words == (ocr.Word("縦書き", 0.9, quad),)


def _part(name: str, score: float) -> BodyPart:
    return BodyPart(name, score, PixelBox(0, 0, 10, 10))


def test_an_exposed_part_yields_its_level_3_label_and_ancestors() -> None:
    found = moderation.labels([_part("FEMALE_BREAST_EXPOSED", 0.7)], nsfw_score=0.5)

    assert found == {
        ("Exposed Female Nipple", "Explicit Nudity", 3): pytest.approx(70),
        ("Explicit Nudity", "Explicit", 2): pytest.approx(70),
        ("Explicit", "", 1): pytest.approx(70),
    }


def test_parts_do_not_count_in_an_image_open_nsfw_calls_safe() -> None:
    assert moderation.labels([_part("BUTTOCKS_EXPOSED", 0.83)], nsfw_score=0.01) == {}


def test_an_unsafe_image_is_explicit_even_without_parts() -> None:
    assert moderation.labels([], nsfw_score=0.9) == {("Explicit", "", 1): pytest.approx(90)}


def test_covered_parts_and_faces_are_not_moderation_labels() -> None:
    parts = [_part("FACE_FEMALE", 0.9), _part("BELLY_COVERED", 0.9), _part("MALE_BREAST_EXPOSED", 0.6)]

    found = moderation.labels(parts, nsfw_score=0.5)

    assert set(found) == {
        ("Exposed Male Nipple", "Non-Explicit Nudity", 3),
        ("Non-Explicit Nudity", "Non-Explicit Nudity of Intimate parts and Kissing", 2),
        ("Non-Explicit Nudity of Intimate parts and Kissing", "", 1),
    }
