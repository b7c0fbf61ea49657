"""Operations of one environment: its dashboard, the API and Rekognition alarms, its cost budget.

Apart from the pipeline so that a dashboard or budget change never touches a function or a queue.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks import outputs
from stacks.config import EnvironmentConfig
from stacks.constructs.cost_budget import CostBudget
from stacks.constructs.dashboard import DashboardSources, OperationsDashboard
from stacks.constructs.monitoring import ServiceAlarms


class OperationsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        alarm_topic: sns.ITopic,
        api: apigw.RestApi,
        queues: tuple[sqs.IQueue, sqs.IQueue, sqs.IQueue, sqs.IQueue],
        pipeline_alarms: tuple[cloudwatch.IAlarm, ...],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alarms = ServiceAlarms(self, "Alarms", api=api, topic=alarm_topic, config=config)
        upload_queue, upload_dead_letters, webhook_queue, webhook_dead_letters = queues
        self.dashboard = OperationsDashboard(
            self,
            "Operations",
            config=config,
            sources=DashboardSources(
                upload_queue=upload_queue,
                upload_dead_letters=upload_dead_letters,
                webhook_queue=webhook_queue,
                webhook_dead_letters=webhook_dead_letters,
                api=api,
                alarms=(*pipeline_alarms, self.alarms.api_5xx, self.alarms.rekognition_throttling),
            ),
        )
        self.budget = CostBudget(self, "Cost", config=config)
        CfnOutput(self, outputs.DASHBOARD_NAME, value=self.dashboard.dashboard.dashboard_name)
