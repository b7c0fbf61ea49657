"""``python -m local``: run the synthesized app on this machine until Ctrl-C (see docs/local-mode.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from local.app import LocalMode, Options, is_loopback
from local.console import Console


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out/dev"), help="the synthesized cloud assembly")
    parser.add_argument("--host", default="127.0.0.1", help="where the API and the web page are served")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve the API and the web page on a non-loopback --host (the AWS emulator stays on loopback)",
    )
    parser.add_argument("--port", type=int, default=8000, help="the REST API (0: any free port)")
    parser.add_argument("--web-port", type=int, default=8080, help="the web page (0: any free port)")
    parser.add_argument("--moto-port", type=int, default=0, help="the AWS emulator (0: any free port)")
    parser.add_argument("--analyzer-port", type=int, default=0, help="the offline Rekognition (0: any free port)")
    parser.add_argument("--outputs-file", type=Path, default=Path(".local/cdk-outputs.json"))
    parser.add_argument("--work-dir", type=Path, default=Path(".local"))
    parser.add_argument(
        "--no-analyzer", action="store_true", help="leave Rekognition to moto's fixed answers (faster start)"
    )
    parser.add_argument(
        "--rekognition-endpoint-url",
        default=os.environ.get("REKOGNITION_ENDPOINT_URL") or None,
        help="the functions call this Rekognition endpoint; the offline analyzer is then not started "
        "(default: $REKOGNITION_ENDPOINT_URL)",
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        parser.error(f"--host {args.host} is not a loopback address: add --allow-remote to serve the API there")
    return Options(
        assembly_dir=args.assembly,
        host=args.host,
        port=args.port,
        web_port=args.web_port,
        moto_port=args.moto_port,
        analyzer_port=args.analyzer_port,
        outputs_file=args.outputs_file,
        work_dir=args.work_dir,
        analyzer=not args.no_analyzer,
        allow_remote=args.allow_remote,
        rekognition_endpoint=args.rekognition_endpoint_url,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    console = Console()
    stop = threading.Event()
    starting = threading.Event()
    starting.set()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if starting.is_set():
            starting.clear()
            raise KeyboardInterrupt  # abandons the start; `finally` stops what it had started

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    mode = LocalMode(options, console)
    try:
        try:
            mode.start()
        finally:
            starting.clear()
        while not stop.wait(0.5):
            pass
        console.say("stopping")
    except KeyboardInterrupt:
        console.say("stopping before it was ready")
    except Exception as error:
        console.say(f"failed: {type(error).__name__}: {error}")
        return 1
    finally:
        mode.close()
        console.say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
