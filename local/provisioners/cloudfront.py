"""CloudFront: an id and the local web server's host; local.web serves the distribution."""

from __future__ import annotations

from local.cfn.assembly import Resource
from local.provisioners.base import Context, ResourceProvisioner, short_id


def create_distribution(context: Context, resource: Resource) -> None:
    distribution_id = short_id(resource).upper()
    context.physical.set(resource.key, distribution_id, DomainName=context.settings.web_host, Id=distribution_id)


PROVISIONERS = {
    "AWS::CloudFront::Distribution": ResourceProvisioner(
        "the local web server (default root object, error responses)", create_distribution
    ),
}
