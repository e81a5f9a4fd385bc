"""``petitionflow directory import | show | export | diff | coverage``: the county's directory.

The files and their formats are described in the README ("The county's directory") and in
``petitionflow.directory._files``; every import is a new, full version, validated first (each problem
with its file and line, nothing imported when anything is wrong).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from petitionflow.cli._support import database, emit_json, fail, out, run, table
from petitionflow.directory import DirectoryInvalid, export_version, import_files
from schemas.common import Tier
from store import directory as store

directory = typer.Typer(
    help="The county's directory (grid, offices, roster, households): import, show, export, diff, coverage.",
    no_args_is_help=True,
)

_KIND_OPTION = "Read FILE as a {} file whatever its header says."


def register(app: typer.Typer) -> None:
    app.add_typer(directory, name="directory")


async def _import(files: list[tuple[str | None, Path]]) -> store.VersionInfo:
    async with database() as pool:
        return await import_files(pool, files)


@directory.command("import")
def import_(
    files: Annotated[
        list[Path] | None, typer.Argument(help="CSV/GeoJSON files; their kind comes from the header.")
    ] = None,
    grid: Annotated[Path | None, typer.Option(help=_KIND_OPTION.format("grid"))] = None,
    boundaries: Annotated[Path | None, typer.Option(help=_KIND_OPTION.format("boundaries (GeoJSON)"))] = None,
    offices: Annotated[Path | None, typer.Option(help=_KIND_OPTION.format("offices"))] = None,
    people: Annotated[Path | None, typer.Option(help=_KIND_OPTION.format("people"))] = None,
    households: Annotated[Path | None, typer.Option(help=_KIND_OPTION.format("households"))] = None,
    duty: Annotated[Path | None, typer.Option(help=_KIND_OPTION.format("duty"))] = None,
    successors: Annotated[Path | None, typer.Option(help=_KIND_OPTION.format("successors"))] = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Validate the files and import them as the next directory version (all or nothing)."""
    given: list[tuple[str | None, Path]] = [(None, f) for f in files or []]
    for kind, path in (
        ("grid", grid),
        ("boundaries", boundaries),
        ("offices", offices),
        ("people", people),
        ("households", households),
        ("duty", duty),
        ("successors", successors),
    ):
        if path is not None:
            given.append((kind, path))
    if not given:
        fail("name the files to import")
    try:
        info = run(lambda: _import(given))
    except DirectoryInvalid as invalid:
        if json_:
            emit_json(
                {
                    "imported": False,
                    "problems": [dataclasses.asdict(p) | {"where": str(p)} for p in invalid.problems],
                }
            )
        else:
            for problem in invalid.problems:
                sys.stderr.write(f"{problem}\n")
        fail(f"{len(invalid.problems)} problem(s); nothing was imported")
    if json_:
        emit_json(_version_json(info))
        return
    counts = ", ".join(f"{n:,} {kind}" for kind, n in info.counts.items())
    out.print(f"imported directory version {info.version}: {counts}", highlight=False)


def _version_json(info: store.VersionInfo) -> dict[str, Any]:
    return {
        "version": info.version,
        "imported_at": info.imported_at.isoformat(),
        "source": info.source,
        "counts": info.counts,
    }


async def _versions() -> list[store.VersionInfo]:
    async with database() as pool:
        return await store.versions(pool)


