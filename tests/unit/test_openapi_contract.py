"""The OpenAPI document is the whole contract: every answer of every operation, its body, the request's
constraints and the security scheme (issue 10). Read from the document the code generates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from image_pipeline.api.contract import MAX_BODY_BYTES
from image_pipeline.api.handler import SECURITY_SCHEME, build_resolver, openapi_document

ERROR = {"$ref": "#/components/schemas/Error"}
# POST /images may also be refused by the caller's daily image quota: an Error with when it resets.
QUOTA_REFUSAL = {"$ref": "#/components/schemas/QuotaRefusal"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(json.loads(openapi_document(build_resolver([]))))


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def json_schema(answer: dict[str, Any]) -> Any:
    return answer.get("content", {}).get("application/json", {}).get("schema")


def test_every_operation_needs_the_cognito_id_token_in_the_authorization_header(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"][SECURITY_SCHEME] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Cognito ID token",
    }
    assert document["security"] == [{SECURITY_SCHEME: []}]
    assert all(operation.get("security", document["security"]) for _, operation in operations(document))
    # The document and its viewer are the only routes without a token, and they are not operations of it
    assert not {"/openapi.json", "/docs"} & set(document["paths"])


def test_every_operation_documents_its_success_and_every_refusal_as_an_error(document: dict[str, Any]) -> None:
    assert len(operations(document)) == 15
    for name, operation in operations(document):
        answers = operation["responses"]
        successes = [int(status) for status in answers if int(status) < 300]
        assert len(successes) == 1, name
        # Then any operation: no token, a schema error, throttling; with an id in the path: 404;
        # with a body: unreadable (400), too large (413), not JSON (415)
        expected = {"401", "422", "429"}
        if "{" in name:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "413", "415"}
        assert expected <= set(answers), name
        for status, answer in answers.items():
            if (name, status) == ("POST /images", "429"):
                assert json_schema(answer) == QUOTA_REFUSAL
            elif int(status) >= 400:
                assert json_schema(answer) == ERROR, (name, status)
        if successes[0] == 204:
            assert answers["204"]["content"] == {}, name
        else:
            assert json_schema(answers[str(successes[0])]), name


def test_the_error_schema_is_a_message_and_optional_detail(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["message"]
    assert set(error["properties"]) == {"message", "detail"}
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])


def test_creating_an_image_documents_the_daily_quota_refusal(document: dict[str, Any]) -> None:
    refusal = document["paths"]["/images"]["post"]["responses"]["429"]
    assert "daily image quota" in refusal["description"]
    assert refusal["headers"]["Retry-After"]["schema"]["type"] == "integer"
    quota = document["components"]["schemas"]["QuotaRefusal"]
    assert quota["properties"]["resetsAt"]["format"] == "date-time"
    assert set(quota["properties"]) == {"message", "detail", "resetsAt"}


def test_bodies_are_json_objects_that_forbid_unknown_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, operation in operations(document):
        if "requestBody" not in operation:
            continue
        assert set(operation["requestBody"]["content"]) == {"application/json"}, name
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[reference.rsplit("/", 1)[1]]
        assert body["type"] == "object", name
        assert body["additionalProperties"] is False, name
        assert body["examples"], name
    assert str(MAX_BODY_BYTES) in document["paths"]["/images"]["post"]["responses"]["413"]["description"]


def test_request_constraints_are_in_the_document(document: dict[str, Any]) -> None:
    def parameter(path: str, method: str, name: str) -> dict[str, Any]:
        found = [p for p in document["paths"][path][method]["parameters"] if p["name"] == name]
        return dict(found[0]["schema"])

    image_id = parameter("/images/{imageId}", "get", "imageId")
    assert image_id["format"] == "uuid"
    assert image_id["pattern"].startswith("^[0-9a-f]{8}-")
    assert parameter("/webhooks/{webhookId}", "delete", "webhookId")["pattern"] == "^wh_[0-9a-f]{24}$"
    limit = parameter("/images", "get", "limit")
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    token = parameter("/images", "get", "nextToken")["anyOf"][0]
    assert (token["pattern"], token["maxLength"]) == ("^[A-Za-z0-9_-]+$", 2048)
    schemas = document["components"]["schemas"]
    upload = schemas["UploadRequest"]["properties"]
    assert upload["contentType"]["enum"] == ["image/jpeg", "image/png"]
    assert (upload["filename"]["minLength"], upload["filename"]["maxLength"]) == (1, 1024)
    assert schemas["ImageResult"]["properties"]["createdAt"]["format"] == "date-time"
    assert schemas["UploadTicketResponse"]["properties"]["imageId"]["format"] == "uuid"


def test_links_lead_from_a_created_image_to_reading_listing_and_deleting_it(document: dict[str, Any]) -> None:
    links = document["paths"]["/images"]["post"]["responses"]["201"]["links"]
    assert links["GetImage"] == {"operationId": "getImage", "parameters": {"imageId": "$response.body#/imageId"}}
    assert links["DeleteImage"]["operationId"] == "deleteImage"
    assert links["ListImages"] == {"operationId": "listImages"}
    ids = {operation["operationId"] for _, operation in operations(document)}
    every_link = [
        link["operationId"]
        for _, operation in operations(document)
        for answer in operation["responses"].values()
        for link in answer.get("links", {}).values()
    ]
    assert set(every_link) <= ids
