"""Operations per environment: the dashboard's widgets, the alarms (metric, threshold, action), the budget."""

from __future__ import annotations

import json
import re
from typing import Any

from stacks.config import ENVIRONMENTS
from stacks.constructs import metrics
from stacks.constructs.monitoring import API_5XX_RATE, THROTTLE_RATE_PERCENT
from tests.support.synth import ROOT, Synthesized, only, resources_of, synthesize

WORKER = "image_pipeline.handlers.worker.handler"
DISPATCHER = "image_pipeline.handlers.dispatcher.handler"


def _dashboard(synthesized: Synthesized) -> dict[str, Any]:
    """The dashboard body as CloudWatch receives it, with the Fn::Join of its references flattened."""
    _, dashboard = only(synthesized.template("Operations"), "AWS::CloudWatch::Dashboard")
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(part if isinstance(part, str) else '"REF"' for part in parts)
    loaded: dict[str, Any] = json.loads(text.replace('""REF""', '"REF"'))
    return loaded


def _widgets(synthesized: Synthesized) -> dict[str, list[Any]]:
    """Widget title -> its metric rows."""
    return {
        widget["properties"]["title"]: widget["properties"].get("metrics", [])
        for widget in _dashboard(synthesized)["widgets"]
        if "title" in widget["properties"]
    }


def _names(rows: list[Any]) -> list[str]:
    """The metric names of a graph's rows (a row is [namespace, name, dim, value, ..., {options}])."""
    names = []
    for row in rows:
        plain = [item for item in row if isinstance(item, str)]
        names.append(plain[1] if plain and plain[0] != "." else "")
    return names


def _alarm(synthesized: Synthesized, stack: str, logical_prefix: str) -> dict[str, Any]:
    [alarm] = [
        resource["Properties"]
        for logical_id, resource in resources_of(synthesized.template(stack), "AWS::CloudWatch::Alarm").items()
        if logical_id.startswith(logical_prefix)
    ]
    return alarm


def _topic_export(synthesized: Synthesized, topic_prefix: str, stack: str = "Recognition") -> str:
    """The export name of the stack's alarm topic, as the Operations stack imports it."""
    outputs = synthesized.template(stack)["Outputs"]
    [name] = [
        output["Export"]["Name"]
        for output in outputs.values()
        if output.get("Value", {}).get("Ref", "").startswith(topic_prefix)
    ]
    return name


