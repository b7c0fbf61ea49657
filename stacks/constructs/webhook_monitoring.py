"""Alarms of webhook delivery: dead letters, a dispatch backlog, dispatcher errors."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.messaging import encrypted_topic

PERIOD = Duration.minutes(5)


class WebhookMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        dispatcher: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = encrypted_topic(self, "Alarms", key=key, display_name=f"Webhook alarms ({config.name})")
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        watched = {
            "DeadLetters": (
                "Webhook deliveries failed for more than a day (or could not be dispatched): see the DLQ, "
                "then `make redrive`",
                dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                0,
            ),
            # Jobs waiting for a retry are re-sent at most every 15 minutes, so older messages mean a backlog.
            "Backlog": (
                "Webhook jobs wait more than 30 minutes for the dispatcher",
                queue.metric_approximate_age_of_oldest_message(period=PERIOD),
                Duration.minutes(30).to_seconds(),
            ),
            "DispatcherErrors": (
                "The webhook dispatcher failed whole invocations",
                dispatcher.metric_errors(period=PERIOD),
                0,
            ),
        }
        for construct_id_, (description, metric, threshold) in watched.items():
            alarm = cloudwatch.Alarm(
                self,
                construct_id_,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(self.topic))
