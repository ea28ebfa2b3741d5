"""PostgreSQL: runs found by a tag's or a param's value. A filter such as ``tags.team = 'nlp'``
or ``params.lr = '0.1'`` is a semi-join of runs with the matching child rows; with nothing to
look values up by, PostgreSQL read every tag (or param) of the table to find them: 5.5 s for one
tag value among 1,000,000 runs of 5 tags each, 0.15 s with this index.

The indexes are hash indexes: they hold a hash of the value, not the value, so they take values
of any length (MLflow allows tag values of 8,000 characters and params of 6,000, where a B-tree
entry may not exceed about 2,700 bytes) and serve equality, which is what a filter on a value
mostly is. Not on SQLite: its planner keeps these probes run by run, through the
(run_uuid, key) primary keys, so it would not use such an index; there a selective tag filter
walks the experiment's runs in start-time order until the page is full.
Building them on a large database takes a while at the upgrade (about 16 s for 5 million rows).
"""

NAME = "0009_child_value_lookup"

STEPS: tuple[str, ...] = ()

DIALECT_STEPS = {
    "postgresql": (
        "CREATE INDEX tags_value_lookup ON tags USING hash (value)",
        "CREATE INDEX params_value_lookup ON params USING hash (value)",
    ),
}
