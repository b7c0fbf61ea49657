"""The real API handler (every /images route) against moto on loopback, wired from the synthesized Api stack."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from image_pipeline.api import composition as api_composition
from image_pipeline.api import handler as api_module
from image_pipeline.api.settings import ApiSettings
from image_pipeline.recognition.domain.image_header import ImageFacts
from image_pipeline.results.adapters.results_table import IndexNames, ResultsStore, content_pk, image_item
from image_pipeline.results.adapters.s3_results import S3ResultDocuments
from image_pipeline.results.domain.records import ContentFingerprint, ImageRecord, Status, now_iso
from image_pipeline.shared.dynamo import from_item, to_item
from image_pipeline.shared.errors import AnalysisInProgress
from tests.support.api_calls import Answer, call, proxy_event
from tests.support.images import image_bytes
from tests.support.local_stacks import WEB_DOMAIN, LocalStacks, provision_for
from tests.support.moto_server import moto_endpoint, reset
from tests.support.synth import Synthesized

API_HANDLER = "image_pipeline.handlers.api.handler"
ALICE, BOB = "a1b2c3d4-alice", "b5e6f7a8-bob"
MAX_BYTES = 15 * 1024 * 1024
OPENAPI_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@dataclass
class Stores:
    """The bucket and table the API function names, as the local mode's provisioners created them."""

    bucket: str
    table: str
    s3: Any
    dynamodb: Any

    @classmethod
    def of(cls, stacks: LocalStacks, environment: dict[str, str]) -> Stores:
        return cls(environment["BUCKET_NAME"], environment["TABLE_NAME"], stacks.s3, stacks.dynamodb)


@dataclass
class Api:
    stores: Stores

    def __call__(self, method: str, path: str, *, owner: str | None = ALICE, body: Any = None, **kw: Any) -> Answer:
        return call(api_module.handler, proxy_event(method, path, owner=owner, body=body, **kw))

    def create(self, owner: str = ALICE, **body: Any) -> Answer:
        answer = self("POST", "/images", owner=owner, body={"filename": "cat.jpg", "contentType": "image/jpeg", **body})
        assert answer.status == 201, answer
        return answer

    def upload(self, ticket: dict[str, Any], content: bytes, content_type: str = "image/jpeg") -> requests.Response:
        fields = {**ticket["upload"]["fields"]}
        fields["Content-Type"] = content_type
        return requests.post(
            ticket["upload"]["url"], data=fields, files={"file": ("image", content, content_type)}, timeout=30
        )

    def items(self, image_id: str) -> list[dict[str, Any]]:
        response = self.stores.dynamodb.query(
            TableName=self.stores.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"IMAGE#{image_id}"}},
        )
        return [from_item(item) for item in response["Items"]]

    def complete(self, image_id: str, labels: dict[str, float], etag: str = "etag-1") -> ImageRecord:
        """What the worker writes for a finished image: result, label items, content pointer (same adapter)."""
        record, save = self.analyse(image_id, labels, etag)
        save()
        return record

    def analyse(
        self, image_id: str, labels: dict[str, float], etag: str = "etag-1", results: dict[str, Any] | None = None
    ) -> tuple[ImageRecord, Callable[[], None]]:
        """The worker's analysis up to its save: it holds the lock and read the image; the save is returned."""
        table = ResultsStore(self.stores.dynamodb, self.stores.table)
        previous = table.get_image(image_id)
        assert previous is not None
        results = results or {
            "labels": [{"name": n, "confidence": c, "parents": [], "instances": []} for n, c in labels.items()]
        }
        record = ImageRecord(
            image_id=image_id,
            owner=previous.owner,
            status=Status.COMPLETED,
            created_at=previous.created_at,
            updated_at=now_iso(),
            object={**previous.object, "etag": etag},
            object_identity=f"{previous.object['bucket']}/{previous.object['key']}#{etag}",
            features=previous.features,
            image=ImageFacts(format="JPEG", width=200, height=150, size_bytes=1234),
            results=results,
            extra=previous.extra,
        )
        token = uuid.uuid4().hex
        assert table.acquire_lock(image_id, token, 60)
        content = ContentFingerprint(record.owner, etag, 1234, "+".join(record.features))
        return record, lambda: table.save(record, previous=previous, content=content, lock_token=token)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_endpoint() as url:
        yield url


