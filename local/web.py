"""The web page, served the way the template's CloudFront distribution serves it: objects from its S3
origin in moto (where local.provisioners.s3 copied the BucketDeployment's assets, config.json included),
the default root object for ``/``, and the distribution's custom error responses."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from local.console import Console
from local.http_server import BackgroundServer
from local.provisioners import Provisioned


class Site:
    def __init__(self, bucket: str, origin_path: str, root_object: str, errors: dict[int, tuple[int, str]]) -> None:
        self.bucket = bucket
        self.origin_path = origin_path.strip("/")
        self.root_object = root_object
        self.errors = errors  # S3 status -> (answer status, page path)


def site_of(provisioned: Provisioned) -> Site | None:
    distributions = list(provisioned.assembly.resources("AWS::CloudFront::Distribution"))
    if not distributions:
        return None
    distribution = distributions[0]
    config = provisioned.value(distribution.stack, distribution.properties["DistributionConfig"])
    origin = config["Origins"][0]
    bucket = str(origin["DomainName"]).split(".s3.", 1)[0]
    errors = {
        int(rule["ErrorCode"]): (int(rule.get("ResponseCode", rule["ErrorCode"])), str(rule["ResponsePagePath"]))
        for rule in config.get("CustomErrorResponses", [])
        if "ResponsePagePath" in rule
    }
    return Site(bucket, str(origin.get("OriginPath", "")), str(config.get("DefaultRootObject", "")), errors)


class WebServer:
    def __init__(self, host: str, port: int, s3: Any, console: Console) -> None:
        self._s3 = s3
        self._console = console
        self._site: Site | None = None
        self._server = BackgroundServer(host, port, self._handler(), "web")

    @property
    def host(self) -> str:
        return self._server.address

    @property
    def url(self) -> str:
        return f"http://{self.host}/"

    @property
    def has_site(self) -> bool:
        return self._site is not None

    def serve(self, provisioned: Provisioned) -> None:
        self._site = site_of(provisioned)
        if self._site is not None:
            self._server.start()

    def close(self) -> None:
        self._server.close()

    def fetch(self, path: str) -> tuple[int, str, bytes]:
        site = self._site
        if site is None:
            return 404, "text/plain", b"no web page in this app"
        key = unquote(urlsplit(path).path).lstrip("/") or site.root_object
        status, content_type, body = self._object(site, key)
        if status != 200 and status in site.errors:
            answer, page = site.errors[status]
            _, content_type, body = self._object(site, page.lstrip("/"))
            return answer, content_type, body
        return status, content_type, body

    def _object(self, site: Site, key: str) -> tuple[int, str, bytes]:
        full_key = f"{site.origin_path}/{key}" if site.origin_path else key
        try:
            answer = self._s3.get_object(Bucket=site.bucket, Key=full_key)
        except self._s3.exceptions.NoSuchKey:
            return 403, "text/plain", b"AccessDenied"  # CloudFront with OAC sees a missing key as 403
        return 200, str(answer.get("ContentType", "application/octet-stream")), answer["Body"].read()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fetch, console = self.fetch, self._console

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, content_type, body = fetch(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                if status >= 400:
                    console.line("web", f"GET {self.path} -> {status}")

            def do_HEAD(self) -> None:
                self.do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler
