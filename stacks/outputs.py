"""Stable CfnOutput keys: read by people, by the local mode and by the e2e tests."""

UPLOAD_BUCKET_NAME = "UploadBucketName"
RESULTS_TABLE_NAME = "ResultsTableName"
UPLOAD_QUEUE_URL = "UploadQueueUrl"
DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
IMAGE_EVENTS_TOPIC_ARN = "ImageEventsTopicArn"
