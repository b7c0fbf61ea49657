"""Step Functions: a state machine gets its ARN and name only, so that what refers to it resolves (its role's
policies); nothing runs it. The backfill's Distributed Map is what `make backfill` does itself in the local mode."""

from __future__ import annotations

from local.cfn.assembly import Resource
from local.provisioners.base import ACCOUNT, Context, ResourceProvisioner


def create_state_machine(context: Context, resource: Resource) -> None:
    name = context.name(resource, "StateMachineName", 80)
    arn = f"arn:aws:states:{context.region}:{ACCOUNT}:stateMachine:{name}"
    context.physical.set(resource.key, arn, Arn=arn, Name=name)


PROVISIONERS = {
    "AWS::StepFunctions::StateMachine": ResourceProvisioner(
        "its ARN only, for what refers to it; not run (make backfill lists and invokes the batches itself)",
        create_state_machine,
    ),
}
