"""Languages: zh-CN by default, English; Babel message catalogs compiled in memory at first use.

Message ids are English sentences, so a missing translation shows English. Values of the engine's
enumerations (tiers, stages, categories, ratings, outcomes, event types) and refusal keys are looked
up as ``<kind>:<value>`` ids (``tier:township``, ``refusal:wrong_stage.not_acknowledged``); the
English catalog gives their English words.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
_BABEL_NAME = {"zh-CN": "zh_CN", "en": "en"}


@functools.cache
def translations(language: str) -> Translations:
    """The compiled catalog of ``language`` (``zh-CN`` or ``en``), compiled once per process."""
    name = _BABEL_NAME[language]
    with (LOCALE_DIR / name / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=``, then the ``lang`` cookie, then the first of Accept-Language we speak; else zh-CN."""
    for given in (query, cookie):
        if given in LANGUAGES:
            return given
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def _rounded(value: Decimal, digits: int) -> Decimal:
    """Half to even, on the decimal digits as written (as Babel rounds)."""
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(_BABEL_NAME[language])


@dataclass(frozen=True)
class Speaker:
    """Says things in one language and one time zone: the templates' ``_``, dates and numbers."""

    language: str
    timezone: str

    @property
    def _t(self) -> Translations:
        return translations(self.language)

    @property
    def locale(self) -> Locale:
        return _locale(self.language)

    def gettext(self, message: str, **params: object) -> str:
        text = self._t.gettext(message)
        return text % params if params else text

    def word(self, kind: str, value: object) -> str:
        """An enumeration's value in words: ``word("tier", "township")`` is 乡镇 or township."""
        if value is None or value == "":
            return ""
        text = str(getattr(value, "value", value))
        key = f"{kind}:{text}"
        found = self._t.gettext(key)
        return text if found == key else found

    def refusal(self, key: str, params: Mapping[str, str], fallback: str) -> str:
        """The refusal ``key`` as a sentence, its blanks filled with translated words."""
        msgid = f"refusal:{key}"
        template = self._t.gettext(msgid)
        if template == msgid:
            code = key.split(".")[0]
            template = self._t.gettext(f"refusal:{code}")
            if template == f"refusal:{code}":
                return fallback
        words = {
            name: self.word(kind, params.get(name, ""))
            for name, kind in (
                ("tier", "tier"),
                ("actor_tier", "tier"),
                ("stage", "stage"),
                ("doing", "doing"),
                ("role", "role"),
                ("decision", "decision"),
            )
        }
        allowed = " / ".join(self.word("stage", s) for s in params.get("allowed", "").split(" or ") if s)
        values = {**params, **{k: v for k, v in words.items() if v}, "allowed": allowed}
        try:
            return template % values
        except (KeyError, ValueError, TypeError):
            return fallback

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_datetime(moment, "yyyy-MM-dd HH:mm", tzinfo=ZoneInfo(self.timezone), locale=self.locale)

    def day(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_date(moment.astimezone(ZoneInfo(self.timezone)), "medium", locale=self.locale)

    def percent(self, rate: float | None) -> str:
        """``66.7%``: zh-CN and English write percentages alike (Babel's ``#,##0.0%`` in both), so
        plain formatting gives the same text at a fraction of the cost on a table of thousands."""
        return "–" if rate is None else f"{_rounded(Decimal(str(rate)) * 100, 1):,}%"

    def number(self, value: float | None, digits: int = 1) -> str:
        """Grouped with commas, ``digits`` after the point: the same in zh-CN and English."""
        return "–" if value is None else f"{_rounded(Decimal(str(value)), digits):,}"

    def span(self, length: timedelta) -> str:
        """A time limit in minutes, hours or days (``30 分钟``, ``2 小时``)."""
        minutes = length.total_seconds() / 60
        if minutes < 120:
            return self.gettext("%(n)s min", n=self.number(minutes, 0))
        if minutes < 48 * 60:
            return self.gettext("%(n)s h", n=self.number(minutes / 60))
        return self.gettext("%(n)s d", n=self.number(minutes / 1440))

    def left(self, deadline: datetime | None, now: datetime) -> str:
        """Time left until ``deadline`` (or how long overdue), in days or hours."""
        if deadline is None:
            return ""
        seconds = (deadline - now).total_seconds()
        hours = abs(seconds) / 3600
        amount = (
            self.gettext("%(n)s d", n=self.number(hours / 24))
            if hours >= 48
            else self.gettext("%(n)s h", n=self.number(hours))
        )
        return amount if seconds >= 0 else self.gettext("%(time)s overdue", time=amount)
