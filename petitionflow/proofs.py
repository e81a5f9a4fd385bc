"""How a household proves it is the petitioner: a signed link token, or an SMS reply code.

- A **link token** (``issue_link``/``check_link``) is an itsdangerous ``URLSafeTimedSerializer``
  signature, under the server's link secret, of the petition id and its petitioner id: it is tied to
  that one petition and expires after ``max_age``. It goes in the SMS that answers a petition (a link
  to the web page) and to apps, and is presented as ``X-Petitioner-Token``.
- A **reply code** (``issue_reply_code``/``check_reply``) is four digits, one outstanding per
  petition, issued with the answer ("回复 4821 1 满意"). It holds only from the petitioner's phone on
  record or a phone the answer's SMS was sent to (the household's in the county directory, which
  may differ), through the SMS gateway's inbound webhook, and only once. The code of a message is
  derived from the secret and the message's identity, so a retried send carries the same code and
  another answer a new one, which replaces it. The code and the phones are stored only as HMACs.

Both answer a wrong guess the same way, whatever was wrong, so neither is an oracle; the API
throttles guesses with the shared limiter.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from schemas.common import PersonId, PetitionId, Rating
from store import access
from store._db import Db

LINK_SALT = "petitionflow.petitioner-link"
LINK_MAX_AGE = timedelta(days=30)
"""How long a link token holds by default: the feedback window (7 days) and the return visit."""
REPLY_CODE_TTL = timedelta(days=30)
REPLY_CHOICES: dict[str, Rating] = {
    "1": Rating.SATISFIED,
    "2": Rating.BASICALLY_SATISFIED,
    "3": Rating.DISSATISFIED,
}
"""The digit after the code: 1 满意 (satisfied), 2 基本满意 (basically satisfied), 3 不满意."""


def new_secret() -> str:
    """A fresh link secret (256 random bits), for ``PETITIONFLOW_LINK_SECRET``."""
    return secrets.token_urlsafe(32)


def _signer_at(now: datetime | None) -> type[TimestampSigner]:
    if now is None:
        return TimestampSigner
    moment = int(now.timestamp())

    class _At(TimestampSigner):
        def get_timestamp(self) -> int:
            return moment

    return _At


def _serializer(secret: str, now: datetime | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT, signer=_signer_at(now))


def issue_link(
    secret: str, petition_id: PetitionId, petitioner_id: PersonId, *, now: datetime | None = None
) -> str:
    """A link token for ``petitioner_id`` on ``petition_id`` (signed at ``now``, default: the clock)."""
    return _serializer(secret, now).dumps({"p": petition_id, "h": petitioner_id})


def check_link(
    secret: str,
    token: str,
    petition_id: PetitionId,
    *,
    max_age: timedelta = LINK_MAX_AGE,
    now: datetime | None = None,
) -> PersonId | None:
    """The petitioner ``token`` speaks for on ``petition_id``; None when it is forged, expired, or
    for another petition (the caller cannot tell which)."""
    try:
        claims = _serializer(secret, now).loads(token, max_age=int(max_age.total_seconds()))
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("p") != petition_id:
        return None
    found = claims.get("h")
    return found if isinstance(found, str) and found else None


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a link token opens: one petition, for its petitioner (the web's household page)."""

    petition_id: PetitionId
    household_id: PersonId


def sign_link(secret: str, petition_id: PetitionId, household_id: PersonId) -> str:
    """``issue_link``, named for the household page's side."""
    return issue_link(secret, petition_id, household_id)


def verify_link(secret: str, token: str, *, max_age_seconds: int) -> LinkClaims | None:
    """What ``token`` opens, whichever petition it names; None when it is forged, altered, malformed
    or older than ``max_age_seconds`` (the household page, ``/h/{token}``, learns the petition here)."""
    if not secret or not token or len(token) > 1000:
        return None
    try:
        data = _serializer(secret, None).loads(token, max_age=max_age_seconds)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str) or not isinstance(data.get("h"), str):
        return None
    return LinkClaims(petition_id=data["p"], household_id=data["h"])


def link_expires_at(now: datetime, max_age: timedelta = LINK_MAX_AGE) -> datetime:
    return now + max_age