@directory.command("show")
def show(json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The current version and its counts, and the versions before it."""
    found = run(_versions)
    if json_:
        emit_json(
            {
                "current": _version_json(found[0]) if found else None,
                "versions": [_version_json(v) for v in found],
            }
        )
        return
    if not found:
        out.print("the directory is empty: nothing has been imported")
        return
    current = found[0]
    out.print(
        f"directory version {current.version} (current), imported {current.imported_at:%Y-%m-%d %H:%M}"
        f" from {current.source}",
        highlight=False,
    )
    table("counts", ["kind", "rows"], [[k, f"{n:,}"] for k, n in current.counts.items()])
    if len(found) > 1:
        table(
            "earlier versions",
            ["version", "imported", "source"],
            [[v.version, f"{v.imported_at:%Y-%m-%d %H:%M}", v.source] for v in found[1:]],
        )


@directory.command("prune")
def prune(
    keep: Annotated[
        int, typer.Option("--keep", min=1, help="How many versions to keep, the current one included.")
    ],
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete the versions before the newest KEEP, with their rows (every import is a full copy).
    Open petitions keep what they were told; run `directory diff` before, if the old versions matter."""

    async def go() -> list[int]:
        async with database() as pool:
            return await store.prune(pool, keep=keep)

    deleted = run(go)
    if json_:
        emit_json({"deleted": deleted})
    elif deleted:
        out.print(f"deleted directory version(s) {', '.join(map(str, deleted))}", highlight=False)
    else:
        out.print(f"nothing to delete: at most {keep} version(s) are kept", highlight=False)


async def _export(folder: Path, version: int | None) -> dict[str, Path]:
    async with database() as pool:
        return await export_version(pool, folder, version=version)


@directory.command("export")
def export(
    folder: Annotated[Path, typer.Argument(help="Where to write the files (created if need be).")],
    version: Annotated[
        int | None, typer.Option(help="The version to export (default: the current one).")
    ] = None,
) -> None:
    """Write a version as files that `directory import` reads back to the same directory."""
    try:
        written = run(lambda: _export(folder, version))
    except store.VersionNotFound as error:
        fail(str(error))
    for kind, path in written.items():
        out.print(f"{kind:<11} {path}", highlight=False)


async def _diff(old: int, new: int) -> store.Diff:
    async with database() as pool:
        return await store.diff(pool, old, new)


@directory.command("diff")
def diff(
    old: Annotated[int, typer.Argument(help="The earlier version.")],
    new: Annotated[int, typer.Argument(help="The later version.")],
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Regions, offices and people added, removed or changed between two versions; households counted."""
    try:
        result = run(lambda: _diff(old, new))
    except store.VersionNotFound as error:
        fail(str(error))
    if json_:
        emit_json(dataclasses.asdict(result))
        return
    table(
        f"directory {old} → {new}",
        ["kind", "id", "change", "fields"],
        [[c.kind, c.id, c.change, ", ".join(c.fields)] for c in result.changes],
    )
    h = result.households
    out.print(
        f"households: {h['added']:,} added, {h['removed']:,} removed, {h['changed']:,} changed,"
        f" {h['unchanged']:,} unchanged",
        highlight=False,
    )


async def _coverage(by: Tier, version: int | None) -> tuple[int, list[store.Coverage]]:
    async with database() as pool:
        return await store.coverage(pool, by, version=version)


COVERAGE_TIERS = (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY)


def coverage_json(version: int, by: Tier, rows: list[store.Coverage]) -> dict[str, Any]:
    return {
        "version": version,
        "by": by.value,
        "regions": [dataclasses.asdict(r) | {"households_per_cadre": r.households_per_cadre} for r in rows],
    }


@directory.command("coverage")
def coverage(
    by: Annotated[str, typer.Option(help="village, township or county.")] = "county",
    version: Annotated[int | None, typer.Option(help="Default: the current version.")] = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """双覆盖 by region: households per cadre, households without a cadre, cadres without households."""
    if by not in [t.value for t in COVERAGE_TIERS]:
        fail(f"--by: {by!r} is not one of village, township, county")
    tier = Tier(by)
    try:
        found_version, rows = run(lambda: _coverage(tier, version))
    except store.VersionNotFound as error:
        fail(str(error))
    if json_:
        emit_json(coverage_json(found_version, tier, rows))
        return
    table(
        f"coverage by {by} (directory version {found_version})",
        [by, "name", "households", "per cadre", "without cadre", "cadres", "cadres without households"],
        [
            [
                r.region_id,
                r.name_zh,
                f"{r.households:,}",
                "—" if r.households_per_cadre is None else f"{r.households_per_cadre:.1f}",
                f"{r.without_cadre:,}",
                f"{r.cadres:,}",
                f"{r.cadres_without_households:,}",
            ]
            for r in rows
        ],
    )
