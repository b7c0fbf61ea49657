"""Rekognition's error codes, as exception types the protocol layer turns into JSON."""


class RekognitionError(Exception):
    """An error answered as ``{"__type": code, "Message": message}`` with ``status``."""

    code = "InternalServerError"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidImageFormatException(RekognitionError):
    code = "InvalidImageFormatException"
    status = 400


class ImageTooLargeException(RekognitionError):
    code = "ImageTooLargeException"
    status = 400


class InvalidParameterException(RekognitionError):
    code = "InvalidParameterException"
    status = 400


class InvalidS3ObjectException(RekognitionError):
    code = "InvalidS3ObjectException"
    status = 400


class ProvisionedThroughputExceededException(RekognitionError):
    code = "ProvisionedThroughputExceededException"
    status = 400


class UnknownOperationException(RekognitionError):
    code = "UnknownOperationException"
    status = 400


class SerializationException(RekognitionError):
    code = "SerializationException"
    status = 400
