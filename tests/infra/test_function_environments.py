"""One contract between stack and code: every function's synthesized environment is exactly what its settings
models read (nothing missing, nothing nobody reads), in every environment."""

from __future__ import annotations

from typing import Any

import pytest

from image_pipeline.api.settings import ApiSettings
from image_pipeline.backfill.settings import BackfillSettings
from image_pipeline.recognition.settings import WorkerSettings
from image_pipeline.shared.settings import EnvironmentSettings
from image_pipeline.webhooks.settings import DispatcherSettings, WebhookApiSettings
from tests.support.synth import Synthesized

# What each function's code reads, by the handler the stacks name.
MODELS: dict[str, tuple[type[EnvironmentSettings], ...]] = {
    "image_pipeline.handlers.worker.handler": (WorkerSettings,),
    "image_pipeline.handlers.dispatcher.handler": (DispatcherSettings,),
    "image_pipeline.handlers.api.handler": (ApiSettings, WebhookApiSettings),
    "image_pipeline.handlers.backfill.handler": (BackfillSettings,),
}
# Read by Powertools itself (set once, by the Lambda factory).
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}


def _functions(synthesized: Synthesized) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (logical_id, resource["Properties"]["Handler"], resource["Properties"].get("Environment", {}))
        for template in synthesized.templates.values()
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == "AWS::Lambda::Function"
        and str(resource["Properties"].get("Handler", "")).startswith("image_pipeline.")
    ]


def _as_deployed(variables: dict[str, Any]) -> dict[str, str]:
    """References (Ref, Fn::GetAtt) become a placeholder string: their values exist only at deploy time."""
    return {name: value if isinstance(value, str) else "resolved-at-deploy" for name, value in variables.items()}


def test_every_function_environment_is_exactly_what_its_settings_read(synthesized: Synthesized) -> None:
    functions = _functions(synthesized)
    assert {handler for _, handler, _ in functions} == set(MODELS)
    for logical_id, handler, environment in functions:
        variables = _as_deployed(environment.get("Variables", {}))
        models = MODELS[handler]
        for model in models:
            model.from_environ(variables)  # a missing or malformed variable raises here
        read = set().union(*(model.variable_names() for model in models)) | POWERTOOLS
        assert set(variables) - read == set(), f"{logical_id} ({handler}) sets variables nobody reads"


@pytest.mark.parametrize("model", [WorkerSettings, DispatcherSettings, ApiSettings, WebhookApiSettings])
def test_a_settings_model_refuses_to_build_a_variable_it_does_not_read(model: type[EnvironmentSettings]) -> None:
    with pytest.raises(TypeError, match="no field"):
        model.environment(upload_prefixx="uploads/")


def test_an_environment_is_written_with_the_models_names_and_read_back_equal() -> None:
    variables = WorkerSettings.environment(
        table_name="results",
        events_topic_arn="arn:topic",
        results_bucket_name="images",
        queue_url="https://queue",
        rekognition_quotas="labels=5,text=5,faces=5,moderation=5,celebrities=5",
        default_features=("labels", "text"),
        lock_seconds=90,
    )
    assert variables == {
        "TABLE_NAME": "results",
        "EVENTS_TOPIC_ARN": "arn:topic",
        "RESULTS_BUCKET_NAME": "images",
        "QUEUE_URL": "https://queue",
        "REKOGNITION_QUOTAS": "labels=5,text=5,faces=5,moderation=5,celebrities=5",
        "DEFAULT_FEATURES": "labels,text",
        "LOCK_SECONDS": "90",
    }
    settings = WorkerSettings.from_environ(variables)
    assert (settings.default_features, settings.lock_seconds) == ("labels,text", 90)
