"""cdk-nag AwsSolutions and cfn-lint over every synthesized environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cdk_nag import AwsSolutionsChecks

from tests.support.synth import ROOT, Synthesized


def test_cdk_nag_leaves_no_unacknowledged_finding(synthesized: Synthesized) -> None:
    report = AwsSolutionsChecks(synthesized.pipeline.app).validate_scope(synthesized.pipeline.app)
    assert [v.rule_name for v in report.violations] == []


def test_every_acknowledgement_has_a_reason(synthesized: Synthesized) -> None:
    reasons = []
    for template in synthesized.templates.values():
        for resource in template["Resources"].values():
            for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                reasons.append(rule["reason"])
    assert all(len(reason) > 30 for reason in reasons)


def test_cfn_lint_finds_no_error(synthesized: Synthesized) -> None:
    templates = sorted(str(p) for p in Path(synthesized.outdir).glob("*.template.json"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *templates],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