@pytest.fixture
def api(dev_synth: Synthesized, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    reset(endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    stacks = provision_for(dev_synth, API_HANDLER, endpoint=endpoint)
    environment = stacks.environment(API_HANDLER)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    api_composition.components.cache_clear()
    api_module.resolver.cache_clear()
    yield Api(Stores.of(stacks, environment))
    api_composition.components.cache_clear()
    api_module.resolver.cache_clear()


def policy_of(ticket: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(ticket["upload"]["fields"]["policy"]))  # type: ignore[no-any-return]


# --- POST /images ---


def test_creating_an_image_answers_a_presigned_post_that_pins_key_type_size_and_metadata(api: Api) -> None:
    # Given a signed-in user, When they ask to upload a JPEG with two features
    ticket = api.create(features=["labels", "faces"]).body
    # Then the policy pins the key under their own prefix, the type, the size range and the metadata
    conditions = policy_of(ticket)["conditions"]
    key = ticket["upload"]["fields"]["key"]
    assert key == f"uploads/{ALICE}/{ticket['imageId']}.jpg"
    assert {"key": key} in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1, MAX_BYTES] in conditions
    assert {"x-amz-meta-owner": ALICE} in conditions
    assert {"x-amz-meta-image-id": ticket["imageId"]} in conditions
    assert {"x-amz-meta-features": "faces,labels"} in conditions
    assert ticket["expiresAt"].endswith("Z")
    # And it is signed with SigV4 (S3 refuses SigV2 in newer regions)
    assert ticket["upload"]["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions
    # And the image exists at once, PENDING, with its filename
    shown = api("GET", f"/images/{ticket['imageId']}").body
    assert (shown["status"], shown["filename"], shown["features"]) == ("PENDING", "cat.jpg", ["faces", "labels"])


def test_without_features_the_environments_default_features_are_pinned(api: Api) -> None:
    ticket = api.create().body
    assert {"x-amz-meta-features": "labels,text"} in policy_of(ticket)["conditions"]


def test_s3_accepts_the_presigned_post_of_a_valid_image_with_its_metadata(api: Api) -> None:
    ticket = api.create().body
    # When the client posts the form with the image
    response = api.upload(ticket, image_bytes())
    # Then S3 stores it under the pinned key, with the owner, image id and features the worker reads
    assert response.status_code == 204, response.text
    head = api.stores.s3.head_object(Bucket=api.stores.bucket, Key=ticket["upload"]["fields"]["key"])
    assert head["Metadata"] == {"owner": ALICE, "image-id": ticket["imageId"], "features": "labels,text"}


def test_s3_refuses_a_body_larger_than_15_mb(api: Api) -> None:
    ticket = api.create().body
    response = api.upload(ticket, b"\xff\xd8" + b"\x00" * MAX_BYTES)
    assert response.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in response.text


def test_s3_refuses_a_content_type_other_than_the_pinned_one(api: Api) -> None:
    ticket = api.create().body
    response = api.upload(ticket, b"<html></html>", content_type="text/html")
    assert response.status_code == 403
    assert "Policy Condition failed" in response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("x-amz-meta-owner", BOB),
        ("x-amz-meta-image-id", "0f8a5c1e-someone-elses"),
        ("x-amz-meta-features", "labels,text,faces,moderation,celebrities"),
        ("key", f"uploads/{BOB}/stolen.jpg"),
    ],
)
def test_s3_refuses_the_presigned_post_with_a_pinned_field_changed(api: Api, field: str, value: str) -> None:
    # Given an upload ticket, When the client changes one pinned field (another owner, id, features or key)
    ticket = api.create().body
    ticket["upload"]["fields"][field] = value
    response = api.upload(ticket, image_bytes())
    # Then S3 refuses the form and stores nothing
    assert response.status_code == 403, response.text
    listed = api.stores.s3.list_objects_v2(Bucket=api.stores.bucket, Prefix="uploads/")
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"contentType": "image/jpeg"}, 422, "filename"),
        ({"filename": "a.gif", "contentType": "image/gif"}, 422, "contentType"),
        ({"filename": "a.jpg", "contentType": "image/jpeg", "features": ["labels", "colours"]}, 422, "features"),
        ({"filename": "a.jpg", "contentType": "image/jpeg", "features": []}, 422, "features"),
        ({"filename": "a.jpg", "contentType": "image/jpeg", "owner": "bob"}, 422, "owner"),
        ("not json", 400, "not valid JSON"),
    ],
)
def test_a_bad_upload_request_is_refused_with_what_is_wrong(api: Api, body: Any, status: int, mentions: str) -> None:
    answer = api("POST", "/images", body=body)
    assert answer.status == status, answer
    assert mentions in json.dumps(answer.body)
    assert api.stores.dynamodb.scan(TableName=api.stores.table)["Count"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/images", {"contentType": "image/jpeg"}, "body.filename: Field required"),
        (
            "POST",
            "/images",
            {"filename": "a.gif", "contentType": "image/gif"},
            "body.contentType: Input should be 'image/jpeg' or 'image/png'",
        ),
        ("GET", "/images?limit=0", None, "query.limit: Input should be greater than or equal to 1"),
    ],
)
def test_a_schema_error_answers_422_with_a_message_that_says_what_is_wrong(
    api: Api, method: str, path: str, body: Any, message: str
) -> None:
    # Given a request that breaks the schema, When it is sent
    answer = api(method, path, body=body)
    # Then the answer is 422 with {"message": ...} like every other error, and the details per field
    assert answer.status == 422, answer
    assert answer.message.startswith(message), answer.body
    assert answer.body["detail"]
    assert all({"loc", "type", "msg"} <= set(detail) for detail in answer.body["detail"])


