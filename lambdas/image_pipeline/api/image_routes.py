"""Routes of /images: upload tickets, results, listings and label search, display links, deletion."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from image_pipeline.api.composition import components
from image_pipeline.api.contract import QUOTA_429, WITH_BODY, link, responses
from image_pipeline.api.identity import current_owner
from image_pipeline.recognition.domain.features import Feature
from image_pipeline.results.domain.library import PAGE_BYTES, ImageLibrary, ImageQuery
from image_pipeline.results.domain.records import SUMMARY_LABELS, ImageRecord, Status

router = Router()  # type: ignore[no-untyped-call]
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
TOKEN = r"^[A-Za-z0-9_-]+$"
ImageId = Annotated[
    str, Path(pattern=UUID, json_schema_extra={"format": "uuid"}, description="The id returned by POST /images")
]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, description="UTC, ISO 8601")]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class UploadRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"filename": "cat.jpg", "contentType": "image/jpeg", "features": ["labels"]}]},
    )

    filename: str = Field(min_length=1, max_length=1024, description="Shown in listings; not used as the key")
    contentType: Literal["image/jpeg", "image/png"]  # noqa: N815 - the API's JSON is camelCase
    features: list[Feature] | None = Field(
        default=None, min_length=1, max_length=5, description="Default: the environment's default features"
    )


class ReanalysisRequestBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"features": ["labels", "faces"], "force": False}]}
    )

    features: list[Feature] = Field(min_length=1, max_length=5, description="The features wanted now")
    force: bool = Field(
        default=False, description="Analyse every requested feature again, even those with a stored result"
    )


class PresignedPost(BaseModel):
    url: str = Field(description="POST a multipart/form-data body here: every field first, then `file`")
    fields: dict[str, str]


class UploadTicketResponse(BaseModel):
    imageId: Uuid  # noqa: N815
    upload: PresignedPost
    expiresAt: Timestamp  # noqa: N815


class ImageFactsView(BaseModel):
    format: str
    width: int
    height: int
    sizeBytes: int  # noqa: N815


class ErrorView(BaseModel):
    code: str
    message: str


class ImageView(BaseModel):
    """What the full result and a listing's summary both say of an image."""

    schemaVersion: int  # noqa: N815
    imageId: Uuid  # noqa: N815
    status: Status
    createdAt: Timestamp  # noqa: N815
    updatedAt: Timestamp  # noqa: N815
    filename: str | None = None
    features: list[str]
    image: ImageFactsView | None = None
    error: ErrorView | None = None
    reusedFrom: str | None = None  # noqa: N815


class ImageResult(ImageView):
    """The stored result (docs/result-schema.md); ``results`` holds one entry per requested feature."""

    object: dict[str, str | None]
    results: dict[str, Any] | None = None


class LabelView(BaseModel):
    name: str
    confidence: float


class FeatureCounts(BaseModel):
    """How many things each analysed feature found; null for a feature the image was not analysed for."""

    labels: int | None = None
    text: int | None = Field(default=None, description="Lines of text")
    faces: int | None = None
    moderation: int | None = Field(default=None, description="Moderation labels")
    celebrities: int | None = Field(default=None, description="Recognised celebrities")


class ImageSummary(ImageView):
    """One image in a listing: small whatever the image holds; the full result is GET /images/{imageId}."""

    topLabels: list[LabelView] = Field(  # noqa: N815
        description=f"The {SUMMARY_LABELS} most confident labels at most, the most confident first"
    )
    counts: FeatureCounts
    moderationFlagged: bool = Field(description="Moderation found unsafe content")  # noqa: N815


class ImagePage(BaseModel):
    items: list[ImageSummary] = Field(
        description=f"Summaries; a page also stops before they pass {PAGE_BYTES:,} bytes (nextToken continues there)"
    )
    nextToken: str | None = Field(default=None, description="Pass it back for the next page; none on the last")  # noqa: N815


class DisplayLink(BaseModel):
    url: str
    expiresAt: Timestamp  # noqa: N815


