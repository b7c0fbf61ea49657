"""CloudFormation as the local mode reads it: the cloud assembly, the intrinsic-function resolver, creation order."""