def test_a_request_without_a_verified_identity_is_refused(api: Api) -> None:
    # API Gateway's authorizer refuses these before the function; the function refuses them too.
    answer = api("GET", "/images", owner=None)
    assert answer.status == 401
    assert answer.message == "no verified identity in the request"


# --- GET /images/{id}, GET /images/{id}/url ---


def test_another_users_image_is_not_found_like_an_unknown_one(api: Api) -> None:
    image_id = api.create(owner=ALICE).body["imageId"]
    routes = (("GET", f"/images/{image_id}"), ("GET", f"/images/{image_id}/url"), ("DELETE", f"/images/{image_id}"))
    for method, path in routes:
        theirs = api(method, path, owner=BOB)
        unknown = api(method, path.replace(image_id, str(uuid.uuid4())), owner=ALICE)
        assert (theirs.status, unknown.status) == (404, 404)
    assert api("GET", f"/images/{image_id}").status == 200  # still there for its owner


@pytest.mark.parametrize("image_id", ["..%2F..%2Fetc", "0F8A5C1E-0000-4000-8000-00000000000A", "1" * 64])
@pytest.mark.parametrize("route", ["GET /images/{}", "GET /images/{}/url", "DELETE /images/{}"])
def test_an_image_id_that_is_not_a_uuid_is_not_found_and_the_answer_says_why(
    api: Api, route: str, image_id: str
) -> None:
    # Given a path whose imageId cannot be an id this API issued (ids are lower-case UUIDs)
    method, path = route.split(" ")
    # When it is requested
    answer = api(method, path.format(image_id))
    # Then it is a 404 (no such image can exist) whose message names the parameter and the rule
    assert answer.status == 404, answer
    assert answer.message.startswith("path.imageId: String should match pattern"), answer.body


# --- Bodies the API cannot read (issue 10): 400, 413, 415, never 5xx ---

UPLOAD = {"filename": "a.jpg", "contentType": "image/jpeg"}


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe{}", json.dumps(UPLOAD).encode("utf-16"), b'{"filename": "caf\xe9.jpg", "contentType": "image/jpeg"}'],
)
def test_a_body_that_is_not_utf8_is_a_bad_request(api: Api, raw: bytes) -> None:
    # Given a body API Gateway passes base64-encoded because it is not UTF-8 text
    answer = api("POST", "/images", raw=raw)
    # Then it is refused as unreadable (it answered 502 before), and nothing is created
    assert (answer.status, answer.message) == (400, "body: not UTF-8 text"), answer
    assert api.stores.dynamodb.scan(TableName=api.stores.table)["Count"] == 0


def test_a_base64_encoded_utf8_json_body_is_read_like_a_plain_one(api: Api) -> None:
    answer = api("POST", "/images", raw=json.dumps(UPLOAD).encode())
    assert answer.status == 201, answer


