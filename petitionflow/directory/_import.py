"""Import files as a new directory version, export a version as files, and build the region
directory the API's Open311 door uses, all over ``store.directory``."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from petitionflow.directory._files import (
    COLUMNS,
    FILE_NAMES,
    KINDS,
    DirectoryInvalid,
    HouseholdRows,
    Problem,
    boundary_feature,
    detect_kind,
    read_files,
)
from petitionflow.directory.locate import DEFAULT_NEAREST_METRES, Gazetteer, sample_gazetteer
from petitionflow.regions import RegionDirectory
from schemas.common import Tier
from store import directory as store
from store._db import Db


async def import_files(
    db: Db, files: Sequence[tuple[str | None, Path]], *, source: str | None = None
) -> store.VersionInfo:
    """Validate ``(kind or None, path)`` files and import them as the next version, in one
    transaction; raise :class:`DirectoryInvalid` with every problem (and import nothing) if any."""
    d = read_files(files)
    rows = HouseholdRows(d.households, d.villages, d.cadres) if d.households is not None else None
    if d.problems:
        if rows is not None:
            for _ in rows.records(0):  # find the households' problems too, to report them all at once
                pass
        raise DirectoryInvalid([*d.problems, *(rows.problems if rows else [])])
    snapshot = store.Snapshot(
        source=source or " ".join(str(path) for _, path in files),
        regions=list(d.regions.values()),
        offices=list(d.offices.values()),
        people=list(d.people.values()),
        duty=sorted(d.duty.items()),
        successors=sorted(d.successors.items()),
    )

    def check() -> None:
        if rows is not None and rows.problems:
            raise DirectoryInvalid(rows.problems)

    try:
        return await store.import_version(db, snapshot, rows.records if rows else None, check=check)
    except store.DuplicateHousehold as dup:
        assert rows is not None
        lines = rows.lines_of(dup.household_id)
        first = lines[0] if lines else 0
        raise DirectoryInvalid(
            [
                Problem(
                    str(rows.path),
                    line,
                    f"duplicate id: household {dup.household_id} is already at line {first}",
                )
                for line in lines[1:] or [0]
            ]
        ) from None


def files_in(directory: Path) -> list[tuple[str | None, Path]]:
    """The directory files in a folder: those whose kind their name or header gives."""
    found: list[tuple[str | None, Path]] = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lower() in (".csv", ".geojson", ".json") and detect_kind(path):
            found.append((None, path))
    return found


def digest(files: Sequence[tuple[str | None, Path]]) -> str:
    """A hash of the files' contents, to tell whether a folder was imported already."""
    h = hashlib.sha256()
    for _, path in sorted(files, key=lambda f: f[1].name):
        h.update(path.name.encode() + b"\0")
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()[:16]


async def import_folder_once(db: Db, folder: Path) -> store.VersionInfo | None:
    """Import the files of ``folder`` unless the current version came from the same files; return
    the new version, or ``None`` when it was already imported."""
    files = files_in(folder)
    source = f"{folder} sha256:{digest(files)}"
    known = await store.versions(db)
    if known and known[0].source == source:
        return None
    return await import_files(db, files, source=source)


def _cells(values: Sequence[str | None]) -> list[str]:
    return ["" if v is None else v for v in values]


async def export_version(db: Db, folder: Path, *, version: int | None = None) -> dict[str, Path]:
    """Write a version (default: the current one) as files that import back to the same directory."""
    grid = await store.load_grid(db, version)
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (a CLI command, nothing else waits)
    written: dict[str, Path] = {}

    def write(kind: str, rows: list[list[str]]) -> None:
        path = folder / FILE_NAMES[kind]
        with path.open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(COLUMNS[kind])
            out.writerows(rows)
        written[kind] = path

    by_id = {r.region_id: r for r in grid.regions}
    grid_rows = []
    for village in (r for r in grid.regions if r.tier is Tier.VILLAGE):
        row: list[str] = []
        at = village
        while True:
            row += [at.region_id, at.name_zh, at.name_en]
            if at.parent_id is None:
                break
            at = by_id[at.parent_id]
        grid_rows.append(row)
    write("grid", grid_rows)
    with_boundary = [r for r in grid.regions if r.boundary is not None]
    if with_boundary:
        path = folder / FILE_NAMES["boundaries"]
        collection = {"type": "FeatureCollection", "features": [boundary_feature(r) for r in with_boundary]}
        path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
        written["boundaries"] = path
    write(
        "offices",
        [
            _cells(
                [
                    o.office_id,
                    o.kind.value,
                    o.tier.value,
                    o.region_id,
                    o.name_zh,
                    o.name_en,
                    o.supervisor_id,
                    o.phone,
                    o.email,
                    o.webhook,
                ]
            )
            for o in grid.offices
        ],
    )
    write(
        "people",
        [
            _cells([p.person_id, p.name, p.role.value, p.office_id, p.phone, p.email, p.webhook])
            for p in grid.people
        ],
    )
    write("duty", [[v, p] for v, p in sorted(grid.duty.items())])
    write("successors", [[o, n] for o, n in sorted(grid.successors.items())])
    households = folder / FILE_NAMES["households"]
    await store.export_households(db, grid.version, households.resolve())
    written["households"] = households
    return {k: written[k] for k in KINDS if k in written}


def region_directory(grid: store.Grid) -> RegionDirectory:
    """The villages of ``grid`` with their paths and duty cadres, for Open311's ``address_id``
    (villages without a duty cadre are left out: the API needs a cadre to tell)."""
    return RegionDirectory.from_grid(grid.regions, grid.duty)


async def current_locators(
    db: Db, *, nearest_metres: float = DEFAULT_NEAREST_METRES
) -> tuple[RegionDirectory | None, Gazetteer]:
    """What the API's Open311 door locates requests with: the current version's villages (``None``
    when nothing was imported) and a gazetteer over its regions (the built-in sample's until a
    directory is imported)."""
    grid = await store.current_grid(db)
    if grid is None:
        return None, sample_gazetteer(nearest_metres=nearest_metres)
    return region_directory(grid), Gazetteer(grid.regions, nearest_metres=nearest_metres)


async def current_region_directory(db: Db) -> RegionDirectory | None:
    """The region directory of the current version, or ``None`` when nothing was imported."""
    grid = await store.current_grid(db)
    return None if grid is None else region_directory(grid)