def image_links(image_id: str) -> dict[str, Any]:
    """What a client does next with an image id found in an answer."""
    return {
        "GetImage": link("getImage", imageId=image_id),
        "GetImageUrl": link("getImageUrl", imageId=image_id),
        "DeleteImage": link("deleteImage", imageId=image_id),
    }


def view(record: ImageRecord) -> ImageResult:
    return ImageResult.model_validate({**record.document(), "filename": record.extra.get("filename")})


def library() -> ImageLibrary:
    return components().library


@router.post(
    "/images",
    summary="Create an image and a presigned POST to upload it",
    tags=["images"],
    operation_id="createImage",
    responses=responses(
        201,
        "The image, PENDING, and its upload form",
        UploadTicketResponse,
        errors=WITH_BODY,
        links={**image_links("$response.body#/imageId"), "ListImages": link("listImages")},
        special={429: QUOTA_429},
    ),
)
def create_image(request: UploadRequest) -> Response[UploadTicketResponse]:
    ticket = components().uploads.create_upload(
        current_owner(router),
        filename=request.filename,
        content_type=request.contentType,
        features=frozenset(request.features) if request.features else None,
    )
    body = UploadTicketResponse(
        imageId=ticket.image_id,
        upload=PresignedPost(url=ticket.url, fields=ticket.fields),
        expiresAt=ticket.expires_at,
    )
    return Response(status_code=201, content_type="application/json", body=body)


@router.get(
    "/images",
    summary="My images, newest first; or by label, most confident first: a summary of each",
    tags=["images"],
    operation_id="listImages",
    responses=responses(
        200, "A page of my images", ImagePage, errors=(400, 422), links=image_links("$response.body#/items/0/imageId")
    ),
)
def list_images(
    label: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    min_confidence: Annotated[float, Query(alias="minConfidence", ge=0, le=100)] = 0.0,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=2048, pattern=TOKEN)] = None,
) -> ImagePage:
    query = ImageQuery(label=label, min_confidence=min_confidence, status=status, limit=limit, next_token=next_token)
    page = library().list(current_owner(router), query)
    return ImagePage(items=[ImageSummary.model_validate(item) for item in page.items], nextToken=page.next_token)


@router.get(
    "/images/<imageId>",
    summary="One image's result",
    tags=["images"],
    operation_id="getImage",
    responses=responses(200, "The image and what was recognised", ImageResult, errors=(404,)),
)
def get_image(imageId: ImageId) -> ImageResult:  # noqa: N803
    return view(library().get(current_owner(router), imageId))


@router.get(
    "/images/<imageId>/url",
    summary="A short-lived link to display the image",
    tags=["images"],
    operation_id="getImageUrl",
    responses=responses(200, "A presigned GET of the uploaded image", DisplayLink, errors=(404,)),
)
def get_image_url(imageId: ImageId) -> DisplayLink:  # noqa: N803
    url, expires_at = library().display_url(current_owner(router), imageId)
    return DisplayLink(url=url, expiresAt=expires_at)


@router.delete(
    "/images/<imageId>",
    summary="Delete the image, its result and its index items",
    tags=["images"],
    operation_id="deleteImage",
    responses=responses(204, "Deleted", errors=(404,)),
)
def delete_image(imageId: ImageId) -> Response[None]:  # noqa: N803
    library().delete(current_owner(router), imageId)
    return Response(status_code=204)


@router.post(
    "/images/<imageId>/reanalyze",
    summary="Analyse the image again with these features; only those without a stored result are paid for",
    tags=["images"],
    operation_id="reanalyzeImage",
    responses=responses(
        202,
        "The image, PENDING until the worker has merged the new results",
        ImageResult,
        errors=(*WITH_BODY, 404, 409),
        links=image_links("$request.path.imageId"),
    ),
)
def reanalyze_image(imageId: ImageId, request: ReanalysisRequestBody) -> Response[ImageResult]:  # noqa: N803
    record = components().reanalyses.request(
        current_owner(router), imageId, frozenset(request.features), force=request.force
    )
    return Response(status_code=202, content_type="application/json", body=view(record))
