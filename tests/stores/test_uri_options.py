"""The db_* options as URI query parameters: taken out of the URI, checked, and winning over the
settings; everything else in the query is left for the driver."""

from __future__ import annotations

import pytest

from aiotrack.config import Settings
from aiotrack.errors import ConfigError
from aiotrack.stores.sql.database import DatabaseOptions
from aiotrack.stores.sql.uri import parse_store_uri


def test_postgres_options_are_taken_out_and_the_rest_kept_for_the_driver():
    parsed = parse_store_uri(
        "postgresql+psycopg2://u:pw@db:5433/x?sslmode=require&pool_size=20&connect_timeout=2.5&query_timeout=7"
    )
    assert parsed.target == "postgresql://u:pw@db:5433/x?sslmode=require"
    assert parsed.options == {"pool_size": 20, "connect_timeout": 2.5, "query_timeout": 7.0}
    options = DatabaseOptions.from_settings(Settings(db_pool_size=5, db_pool_timeout=4), parsed.options)
    assert options == DatabaseOptions(pool_size=20, connect_timeout=2.5, pool_timeout=4, query_timeout=7.0)


def test_settings_apply_where_the_uri_says_nothing():
    parsed = parse_store_uri("postgresql://u@db/x")
    assert parsed.target == "postgresql://u@db/x" and parsed.options == {}
    options = DatabaseOptions.from_settings(Settings(db_query_timeout=9), parsed.options)
    assert options.query_timeout == 9 and options.answer_timeout == 9 + DatabaseOptions.ANSWER_MARGIN


def test_sqlite_takes_the_query_budget_only():
    assert parse_store_uri("sqlite:///a.db?query_timeout=0.5").options == {"query_timeout": 0.5}
    with pytest.raises(ConfigError, match="pool_size applies to PostgreSQL only"):
        parse_store_uri("sqlite:///a.db?pool_size=3")


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf", "1.5"])
def test_bad_values_are_refused(value):
    key = "pool_size" if value == "1.5" else "pool_timeout"
    with pytest.raises(ConfigError, match=f"{key} must be a positive number"):
        parse_store_uri(f"postgresql://u@db/x?{key}={value}")


@pytest.mark.parametrize("value,expected", [("true", True), ("1", True), ("yes", True), ("false", False), ("0", False)])
def test_the_transaction_pooler_switch_wins_over_the_setting(value, expected):
    parsed = parse_store_uri(f"postgresql://u@db/x?transaction_pooler={value}&sslmode=require")
    assert parsed.target == "postgresql://u@db/x?sslmode=require"
    for setting in (True, False):
        options = DatabaseOptions.from_settings(Settings(db_transaction_pooler=setting), parsed.options)
        assert options.transaction_pooler is expected
    assert DatabaseOptions.from_settings(Settings(db_transaction_pooler=True), {}).transaction_pooler is True


def test_the_transaction_pooler_switch_is_checked():
    with pytest.raises(ConfigError, match="must be true or false"):
        parse_store_uri("postgresql://u@db/x?transaction_pooler=maybe")
    with pytest.raises(ConfigError, match="applies to PostgreSQL only"):
        parse_store_uri("sqlite:///a.db?transaction_pooler=true")
