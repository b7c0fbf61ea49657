"""An offline analyzer that answers Amazon Rekognition's JSON API with CPU models.

Start it with ``python -m analyzer`` or, in-process, with
:func:`analyzer.server.start_server`.
"""
