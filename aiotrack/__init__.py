"""aiotrack: an asyncio-native experiment-tracking server, wire-compatible with MLflow's."""

__version__ = "0.1.0"

# The MLflow server version whose REST API aiotrack speaks. ``GET /version`` reports it,
# because the mlflow client picks features by the server version it reads there.
MLFLOW_COMPAT_VERSION = "3.17.2"
