"""Receiver settings read from environment variables."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .spec import SecuritySchemeSpec

DEFAULT_DB_PATH = Path("var") / "inbox.sqlite3"
DEFAULT_CLAIM_TIMEOUT_SECONDS = 60.0
POSTGRESQL_URL_PREFIXES = ("postgresql://", "postgres://")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BASE_SECONDS = 1.0
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SIGNATURE_ALGORITHM = "sha256"
SIGNATURE_ALGORITHMS: Final = ("sha1", "sha256", "sha384", "sha512")
LOG_FORMATS: Final = ("text", "json")
# A blank secret would turn the signature check off, or make it an HMAC that
# anyone can compute, so it is an error rather than "unset".
BLANK_SECRET_MESSAGE: Final = (
    "RECEIVER_SIGNING_SECRET is set but blank; set it to the secret shared with "
    "the sender, or unset it to accept unsigned requests"
)


class ConfigurationError(Exception):
    """Invalid or missing configuration. The message names the variable to set."""


@dataclass(frozen=True)
class Settings:
    """Receiver configuration.

    Secrets are excluded from `repr`, so logging the settings does not show them.
    """

    db_path: Path = DEFAULT_DB_PATH
    """SQLite inbox file (RECEIVER_DB_PATH), relative to the working directory."""
    database_url: str | None = field(default=None, repr=False)
    """PostgreSQL inbox (RECEIVER_DATABASE_URL), used instead of `db_path` when
    set. Excluded from `repr` because it may contain a password."""
    claim_timeout_seconds: float = DEFAULT_CLAIM_TIMEOUT_SECONDS
    """Time after which a PostgreSQL row claimed by a worker that did not finish
    can be claimed again (RECEIVER_CLAIM_TIMEOUT_SECONDS)."""
    credentials: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    """Accepted credentials per security scheme key, from each scheme's variable."""
    credential_env_vars: Mapping[str, str] = field(default_factory=dict)
    """Environment variable of each security scheme key, for error messages."""
    signing_secret: bytes | None = field(default=None, repr=False)
    """HMAC-SHA256 key for the body signature: the UTF-8 bytes of
    RECEIVER_SIGNING_SECRET, not stripped. A blank value is an error."""
    signature_header: str | None = None
    """Header that carries the body signature."""
    signature_algorithm: str = DEFAULT_SIGNATURE_ALGORITHM
    """Hash function of the HMAC body signature (RECEIVER_SIGNATURE_ALGORITHM)."""
    signature_verifier_reference: str | None = None
    """Team code that checks each body in place of the HMAC check, as
    "module:attribute" (RECEIVER_SIGNATURE_VERIFIER)."""
    handler_reference: str | None = None
    """Handler as "module:attribute" (RECEIVER_HANDLER)."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Maximum request body size in bytes (RECEIVER_MAX_BODY_BYTES)."""
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    """Handler calls per message before it is marked dead (RECEIVER_MAX_ATTEMPTS)."""
    retry_base_seconds: float = DEFAULT_RETRY_BASE_SECONDS
    """Delay before the first retry, doubled on each further one
    (RECEIVER_RETRY_BASE_SECONDS)."""
    host: str = DEFAULT_HOST
    """Address that `serve` binds to (HOST)."""
    port: int = DEFAULT_PORT
    """TCP port that `serve` listens on (PORT)."""
    log_format: str = "text"
    """Log line format of `serve`, "text" or "json" (RECEIVER_LOG_FORMAT)."""

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        schemes: Sequence[SecuritySchemeSpec],
        signature_header: str | None,
    ) -> Settings:
        """Read the settings from `environ`.

        `signature_header` is the spec's signature header, which
        RECEIVER_SIGNATURE_HEADER overrides. Raises ConfigurationError on a value
        that cannot be parsed. Missing credentials are not an error here, because
        `create_receiver` checks them against the schemes that the routes require.
        """
        credentials = {
            scheme.key: _split_credentials(environ.get(scheme.env_var, ""))
            for scheme in schemes
        }
        secret = environ.get("RECEIVER_SIGNING_SECRET", "")
        if "RECEIVER_SIGNING_SECRET" in environ and not secret.strip():
            raise ConfigurationError(BLANK_SECRET_MESSAGE)
        header = environ.get("RECEIVER_SIGNATURE_HEADER", "").strip()
        handler = environ.get("RECEIVER_HANDLER", "").strip()
        verifier = environ.get("RECEIVER_SIGNATURE_VERIFIER", "").strip()
        return cls(
            db_path=Path(environ.get("RECEIVER_DB_PATH", "") or DEFAULT_DB_PATH),
            database_url=database_url_from_env(environ),
            claim_timeout_seconds=_positive_float(
                environ,
                "RECEIVER_CLAIM_TIMEOUT_SECONDS",
                DEFAULT_CLAIM_TIMEOUT_SECONDS,
            ),
            credentials=credentials,
            credential_env_vars={scheme.key: scheme.env_var for scheme in schemes},
            signing_secret=secret.encode("utf-8") if secret else None,
            signature_header=header or signature_header,
            signature_algorithm=signature_algorithm_from_env(environ),
            signature_verifier_reference=verifier or None,
            handler_reference=handler or None,
            max_body_bytes=_positive_int(
                environ, "RECEIVER_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES
            ),
            max_attempts=_positive_int(
                environ, "RECEIVER_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS
            ),
            retry_base_seconds=_non_negative_float(
                environ, "RECEIVER_RETRY_BASE_SECONDS", DEFAULT_RETRY_BASE_SECONDS
            ),
            host=environ.get("HOST", "").strip() or DEFAULT_HOST,
            port=_port(environ),
            log_format=_choice(environ, "RECEIVER_LOG_FORMAT", LOG_FORMATS, "text"),
        )

    @property
    def inbox_location(self) -> Path | str:
        """The PostgreSQL URL when one is set, otherwise the SQLite file path."""
        return self.database_url or self.db_path

    def require_credentials(self, scheme_keys: Iterable[str]) -> None:
        """Raise ConfigurationError naming every variable that has no credentials."""
        missing = sorted(
            {
                self.credential_env_vars.get(key, key)
                for key in scheme_keys
                if not self.credentials.get(key)
            }
        )
        if missing:
            names = ", ".join(missing)
            raise ConfigurationError(
                f"missing credentials: set {names} to the comma-separated list of "
                "accepted credentials"
            )