@pytest.mark.parametrize("body", ["{", "{'filename': 'a.jpg'}", "   ", "filename=a.jpg", '{"filename": "a.jpg"} x'])
def test_a_body_that_is_not_json_is_a_bad_request(api: Api, body: str) -> None:
    answer = api("POST", "/images", body=body)
    assert (answer.status, answer.message) == (400, "body: not valid JSON"), answer


@pytest.mark.parametrize("body", ["[]", '["a.jpg"]', '"a.jpg"', "42", "true", "null"])
def test_json_of_the_wrong_type_is_refused_with_what_was_expected(api: Api, body: str) -> None:
    # Given JSON that is not an object (a list, a string, a number, ...), When it is posted
    answer = api("POST", "/images", body=body)
    # Then it is a schema error (422) that says an object was expected
    assert answer.status == 422, answer
    assert answer.message.startswith("body: "), answer.body
    assert "object" in answer.message or "Field required" in answer.message, answer.body


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
    ],
)
def test_a_body_that_is_not_declared_json_is_an_unsupported_media_type(api: Api, content_type: str | None) -> None:
    # Given a JSON body sent with another Content-Type (or none)
    headers = {"Content-Type": content_type} if content_type else {}
    # When it is posted
    answer = api("POST", "/images", body=UPLOAD, headers=headers)
    # Then it is a 415 that says what the API reads
    assert answer.status == 415, answer
    assert answer.message == f"Content-Type must be application/json, not {content_type or 'missing'}"
    assert api.stores.dynamodb.scan(TableName=api.stores.table)["Count"] == 0


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;"])
def test_json_with_parameters_is_json(api: Api, content_type: str) -> None:
    assert api("POST", "/images", body=UPLOAD, headers={"Content-Type": content_type}).status == 201


def test_an_oversize_body_is_refused_before_it_is_read(api: Api) -> None:
    # Given a body larger than the API reads (valid JSON, or not)
    big = json.dumps({**UPLOAD, "filename": "a" * api_module.MAX_BODY_BYTES})
    for body in (big, "x" * (api_module.MAX_BODY_BYTES + 1)):
        # When it is posted
        answer = api("POST", "/images", body=body)
        # Then it is a 413 that gives the limit
        assert answer.status == 413, answer
        assert answer.message == f"body: {len(body)} bytes, more than the {api_module.MAX_BODY_BYTES} this API reads"
    # And a body at the limit is read (and judged by the schema)
    at_limit = json.dumps({**UPLOAD, "filename": "a" * (api_module.MAX_BODY_BYTES - 60)})
    assert len(at_limit) <= api_module.MAX_BODY_BYTES
    assert api("POST", "/images", body=at_limit).status == 422


def test_the_display_link_downloads_the_uploaded_image(api: Api) -> None:
    ticket = api.create().body
    content = image_bytes(seed=3)
    assert api.upload(ticket, content).status_code == 204
    link = api("GET", f"/images/{ticket['imageId']}/url").body
    assert requests.get(link["url"], timeout=10).content == content
    assert link["expiresAt"].endswith("Z")


# --- GET /images ---


def test_my_images_are_listed_newest_first_in_pages_with_an_opaque_token(api: Api) -> None:
    mine = [api.create(filename=f"{n}.jpg").body["imageId"] for n in range(5)]
    api.create(owner=BOB)
    seen, token, pages = [], None, 0
    while True:
        answer = api("GET", "/images?limit=2" + (f"&nextToken={token}" if token else ""))
        assert answer.status == 200, answer
        seen += [item["imageId"] for item in answer.body["items"]]
        pages += 1
        token = answer.body["nextToken"]
        if token is None:
            break
    assert seen == list(reversed(mine))
    assert pages == 3


def test_a_status_filter_still_fills_the_page(api: Api) -> None:
    done = [api.create().body["imageId"] for _ in range(3)]
    for image_id in done:
        api.complete(image_id, {"Cat": 90.0}, etag=f"e-{image_id}")
    for _ in range(4):
        api.create()
    answer = api("GET", "/images?status=COMPLETED&limit=3")
    assert sorted(item["imageId"] for item in answer.body["items"]) == sorted(done)
    assert {item["status"] for item in api("GET", "/images?status=PENDING").body["items"]} == {"PENDING"}