def _mac(secret: str, text: str) -> bytes:
    """The server's keyed hash (HMAC-SHA256 under ``secret``) of ``text``."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()


def _code_hash(secret: str, petition_id: PetitionId, code: str) -> bytes:
    return _mac(secret, f"reply-code:{petition_id}:{code}")


def _phone_hash(secret: str, number: str) -> bytes:
    """The HMAC a national number (``national_number``) is stored and looked up by, never in clear."""
    return _mac(secret, f"reply-phone:{number}")


def message_code(secret: str, petition_id: PetitionId, message_key: str) -> str:
    """The four-digit reply code of the message ``message_key`` (the notification carrying it) on
    ``petition_id``: the same for every send of that message, unpredictable without the secret."""
    mac = _mac(secret, f"reply-code-of:{petition_id}:{message_key}")
    return f"{int.from_bytes(mac, 'big') % 10_000:04d}"


async def issue_reply_code(
    db: Db,
    secret: str,
    petition_id: PetitionId,
    petitioner_id: PersonId,
    *,
    ttl: timedelta = REPLY_CODE_TTL,
    message_key: str | None = None,
    message_seq: int | None = None,
    sent_to: str | None = None,
) -> str | None:
    """The four-digit reply code for the petition's answer, for the SMS that carries it: "回复
    <code>1 满意, <code>2 基本满意, <code>3 不满意"; None when a later answer's message (a higher
    ``message_seq``, the answer's event) holds the petition's code: a late retry of an earlier
    answer's SMS carries no code rather than take the later one's place.

    With ``message_key`` (the notification's identity) the code is ``message_code``: issuing it again
    for the same message (a retried send) gives the same code and leaves it as it was (unspent or
    spent, its expiry), while another message's code replaces it. Without, a random code replaces
    any outstanding one. ``sent_to``, the phone the SMS goes to, is one the reply may come from
    (kept as an HMAC of its national number; never logged)."""
    code = (
        f"{secrets.randbelow(10_000):04d}"
        if message_key is None
        else message_code(secret, petition_id, message_key)
    )
    number = None if sent_to is None else national_number(sent_to)
    stored = await access.put_reply_code(
        db,
        petition_id,
        petitioner_id,
        _code_hash(secret, petition_id, code),
        expires_at=datetime.now(UTC) + ttl,
        message_key=message_key,
        message_seq=message_seq,
        sent_to=None if number is None else _phone_hash(secret, number),
    )
    return code if stored else None


@dataclass(frozen=True, slots=True)
class AnswerProofs:
    """What the SMS carrying an answer gives the household: a link and a reply code."""

    link_token: str
    """For the web page or app the SMS links to (``X-Petitioner-Token``)."""
    reply_code: str | None
    """For answering by SMS: "回复 <code>1 满意，<code>2 基本满意，<code>3 不满意"; None for a late
    retry of an earlier answer's SMS (a later answer holds the code)."""


async def issue_answer_proofs(
    db: Db,
    secret: str,
    petition_id: PetitionId,
    petitioner_id: PersonId,
    *,
    message_key: str | None = None,
    message_seq: int | None = None,
    sent_to: str | None = None,
) -> AnswerProofs:
    """Both proofs for the SMS that tells a household its petition was answered (the notifications
    sender calls this when it sends a ``Resolved`` message, with the notification's identity and the
    phone it sends to): the reply code is that message's, and replaces any earlier message's."""
    code = await issue_reply_code(
        db,
        secret,
        petition_id,
        petitioner_id,
        message_key=message_key,
        message_seq=message_seq,
        sent_to=sent_to,
    )
    return AnswerProofs(link_token=issue_link(secret, petition_id, petitioner_id), reply_code=code)


def national_number(phone: str) -> str | None:
    """The last 11 digits of a phone number (a mainland mobile, or an area code and landline), or
    None when it has fewer: the country code and punctuation do not count."""
    digits = re.sub(r"\D", "", phone)
    return digits[-11:] if len(digits) >= 11 else None


_REPLY = re.compile(r"^\D*(\d{4})\D*([123])\D*$")


def parse_reply(text: str) -> tuple[str, Rating] | None:
    """The code and the rating of a reply such as ``48211``, ``4821 1``, ``4821 1 满意``; None when
    the text is not one."""
    found = _REPLY.match(text.strip())
    if found is None:
        return None
    return found.group(1), REPLY_CHOICES[found.group(2)]


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply that holds: the petition and petitioner it is for, and the rating it gives."""

    petition_id: PetitionId
    petitioner_id: PersonId
    rating: Rating
    code_hash: bytes


async def check_reply(db: Db, secret: str, phone: str, text: str) -> Reply | None:
    """The petition a reply from ``phone`` answers: ``phone`` must be the petitioner's on record or
    one the answer's SMS was sent to, and the code the petition's outstanding one. None when anything
    is wrong (the caller cannot tell what). The code is not spent here: ``spend`` it once the rating
    is accepted."""
    number = national_number(phone)
    parsed = parse_reply(text)
    if number is None or parsed is None:
        return None
    code, rating = parsed
    for candidate in await access.outstanding_codes(db, number, _phone_hash(secret, number)):
        expected = _code_hash(secret, candidate.petition_id, code)
        if hmac.compare_digest(expected, candidate.code_hash):
            return Reply(candidate.petition_id, candidate.petitioner_id, rating, expected)
    return None


async def spend(db: Db, reply: Reply) -> bool:
    """Spend the reply's code; False when it was spent or replaced meanwhile."""
    return await access.spend_reply_code(db, reply.petition_id, reply.code_hash)
