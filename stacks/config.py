"""One frozen configuration object per environment, chosen with ``cdk synth -c env=NAME``.

Environment differences are values here and nowhere else: constructs receive an
``EnvironmentConfig`` and never read ``os.environ``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs

FEATURES = ("labels", "text", "faces", "moderation", "celebrities")
UPLOAD_PREFIX = "uploads/"
# Where existing images wait in the pipeline's own bucket for `make backfill` (uploads/ is analysed on arrival).
LIBRARY_PREFIX = "library/"


@dataclass(frozen=True)
class ConfidenceThresholds:
    """Minimum confidence (0..100) below which Rekognition answers are not stored."""

    labels: float = 70.0
    text: float = 80.0
    moderation: float = 50.0


WEBHOOK_EVENT_TYPES = ("image.analyzed", "image.failed")


OPERATIONS = {
    "labels": "DetectLabels",
    "text": "DetectText",
    "faces": "DetectFaces",
    "moderation": "DetectModerationLabels",
    "celebrities": "RecognizeCelebrities",
}


# How long a batch lasts at the slowest median latency planned for (2.5 s): an invocation holds its instance
# until its slowest image is done, and the slowest of a batch's 40 calls (10 images x 4 features, lognormal
# latency with sigma 0.5) takes about 3.1 x the median. The fleet must keep quota x that many images in
# flight to use the quota (bench/quota_simulation.py measures it: prod uses 99% of it at 2.5 s).
SLOWEST_BATCH_SECONDS = 3.1 * 2.5


@dataclass(frozen=True)
class RekognitionQuotas:
    """The account's Rekognition quota per operation in the target region (transactions per second), as the
    Service Quotas console shows it: they differ by API and by region, and an account can have them raised.

    The worker fleet together never asks an operation for more than its quota (a rate limiter shared
    through the results table, lambdas/image_pipeline/recognition/domain/rate_limit.py), whatever its concurrency."""

    labels: int = 5
    text: int = 5
    faces: int = 5
    moderation: int = 5
    celebrities: int = 5

    def __post_init__(self) -> None:
        if min(self.per_feature().values()) < 1:
            raise ValueError("rekognition quotas: every operation needs at least 1 TPS")

    def per_feature(self) -> dict[str, int]:
        return {feature: int(getattr(self, feature)) for feature in FEATURES}

    def per_operation(self) -> dict[str, int]:
        """The same quotas named by Rekognition's operations (``DetectLabels``: 50, ...)."""
        return {OPERATIONS[feature]: tps for feature, tps in self.per_feature().items()}

    def environment_value(self) -> str:
        """``labels=50,text=50,...``: what the worker reads (REKOGNITION_QUOTAS)."""
        return ",".join(f"{feature}={tps}" for feature, tps in self.per_feature().items())


