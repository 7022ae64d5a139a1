"""The example database of a night: a local folder (the default) or a shared Redis server.

``--db PATH`` keeps Hypothesis' examples in a folder (``DirectoryBasedExampleDatabase``); ``--db
redis://HOST:PORT/N`` keeps them in Redis database N through Hypothesis' own ``RedisExampleDatabase``
(``hypothesis[redis]``, installed by ``ntkverify[distributed]``), so that a failure stored by any worker or any
night is replayed first by every worker next time (``docs/distributed.md#shared-database``). Either way the
runner gives every (property, subject) pair its own namespace
(:class:`ntkverify.properties.runner.NamespacedDatabase`).

A Redis database travels to Dask workers as its URL and each worker opens its own connection. Stored examples
expire after Hypothesis' default time to live (eight days without a run), so a weekly run keeps them. The URL
is checked (form, then a ``PING``) before any work starts: a malformed one is a usage error, an unreachable
server or a missing ``redis`` package an environment failure (:class:`DatabaseError`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from ntkverify.reports.exits import CommandError

SCHEMES = ("redis://", "rediss://")
KEY_PREFIX = b"ntkverify:"
PING_TIMEOUT_S = 5.0


class DatabaseError(CommandError):
    """A database that cannot be used: ``exit_code`` 2 (a malformed URL) or 3 (the server or package)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def is_redis(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(SCHEMES)


def location(text: str) -> str | Path:
    """The ``--db`` argument: a Redis URL kept as text, anything else a folder path."""
    return text if is_redis(text) else Path(text)


def describe(place: str | Path) -> str:
    """The location without a password, for reports and logs."""
    if not is_redis(place):
        return str(place)
    parts = urlsplit(place)
    if parts.password is None:
        return place
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@functools.cache
def _redis_database_class():
    from hypothesis.extra.redis import RedisExampleDatabase

    class RedisDatabase(RedisExampleDatabase):
        """Hypothesis' Redis database that pickles as its URL (a Dask worker opens its own connection)."""

        def __init__(self, url: str):
            from redis import Redis

            super().__init__(Redis.from_url(url, socket_timeout=PING_TIMEOUT_S), key_prefix=KEY_PREFIX)
            self.url = url

        def __reduce__(self):
            return open_database, (self.url,)

        def __repr__(self) -> str:
            return f"RedisDatabase({describe(self.url)!r})"

        def __hash__(self) -> int:
            return hash(self.url)

    return RedisDatabase


def open_database(place: str | Path) -> ExampleDatabase:
    """The example database at ``place`` (a folder path, or a ``redis://`` URL checked by a ``PING``)."""
    if not is_redis(place):
        return DirectoryBasedExampleDatabase(str(place))
    try:
        import redis
    except ImportError as exc:
        raise DatabaseError(f"--db {describe(place)}: {exc}; install ntkverify[distributed]", 3) from None
    try:
        number = urlsplit(place).path.strip("/")
        if number and not number.isdigit():
            raise ValueError(f"the database number must be an integer, got {number!r}")
        database = _redis_database_class()(place)
    except ValueError as exc:
        raise DatabaseError(f"--db {describe(place)} is not a Redis URL: {exc}", 2) from None
    try:
        database.redis.ping()
    except redis.RedisError as exc:
        raise DatabaseError(f"cannot reach Redis at {describe(place)}: {exc}", 3) from None
    return database
