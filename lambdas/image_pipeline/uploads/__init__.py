"""Uploads: POST /images gives an image id, a PENDING result and a presigned POST straight to S3."""
