"""Charts as SVG, rendered on the server by Vega-Lite (``vl-convert``'s own engine: no browser, no
network, no JavaScript on the phone). Each chart is drawn from the same rows its table shows."""

from __future__ import annotations

import functools
import html
import json
from typing import Any

import vl_convert

FONT = "Noto Sans CJK SC, Noto Sans SC, sans-serif"


def bar_chart(rows: list[dict[str, Any]], *, x: str, y: str, title: str, x_title: str, y_title: str) -> str:
    """Bars of ``y`` (a rate from 0 to 1) per ``x``; rows whose ``y`` is None are left out."""
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": 250,
        "height": 160,
        "data": {"values": (values := [r for r in rows if r.get(y) is not None])},
        "mark": _bars(values),
        "encoding": {
            "x": {"field": x, "type": "nominal", "title": x_title, "sort": None, "axis": {"labelAngle": 0}},
            "y": {
                "field": y,
                "type": "quantitative",
                "title": y_title,
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%"},
            },
        },
        "config": _config(),
    }
    return _svg(json.dumps(spec, ensure_ascii=False, sort_keys=True), title)


def row_chart(rows: list[dict[str, Any]], *, y: str, x: str, title: str, y_title: str, x_title: str) -> str:
    """Horizontal bars of ``x`` (a rate from 0 to 1) per ``y``, for long labels such as office
    names; rows whose ``x`` is None are left out."""
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": 170,
        "height": {"step": 22},
        "data": {"values": (values := [r for r in rows if r.get(x) is not None])},
        "mark": _bars(values),
        "encoding": {
            "y": {"field": y, "type": "nominal", "title": y_title, "sort": None, "axis": {"labelLimit": 120}},
            "x": {
                "field": x,
                "type": "quantitative",
                "title": x_title,
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%", "tickCount": 4},
            },
        },
        "config": _config(),
    }
    return _svg(json.dumps(spec, ensure_ascii=False, sort_keys=True), title)


def line_chart(
    rows: list[dict[str, Any]], *, x: str, series: dict[str, str], title: str, x_title: str
) -> str:
    """One line per ``series`` (field -> legend name) over ``x`` (months), rates from 0 to 1."""
    values = [
        {x: r[x], "series": name, "rate": r[field]}
        for r in rows
        for field, name in series.items()
        if r.get(field) is not None
    ]
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": 250,
        "height": 160,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": x, "type": "ordinal", "title": x_title, "axis": {"labelAngle": -45}},
            "y": {
                "field": "rate",
                "type": "quantitative",
                "title": None,
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%"},
            },
            "color": {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "bottom"}},
        },
        "config": _config(),
    }
    return _svg(json.dumps(spec, ensure_ascii=False, sort_keys=True), title)


def _bars(values: list[dict[str, Any]]) -> dict[str, Any]:
    """The bar mark; with no bars to draw its empty container is left out of the accessibility tree
    (an unnamed ``graphics-object`` is an axe violation)."""
    mark: dict[str, Any] = {"type": "bar", "tooltip": True, "color": "#b22222"}
    if not values:
        mark["aria"] = False
    return mark


def _config() -> dict[str, Any]:
    return {
        "font": FONT,
        "background": "white",
        "view": {"stroke": None},
        "axis": {"labelFontSize": 11, "titleFontSize": 11, "labelColor": "#222", "titleColor": "#222"},
        "title": {"fontSize": 13, "color": "#222"},
    }


@functools.lru_cache(maxsize=256)
def _svg(spec: str, title: str) -> str:
    """The SVG of a spec, named ``title`` for screen readers; the same figures give the same chart,
    so it is drawn once."""
    svg: str = vl_convert.vegalite_to_svg(json.loads(spec))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(title)}" ', 1)
