"""The catalogs: every message the pages say has its Chinese, every enumeration value and refusal
key a word in both languages, and the pages' plain number formatting is Babel's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.numbers import format_decimal, format_percent

from petitionflow.catalogue import Catalogue
from petitionflow.web._i18n import Speaker, negotiate, translations
from schemas.common import Outcome, Rating, RefusalCode, Role, Stage, Tier

WEB = Path(__file__).resolve().parents[2] / "petitionflow" / "web"
LIFECYCLE = Path(__file__).resolve().parents[2] / "workflows" / "lifecycle.py"
_CALL = re.compile(r"""(?<![A-Za-z_.])(?:_|gettext)\(\s*(["'])(.+?)\1""", re.S)


def _messages() -> set[str]:
    found: set[str] = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]:
        found |= {m.group(2) for m in _CALL.finditer(path.read_text(encoding="utf-8"))}
    return found


def _refusal_keys() -> set[str]:
    source = LIFECYCLE.read_text(encoding="utf-8")
    return set(re.findall(r'key="([a-z_.]+)"', source)) | {c.value for c in RefusalCode}


def test_every_message_of_the_pages_is_in_chinese() -> None:
    zh = translations("zh-CN")
    missing = sorted(m for m in _messages() if zh.gettext(m) == m)
    assert len(_messages()) > 100
    assert missing == []


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_refusal_key_the_decider_raises_has_a_sentence(language: str) -> None:
    catalog = translations(language)
    missing = sorted(k for k in _refusal_keys() if catalog.gettext(f"refusal:{k}") == f"refusal:{k}")
    assert missing == []


def test_every_enumeration_value_has_a_chinese_word() -> None:
    say = Speaker("zh-CN", "Asia/Shanghai")
    words = [("tier", t) for t in Tier] + [("office", t) for t in Tier] + [("stage", s) for s in Stage]
    words += [("rating", r) for r in Rating] + [("outcome", o) for o in Outcome] + [("role", r) for r in Role]
    words += [("category", s.code) for s in Catalogue().services]
    untranslated = [(kind, str(v)) for kind, v in words if say.word(kind, v) == str(getattr(v, "value", v))]
    assert untranslated == []


def test_a_refusal_is_a_sentence_with_translated_blanks() -> None:
    params = {"tier": "village", "actor": "li-township", "actor_tier": "township", "doing": "acknowledge"}
    zh = Speaker("zh-CN", "Asia/Shanghai").refusal("wrong_tier", params, "fallback")
    en = Speaker("en", "Asia/Shanghai").refusal("wrong_tier", params, "fallback")
    assert zh == "该件在村级办理；乡镇级工作人员 li-township 不能受理"
    expected = "the petition is at the village tier; li-township, an official of the township tier,"
    assert en == expected + " may not acknowledge it"
    stage = {"doing": "rate", "stage": "resolve", "allowed": "feedback"}
    assert (
        Speaker("zh-CN", "UTC").refusal("wrong_stage.not_now", stage, "x")
        == "“办理”阶段不能评价；只能在“待评价”阶段"
    )
    assert (
        Speaker("zh-CN", "UTC").refusal("wrong_stage.unknown_key", {}, "x") == "该件当前所处阶段不允许此操作"
    )


@pytest.mark.parametrize("babel_name", ["zh_CN", "en"])
def test_plain_number_formatting_is_what_babel_gives(babel_name: str) -> None:
    say = Speaker("zh-CN" if babel_name == "zh_CN" else "en", "UTC")
    for rate in (0.0, 0.12345, 0.5, 0.6667, 1.0, 12.5):
        assert say.percent(rate) == format_percent(rate, "#,##0.0%", locale=babel_name)
    for value in (0.05, 3.0, 1234.567):
        assert say.number(value) == format_decimal(value, "#,##0.0", locale=babel_name)


def test_language_is_the_switch_then_the_cookie_then_accept_language() -> None:
    assert negotiate(None, None, None) == "zh-CN"
    assert negotiate(None, None, "en-US,en;q=0.8") == "en"
    assert negotiate(None, "en", "zh-CN") == "en"
    assert negotiate("zh-CN", "en", "en") == "zh-CN"
    assert negotiate("fr", None, "de, zh-TW;q=0.5") == "zh-CN"
