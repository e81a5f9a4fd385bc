"""What each kind of notification says, per language: Jinja2 templates with Babel catalogs.

``templates/<kind>.txt`` holds two ``{% trans %}`` blocks: the subject (first line) and the text.
The message ids are English; ``locale/<lang>/LC_MESSAGES/messages.po`` translates them (``zh_CN``,
the default, and ``en``). ``scripts/setup`` compiles the catalogs to ``.mo``; a catalog whose ``.mo``
is missing or older than its ``.po`` is compiled in memory at import with Babel's own tools, so a
fresh checkout needs no build step. ``scripts/notify-messages`` re-extracts the message ids.

Times are shown in the deployment's time zone (Asia/Shanghai by default), durations in words
(Babel's ``format_timedelta``).
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
LOCALE = HERE / "locale"
LANGUAGES = ("zh_CN", "en")
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated where it is shown."""
    return message


# The vocabulary of the facts: translated like the templates (extracted from this file).
NAMES = {
    "village": N_("village"),
    "township": N_("township"),
    "county": N_("county"),
    "city": N_("city"),
    "respond": N_("respond"),
    "resolve": N_("resolve"),
    "satisfied": N_("satisfied"),
    "basically_satisfied": N_("basically satisfied"),
    "dissatisfied": N_("dissatisfied"),
    "unrated": N_("not rated in time"),
    "withdrawn": N_("withdrawn"),
    "dissatisfied_at_top": N_("dissatisfied at the highest tier"),
    "resolved": N_("resolved"),
    "not_feasible": N_("not feasible"),
}
_NAMED = ("tier", "from_tier", "to_tier", "clock", "rating", "reason", "outcome")
_TIMES = {
    "due_at": "due",
    "respond_by": "respond_by",
    "feedback_by": "feedback_by",
    "visit_by": "visit_by",
    "resolve_by": "resolve_by",
    "closes_at": "closes",
    "return_visit_due": "return_visit_due",
}
_SMS_PARAMS: tuple[str, ...] = (
    "code",  # an official's sign-in code
    "ttl_minutes",
    "reply_code",
    "petition_id",
    "tier",
    "to_tier",
    "due",
    "respond_by",
    "left",
    "feedback_by",
    "visit_by",
    "closes",
)
# Which time "how long is left" counts down to, by kind.
_LEFT = {
    "petition_filed": "respond_by",
    "escalated_to_you": "respond_by",
    "reminder": "due_at",
    "feedback_closing_soon": "closes_at",
}


def kinds() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.txt"))


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language`` (``.mo`` if fresh, else the ``.po`` compiled now)."""
    folder = LOCALE / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def _environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        auto_reload=False,  # templates are package data: no stat per message
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    params: dict[str, str]
    """The SMS template's parameters: short values, no free text."""


def render(
    kind: str,
    language: str,
    *,
    petition_id: str,
    facts: dict[str, Any],
    now: datetime,
    timezone: str = "Asia/Shanghai",
    extra: dict[str, str] | None = None,
) -> Rendered:
    """The subject and text of a ``kind`` notification in ``language``.

    Raises:
        jinja2.TemplateNotFound: no template for ``kind``.
    """
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    tz = ZoneInfo(timezone)
    t = translations(language)
    context: dict[str, Any] = {"petition_id": petition_id, **(extra or {})}
    for key, value in facts.items():
        if isinstance(value, str | int | float | bool) or value is None:
            context[key] = value
    for key in _NAMED:
        if isinstance(facts.get(key), str):
            context[key] = t.gettext(NAMES.get(facts[key], facts[key]))
    for key, name in _TIMES.items():
        if isinstance(facts.get(key), str):
            at = datetime.fromisoformat(facts[key]).astimezone(tz)
            context[name] = format_datetime(at, "yyyy-MM-dd HH:mm", tzinfo=tz, locale=language)
    context["summary"] = facts.get("public_summary", "")
    left_of = _LEFT.get(kind)
    if left_of is not None and isinstance(facts.get(left_of), str):
        left = datetime.fromisoformat(facts[left_of]) - now
        context["left"] = format_timedelta(max(left, timedelta(0)), threshold=1.2, locale=language)
    lines = _environment(language).get_template(f"{kind}.txt").render(context).strip().split("\n", 1)
    subject, text = lines[0].strip(), (lines[1].strip() if len(lines) > 1 else "")
    params: dict[str, str] = {
        k: str(context[k])[:35] for k in _SMS_PARAMS if k in context and context[k] is not None
    }
    return Rendered(subject=subject, text=text, params=params)
