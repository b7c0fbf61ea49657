"""The page tells a user whose daily image quota is used up when they can upload again (web/lib/api.js)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

API_JS = Path(__file__).resolve().parents[2] / "web" / "lib" / "api.js"


def refusal_text(status: int, body: object) -> str:
    script = (
        f"import {{ ApiError, uploadRefusal }} from {json.dumps(API_JS.as_uri())};\n"
        f"const error = new ApiError('refused', {status}, {json.dumps(body)});\n"
        "process.stdout.write(uploadRefusal(error));\n"
    )
    node = shutil.which("node")
    assert node, "node (which the CDK CLI needs) is not on PATH"
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": "UTC", "PATH": ""},
        timeout=30,
    )
    return done.stdout


def test_a_quota_refusal_says_when_uploads_open_again() -> None:
    text = refusal_text(429, {"message": "daily quota", "resetsAt": "2026-12-01T00:00:00Z"})
    assert text.startswith("Daily image limit reached: you can upload again from ")
    assert "2026" in text


def test_other_refusals_show_the_apis_message() -> None:
    assert refusal_text(429, {"message": "Too Many Requests"}) == "refused"
    assert refusal_text(400, {"message": "x", "resetsAt": "2026-12-01T00:00:00Z"}) == "refused"