class _CountingQueries:
    def __init__(self, client: Any) -> None:
        self._client, self.queries = client, 0

    def __getattr__(self, name: str) -> Any:
        if name == "query":
            self.queries += 1
        return getattr(self._client, name)


def test_a_rare_status_among_many_images_is_paged_in_few_reads_without_gaps_or_repeats(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 3 failed images under 240 newer pending ones (the web page's "Failed" filter on a busy account)
    monkeypatch.setenv("DAILY_IMAGE_QUOTA", "1000")  # more than dev's daily image quota allows
    failed = [api.create().body["imageId"] for _ in range(3)]
    table = ResultsStore(api.stores.dynamodb, api.stores.table)
    for image_id in failed:
        record = table.get_image(image_id)
        assert record is not None
        api.stores.dynamodb.update_item(
            TableName=api.stores.table,
            Key={"pk": {"S": f"IMAGE#{image_id}"}, "sk": {"S": "IMAGE"}},
            UpdateExpression="SET #status = :failed",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":failed": {"S": "FAILED"}},
        )
    for _ in range(240):
        api.create()
    counting = _CountingQueries(api.stores.dynamodb)
    listing = ResultsStore(counting, api.stores.table, api_indexes())
    # When they are listed two per page
    first, start = listing.list_by_owner(ALICE, Status.FAILED, 2, None)
    assert start is not None
    second, end = listing.list_by_owner(ALICE, Status.FAILED, 2, start)
    # Then the pages hold the three newest first, none twice, and reading them took a handful of queries
    # (not one query per page-sized slice of the 240 pending images)
    assert [record.image_id for record, _ in first + second] == list(reversed(failed))
    assert counting.queries <= 6
    if end is not None:
        assert listing.list_by_owner(ALICE, Status.FAILED, 2, end)[0] == []


def _heavy_results(seed: int) -> dict[str, Any]:
    """A face- and text-heavy result of about 100 kB (DetectText finds up to 100 words, DetectFaces up to 100 faces)."""
    box = {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}
    landmarks = [{"type": f"landmark{n}", "x": 0.5, "y": 0.5} for n in range(30)]
    return {
        "labels": [{"name": f"Label{n}", "confidence": 99.0 - n, "parents": [], "instances": []} for n in range(20)],
        "text": {
            "lines": [{"text": f"line {seed} {n} " * 4, "confidence": 99.1, "boundingBox": box} for n in range(50)],
            "words": [{"text": f"w{n}", "confidence": 98.0, "boundingBox": box, "lineId": n} for n in range(100)],
        },
        "faces": [{"boundingBox": box, "confidence": 99.9, "landmarks": landmarks} for _ in range(60)],
        "moderation": {
            "unsafe": seed % 2 == 0,
            "labels": [{"name": "Suggestive", "confidence": 91.0}] * (1 - seed % 2),
        },
    }


def test_face_and_text_heavy_results_list_in_a_small_answer_of_summaries(api: Api) -> None:
    # Given 64 images whose results are about 105 kB each (6.7 MB in all, past Lambda's 6 MB answer)
    for seed in range(64):
        image_id = api.create(filename=f"crowd{seed}.jpg").body["imageId"]
        record, _ = api.analyse(image_id, {}, etag=f"etag-{seed}", results=_heavy_results(seed))
        # the image item as the worker's save writes it (one put: moto copies the table in every transaction)
        api.stores.dynamodb.put_item(TableName=api.stores.table, Item=to_item(image_item(record)))
    full = api("GET", f"/images/{image_id}")
    assert len(json.dumps(full.body)) > 100_000
    # When the owner lists them, 100 a page
    answer = api("GET", "/images?limit=100")
    # Then the answer holds a summary of each, far below the limit; the full result stays one GET away
    assert answer.status == 200
    assert len(answer.body["items"]) == 64
    assert len(json.dumps(answer.body)) < 150_000
    newest = answer.body["items"][0]
    assert newest["imageId"] == image_id
    assert [label["name"] for label in newest["topLabels"]] == ["Label0", "Label1", "Label2", "Label3", "Label4"]
    assert newest["counts"] == {"labels": 20, "text": 50, "faces": 60, "moderation": 0, "celebrities": None}
    assert (newest["moderationFlagged"], newest["filename"]) == (False, "crowd63.jpg")
    assert answer.body["items"][1]["moderationFlagged"] is True
    assert "results" not in newest
    assert api("GET", f"/images/{image_id}").body == full.body


def test_a_token_from_another_listing_or_user_or_a_forged_one_is_refused(api: Api) -> None:
    for _ in range(3):
        api.create()
    token = api("GET", "/images?limit=1").body["nextToken"]
    assert api("GET", f"/images?limit=1&nextToken={token}", owner=BOB).status == 400
    assert api("GET", f"/images?limit=1&status=FAILED&nextToken={token}").status == 400
    assert api("GET", "/images?nextToken=not-a-token").status == 400


def _forged_token(scope: str, key: dict[str, Any]) -> str:
    raw = json.dumps({"scope": scope, "key": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "scope", "key"),
    [
        ("", f"owner:{ALICE}:", {"x": 1}),
        ("", f"owner:{ALICE}:", {"pk": ["IMAGE#x"], "sk": "IMAGE", "gsi1pk": f"OWNER#{ALICE}", "gsi1sk": "z"}),
        ("", f"owner:{ALICE}:", {"pk": "IMAGE#x", "sk": "IMAGE", "gsi1pk": f"OWNER#{BOB}", "gsi1sk": "z"}),
        ("&label=dog&minConfidence=90", f"label:{ALICE}:dog:90.0", {"x": 1}),
        (
            "&label=dog&minConfidence=90",
            f"label:{ALICE}:dog:90.0",
            {"pk": "IMAGE#x", "sk": "LABEL#dog", "gsi2pk": f"OWNER#{BOB}#LABEL#dog", "gsi2sk": "095.000#x"},
        ),
        (
            "&label=dog&minConfidence=90",
            f"label:{ALICE}:dog:90.0",
            {"pk": "IMAGE#x", "sk": "LABEL#dog", "gsi2pk": f"OWNER#{ALICE}#LABEL#dog", "gsi2sk": "010.000#x"},
        ),
    ],
)
def test_a_token_with_the_right_scope_but_a_forged_key_is_refused_as_a_bad_request(
    api: Api, query: str, scope: str, key: dict[str, Any]
) -> None:
    # Given a token that decodes and names the caller's listing, but whose key is not a key of that listing
    # (another owner's partition, below the confidence floor, wrong attributes or types)
    token = _forged_token(scope, key)
    # When it is sent
    answer = api("GET", f"/images?nextToken={token}{query}")
    # Then it is a 400 that says so, not a database error (500)
    assert (answer.status, answer.message) == (400, "nextToken is not a token this API issued")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "minConfidence=101", "status=DONE", "label="])
