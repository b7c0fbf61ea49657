"""The Rekognition quota as metrics and alarms: calls, throttles and faults per operation (EMF metrics the
worker emits), the share of each operation's quota used, and alarms when throttling shows that the quota in
the config is more than the account really has, or when the quota is what holds a backlog back.

Metric names (namespace ``ImagePipeline``, dimensions ``service=recognition-worker`` and ``feature``):
``RekognitionCalls``, ``RekognitionThrottles``, ``RekognitionFaults``; without ``feature``:
``ImagesDeferred`` (an image held back by the quota), ``MessagesDeferred`` (a message put back on the queue).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import FEATURES, EnvironmentConfig

NAMESPACE = "ImagePipeline"
SERVICE = "recognition-worker"
PERIOD = Duration.minutes(5)
# More than this share of calls throttled: the limiter works from a quota the account does not have.
THROTTLED_SHARE = 0.05
# Quota used at least this much while the backlog ages: the quota, not the code, sets the pace.
SATURATED_SHARE = 0.9


def worker_metric(name: str, feature: str | None = None, period: Duration = PERIOD) -> cloudwatch.Metric:
    dimensions = {"service": SERVICE} | ({"feature": feature} if feature else {})
    return cloudwatch.Metric(
        namespace=NAMESPACE, metric_name=name, dimensions_map=dimensions, statistic="Sum", period=period
    )


def quota_used(config: EnvironmentConfig, feature: str, period: Duration = PERIOD) -> cloudwatch.MathExpression:
    """Share (0..1) of ``feature``'s quota the fleet used in each period."""
    quota = config.rekognition_quotas.per_feature()[feature]
    return cloudwatch.MathExpression(
        expression=f"calls_{feature} / {quota * period.to_seconds()}",
        using_metrics={f"calls_{feature}": worker_metric("RekognitionCalls", feature, period)},
        label=f"{feature}: share of {quota} TPS used",
        period=period,
    )


class RekognitionQuotaAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        topic: sns.ITopic,
        queue: sqs.IQueue,
        backlog_age: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        calls = {f"c{i}": worker_metric("RekognitionCalls", f) for i, f in enumerate(FEATURES)}
        throttles = {f"t{i}": worker_metric("RekognitionThrottles", f) for i, f in enumerate(FEATURES)}
        throttled = cloudwatch.MathExpression(
            expression=f"({' + '.join(throttles)}) / MAX([{' + '.join(calls)}, 1])",
            using_metrics={**calls, **throttles},
            label="share of Rekognition calls throttled",
            period=PERIOD,
        )
        self.throttling = cloudwatch.Alarm(
            self,
            "Throttling",
            alarm_description=(
                f"More than {THROTTLED_SHARE:.0%} of Rekognition calls throttled: the account's quota is lower than "
                "config.rekognition_quotas, or something else in the account uses it"
            ),
            metric=throttled,
            threshold=THROTTLED_SHARE,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        used = {f"u{i}": quota_used(config, f) for i, f in enumerate(FEATURES)}
        saturated = cloudwatch.Alarm(
            self,
            "QuotaSaturated",
            alarm_description=f"An operation used at least {SATURATED_SHARE:.0%} of its Rekognition quota",
            metric=cloudwatch.MathExpression(
                expression=f"MAX([{', '.join(used)}])", using_metrics=dict(used), period=PERIOD
            ),
            threshold=SATURATED_SHARE,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        aging = cloudwatch.Alarm(
            self,
            "BacklogAging",
            alarm_description="Uploads wait for analysis (the age of the oldest message on the upload queue)",
            metric=queue.metric_approximate_age_of_oldest_message(period=PERIOD),
            threshold=backlog_age.to_seconds(),
            evaluation_periods=3,
        )
        self.quota_bound = cloudwatch.CompositeAlarm(
            self,
            "QuotaBound",
            alarm_description=(
                "The backlog ages while Rekognition's quota is used up: the quota sets the pace; "
                "ask for a higher quota (Service Quotas) and raise config.rekognition_quotas with it"
            ),
            alarm_rule=cloudwatch.AlarmRule.all_of(saturated, aging),
        )
        for alarm in (self.throttling, self.quota_bound):
            alarm.add_alarm_action(actions.SnsAction(topic))
