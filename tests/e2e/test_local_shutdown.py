"""The local mode stops everything it started when asked to (Ctrl-C / SIGTERM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.local_process import READY, LocalProcess
from tests.support.synth import synthesize

pytestmark = pytest.mark.e2e


def test_sigterm_stops_every_process_and_exits_zero(tmp_path: Path) -> None:
    # Given a running local mode (Rekognition left to moto, to start quickly)
    local = LocalProcess(synthesize("dev").outdir, tmp_path, "--no-analyzer")
    outputs = local.wait_ready()
    assert outputs["Local"]["AwsEndpointUrl"].startswith("http://127.0.0.1:")
    assert local.leftovers(grace=0), "its function environments run in its process group"
    # When it is sent SIGTERM
    exit_code = local.stop()
    # Then it exits 0 and leaves no process behind
    assert exit_code == 0, "\n".join(local.lines[-30:])
    assert local.leftovers() == []
    assert local.lines[-1].endswith("stopped")
    # and its outputs file, whose endpoints are gone, with it (`make demo` then says to start it)
    assert not local.outputs_file.exists()


def test_ctrl_c_during_the_start_stops_it_without_errors(tmp_path: Path) -> None:
    # Given a local mode that is starting its functions
    local = LocalProcess(synthesize("dev").outdir, tmp_path, "--no-analyzer")
    local.wait_for("function ")
    # When Ctrl-C is pressed in its terminal (SIGINT to its whole process group)
    exit_code = local.interrupt()
    # Then it stops without finishing the start: exit 0, no traceback, no process left behind
    output = "\n".join(local.lines)
    assert exit_code == 0, output
    assert READY not in output
    assert "Traceback" not in output
    assert local.leftovers() == []
    assert local.lines[-1].endswith("stopped")
