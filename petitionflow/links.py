"""Households' signed links: the token in the SMS that opens one petition's page, and nothing else.

A link token is ``itsdangerous.URLSafeTimedSerializer`` over ``{"p": petition id, "h": household id}``
with ``PETITIONFLOW_LINK_SECRET`` and the salt ``LINK_SALT``. Shared by the doors that sign links
(the API, the notifications) and the door that opens them (the web pages).
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

LINK_SALT = "petitionflow.household-link"


@dataclass(frozen=True, slots=True)
class LinkClaims:
    petition_id: str
    household_id: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT)


def sign_link(secret: str, petition_id: str, household_id: str) -> str:
    """A token that opens ``petition_id``'s page for ``household_id`` (its petitioner)."""
    token: str = _serializer(secret).dumps({"p": petition_id, "h": household_id})
    return token


def verify_link(secret: str, token: str, *, max_age_seconds: int) -> LinkClaims | None:
    """What ``token`` opens; None when it is forged, altered, malformed or older than ``max_age_seconds``."""
    if not secret or not token or len(token) > 1000:
        return None
    try:
        data = _serializer(secret).loads(token, max_age=max_age_seconds)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str) or not isinstance(data.get("h"), str):
        return None
    return LinkClaims(petition_id=data["p"], household_id=data["h"])
