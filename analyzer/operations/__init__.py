"""One module per Rekognition operation; each declares an :class:`Operation`."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from analyzer.analysis import ImageAnalysis

Params = Mapping[str, Any]
Response = dict[str, Any]
Request = TypeVar("Request")


@dataclass(frozen=True)
class Operation(Generic[Request]):
    """``parse`` checks the parameters before any image is read; ``run`` answers from the
    image's shared analysis."""

    name: str
    parse: Callable[[Params], Request]
    run: Callable[[Request, ImageAnalysis], Response]
