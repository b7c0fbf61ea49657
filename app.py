#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth -c env=dev|staging|prod``. Calls no AWS API."""

import os

from aws_cdk import App

from stacks.app_builder import build_app

app = App()
build_app(app, account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
app.synth()
