"""CDK stacks and constructs of the image recognition pipeline."""
