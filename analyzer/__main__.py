"""``python -m analyzer``: serve Rekognition's API on the given address."""

import argparse
import logging

from analyzer.analysis import DEFAULT_MAX_IMAGES
from analyzer.server import ServerConfig, make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m analyzer",
        description="Offline, Rekognition-compatible analyzer",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--s3-endpoint-url", help="S3 endpoint for Image.S3Object")
    parser.add_argument(
        "--tps-limit",
        type=int,
        help="requests per second per operation beyond which to answer ProvisionedThroughputExceededException",
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every request")
    parser.add_argument(
        "--cached-images",
        type=int,
        default=DEFAULT_MAX_IMAGES,
        help="images whose pixels and model outputs are kept for further operations on them (0: none)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = ServerConfig(
        args.host, args.port, args.s3_endpoint_url, args.tps_limit, args.latency_ms, args.cached_images
    )
    server = make_server(config)
    logging.getLogger("analyzer").info("listening on http://%s:%d", args.host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
