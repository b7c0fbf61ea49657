"""The functions' entry points, as the stacks name them (``image_pipeline.handlers.<function>.handler``).

Each module only re-exports its flow's handler: the code lives in the flow's folder.
"""
