"""Random run names (aiotrack/services/run_names.py) in MLflow's adjective-noun-number style."""

from __future__ import annotations

import random
import re

from aiotrack.services.run_names import random_run_name

NAME = re.compile(r"^[a-z]+-[a-z]+-\d{1,3}$")


def test_names_have_mlflows_shape():
    names = {random_run_name() for _ in range(500)}
    assert all(NAME.match(n) for n in names), [n for n in names if not NAME.match(n)]
    assert all(0 <= int(n.rsplit("-", 1)[1]) <= 999 for n in names)
    # Random, not a counter: 500 draws from tens of thousands of names barely repeat.
    assert len(names) > 450


def test_names_follow_the_random_module():
    random.seed(7)
    first = [random_run_name() for _ in range(5)]
    random.seed(7)
    assert [random_run_name() for _ in range(5)] == first