def test_out_of_range_query_parameters_are_refused(api: Api, query: str) -> None:
    assert api("GET", f"/images?{query}").status == 422


def test_label_search_finds_my_images_with_that_label_above_the_confidence_most_confident_first(api: Api) -> None:
    ids = [api.create().body["imageId"] for _ in range(4)]
    api.complete(ids[0], {"Dog": 95.5, "Grass": 80.0}, etag="e0")
    api.complete(ids[1], {"dog": 99.0}, etag="e1")
    api.complete(ids[2], {"Dog": 71.0}, etag="e2")
    api.complete(ids[3], {"Cat": 99.0}, etag="e3")
    bobs = api.create(owner=BOB).body["imageId"]
    api.complete(bobs, {"Dog": 99.9}, etag="e4")
    found = api("GET", "/images?label=DOG&minConfidence=90").body["items"]
    assert [item["imageId"] for item in found] == [ids[1], ids[0]]
    assert all(item["status"] == "COMPLETED" and item["topLabels"] for item in found)
    paged = api("GET", "/images?label=dog&limit=1")
    assert paged.body["nextToken"]
    assert len(paged.body["items"]) == 1
    second = api("GET", f"/images?label=dog&limit=1&nextToken={paged.body['nextToken']}").body["items"]
    assert second[0]["imageId"] == ids[0]
    assert api("GET", "/images?label=dog&status=PENDING").body["items"] == []


# --- DELETE /images/{id} ---


