"""District data that pages show on every request and that changes a few times a term
(the departments a staff member works in, the departments, schools, tags and staff that
filters and forms offer, the departments families may ask and their reply targets, the
calendar), kept by each app process between requests.

What is kept is of one version of the district data, the number that database triggers
raise in the transaction of every change to it, whoever writes it: a page, a roster
import, another app host, SQL an operator types (portal/models/district_data.py). The
version is read along with the session statement (services/accounts/sessions.py), so a
page whose data is kept sends none of its statements; a page that reads another version
starts the process's store afresh. bench/RESULTS.md (twelfth round) has what it saves.

A session trusts the store only until it writes: its own change is not in the version it
read, so from its first change on (flushed or not, a bulk UPDATE, SQL text) it reads the
database. Kept values are shared by every request of the process and are never changed
in place: tuples, rows, the frozen Calendar; a dict is handed out as a copy.
"""

from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

from portal.services.read_along import forgotten_after_a_write, recalled, remember

# Keys of Session.info: the app's store (put there by portal.db) and the version read.
STORE = "portal.district_cache"
_VERSION = forgotten_after_a_write("portal.district_data_version")

ValueT = TypeVar("ValueT")


class DistrictCache:
    """One app process's kept values, all of one version."""

    def __init__(self) -> None:
        # Replaced whole, never changed in place but for adding a value of its version,
        # so that a request of another thread never stores into another version's values.
        self._kept: tuple[int | None, dict[Hashable, Any]] = (None, {})

    def value(self, version: int, key: Hashable, load: Callable[[], ValueT]) -> ValueT:
        """Any other version than the one kept starts afresh, a lower one too: a request
        that began before a change, or a database restored from a backup. (A request of
        the old version costs the next one of the new a load, nothing more: the versions
        are never used twice, see models/district_data.py.)"""
        kept_version, values = self._kept
        if kept_version != version:
            values = {}
            self._kept = (version, values)
        if key not in values:
            values[key] = load()
        return cast(ValueT, values[key])


def read_along(db: Session, version: int | None) -> None:
    """The version, read with another statement of this session (district_data.VERSION)."""
    if version is not None:
        remember(db, _VERSION, version)


def kept(db: Session, key: Hashable, load: Callable[[], ValueT]) -> ValueT:
    """The value under `key` of the version this session read; `load` reads it when it
    is not kept, or when the session has no version to trust (it read none, it changed
    something)."""
    store: DistrictCache | None = db.info.get(STORE)
    version: int | None = recalled(db, _VERSION)
    if store is None or version is None:
        return load()
    return store.value(version, key, load)
