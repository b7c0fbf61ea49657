"""The local mode's S3 POST policy check, against presigned POSTs that boto3 itself produced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from local.s3_post_policy import PolicyRefusal, PostForm, check

SECRETS = {"AKIDLOCAL": "local-secret"}
NOW = datetime.now(UTC)
MAX = 1000


def presigned(expires_in: int = 300, secret: str = "local-secret") -> dict[str, str]:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4"),  # as the API function signs
    )
    fields = {"Content-Type": "image/png", "x-amz-meta-owner": "alice"}
    post = s3.generate_presigned_post(
        Bucket="images",
        Key="uploads/alice/1.png",
        Fields=fields,
        Conditions=[{"Content-Type": "image/png"}, {"x-amz-meta-owner": "alice"}, ["content-length-range", 1, MAX]],
        ExpiresIn=expires_in,
    )
    return {name.lower(): value for name, value in post["fields"].items()}


def refusal(upload: PostForm, now: datetime = NOW) -> PolicyRefusal:
    with pytest.raises(PolicyRefusal) as caught:
        check(upload, SECRETS, now)
    return caught.value


def test_an_upload_that_keeps_to_its_policy_is_accepted() -> None:
    check(PostForm(bucket="images", fields=presigned(), size=MAX), SECRETS, NOW)


def test_a_body_above_the_size_range_is_refused_as_entity_too_large() -> None:
    assert refusal(PostForm(bucket="images", fields=presigned(), size=MAX + 1)).code == "EntityTooLarge"


def test_an_empty_body_is_refused_as_entity_too_small() -> None:
    assert refusal(PostForm(bucket="images", fields=presigned(), size=0)).code == "EntityTooSmall"


def test_another_content_type_breaks_a_policy_condition() -> None:
    fields = {**presigned(), "content-type": "text/html"}
    found = refusal(PostForm(bucket="images", fields=fields, size=10))
    assert (found.status, found.code) == (403, "AccessDenied")
    assert "Content-Type" in found.message


def test_another_key_or_bucket_breaks_a_policy_condition() -> None:
    assert refusal(PostForm(bucket="images", fields={**presigned(), "key": "uploads/bob/1.png"}, size=10)).status == 403
    assert refusal(PostForm(bucket="other", fields=presigned(), size=10)).status == 403


def test_a_field_that_no_condition_covers_is_refused() -> None:
    found = refusal(PostForm(bucket="images", fields={**presigned(), "x-amz-meta-owner2": "mallory"}, size=10))
    assert "Extra input fields: x-amz-meta-owner2" in found.message


def test_an_expired_policy_is_refused() -> None:
    # "now" is taken after signing: NOW (taken at import) may be minutes older in a long test session
    fields = presigned(expires_in=60)
    found = refusal(PostForm(bucket="images", fields=fields, size=10), now=datetime.now(UTC) + timedelta(minutes=2))
    assert "Policy expired" in found.message


def test_a_policy_signed_with_another_secret_is_refused() -> None:
    found = refusal(PostForm(bucket="images", fields=presigned(secret="guessed"), size=10))
    assert found.code == "SignatureDoesNotMatch"


def test_an_edited_policy_no_longer_matches_its_signature() -> None:
    fields = presigned()
    fields["policy"] = fields["policy"][:-4] + ("AAAA" if not fields["policy"].endswith("AAAA") else "BBBB")
    assert refusal(PostForm(bucket="images", fields=fields, size=10)).code in {
        "SignatureDoesNotMatch",
        "InvalidPolicyDocument",
    }