@dataclass(frozen=True)
class WebhookConfig:
    """Webhook delivery (the Integration stack). The retry schedule itself is described in
    lambdas/image_pipeline/webhooks/domain/schedule.py; ``max_attempts`` 12 spans more than 24 hours."""

    dispatcher_memory_mb: int = 256
    # Each record makes at most one attempt of ``attempt_timeout_seconds`` (name resolution, connect, TLS,
    # status and headers together); a batch's records run side by side.
    dispatcher_timeout_seconds: int = 60
    attempt_timeout_seconds: int = 15
    batch_size: int = 10
    # Dispatcher instances at once (the SQS event source's maximum concurrency).
    max_concurrency: int = 2
    max_receive_count: int = 5
    max_attempts: int = 12
    disable_after_days: int = 5
    delivery_retention_days: int = 30
    # Fairness (lambdas/image_pipeline/webhooks/fairness.py): attempts in flight per endpoint, and per owner
    # over all their endpoints. An invocation waiting on one slow attempt takes no new batch, so one owner
    # may hold fewer slots than there are instances: the others always serve everybody else.
    endpoint_concurrency: int = 2
    owner_share: int = 1
    # The circuit breaker: this many attempts in a row without an HTTP answer (timeout, refused, TLS, DNS)
    # open it for breaker_open_seconds, doubling after each failed probe up to breaker_max_open_seconds.
    breaker_failures: int = 3
    breaker_open_seconds: int = 60
    breaker_max_open_seconds: int = 900
    # POST /webhooks/{id}/test per webhook and minute (429 with Retry-After beyond).
    test_sends_per_minute: int = 5
    # A result too large for the event reaches the receiver as a presigned link minted at each attempt, valid
    # this long at most (and never past the dispatcher's role session: docs/webhooks.md#large-results).
    results_url_seconds: int = 3600
    # Ports a webhook URL may name; an environment may allow more (e.g. 8443) explicitly.
    allowed_ports: tuple[int, ...] = (443,)
    # The environment's own third-party endpoint (https), its secret made in Secrets Manager;
    # set with ``-c webhookEndpoint=https://...``.
    endpoint_url: str | None = None
    endpoint_events: tuple[str, ...] = WEBHOOK_EVENT_TYPES
    # Upgrading a deployment made before the owner index stopped projecting the secrets: True for one deploy
    # (``-c webhooksLegacyOwnerIndex=true``) keeps the old index while the new one is built; the next deploy,
    # without it, removes the old one. See docs/runbook.md ("Upgrading").
    legacy_owner_index: bool = False

    def __post_init__(self) -> None:
        if not 2 <= self.max_concurrency <= 1000 or not 1 <= self.batch_size <= 10:
            raise ValueError("webhooks: max_concurrency 2..1000 and batch_size 1..10")
        if self.endpoint_url is not None and not self.endpoint_url.startswith("https://"):
            raise ValueError("webhooks: the fixed endpoint must be an https URL")
        if not self.endpoint_events or set(self.endpoint_events) - set(WEBHOOK_EVENT_TYPES):
            raise ValueError(f"webhooks: endpoint_events must be a non-empty subset of {WEBHOOK_EVENT_TYPES}")
        if not 1 <= self.owner_share < self.max_concurrency or self.endpoint_concurrency < 1:
            raise ValueError(
                "webhooks: 1 <= owner_share < max_concurrency (one owner's slow endpoints must leave an instance "
                "free for everybody else) and endpoint_concurrency >= 1"
            )
        if (
            not 1 <= self.attempt_timeout_seconds <= 30
            or self.dispatcher_timeout_seconds < 2 * self.attempt_timeout_seconds
        ):
            raise ValueError("webhooks: attempt_timeout_seconds 1..30, at most half the dispatcher's timeout")
        if self.breaker_failures < 1 or not 0 < self.breaker_open_seconds <= self.breaker_max_open_seconds:
            raise ValueError("webhooks: breaker_failures >= 1 and 0 < breaker_open_seconds <= breaker_max_open_seconds")
        if not self.allowed_ports or not all(0 < port < 65536 for port in self.allowed_ports):
            raise ValueError("webhooks: allowed_ports must name ports 1..65535")
        if self.test_sends_per_minute < 1:
            raise ValueError("webhooks: test_sends_per_minute >= 1")
        if not 60 <= self.results_url_seconds <= 43200:
            raise ValueError("webhooks: results_url_seconds 60..43200 (a role session lasts 12 hours at most)")

    @property
    def dispatcher_timeout(self) -> Duration:
        return Duration.seconds(self.dispatcher_timeout_seconds)

    @property
    def queue_visibility_timeout(self) -> Duration:
        """AWS asks for at least six times the function timeout on an SQS event source."""
        return Duration.seconds(self.dispatcher_timeout_seconds * 6)


