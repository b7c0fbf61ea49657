"""One module per Rekognition operation; each declares an :class:`Operation`."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from analyzer.images import Picture
from analyzer.models.registry import Models

Params = Mapping[str, Any]
Response = dict[str, Any]
Request = TypeVar("Request")


@dataclass(frozen=True)
class Operation(Generic[Request]):
    """``parse`` checks the parameters before any image is read; ``run`` analyses it."""

    name: str
    parse: Callable[[Params], Request]
    run: Callable[[Request, Picture, Models], Response]
