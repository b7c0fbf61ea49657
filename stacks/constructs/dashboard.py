"""One CloudWatch dashboard per environment: throughput, latency, Rekognition, queues, webhooks, API."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs import metrics

ONE_MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
WIDTH, HEIGHT = 12, 6


@dataclass(frozen=True)
class DashboardSources:
    """What the dashboard graphs, handed over as the constructs' own objects."""

    upload_queue: sqs.IQueue
    upload_dead_letters: sqs.IQueue
    webhook_queue: sqs.IQueue
    webhook_dead_letters: sqs.IQueue
    api: apigw.RestApi
    alarms: tuple[cloudwatch.IAlarm, ...]


class OperationsDashboard(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, sources: DashboardSources
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"ImagePipeline-{config.name}",
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(sources.alarms), width=24, height=3)
        )
        self.dashboard.add_widgets(
            graph(
                "Images per minute",
                [
                    metrics.worker("ImagesProcessed", "Sum", ONE_MINUTE, label="analysed"),
                    metrics.worker("ImagesFailed", "Sum", ONE_MINUTE, label="failed"),
                ],
                stacked=True,
            ),
            graph(
                "End-to-end latency (upload to result), ms",
                [
                    metrics.worker(metrics.END_TO_END_LATENCY, "p50", ONE_MINUTE, label="p50"),
                    metrics.worker(metrics.END_TO_END_LATENCY, "p99", ONE_MINUTE, label="p99"),
                    metrics.worker("ProcessingLatency", "p99", ONE_MINUTE, label="worker processing p99"),
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "Rekognition calls per operation (this environment)",
                [
                    metrics.worker("RekognitionCalls", "Sum", ONE_MINUTE, label=operation, feature=feature)
                    for feature, operation in metrics.OPERATIONS.items()
                ],
                stacked=True,
            ),
            graph(
                "Rekognition throttles per operation",
                [
                    *[
                        metrics.rekognition("ThrottledCount", operation, ONE_MINUTE, label=f"{operation} (account)")
                        for operation in metrics.OPERATIONS.values()
                    ],
                    *[
                        metrics.worker(
                            metrics.REKOGNITION_THROTTLES, "Sum", ONE_MINUTE, label=operation, feature=feature
                        )
                        for feature, operation in metrics.OPERATIONS.items()
                    ],
                ],
            ),
        )
        queues = ((sources.upload_queue, "uploads"), (sources.webhook_queue, "webhook jobs"))
        dead_letters = ((sources.upload_dead_letters, "uploads DLQ"), (sources.webhook_dead_letters, "webhooks DLQ"))
        self.dashboard.add_widgets(
            graph(
                "Age of the oldest message, s",
                [
                    queue.metric_approximate_age_of_oldest_message(period=ONE_MINUTE, statistic="Maximum", label=label)
                    for queue, label in queues
                ],
            ),
            graph(
                "Dead-letter queues (messages)",
                [
                    queue.metric_approximate_number_of_messages_visible(
                        period=ONE_MINUTE, statistic="Maximum", label=label
                    )
                    for queue, label in dead_letters
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph("Webhook success rate, % of attempts", [webhook_success_rate(FIVE_MINUTES)]),
            graph(
                "Webhook attempt latency, ms",
                [
                    metrics.dispatcher(metrics.WEBHOOK_LATENCY, "p50", ONE_MINUTE, label="p50"),
                    metrics.dispatcher(metrics.WEBHOOK_LATENCY, "p99", ONE_MINUTE, label="p99"),
                ],
            ),
        )
        api = sources.api
        self.dashboard.add_widgets(
            graph(
                "API requests, 4xx and 5xx",
                [
                    api.metric_count(period=ONE_MINUTE, statistic="Sum", label="requests"),
                    api.metric_client_error(period=ONE_MINUTE, statistic="Sum", label="4xx"),
                    api.metric_server_error(period=ONE_MINUTE, statistic="Sum", label="5xx"),
                ],
            ),
            graph(
                "API latency, ms",
                [
                    api.metric_latency(period=ONE_MINUTE, statistic="p50", label="p50"),
                    api.metric_latency(period=ONE_MINUTE, statistic="p99", label="p99"),
                    api.metric_integration_latency(period=ONE_MINUTE, statistic="p99", label="function p99"),
                ],
            ),
        )


def graph(title: str, left: list[cloudwatch.IMetric], *, stacked: bool = False) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=left, stacked=stacked, width=WIDTH, height=HEIGHT)


def webhook_success_rate(period: Duration) -> cloudwatch.MathExpression:
    """Delivered attempts over all attempts, from the dispatcher's WebhookAttempts by outcome."""
    attempts = {
        outcome: metrics.dispatcher("WebhookAttempts", "Sum", period, outcome=outcome)
        for outcome in metrics.WEBHOOK_OUTCOMES
    }
    total = " + ".join(f"FILL({outcome}, 0)" for outcome in attempts)
    return cloudwatch.MathExpression(
        expression=f"100 * FILL(delivered, 0) / ({total})",
        using_metrics=dict(attempts),
        label="delivered",
        period=period,
    )
