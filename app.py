#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth -c env=dev|staging|prod``. Calls no AWS API.

``-c ci=true -c githubRepository=owner/name`` synthesizes the CI stack instead (stacks/ci_stack.py).
"""

import os

from aws_cdk import App

from stacks.app_builder import build_app
from stacks.ci_stack import build_ci_app

app = App()
account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
if str(app.node.try_get_context("ci")).lower() == "true":
    build_ci_app(app, account=account, region=region)
else:
    build_app(app, account=account, region=region)
app.synth()