def test_deleting_an_image_removes_object_result_label_items_and_content_pointer(api: Api) -> None:
    ticket = api.create().body
    image_id = ticket["imageId"]
    assert api.upload(ticket, image_bytes()).status_code == 204
    record = api.complete(image_id, {"Dog": 97.0, "Ball": 88.0}, etag="etag-del")
    pointer_key = {
        "pk": {"S": content_pk(ContentFingerprint(ALICE, "etag-del", 1234, "+".join(record.features)))},
        "sk": {"S": "CONTENT"},
    }
    assert len(api.items(image_id)) == 3
    assert "Item" in api.stores.dynamodb.get_item(TableName=api.stores.table, Key=pointer_key)
    # When its owner deletes it
    answer = api("DELETE", f"/images/{image_id}")
    # Then nothing of it is left
    assert (answer.status, answer.body) == (204, None)
    assert [item["sk"] for item in api.items(image_id)] == ["DELETED"]  # only the marker a late upload meets
    assert "Item" not in api.stores.dynamodb.get_item(TableName=api.stores.table, Key=pointer_key)
    versions = api.stores.s3.list_object_versions(Bucket=api.stores.bucket, Prefix=f"uploads/{ALICE}/")
    assert versions.get("Versions", []) == []
    assert versions.get("DeleteMarkers", []) == []
    assert api("GET", f"/images/{image_id}").status == 404
    assert api("GET", "/images?label=dog").body["items"] == []


def test_deleting_an_image_removes_every_version_of_its_large_result_document(api: Api) -> None:
    # Given a versioned bucket (staging, prod) and an analysed image whose result was too large for its event,
    # written twice (it was reanalysed), and bob's document next to it
    api.stores.s3.put_bucket_versioning(Bucket=api.stores.bucket, VersioningConfiguration={"Status": "Enabled"})
    image_id = api.create().body["imageId"]
    api.complete(image_id, {"Dog": 97.0}, etag="etag-large")
    documents = S3ResultDocuments(api.stores.s3, api.stores.bucket)
    first = documents.put(ALICE, image_id, {"labels": ["first"]})
    second = documents.put(ALICE, image_id, {"labels": ["second"]})
    assert first.key == second.key == f"results/{ALICE}/{image_id}.json"
    assert first.version_id != second.version_id
    documents.put(BOB, image_id, {"labels": ["bob's"]})
    # When its owner deletes the image
    assert api("DELETE", f"/images/{image_id}").status == 204
    # Then no version of her document is left (an old version stays out of reach of any link), bob's stays
    versions = api.stores.s3.list_object_versions(Bucket=api.stores.bucket, Prefix="results/")
    left = [(v["Key"], v.get("IsLatest")) for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]]
    assert left == [(f"results/{BOB}/{image_id}.json", True)]


def test_the_worker_does_not_bring_back_an_image_deleted_during_its_analysis(api: Api) -> None:
    image_id = api.create().body["imageId"]
    table = ResultsStore(api.stores.dynamodb, api.stores.table)
    previous = table.get_image(image_id)
    assert api("DELETE", f"/images/{image_id}").status == 204
    token = uuid.uuid4().hex
    assert table.acquire_lock(image_id, token, 60)
    assert previous is not None
    with pytest.raises(AnalysisInProgress, match="deleted"):
        table.save(previous, previous=previous, content=None, lock_token=token)
    assert [item for item in api.items(image_id) if item["sk"] == "IMAGE"] == []


