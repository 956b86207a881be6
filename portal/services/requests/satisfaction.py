"""Satisfaction: "How did we do?", asked once per resolution, on the request page or
through the emailed link (a signed token good for that resolution only)."""

from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import get_row
from portal.models import Request, RequestStatus, SatisfactionRating, User
from portal.services import audit
from portal.services.errors import InvalidInput, InvalidToken
from portal.services.text import clean_text

COMMENT_MAX_LENGTH = 2000
RATING_LINK_MAX_AGE = timedelta(days=60)


def _rating_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="request-satisfaction")


def rating_token(request: Request, secret_key: str) -> str:
    """Good for rating this request's current resolution, and nothing else."""
    return _rating_serializer(secret_key).dumps({"r": request.id, "n": request.resolution_count})


def request_for_rating_token(db: Session, token: str, *, secret_key: str) -> tuple[Request, int]:
    try:
        data = _rating_serializer(secret_key).loads(token[:300], max_age=int(RATING_LINK_MAX_AGE.total_seconds()))
    except (SignatureExpired, BadSignature) as error:
        raise InvalidToken() from error
    if not isinstance(data, dict) or not isinstance(data.get("r"), int) or not isinstance(data.get("n"), int):
        raise InvalidToken()
    request = get_row(db, Request, data["r"])
    if request is None:
        raise InvalidToken()
    return request, data["n"]


def rating_of(db: Session, request: Request, resolution_number: int) -> SatisfactionRating | None:
    return db.scalar(
        select(SatisfactionRating).where(
            SatisfactionRating.request_id == request.id, SatisfactionRating.resolution_number == resolution_number
        )
    )


def can_rate(db: Session, request: Request) -> bool:
    """Offered once per resolution, while the request stays resolved."""
    return (
        request.status is RequestStatus.RESOLVED
        and request.resolution_count > 0
        and rating_of(db, request, request.resolution_count) is None
    )


def rate(
    db: Session,
    request: Request,
    rating: int | None,
    comment: str,
    *,
    resolution_number: int,
    rated_by: User | None,
    now: datetime,
) -> SatisfactionRating:
    """Save "How did we do?". The caller has checked who may rate: the household
    on the request page, or the holder of the emailed link."""
    if resolution_number != request.resolution_count or request.status is not RequestStatus.RESOLVED:
        raise InvalidToken(_l("This request was changed since we asked; there is nothing to rate now."))
    if rating_of(db, request, resolution_number) is not None:
        raise InvalidInput(_l("Thank you: you already told us how we did."), field="rating")
    if rating is None or not 1 <= rating <= 5:
        raise InvalidInput(_l("Choose from 1 to 5."), field="rating")
    comment = clean_text(comment, field="comment", limit=COMMENT_MAX_LENGTH)
    saved = SatisfactionRating(
        request_id=request.id,
        resolution_number=resolution_number,
        rating=rating,
        comment=comment,
        rated_by_id=rated_by.id if rated_by else None,
        created_at=now,
    )
    db.add(saved)
    # The same rating sent twice at once: the second flush fails on the unique key, and
    # the request's boundary runs this again, which finds the first and thanks them.
    db.flush()
    audit.record(
        db,
        rated_by,
        "request.rated",
        request,
        now=now,
        household_id=request.household_id,
        after={"rating": rating, "resolution_number": resolution_number},
    )
    return saved
