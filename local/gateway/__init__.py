"""The local API Gateway: routes read from the templates, a Cognito authorizer, proxy events, the HTTP server."""
