"""Authentication and permissions for ``--app-name basic-auth``: users, access tokens, roles.

MLflow 3.x's model: a grant is a row of ``auth_role_permissions`` on a role; a user holds the
roles assigned to them, including a hidden per-user role ``__user_<id>__`` that carries the
grants made through ``users/permissions/grant``. Access tokens are aiotrack's own (bearer
credentials for ``MLFLOW_TRACKING_TOKEN``); only a SHA-256 digest of each token is stored.
"""

NAME = "0006_auth"

STEPS = (
    """CREATE TABLE auth_users (
        id {bigint_pk},
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        is_admin SMALLINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
    )""",
    """CREATE TABLE auth_roles (
        id {bigint_pk},
        name TEXT NOT NULL,
        workspace TEXT NOT NULL,
        description TEXT,
        UNIQUE (workspace, name)
    )""",
    """CREATE TABLE auth_role_permissions (
        id {bigint_pk},
        role_id BIGINT NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
        resource_type TEXT NOT NULL,
        resource_pattern TEXT NOT NULL,
        permission TEXT NOT NULL,
        UNIQUE (role_id, resource_type, resource_pattern)
    )""",
    "CREATE INDEX auth_role_permissions_resource ON auth_role_permissions (resource_type, resource_pattern)",
    """CREATE TABLE auth_user_roles (
        id {bigint_pk},
        user_id BIGINT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
        role_id BIGINT NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
        UNIQUE (user_id, role_id)
    )""",
    "CREATE INDEX auth_user_roles_role ON auth_user_roles (role_id)",
    """CREATE TABLE auth_tokens (
        id {bigint_pk},
        user_id BIGINT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        token_digest TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT
    )""",
    "CREATE INDEX auth_tokens_user ON auth_tokens (user_id)",
)
