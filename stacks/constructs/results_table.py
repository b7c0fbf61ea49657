"""The results table: one item per image, one per (image, label), sparse indexes for the access patterns.

docs/result-schema.md describes the keys and the access patterns they serve.
"""

from __future__ import annotations

from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.single_table import single_table

OWNER_INDEX = "ByOwner"
LABEL_INDEX = "ByOwnerLabel"


class ResultsTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.table = single_table(
            self,
            config=config,
            indexes=[(OWNER_INDEX, "gsi1pk", "gsi1sk"), (LABEL_INDEX, "gsi2pk", "gsi2sk")],
        )
