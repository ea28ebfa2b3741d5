"""The journal of `aiotrack import`: one row per imported unit (an experiment with everything in
it, a registered model with its versions), written in the same transaction as the unit's rows.

A unit is either wholly in the target with its journal row, or not at all, so a rerun skips what
is journaled and an interrupted run continues with the unit it was writing. ``source`` names the
source (its URI without password), so imports from several sources keep separate journals.
"""

NAME = "0007_import_journal"

STEPS = (
    """CREATE TABLE aiotrack_import_journal (
        source TEXT NOT NULL,
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        imported_at BIGINT NOT NULL,
        PRIMARY KEY (source, entity, entity_id)
    )""",
)
