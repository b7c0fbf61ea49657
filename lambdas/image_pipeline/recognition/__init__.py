"""Recognition: the worker. S3 event (via SNS and SQS) -> header checks -> Amazon Rekognition -> a result."""
