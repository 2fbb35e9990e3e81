"""Settings: the `[bearing]` section of luigi.cfg, overridden by `BEARING_*` environment variables.

Precedence, highest first:
  1. `BEARING_<KEY>` environment variables (e.g. `BEARING_URL`, `BEARING_TOKEN`)
  2. `[bearing] <key>` in Luigi's configuration (luigi.cfg, LUIGI_CONFIG_PATH, ...)
  3. OpenLineage's own variables, as fallbacks: `OPENLINEAGE_URL`, `OPENLINEAGE_API_KEY`,
     `OPENLINEAGE_NAMESPACE`
  4. the defaults below
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields
from typing import Any, Optional

log = logging.getLogger("bearing_luigi")

SECTION = "bearing"

# key -> OpenLineage fallback variable
_OPENLINEAGE_FALLBACKS = {
    "url": "OPENLINEAGE_URL",
    "token": "OPENLINEAGE_API_KEY",
    "namespace": "OPENLINEAGE_NAMESPACE",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    # Bearing's base URL; events go to `{url}/api/v1/lineage`. No URL: nothing is sent.
    url: Optional[str] = None
    # A Bearing producer token, sent as `Authorization: Bearer <token>`.
    token: Optional[str] = None
    # OAuth2 client credentials (used instead of `token` when all three are set).
    client_id: Optional[str] = None
    client_secret: Optional[str] = None
    token_url: Optional[str] = None
    scope: Optional[str] = None
    # Who the access token is for, when the provider must be told: `resource` (RFC 8707; e.g.
    # Bearing's public URL, its --producer-audience) and/or `audience` (Auth0 and others).
    resource: Optional[str] = None
    audience: Optional[str] = None
    # OpenLineage job namespace; the job name is the task family.
    namespace: str = "luigi"
    # Seconds one event (token request included) may take, end to end. Hard limit.
    timeout: float = 3.0
    # HTTP retries per event inside that limit (0 = none).
    retries: int = 0
    # After Bearing is found down (timeout, refused connection, 5xx, 401/403), skip sends this long.
    breaker_cooldown: float = 60.0
    enabled: bool = True

    @property
    def uses_client_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret and self.token_url)

    def describe(self) -> str:
        auth = "client credentials" if self.uses_client_credentials else ("token" if self.token else "none")
        return f"url={self.url} namespace={self.namespace} auth={auth} timeout={self.timeout}s"


def _luigi_value(key: str) -> Optional[str]:
    try:
        import luigi.configuration

        cfg = luigi.configuration.get_config()
        if cfg.has_option(SECTION, key):
            value = cfg.get(SECTION, key)
            return None if value is None else str(value)
    except Exception as exc:  # a broken config file must not break the pipeline
        log.warning("bearing_luigi: cannot read [%s] %s from Luigi's configuration: %s", SECTION, key, exc)
    return None


def _raw(key: str, environ: "os._Environ[str] | dict[str, str]") -> Optional[str]:
    value = environ.get(f"BEARING_{key.upper()}")
    if value is None or value == "":
        value = _luigi_value(key)
    if (value is None or value == "") and key in _OPENLINEAGE_FALLBACKS:
        value = environ.get(_OPENLINEAGE_FALLBACKS[key])
    if value is None:
        return None
    value = value.strip()
    return value or None


def _convert(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"{name} must be true or false, got {raw!r}")
    if isinstance(default, float):
        value = float(raw)
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {raw!r}")
        return value
    if isinstance(default, int):
        value = int(raw)
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {raw!r}")
        return value
    return raw


def load(environ: "os._Environ[str] | dict[str, str] | None" = None) -> Settings:
    """Reads the settings. A value that does not parse is logged and replaced by its default."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in fields(Settings):
        raw = _raw(field.name, env)
        if raw is None:
            continue
        try:
            values[field.name] = _convert(field.name, raw, field.default)
        except ValueError as exc:
            log.warning("bearing_luigi: ignoring setting %s: %s", field.name, exc)
    settings = Settings(**values)
    if settings.url:
        values_url = settings.url.rstrip("/")
        settings = Settings(**{**values, "url": values_url})
    return settings
