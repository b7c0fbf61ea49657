"""Alarms on what needs a person: where a function consumes a queue (dead letters, an aging backlog, errors),
API server errors and Rekognition throttling. docs/runbook.md says what to do about each."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs import metrics
from stacks.constructs.messaging import encrypted_topic

FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True)
class AlarmTexts:
    """What each alarm tells the person who receives it, and the ids that name them."""

    topic: str
    dead_letters: str
    backlog: str
    errors: str
    errors_id: str


class QueueConsumerMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        consumer: lambda_.IFunction,
        max_age: Duration,
        texts: AlarmTexts,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = encrypted_topic(self, "Alarms", key=key, display_name=f"{texts.topic} ({config.name})")
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        alarms = [
            self._above(
                "DeadLetters",
                texts.dead_letters,
                dead_letter_queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES),
            ),
            cloudwatch.Alarm(
                self,
                "Backlog",
                alarm_description=texts.backlog,
                metric=queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES),
                threshold=max_age.to_seconds(),
                evaluation_periods=3,
            ),
            self._above(texts.errors_id, texts.errors, consumer.metric_errors(period=FIVE_MINUTES)),
        ]
        for alarm in alarms:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms = tuple(alarms)

    def _above(self, construct_id: str, description: str, metric: cloudwatch.IMetric) -> cloudwatch.Alarm:
        """Alarm as soon as the metric is above zero in one period; no data means nothing happened."""
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


# API 5xx: the share of requests answered 5xx (5XXError's Average) above this in 2 of 3 five-minute periods.
API_5XX_RATE = 0.05
# Rekognition: the share of calls throttled (all five operations) above this percentage for 15 minutes.
THROTTLE_RATE_PERCENT = 10


class ServiceAlarms(Construct):
    """Alarms on the API's server errors and on Rekognition throttling, to the pipeline's alarm topic."""

    def __init__(
        self, scope: Construct, construct_id: str, *, api: apigw.RestApi, topic: sns.ITopic, config: EnvironmentConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.api_5xx = cloudwatch.Alarm(
            self,
            "Api5xx",
            alarm_description=f"More than {API_5XX_RATE:.0%} of API requests answered 5xx ({config.name}): "
            "see docs/runbook.md#api-5xx",
            metric=api.metric_server_error(period=FIVE_MINUTES, statistic="Average"),
            threshold=API_5XX_RATE,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.rekognition_throttling = cloudwatch.Alarm(
            self,
            "RekognitionThrottling",
            alarm_description=f"More than {THROTTLE_RATE_PERCENT}% of Rekognition calls throttled for 15 minutes "
            f"({config.name}): see docs/runbook.md#rekognition-throttling",
            metric=throttle_rate(FIVE_MINUTES),
            threshold=THROTTLE_RATE_PERCENT,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.api_5xx, self.rekognition_throttling):
            alarm.add_alarm_action(actions.SnsAction(topic))


def throttle_rate(period: Duration) -> cloudwatch.MathExpression:
    """Throttled calls in percent of all calls, over the five operations the worker calls."""
    using: dict[str, cloudwatch.IMetric] = {}
    for index, operation in enumerate(metrics.OPERATIONS.values()):
        using[f"throttled{index}"] = metrics.rekognition("ThrottledCount", operation, period)
        using[f"succeeded{index}"] = metrics.rekognition("SuccessfulRequestCount", operation, period)
    throttled = " + ".join(f"FILL({name}, 0)" for name in using if name.startswith("throttled"))
    succeeded = " + ".join(f"FILL({name}, 0)" for name in using if name.startswith("succeeded"))
    return cloudwatch.MathExpression(
        expression=f"100 * ({throttled}) / ({throttled} + {succeeded})",
        using_metrics=using,
        label="throttled %",
        period=period,
    )