class _SavesDuring:
    """A DynamoDB client that runs the worker's save just before the ``n``-th call of ``operation``."""

    def __init__(self, client: Any, operation: str, n: int, save: Callable[[], None]) -> None:
        self._client, self._operation, self._n, self._save = client, operation, n, save
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._operation:
            return method

        def wrapped(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self._n:
                # The worker may lose the race (its save is refused): fine, as long as nothing is left.
                with contextlib.suppress(AnalysisInProgress):
                    self._save()
            return method(**kwargs)

        return wrapped


@pytest.mark.parametrize(
    ("operation", "n"), [("put_item", 1), ("query", 1), ("batch_write_item", 1), ("get_item", 1), ("delete_item", 1)]
)
def test_a_worker_saving_at_any_point_of_a_delete_leaves_nothing_behind(api: Api, operation: str, n: int) -> None:
    # Given an image the worker has analysed and is about to save (it holds the lock)
    image_id = api.create().body["imageId"]
    _, save = api.analyse(image_id, {"Dog": 97.0, "Ball": 88.0}, etag="etag-race")
    pointer = {
        "pk": {"S": content_pk(ContentFingerprint(ALICE, "etag-race", 1234, "labels+text"))},
        "sk": {"S": "CONTENT"},
    }
    table = ResultsStore(api.stores.dynamodb, api.stores.table)
    record = table.get_image(image_id)
    assert record is not None
    # When its owner deletes it and the worker's save lands in the middle of the delete
    racing = _SavesDuring(api.stores.dynamodb, operation, n, save)
    ResultsStore(racing, api.stores.table).delete_image(record)
    # Then no result, label item, lock or content pointer of it is left
    assert racing.calls >= n
    assert [item["sk"] for item in api.items(image_id)] == ["DELETED"]  # only the marker a late upload meets
    assert "Item" not in api.stores.dynamodb.get_item(TableName=api.stores.table, Key=pointer)


# --- CORS, OpenAPI ---


def test_answers_allow_the_web_page_origin_only(api: Api) -> None:
    page = f"https://{WEB_DOMAIN}"
    assert api("GET", "/images", origin=page).headers.get("Access-Control-Allow-Origin") == page
    assert "Access-Control-Allow-Origin" not in api("GET", "/images", origin="https://evil.example").headers


def test_the_openapi_document_is_served_and_equals_the_checked_in_copy(api: Api) -> None:
    served = api("GET", "/openapi.json", owner=None)
    assert served.status == 200
    assert served.body == json.loads(OPENAPI_FILE.read_text()), "run `make openapi` and commit docs/openapi.json"
    assert api("GET", "/docs", owner=None).headers["Content-Type"] == "text/html"


def api_indexes() -> IndexNames:
    settings = ApiSettings.from_environ(os.environ)
    return IndexNames(settings.owner_index, settings.label_index)


# --- POST /images/{imageId}/reanalyze (the worker side: test_reanalyze.py) ---


def completed_image(api: Api) -> str:
    image_id = str(api.create(features=["labels"]).body["imageId"])
    api.complete(image_id, {"Cat": 99.0})
    return image_id


def queued(api: Api) -> list[dict[str, object]]:
    response = boto3.client("sqs").receive_message(QueueUrl=os.environ["UPLOAD_QUEUE_URL"], MaxNumberOfMessages=10)
    bodies = [json.loads(message["Body"]) for message in response.get("Messages", [])]
    return [body for body in bodies if body.get("type") == "image.reanalyze"]  # not the bucket's s3:TestEvent


def test_the_route_answers_202_with_the_pending_image_and_queues_the_request(api: Api) -> None:
    image_id = completed_image(api)
    answer = api("POST", f"/images/{image_id}/reanalyze", body={"features": ["labels", "faces"]})
    assert answer.status == 202, answer
    assert (answer.body["imageId"], answer.body["status"]) == (image_id, "PENDING")
    assert answer.body["results"]["labels"][0]["name"] == "Cat"
    [request] = queued(api)
    assert (request["type"], request["imageId"], request["features"], request["force"]) == (
        "image.reanalyze",
        image_id,
        ["faces", "labels"],
        False,
    )


def test_another_owners_image_or_an_unknown_one_is_not_found(api: Api) -> None:
    image_id = completed_image(api)
    assert api("POST", f"/images/{image_id}/reanalyze", owner=BOB, body={"features": ["faces"]}).status == 404
    unknown = "0f8a5c1e-0000-4000-8000-000000000000"
    assert api("POST", f"/images/{unknown}/reanalyze", body={"features": ["faces"]}).status == 404
    assert queued(api) == []


def test_an_image_being_analysed_answers_409(api: Api) -> None:
    pending = str(api.create(features=["labels"]).body["imageId"])  # its upload is not analysed yet
    assert api("POST", f"/images/{pending}/reanalyze", body={"features": ["faces"]}).status == 409
    image_id = completed_image(api)
    assert api("POST", f"/images/{image_id}/reanalyze", body={"features": ["faces"]}).status == 202
    second = api("POST", f"/images/{image_id}/reanalyze", body={"features": ["text"], "force": True})
    assert second.status == 409
    assert len(queued(api)) == 1


def test_unknown_features_are_a_schema_error(api: Api) -> None:
    image_id = completed_image(api)
    assert api("POST", f"/images/{image_id}/reanalyze", body={"features": ["colour"]}).status == 422
    assert api("POST", f"/images/{image_id}/reanalyze", body={"features": []}).status == 422
