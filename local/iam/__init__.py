"""IAM in the local mode: each function's AWS calls authorised against its own role's policies.

``policy`` evaluates identity-based policies (Allow/Deny, wildcards, NotAction/NotResource, the
condition operators our templates use); ``requests`` tells which actions on which resources an HTTP
request to the emulator performs; ``enforcer`` puts both in front of moto for callers that sign with
credentials of an assumed role (each local function), while every other caller keeps admin access.
"""
