"""Builds the whole app for one environment; ``app.py`` and the tests share it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.api_stack import ApiStack
from stacks.config import EnvironmentConfig, config_for
from stacks.data_stack import DataStack
from stacks.integration_stack import IntegrationStack
from stacks.nag import acknowledge_findings, acknowledge_integration
from stacks.operations_stack import OperationsStack
from stacks.recognition_stack import RecognitionStack

PROJECT = "ImagePipeline"


@dataclass(frozen=True)
class PipelineApp:
    app: App
    config: EnvironmentConfig
    data: DataStack
    recognition: RecognitionStack
    integration: IntegrationStack
    api: ApiStack
    operations: OperationsStack


def stack_name(config: EnvironmentConfig, part: str) -> str:
    return f"{PROJECT}-{config.name}-{part}"


def build_app(app: App, *, account: str | None = None, region: str | None = None) -> PipelineApp:
    """Compose the stacks for the environment named by the ``env`` context (dev by default)."""
    config = config_for(app.node.try_get_context("env"))
    alarm_email = app.node.try_get_context("alarmEmail")
    if alarm_email:
        config = dataclasses.replace(config, alarm_email=alarm_email)
    webhook_endpoint = app.node.try_get_context("webhookEndpoint")
    if webhook_endpoint:
        config = dataclasses.replace(
            config, webhooks=dataclasses.replace(config.webhooks, endpoint_url=str(webhook_endpoint))
        )
    if str(app.node.try_get_context("webhooksLegacyOwnerIndex")).lower() == "true":
        config = dataclasses.replace(config, webhooks=dataclasses.replace(config.webhooks, legacy_owner_index=True))
    extra_origins = app.node.try_get_context("extraCorsOrigins")
    if extra_origins:
        origins = tuple(origin.strip() for origin in str(extra_origins).split(",") if origin.strip())
        config = dataclasses.replace(config, extra_cors_origins=origins)
    env = Environment(account=account, region=region)
    data = DataStack(app, stack_name(config, "Data"), config=config, env=env)
    recognition = RecognitionStack(
        app, stack_name(config, "Recognition"), config=config, bucket=data.bucket, table=data.table, env=env
    )
    recognition.add_stack_dependency(data, "reads the bucket through the data stack's exports")
    integration = IntegrationStack(
        app,
        stack_name(config, "Integration"),
        config=config,
        webhooks_table=data.webhooks_table,
        owner_index=data.webhooks_owner_index,
        events_topic=recognition.image_events,
        bucket=data.bucket,
        env=env,
    )
    integration.add_stack_dependency(data, "reads result documents through the data stack's exports")
    api = ApiStack(
        app,
        stack_name(config, "Api"),
        config=config,
        bucket=data.bucket,
        table=data.table,
        user_pool=data.user_pool,
        user_pool_client=data.user_pool_client,
        env=env,
    )
    # The /webhooks routes of the API function: their settings and grants come from the integration stack.
    integration.connect_api(api.handler.function)
    # POST /images/{id}/reanalyze sends to the worker's upload queue.
    recognition.connect_api(api.handler.function)
    operations = OperationsStack(
        app,
        stack_name(config, "Operations"),
        config=config,
        alarm_topic=recognition.monitoring.topic,
        api=api.rest_api.api,
        queues=(
            recognition.fanout.queue,
            recognition.fanout.dead_letter_queue,
            integration.dispatch.queue,
            integration.dispatch.dead_letter_queue,
        ),
        pipeline_alarms=(
            *recognition.monitoring.alarms,
            *recognition.quota_alarms.alarms,
            recognition.backfill.failed_alarm,
            *integration.monitoring.alarms,
        ),
        env=env,
    )
    Tags.of(app).add("project", PROJECT)
    Tags.of(app).add("environment", config.name)
    acknowledge_findings(data=data, recognition=recognition, api=api)
    acknowledge_integration(integration, data=data)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return PipelineApp(
        app=app,
        config=config,
        data=data,
        recognition=recognition,
        integration=integration,
        api=api,
        operations=operations,
    )
