"""The names of the district's departments, schools and feedback tags with their
translations, by id, kept between requests (district_cache): a list names one beside each
of its rows, and read with every row they cost each page a join and a JSON value a row
(the feedback queue 0.21 ms of the app's time, the staff queue 0.15 ms; bench/RESULTS.md,
eighteenth round)."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from portal.models import Department, FeedbackTag, School
from portal.models.district import Translations
from portal.services import district_cache
from portal.services.translated import DistrictName


@dataclass(frozen=True)
class DistrictNames:
    departments: Mapping[int, DistrictName]
    schools: Mapping[int, DistrictName]
    tags: Mapping[int, DistrictName]

    def school(self, school_id: int | None) -> DistrictName | None:
        return None if school_id is None else self.schools[school_id]

    def department(self, department_id: int | None) -> DistrictName | None:
        return None if department_id is None else self.departments[department_id]

    def knows(
        self,
        departments: Collection[int | None],
        schools: Collection[int | None],
        tags: Collection[int | None],
    ) -> bool:
        """Whether every id given (None: no row) has its name here."""
        return all(
            found is None or found in kept
            for wanted, kept in ((departments, self.departments), (schools, self.schools), (tags, self.tags))
            for found in wanted
        )


# Every name in one statement, each row with the number of its kind (departments, schools, tags).
_KINDS: tuple[type[Department | School | FeedbackTag], ...] = (Department, School, FeedbackTag)
_NAMES = union_all(
    *(select(literal(kind), model.id, model.name, model.translations) for kind, model in enumerate(_KINDS))
)


def district_names(
    db: Session,
    *,
    departments: Collection[int | None] = (),
    schools: Collection[int | None] = (),
    tags: Collection[int | None] = (),
) -> DistrictNames:
    """Every name, with at least those of the ids given (None for no row): the names
    kept are of the version of the district data this request read with its session,
    and a row its later statements read may name one added since, so that the names
    are then read afresh (and not kept: the next version's request keeps them)."""
    kept = district_cache.kept(db, "district names", lambda: _read(db))
    return kept if kept.knows(departments, schools, tags) else _read(db)


def _read(db: Session) -> DistrictNames:
    found: tuple[dict[int, DistrictName], ...] = tuple({} for _kind in _KINDS)
    for kind, row_id, name, translations in db.execute(_NAMES):
        found[kind][row_id] = DistrictName(name, cast(Translations, translations or {}))
    departments, schools, tags = (MappingProxyType(names) for names in found)
    return DistrictNames(departments, schools, tags)