@dataclass(frozen=True)
class BackfillConfig:
    """`make backfill` (README "Backfill"): a Step Functions Distributed Map lists a prefix and hands batches of
    keys to the backfill function, which queues them for the worker (the worker's rate limiter sets the pace)."""

    # Buckets besides the pipeline's own (under LIBRARY_PREFIX) a backfill may read: ``name`` or ``name/prefix/``.
    # The worker is granted s3:GetObject there and the state machine s3:ListBucket, nothing wider.
    source_buckets: tuple[str, ...] = ()
    # Objects per batch (one function invocation); a batch's listing stays well under Step Functions' 256 KiB.
    items_per_batch: int = 500
    # Batches at once: each only queues work, so a few keep the queue ahead of the worker.
    max_concurrency: int = 5
    # A batch waits while more messages than this wait on the upload queue (retried every backlog_retry_seconds):
    # the map stays a little ahead of the worker, and users' uploads never wait behind a whole backfill.
    max_backlog: int = 2000
    backlog_retry_seconds: int = 15
    function_memory_mb: int = 256
    function_timeout_seconds: int = 300

    def __post_init__(self) -> None:
        if not 1 <= self.items_per_batch <= 1000 or not 1 <= self.max_concurrency <= 100:
            raise ValueError("backfill: items_per_batch 1..1000 and max_concurrency 1..100")
        if self.max_backlog < 1 or not 1 <= self.backlog_retry_seconds <= 300:
            raise ValueError("backfill: max_backlog >= 1 and backlog_retry_seconds 1..300")
        for source in self.source_buckets:
            bucket, _, prefix = source.partition("/")
            if not bucket or "*" in source or (prefix and not prefix.endswith("/")):
                raise ValueError(f"backfill: source {source!r} must be a bucket name or bucket/prefix/ (no wildcard)")


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    # Worker function
    worker_memory_mb: int
    worker_timeout: Duration
    # SQS -> Lambda event source
    batch_size: int
    max_batching_window: Duration
    max_concurrency: int
    # Images of one batch analysed at once inside one invocation. Concurrency is no longer bounded by the
    # quota (the rate limiter keeps the fleet within it): it is sized so that Rekognition's latency does not
    # cap the rate (see SLOWEST_BATCH_SECONDS; __post_init__ refuses a fleet too small for its quota).
    image_concurrency: int
    # The account's Rekognition quota per operation in the target region.
    rekognition_quotas: RekognitionQuotas
    # Attempts per call (each one through the rate limiter) on throttling or a 5xx answer.
    rekognition_max_attempts: int
    max_receive_count: int
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy
    point_in_time_recovery: bool
    alarm_email: str | None
    default_features: tuple[str, ...]
    thresholds: ConfidenceThresholds = field(default_factory=ConfidenceThresholds)
    max_labels: int = 50
    incomplete_upload_days: int = 1
    # REST API stage throttling (requests per second, steady and burst) and its firewall.
    api_rate_limit: int = 20
    api_burst_limit: int = 40
    api_waf: bool = False
    api_memory_mb: int = 512
    # How long a presigned upload (POST) and a presigned display link (GET) stay valid.
    upload_url_seconds: int = 300
    display_url_seconds: int = 300
    # Cost guard: images one user may create per UTC day (POST /images answers 429 with when it resets).
    daily_image_quota: int = 100
    # Origins besides the web page's own (CloudFront) that may call the API from a browser,
    # e.g. the local mode's page; set with ``-c extraCorsOrigins=https://a,https://b``.
    extra_cors_origins: tuple[str, ...] = ()
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    backfill: BackfillConfig = field(default_factory=BackfillConfig)
    # AWS Budgets: the environment's monthly cost (USD) that alerts the alarm e-mail at 80 % and 100 %.
    monthly_budget_usd: int = 50
    # How long an image may wait inside the worker for a token of the rate limiter before it is put back
    # on the queue (with a delay, as a new message: no receive is counted towards the dead-letter queue).
    # In a backlog an image waits about (images in flight / quota) for its turn: 1.5 times that leaves the
    # put-backs to the unlucky few.
    rekognition_token_wait_seconds: int = 15

    def __post_init__(self) -> None:
        unknown = set(self.default_features) - set(FEATURES)
        if unknown or not self.default_features:
            raise ValueError(f"{self.name}: default_features must be a non-empty subset of {FEATURES}")
        if not 2 <= self.max_concurrency <= 1000:
            raise ValueError(f"{self.name}: max_concurrency must be 2..1000 (SQS event source limit)")
        if self.api_rate_limit < 1 or self.api_burst_limit < self.api_rate_limit:
            raise ValueError(f"{self.name}: api_rate_limit >= 1 and api_burst_limit >= api_rate_limit")
        if not 1 <= self.batch_size <= 10 or not 1 <= self.image_concurrency <= self.batch_size:
            raise ValueError(f"{self.name}: batch_size 1..10 and image_concurrency 1..batch_size")
        if self.daily_image_quota < 1:
            raise ValueError(f"{self.name}: daily_image_quota must be at least 1")
        if self.monthly_budget_usd <= 0:
            raise ValueError(f"{self.name}: monthly_budget_usd must be positive")
        wait = self.rekognition_token_wait_seconds
        if not 0 <= wait <= self.worker_timeout.to_seconds() // 4:
            raise ValueError(f"{self.name}: rekognition_token_wait_seconds must be 0..worker timeout / 4")
        needed = max(self.rekognition_quotas.per_feature().values()) * SLOWEST_BATCH_SECONDS
        if self.in_flight_calls_per_operation < needed:
            raise ValueError(
                f"{self.name}: max_concurrency x image_concurrency must be at least quota x {SLOWEST_BATCH_SECONDS} s "
                f"({needed:.0f} images in flight), or a slow Rekognition leaves the quota unused"
            )

    @property
    def in_flight_calls_per_operation(self) -> int:
        """At most this many calls of one operation are in flight at once (one per image and operation)."""
        return self.max_concurrency * self.image_concurrency

    @property
    def queue_visibility_timeout(self) -> Duration:
        """AWS asks for at least six times the function timeout on an SQS event source."""
        return Duration.seconds(self.worker_timeout.to_seconds() * 6)


ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    "dev": EnvironmentConfig(
        name="dev",
        worker_memory_mb=512,
        worker_timeout=Duration.seconds(60),
        batch_size=10,
        max_batching_window=Duration.seconds(1),
        max_concurrency=5,
        image_concurrency=10,
        rekognition_quotas=RekognitionQuotas(),
        rekognition_max_attempts=5,
        max_receive_count=3,
        log_retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=RemovalPolicy.DESTROY,
        point_in_time_recovery=False,
        alarm_email=None,
        default_features=("labels", "text"),
    ),
    "staging": EnvironmentConfig(
        name="staging",
        worker_memory_mb=1024,
        worker_timeout=Duration.seconds(60),
        batch_size=10,
        max_batching_window=Duration.seconds(2),
        max_concurrency=5,
        image_concurrency=10,
        rekognition_quotas=RekognitionQuotas(),
        rekognition_max_attempts=6,
        monthly_budget_usd=100,
        daily_image_quota=200,
        max_receive_count=5,
        log_retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.RETAIN,
        point_in_time_recovery=True,
        alarm_email=None,
        default_features=("labels", "text", "faces", "moderation"),
    ),
    "prod": EnvironmentConfig(
        name="prod",
        worker_memory_mb=1024,
        worker_timeout=Duration.seconds(60),
        batch_size=10,
        max_batching_window=Duration.seconds(2),
        # 50 TPS x SLOWEST_BATCH_SECONDS (7.75 s): 388 images in flight at least; 50 x 10 leaves room for the
        # token waits (in a backlog, images in flight / quota = 10 s each: the token wait is 15 s).
        max_concurrency=50,
        image_concurrency=10,
        rekognition_quotas=RekognitionQuotas(labels=50, text=50, faces=50, moderation=50, celebrities=50),
        monthly_budget_usd=1000,
        daily_image_quota=500,
        rekognition_max_attempts=8,
        max_receive_count=5,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        removal_policy=RemovalPolicy.RETAIN,
        point_in_time_recovery=True,
        alarm_email=None,
        default_features=("labels", "text", "faces", "moderation"),
        api_rate_limit=100,
        api_burst_limit=200,
        api_waf=True,
        webhooks=WebhookConfig(dispatcher_memory_mb=512, max_concurrency=10, owner_share=4),
    ),
}


def config_for(name: str | None) -> EnvironmentConfig:
    """The config of environment ``name`` (``-c env=NAME``); dev when none is given."""
    key = name or "dev"
    try:
        return ENVIRONMENTS[key]
    except KeyError:
        raise ValueError(f"unknown environment {key!r}; choose one of {sorted(ENVIRONMENTS)}") from None
