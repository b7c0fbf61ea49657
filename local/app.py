"""The local mode: moto, the offline analyzer, the functions, their pollers, the API and the web page."""

from __future__ import annotations

import ipaddress
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.cfn.assembly import Assembly
from local.console import Console
from local.emulator import SerialisedMotoServer
from local.functions.environment import CREDENTIALS, base_environment, role_credentials
from local.functions.runtime import FunctionSpec, LocalFunction, LocalFunctions
from local.functions.sns_bridge import SnsLambdaBridge
from local.functions.sqs_poller import IDLE_INTERVAL, MappingSpec, SqsPoller
from local.gateway.server import Gateway
from local.iam.enforcer import SigningSecrets
from local.outputs import stack_outputs, write_outputs
from local.provisioners import DEMO_USERNAME, Provisioned, ProvisionSettings, aws_clients, provision
from local.signing_key import RunSigningKey
from local.web import WebServer

DEFAULT_CONCURRENCY = 2
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Options:
    assembly_dir: Path = Path("cdk.out/dev")
    host: str = "127.0.0.1"
    port: int = 8000
    web_port: int = 8080
    moto_port: int = 0
    analyzer_port: int = 0
    outputs_file: Path = Path(".local/cdk-outputs.json")
    work_dir: Path = Path(".local")
    region: str = "us-east-1"
    analyzer: bool = True
    # Serve the API and the web page on a non-loopback ``host``; the AWS emulator and the analyzer stay on
    # loopback (moto takes any credentials: anyone reaching it could make users, read every bucket).
    allow_remote: bool = False
    # Another Rekognition (a real endpoint or a double): the functions call it, the analyzer is not started.
    rekognition_endpoint: str | None = None