def signature_algorithm_from_env(environ: Mapping[str, str]) -> str:
    """Return RECEIVER_SIGNATURE_ALGORITHM in lower case, or the default.

    Raises ConfigurationError for a name outside SIGNATURE_ALGORITHMS.
    """
    return _choice(
        environ,
        "RECEIVER_SIGNATURE_ALGORITHM",
        SIGNATURE_ALGORITHMS,
        DEFAULT_SIGNATURE_ALGORITHM,
    )


def import_reference(variable: str, reference: str) -> Any:
    """Import the object that `reference` ("module:attribute.path") names.

    `variable` is the setting's name for error messages. Raises
    ConfigurationError when the module or an attribute is not found.
    """
    module_name, _, attribute_path = reference.partition(":")
    if not module_name or not attribute_path:
        raise ConfigurationError(
            f"invalid {variable}={reference!r}: set it to 'module:attribute'"
        )
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as error:  # The team module may raise anything on import.
        raise ConfigurationError(
            f"invalid {variable}={reference!r}: importing {module_name!r} failed: "
            f"{type(error).__name__}: {error}"
        ) from error
    for attribute in attribute_path.split("."):
        try:
            target = getattr(target, attribute)
        except AttributeError as error:
            raise ConfigurationError(
                f"invalid {variable}={reference!r}: {attribute!r} not found"
            ) from error
    return target


def inbox_location_from_env(environ: Mapping[str, str]) -> Path | str:
    """Return RECEIVER_DATABASE_URL when set, otherwise the SQLite file path."""
    url = database_url_from_env(environ)
    if url is not None:
        return url
    return Path(environ.get("RECEIVER_DB_PATH", "") or DEFAULT_DB_PATH)


def database_url_from_env(environ: Mapping[str, str]) -> str | None:
    """Return RECEIVER_DATABASE_URL, or None when it is not set.

    Raises ConfigurationError when it is not a PostgreSQL URL. The message does
    not repeat the value, which may contain a password.
    """
    url = environ.get("RECEIVER_DATABASE_URL", "").strip()
    if not url:
        return None
    if not url.startswith(POSTGRESQL_URL_PREFIXES):
        raise ConfigurationError(
            "invalid RECEIVER_DATABASE_URL: set a URL that starts with "
            "postgresql://, or unset it to use the SQLite file RECEIVER_DB_PATH"
        )
    return url


def _split_credentials(value: str) -> tuple[str, ...]:
    return tuple(entry.strip() for entry in value.split(",") if entry.strip())


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"invalid {name}={text!r}: set a positive integer")
    return value


def _non_negative_float(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(
            f"invalid {name}={text!r}: set a non-negative number of seconds"
        )
    return value


def _choice(
    environ: Mapping[str, str], name: str, choices: Sequence[str], default: str
) -> str:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if text.lower() not in choices:
        raise ConfigurationError(
            f"invalid {name}={text!r}: set one of {', '.join(choices)}"
        )
    return text.lower()


def _positive_float(environ: Mapping[str, str], name: str, default: float) -> float:
    value = _non_negative_float(environ, name, default)
    if value == 0:
        raise ConfigurationError(
            f"invalid {name}={environ[name].strip()!r}: set a positive number of "
            "seconds"
        )
    return value


def _port(environ: Mapping[str, str]) -> int:
    port = _positive_int(environ, "PORT", DEFAULT_PORT)
    if port > 65535:
        raise ConfigurationError(f"invalid PORT={port}: set a TCP port up to 65535")
    return port
