"""KMS: customer managed keys (the webhook secrets key seals signing secrets; moto encrypts for real and checks
the encryption context). Key policies are not applied: moto does not enforce them."""

from __future__ import annotations

from local.cfn.assembly import Resource
from local.provisioners.base import Context, ResourceProvisioner


def create_key(context: Context, resource: Resource) -> None:
    props = resource.properties
    kms = context.clients["kms"]
    metadata = kms.create_key(
        Description=context.text(resource, props.get("Description", resource.logical_id)),
        KeyUsage=str(props.get("KeyUsage", "ENCRYPT_DECRYPT")),
        KeySpec=str(props.get("KeySpec", "SYMMETRIC_DEFAULT")),
    )["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    context.physical.set(resource.key, metadata["KeyId"], Arn=metadata["Arn"], KeyId=metadata["KeyId"])


PROVISIONERS = {
    "AWS::KMS::Key": ResourceProvisioner("a moto key (encrypt/decrypt with context; rotation flag)", create_key),
}