class RemoteRefused(ValueError):
    """A non-loopback address without ``allow_remote``."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalMode:
    def __init__(self, options: Options, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console()
        self.moto: SerialisedMotoServer | None = None
        self.analyzer: Any = None
        self.functions = LocalFunctions()
        self.pollers: list[SqsPoller | SnsLambdaBridge] = []
        self.gateway: Gateway | None = None
        self.web: WebServer | None = None
        self.provisioned: Provisioned | None = None
        self.outputs: dict[str, Any] = {}
        self._closed = threading.Event()
        self._outputs_written = False

    def start(self) -> dict[str, Any]:
        options, say = self.options, self.console.say
        if not is_loopback(options.host) and not options.allow_remote:
            raise RemoteRefused(f"{options.host} is not a loopback address: pass --allow-remote to serve the API there")
        started = time.perf_counter()
        assembly = Assembly.load(options.assembly_dir)
        say(f"cloud assembly {options.assembly_dir}: {', '.join(assembly.stacks)}")

        # Calls signed by a function's role session are authorised against that role (local/iam).
        moto = SerialisedMotoServer(LOOPBACK, options.moto_port, secrets=SigningSecrets(dict([CREDENTIALS])))
        moto.start()
        # Kept only once started: moto's stop() would wait forever for a server that a Ctrl-C kept from starting.
        self.moto = moto
        endpoint = moto.url
        clients = aws_clients(endpoint, options.region)
        say(f"AWS emulator (moto) on {endpoint}")

        warming: list[Any] = []
        if options.rekognition_endpoint:
            say(f"Rekognition at {options.rekognition_endpoint} (REKOGNITION_ENDPOINT_URL; no offline analyzer)")
        elif options.analyzer:
            from analyzer.server import ServerConfig, start_server

            self.analyzer = start_server(
                ServerConfig(host=LOOPBACK, port=options.analyzer_port), s3_client=clients["s3"]
            )
            say(f"Rekognition (offline analyzer) on {self.analyzer.url}")
            warming = list(self.analyzer.models.all())

        # Bind the HTTP ports first: their URLs are values in the templates (API URL, web URL).
        self.gateway = Gateway(options.host, options.port, self.console)
        self.web = WebServer(options.host, options.web_port, clients["s3"], self.console)
        settings = ProvisionSettings(
            region=options.region,
            api_base_url=self.gateway.url,
            web_host=self.web.host,
            work_dir=options.work_dir,
            aws_endpoint=endpoint,
        )
        provisioned = self.provisioned = provision(assembly, clients, settings)
        say(f"created {len(assembly.stacks)} stacks; {len(provisioned.ignored)} resources ignored (docs/local-mode.md)")
        # Tokens signed with moto's shipped key (anyone has it) are refused: the pools sign with a key of this run.
        signing_key = RunSigningKey()
        signing_key.adopt(provisioned.user_pool_clients, options.region)

        base = base_environment(endpoint, options.region, self.rekognition_url)
        concurrency = {m.function_arn: m.max_concurrency or DEFAULT_CONCURRENCY for m in provisioned.mappings}
        credentials: dict[str, dict[str, str]] = {}  # function ARN -> its role's session
        for definition in provisioned.functions:
            spec = FunctionSpec(
                logical_id=definition.resource.logical_id,
                name=_readable(definition.resource.path),
                function_name=definition.function_name,
                arn=definition.arn,
                handler=definition.handler,
                code_dir=definition.code_dir,
                environment=definition.environment,
                timeout_seconds=definition.timeout_seconds,
                memory_mb=definition.memory_mb,
            )
            limit = definition.reserved_concurrency or concurrency.get(definition.arn, DEFAULT_CONCURRENCY)
            say(
                f"function {spec.name} = {spec.logical_id} ({spec.handler}, {spec.timeout_seconds} s, "
                f"{limit} environment{'s' if limit > 1 else ''})"
            )
            if definition.role_arn is not None:
                credentials[definition.arn] = role_credentials(
                    clients["sts"], definition.role_arn, definition.function_name
                )
            environment = {**base, **credentials.get(definition.arn, {})}
            self.functions.add(LocalFunction(spec, environment, self.console, concurrency=max(1, limit)))

        with ThreadPoolExecutor(max_workers=4) as pool:
            model_loads = [pool.submit(_load, model) for model in warming]
            inits = {pool.submit(function.warm): function for function in self.functions.functions.values()}
            failures = [(inits[f].spec.name, f.result()) for f in inits if f.result() is not None]
            for future in model_loads:
                future.result()
        if failures:
            raise RuntimeError(f"functions failed to initialise: {failures}")

        # Lambda Invoke against the emulator runs the local functions (make backfill's local mode uses it).
        moto.invoker = self.functions.invoke
        sqs = clients["sqs"]
        for mapping in provisioned.mappings:
            function = self.functions.by_arn(mapping.function_arn)
            mapping_spec = MappingSpec(
                name=function.spec.name,
                queue_url=mapping.queue_url,
                queue_arn=mapping.queue_arn,
                region=options.region,
                batch_size=mapping.batch_size,
                batching_window_seconds=mapping.batching_window_seconds,
                max_concurrency=mapping.max_concurrency or DEFAULT_CONCURRENCY,
                report_batch_item_failures=mapping.report_batch_item_failures,
                enabled=mapping.enabled,
            )
            self.pollers.append(
                SqsPoller(
                    mapping_spec,
                    # Lambda polls with the function's execution role: it needs sqs:ReceiveMessage and DeleteMessage.
                    _sqs_client(endpoint, options.region, credentials.get(mapping.function_arn)) or sqs,
                    function.invoke,
                    self.console,
                    idle_interval=IDLE_INTERVAL,
                    activity=self.moto.activity,
                )
            )
        for subscription in provisioned.sns_lambda:
            function = self.functions.by_arn(subscription.function_arn)
            self.pollers.append(
                SnsLambdaBridge(subscription, sqs, function.invoke, self.console, options.region, self.moto.activity)
            )
        for poller in self.pollers:
            poller.start()

        self.gateway.serve(provisioned, self.functions, signing_key.public)
        self.web.serve(provisioned)

        self.outputs = stack_outputs(provisioned)
        local = {
            "AwsEndpointUrl": endpoint,
            "RekognitionEndpointUrl": self.rekognition_url,
            "Region": options.region,
            "DemoUsername": DEMO_USERNAME if provisioned.demo_password else None,
            "DemoPassword": provisioned.demo_password or None,
        }
        write_outputs(options.outputs_file, self.outputs, local)
        self._outputs_written = True
        for stack, values in self.outputs.items():
            for key, value in values.items():
                if not key.startswith("Export"):
                    say(f"  {stack}.{key} = {value}")
        if self.gateway.has_routes:
            say(f"API:          {', '.join(self.gateway.stage_urls)}")
        if self.web.has_site:
            say(f"Web page:     {self.web.url}")
        say(f"AWS endpoint: {endpoint} (region {options.region}, any credentials)")
        if provisioned.demo_password:
            say(f"Demo user:    {DEMO_USERNAME} / {provisioned.demo_password}")
        say(f"Outputs:      {options.outputs_file}")
        say(f"Local mode ready in {time.perf_counter() - started:.1f} s (state is in memory; Ctrl-C stops)")
        return self.outputs

    @property
    def rekognition_url(self) -> str | None:
        """Where the functions call Rekognition (None: moto's fixed answers)."""
        if self.options.rekognition_endpoint:
            return self.options.rekognition_endpoint
        return str(self.analyzer.url) if self.analyzer is not None else None

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for poller in self.pollers:
            poller.stop()
        for server in (self.gateway, self.web):
            if server is not None:
                server.close()
        self.functions.close()
        if self.analyzer is not None:
            self.analyzer.close()
        if self.moto is not None:
            self.moto.stop()
        if self._outputs_written:  # its endpoints are gone: `make demo` should say to start the local mode
            self.options.outputs_file.unlink(missing_ok=True)


def _sqs_client(endpoint: str, region: str, credentials: dict[str, str] | None) -> Any:
    if credentials is None:
        return None
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )


def _load(model: Any) -> None:
    with model.use():
        pass


def _readable(path: str) -> str:
    """``Recognition/Worker/Function`` -> ``Recognition/Worker``."""
    parts = path.split("/")
    return "/".join(parts[:-1]) if len(parts) > 1 and parts[-1] == "Function" else path