def test_the_dashboard_is_named_for_its_environment_and_has_every_view(synthesized: Synthesized) -> None:
    _, dashboard = only(synthesized.template("Operations"), "AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == f"ImagePipeline-{synthesized.pipeline.config.name}"
    widgets = _widgets(synthesized)
    assert {
        "Alarms",
        "Images per minute",
        "End-to-end latency (upload to result), ms",
        "Rekognition calls per operation (this environment)",
        "Rekognition throttles per operation",
        "Age of the oldest message, s",
        "Dead-letter queues (messages)",
        "Webhook success rate, % of attempts",
        "Webhook attempt latency, ms",
        "API requests, 4xx and 5xx",
        "API latency, ms",
    } <= set(widgets)


def test_throughput_and_rekognition_widgets_read_what_the_worker_emits(synthesized: Synthesized) -> None:
    widgets = _widgets(synthesized)
    assert set(_names(widgets["Images per minute"])) == {"ImagesProcessed", "ImagesFailed"}
    calls = widgets["Rekognition calls per operation (this environment)"]
    assert _names(calls) == ["RekognitionCalls"] * 5
    assert {row[row.index("feature") + 1] for row in calls} == set(metrics.OPERATIONS)
    throttles = widgets["Rekognition throttles per operation"]
    account = [row for row in throttles if row[0] == "AWS/Rekognition"]
    assert {row[row.index("Operation") + 1] for row in account} == {
        "DetectLabels",
        "DetectText",
        "DetectFaces",
        "DetectModerationLabels",
        "RecognizeCelebrities",
    }
    assert {row[1] for row in account} == {"ThrottledCount"}


def test_every_metric_the_dashboard_graphs_from_the_functions_is_emitted_by_them(synthesized: Synthesized) -> None:
    graphed = {
        plain[1]
        for rows in _widgets(synthesized).values()
        for row in rows
        if (plain := [item for item in row if isinstance(item, str)]) and plain[0] == metrics.NAMESPACE
    }
    # the names in quotes on the lines that call telemetry's count/count_by
    calls = [
        line
        for path in (ROOT / "lambdas" / "image_pipeline").rglob("*.py")
        for line in path.read_text().splitlines()
        if re.search(r"\bcount(_by)?\(", line)
    ]
    emitted = {name for line in calls for name in re.findall(r'"([A-Z]\w+)"', line)}
    assert {metrics.END_TO_END_LATENCY, metrics.WEBHOOK_LATENCY} <= graphed
    assert graphed - set(metrics.NOT_YET_EMITTED) <= emitted
    # NOT_YET_EMITTED shrinks as soon as a function emits one of them
    assert not set(metrics.NOT_YET_EMITTED) & emitted


def test_queue_dlq_and_api_widgets_graph_this_environments_resources(synthesized: Synthesized) -> None:
    widgets = _widgets(synthesized)
    assert _names(widgets["Age of the oldest message, s"]) == ["ApproximateAgeOfOldestMessage"] * 2
    assert _names(widgets["Dead-letter queues (messages)"]) == ["ApproximateNumberOfMessagesVisible"] * 2
    api_rows = widgets["API requests, 4xx and 5xx"]
    assert _names(api_rows) == ["Count", "4XXError", "5XXError"]
    assert all(f"ImagePipeline-{synthesized.pipeline.config.name}" in row for row in api_rows)
    assert _names(widgets["API latency, ms"]) == ["Latency", "Latency", "IntegrationLatency"]


def test_webhook_success_rate_is_delivered_over_every_outcome(synthesized: Synthesized) -> None:
    rows = _widgets(synthesized)["Webhook success rate, % of attempts"]
    [expression] = [row[0]["expression"] for row in rows if isinstance(row[0], dict)]
    assert expression.startswith("100 * FILL(delivered, 0) / (")
    outcomes = {row[row.index("outcome") + 1] for row in rows if "outcome" in row}
    assert outcomes == set(metrics.WEBHOOK_OUTCOMES)


def test_the_dashboard_reads_the_namespace_and_services_the_functions_emit_with(synthesized: Synthesized) -> None:
    for stack, handler, service in (
        ("Recognition", WORKER, metrics.WORKER_SERVICE),
        ("Integration", DISPATCHER, metrics.DISPATCHER_SERVICE),
    ):
        _, function = only(
            synthesized.template(stack),
            "AWS::Lambda::Function",
            lambda r, h=handler: r["Properties"].get("Handler") == h,
        )
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == metrics.NAMESPACE
        assert variables["POWERTOOLS_SERVICE_NAME"] == service


def test_api_5xx_alarm_watches_the_error_rate_of_this_api_and_notifies_the_alarm_topic(
    synthesized: Synthesized,
) -> None:
    alarm = _alarm(synthesized, "Operations", "AlarmsApi5xx")
    assert alarm["Namespace"] == "AWS/ApiGateway"
    assert alarm["MetricName"] == "5XXError"
    assert alarm["Statistic"] == "Average"
    assert alarm["Dimensions"] == [{"Name": "ApiName", "Value": f"ImagePipeline-{synthesized.pipeline.config.name}"}]
    assert alarm["Threshold"] == API_5XX_RATE
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Fn::ImportValue": _topic_export(synthesized, "MonitoringAlarms")}]


def test_throttling_alarm_is_the_throttled_share_of_all_five_operations(synthesized: Synthesized) -> None:
    alarm = _alarm(synthesized, "Operations", "AlarmsRekognitionThrottling")
    [expression] = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["Expression"].startswith("100 * (FILL(throttled0, 0)")
    sources = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert len(sources) == 10  # CloudWatch's limit of metrics in one alarm
    assert {s["MetricName"] for s in sources} == {"ThrottledCount", "SuccessfulRequestCount"}
    assert {s["Dimensions"][0]["Value"] for s in sources} == set(metrics.OPERATIONS.values())
    assert alarm["Threshold"] == THROTTLE_RATE_PERCENT
    assert alarm["EvaluationPeriods"] == 3
    assert alarm["AlarmActions"] == [{"Fn::ImportValue": _topic_export(synthesized, "MonitoringAlarms")}]


def test_both_dead_letter_queues_and_both_backlogs_alarm_to_their_stacks_alarm_topic(
    synthesized: Synthesized,
) -> None:
    for stack, max_age in (("Recognition", 15 * 60), ("Integration", 30 * 60)):
        template = synthesized.template(stack)
        [topic] = [k for k in resources_of(template, "AWS::SNS::Topic") if k.startswith("MonitoringAlarms")]
        dead_letters = _alarm(synthesized, stack, "MonitoringDeadLetters")
        assert dead_letters["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert dead_letters["Threshold"] == 0
        assert dead_letters["ComparisonOperator"] == "GreaterThanThreshold"
        assert dead_letters["AlarmActions"] == [{"Ref": topic}]
        backlog = _alarm(synthesized, stack, "MonitoringBacklog")
        assert backlog["MetricName"] == "ApproximateAgeOfOldestMessage"
        assert backlog["Threshold"] == max_age
        assert backlog["AlarmActions"] == [{"Ref": topic}]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def test_every_alarm_is_on_the_dashboard_and_points_to_its_runbook_section(synthesized: Synthesized) -> None:
    alarms = [
        alarm["Properties"]
        for template in synthesized.templates.values()
        for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
    ]
    [status] = [w for w in _dashboard(synthesized)["widgets"] if w["properties"].get("title") == "Alarms"]
    # 6 of the pipeline stacks, 3 of the worker's quota (two of them parts of one composite), 2 of Operations,
    # 1 on disabled webhook endpoints, 1 on failed backfill runs
    assert len(status["properties"]["alarms"]) == len(alarms) == 13
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    anchors = {_anchor(line.removeprefix("## ")) for line in runbook.splitlines() if line.startswith("## ")}
    linked = [re.search(r"docs/runbook\.md#([a-z0-9-]+)", alarm["AlarmDescription"]) for alarm in alarms]
    assert all(linked), [alarm["AlarmDescription"] for alarm in alarms]
    assert {match.group(1) for match in linked if match} <= anchors
    assert len({match.group(1) for match in linked if match}) == 12  # the composite's parts share a section
    assert "budget" in anchors


def test_the_budget_is_the_environments_monthly_amount_filtered_by_its_tag(synthesized: Synthesized) -> None:
    config = synthesized.pipeline.config
    _, budget = only(synthesized.template("Operations"), "AWS::Budgets::Budget")
    data = budget["Properties"]["Budget"]
    assert data["BudgetLimit"] == {"Amount": config.monthly_budget_usd, "Unit": "USD"}
    assert data["TimeUnit"] == "MONTHLY"
    assert data["BudgetType"] == "COST"
    assert data["CostFilters"] == {"TagKeyValue": [f"user:environment${config.name}"]}


def test_the_budget_e_mails_the_alarm_address_at_80_and_100_percent() -> None:
    # Given an environment deployed with an alarm e-mail
    template = synthesize("staging", alarmEmail="ops@example.com").template("Operations")
    _, budget = only(template, "AWS::Budgets::Budget")
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    # Then every alert goes to that address, on actual spend at 80 % and 100 % and on the forecast
    assert {(n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in notifications} == {
        ("ACTUAL", 80),
        ("ACTUAL", 100),
        ("FORECASTED", 100),
    }
    assert all(n["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}] for n in notifications)


def test_budgets_differ_per_environment() -> None:
    amounts = [ENVIRONMENTS[name].monthly_budget_usd for name in ("dev", "staging", "prod")]
    assert amounts == sorted(amounts)
    assert len(set(amounts)) == 3
