"""MLflow's names, in one place: the tags it reserves, its limits, and the error messages that
several layers raise.

This module sits beside entities.py and errors.py (standard library only), so every layer may
import it: the services validate against these limits, the stores write these tags, and both
raise these errors with MLflow's wording (clients match on some of them).
"""

from __future__ import annotations

from aiotrack.errors import AiotrackError, invalid, not_found

# ----------------------------------------------------------------------------- tags

RUN_NAME_TAG = "mlflow.runName"
LOGGED_MODELS_TAG = "mlflow.log-model.history"
DATASET_CONTEXT_TAG = "mlflow.data.context"
IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
PROMPT_TEXT_TAG = "mlflow.prompt.text"
MODEL_VERSIONS_TAG = "mlflow.modelVersions"

# ----------------------------------------------------------------------------- limits
# mlflow/utils/validation.py and the server handlers' defaults.

MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_ENTITY_KEY_LENGTH = 250
MAX_DATASET_NAME_SIZE = 500
MAX_DATASET_DIGEST_SIZE = 36
MAX_DATASET_SCHEMA_SIZE = 1048575
MAX_DATASET_SOURCE_SIZE = 65535
MAX_DATASET_PROFILE_SIZE = 16777215
MAX_INPUT_TAG_KEY_SIZE = 255
MAX_INPUT_TAG_VALUE_SIZE = 500
MAX_ARTIFACT_LOCATION_LENGTH = 2048

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_THRESHOLD = 50000
MAX_EXPERIMENTS_LISTED_PER_PAGE = 50000
GET_METRIC_HISTORY_MAX_RESULTS = 25000
MAX_RUNS_GET_METRIC_HISTORY_BULK = 100
MAX_RESULTS_PER_RUN = 2500

# The model registry (mlflow/store/model_registry/__init__.py and the registry validation).
MAX_REGISTRY_TAG_KEY_LENGTH = 250
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD = 1000
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 200_000  # the proto default the server applies
SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD = 200_000

# Logged models (the proto default of SearchLoggedModels, and the store's ceiling).
SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT = 50
SEARCH_LOGGED_MODEL_MAX_RESULTS_MAX = 50_000

# Largest finite double: what SQL stores write for +/-inf, and what MLflow answers with.
FLOAT_MAX = 1.7976931348623157e308

# ----------------------------------------------------------------------------- errors


def run_not_found(run_id: str) -> AiotrackError:
    return not_found(f"Run with id={run_id} not found")


def experiment_not_found(experiment_id: object) -> AiotrackError:
    return not_found(f"No Experiment with id={experiment_id} exists")


def run_not_active(run_id: str, stage: str) -> AiotrackError:
    return invalid(f"The run {run_id} must be in the 'active' state. Current state is {stage}.")


def experiment_not_active(experiment_id: object, stage: str) -> AiotrackError:
    return invalid(f"The experiment {experiment_id} must be in the 'active' state. Current state is {stage}.")


def logged_model_not_found(model_id: str) -> AiotrackError:
    return not_found(f"Logged model with ID '{model_id}' not found.")
