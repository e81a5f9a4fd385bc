"""The directory's files: one reader and validator per kind, each problem with its file and line.

A county office exports these from a spreadsheet: CSV in UTF-8 (with or without a byte-order mark),
a header row naming the columns (any order, names as below), one record a row; the village
boundaries come as GeoJSON. The formats, with an example of each, are in the README
("The county's directory"). Every import is a full snapshot: a grid file is required, the other
kinds are empty in the new version when not given.

``read_files`` reads and validates everything but the households, which ``HouseholdRows`` checks
while they stream into COPY (2.38 million rows never sit in memory). Problems are collected, not
raised one by one; :class:`DirectoryInvalid` carries them all.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.common import Tier
from schemas.directory import Office, OfficeKind, Person, PersonRole, Region

TIERS = (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY)
_PARENT = {Tier.VILLAGE: Tier.TOWNSHIP, Tier.TOWNSHIP: Tier.COUNTY, Tier.COUNTY: Tier.CITY}
MAX_ID = 64
_NOT_UTF8 = "not UTF-8 text (save it as “CSV UTF-8”)"
_PLURAL = {"township": "townships", "county": "counties", "city": "cities"}

COLUMNS: dict[str, tuple[str, ...]] = {
    "grid": tuple(f"{t.value}_{c}" for t in TIERS for c in ("id", "name_zh", "name_en")),
    "offices": (
        "office_id",
        "kind",
        "tier",
        "region_id",
        "name_zh",
        "name_en",
        "supervisor_id",
        "phone",
        "email",
        "webhook",
    ),
    "people": ("person_id", "name", "role", "office_id", "phone", "email", "webhook"),
    "households": ("household_id", "village_id", "cadre_id", "phone"),
    "duty": ("village_id", "person_id"),
    "successors": ("old_id", "new_id"),
}
"""The columns of each CSV kind, in the order ``export`` writes them."""
KINDS = ("grid", "boundaries", "offices", "people", "households", "duty", "successors")
FILE_NAMES = {kind: f"{kind}.geojson" if kind == "boundaries" else f"{kind}.csv" for kind in KINDS}
"""The names ``export`` gives the files."""

_TERRITORIAL_NAMES = {
    Tier.VILLAGE: ("村民委员会", "Village Committee"),
    Tier.TOWNSHIP: ("人民政府", "Township Government"),
    Tier.COUNTY: ("人民政府", "County Government"),
    Tier.CITY: ("人民政府", "City Government"),
}


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    file: str
    line: int
    """The CSV line (the header is line 1), or the GeoJSON feature's index (see ``where``)."""
    reason: str
    feature: bool = False

    def __str__(self) -> str:
        where = f"feature {self.line}" if self.feature else str(self.line)
        return f"{self.file}:{where}: {self.reason}"


class DirectoryInvalid(ValueError):
    """The files have problems; nothing was imported."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Directory:
    """What the files hold, validated, except the households (streamed by ``HouseholdRows``)."""

    regions: dict[str, Region] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    duty: dict[str, str] = field(default_factory=dict)
    successors: dict[str, str] = field(default_factory=dict)
    households: Path | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def villages(self) -> set[str]:
        return {r.region_id for r in self.regions.values() if r.tier is Tier.VILLAGE}

    @property
    def cadres(self) -> set[str]:
        return {p.person_id for p in self.people.values() if p.role is PersonRole.CADRE}


# --- reading -------------------------------------------------------------------------------------


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        first = next(csv.reader(f), [])
    return [c.strip().lower() for c in first]


def detect_kind(path: Path) -> str | None:
    """The kind of a file from its name (``.geojson``/``.json``: boundaries) or its CSV header."""
    if path.suffix.lower() in (".geojson", ".json"):
        return "boundaries"
    try:
        header = set(_header(path))
    except (UnicodeDecodeError, OSError):
        return None
    for kind, columns in COLUMNS.items():
        if header == set(columns):
            return kind
    return None


def _utf8(path: Path) -> bool:
    try:
        _header(path)
    except UnicodeDecodeError:
        return False
    except OSError:
        pass
    return True


class _Csv:
    """Rows of a CSV file, each with its line: stripped cells in ``COLUMNS`` order (``cells``), or
    dicts with ``None`` for an empty cell (``rows``). At most ``SHOWN`` problems a file are kept."""

    SHOWN = 100

    def __init__(self, path: Path, kind: str, problems: list[Problem]) -> None:
        self.path, self.kind, self.problems, self.name = path, kind, problems, str(path)
        self.count = 0

    def problem(self, line: int, reason: str) -> None:
        self.count += 1
        if self.count <= self.SHOWN:
            self.problems.append(Problem(self.name, line, reason))

    def rows(self) -> Iterator[tuple[int, dict[str, str | None]]]:
        columns = COLUMNS[self.kind]
        for line, cells in self.cells():
            yield line, {c: (v or None) for c, v in zip(columns, cells, strict=True)}

    def cells(self) -> Iterator[tuple[int, list[str]]]:
        try:
            f = self.path.open(encoding="utf-8-sig", newline="")
        except OSError as error:
            self.problem(0, f"cannot read the file: {error.strerror}")
            return
        with f:
            reader = csv.reader(f)
            try:
                header = [c.strip().lower() for c in next(reader)]
            except StopIteration:
                self.problem(
                    1,
                    f"the file is empty; a {self.kind} file starts with the header"
                    f" {','.join(COLUMNS[self.kind])}",
                )
                return
            except UnicodeDecodeError:
                self.problem(1, _NOT_UTF8)
                return
            expected = COLUMNS[self.kind]
            missing = [c for c in expected if c not in header]
            unknown = [c for c in header if c not in expected]
            if missing or unknown or len(set(header)) != len(header):
                parts = []
                if missing:
                    parts.append(f"missing columns {', '.join(missing)}")
                if unknown:
                    parts.append(f"unknown columns {', '.join(unknown)}")
                if len(set(header)) != len(header):
                    parts.append("a column named twice")
                self.problem(
                    1,
                    f"bad header for a {self.kind} file: {'; '.join(parts)} (expected {','.join(expected)})",
                )
                return
            order = [header.index(c) for c in expected]
            width = len(header)
            line = 1
            try:
                for cells in reader:
                    line = reader.line_num
                    if len(cells) != width:
                        if any(c.strip() for c in cells):  # not a blank line, as spreadsheets leave
                            self.problem(line, f"{len(cells)} cells, the header has {width}")
                        continue
                    row = [cells[i].strip() for i in order]
                    if any(row):
                        yield line, row
            except UnicodeDecodeError:
                self.problem(reader.line_num + 1, _NOT_UTF8)
            except csv.Error as error:
                self.problem(reader.line_num, f"not CSV: {error}")
            if self.count > self.SHOWN:
                self.problems.append(
                    Problem(self.name, line, f"… and {self.count - self.SHOWN:,} more problems in this file")
                )

    def id_ok(self, line: int, column: str, value: str | None) -> bool:
        if value is None:
            self.problem(line, f"{column} is empty")
            return False
        if len(value) > MAX_ID:
            self.problem(line, f"{column} is longer than {MAX_ID} characters")
            return False
        return True

    def channels(self, line: int, row: dict[str, str | None]) -> None:
        email, webhook = row.get("email"), row.get("webhook")
        if email is not None and "@" not in email:
            self.problem(line, f"email {email!r} is not an e-mail address")
        if webhook is not None and not webhook.startswith(("https://", "http://")):
            self.problem(line, f"webhook {webhook!r} is not an http(s) URL")


def _read_grid(path: Path, d: Directory) -> None:
    f = _Csv(path, "grid", d.problems)
    seen: dict[str, tuple[Tier, int, str | None, str, str]] = {}
    for line, row in f.rows():
        chain: list[tuple[Tier, str, str, str]] = []
        ok = True
        for tier in TIERS:
            rid = row[f"{tier.value}_id"]
            if rid is None:
                what = "missing parent: " if tier is not Tier.VILLAGE else ""
                f.problem(line, f"{what}{tier.value}_id is empty")
                ok = False
                continue
            if not f.id_ok(line, f"{tier.value}_id", rid):
                ok = False
                continue
            names = []
            for lang in ("zh", "en"):
                name = row[f"{tier.value}_name_{lang}"]
                if name is None:
                    f.problem(line, f"empty name: {tier.value}_name_{lang} of {rid}")
                    ok = False
                names.append(name or "")
            chain.append((tier, rid, names[0], names[1]))
        if not ok:
            continue
        for i, (tier, rid, zh, en) in enumerate(chain):
            parent = chain[i + 1][1] if i + 1 < len(chain) else None
            before = seen.get(rid)
            if before is None:
                seen[rid] = (tier, line, parent, zh, en)
                d.regions[rid] = Region(region_id=rid, tier=tier, parent_id=parent, name_zh=zh, name_en=en)
                continue
            b_tier, b_line, b_parent, b_zh, b_en = before
            if b_tier is not tier:
                f.problem(
                    line,
                    f"tier out of order: {rid} is a {tier.value} here but a {b_tier.value} at line {b_line}",
                )
            elif tier is Tier.VILLAGE:
                if b_parent == parent:
                    f.problem(line, f"duplicate id: village {rid} is already at line {b_line}")
                else:
                    f.problem(
                        line, f"village {rid} in two townships: {parent} here, {b_parent} at line {b_line}"
                    )
            elif b_parent != parent:
                above = _PLURAL[_PARENT[tier].value]
                f.problem(
                    line, f"{tier.value} {rid} under two {above}: {parent} here, {b_parent} at line {b_line}"
                )
            elif (b_zh, b_en) != (zh, en):
                f.problem(
                    line, f"{tier.value} {rid} is named {zh} / {en} here but {b_zh} / {b_en} at line {b_line}"
                )


def _read_boundaries(path: Path, d: Directory) -> None:
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    name = str(path)

    def problem(index: int, reason: str) -> None:
        d.problems.append(Problem(name, index, reason, feature=True))

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        d.problems.append(Problem(name, 0, f"cannot read the file: {error.strerror}"))
        return
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = error.lineno if isinstance(error, json.JSONDecodeError) else 0
        d.problems.append(Problem(name, line, f"not JSON: {error}"))
        return
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        d.problems.append(Problem(name, 1, "not a GeoJSON FeatureCollection with a list of features"))
        return
    placed: dict[str, int] = {}
    for index, feature in enumerate(data["features"]):
        if not isinstance(feature, dict):
            problem(index, "not a GeoJSON Feature")
            continue
        props = feature.get("properties") or {}
        village = props.get("village_id") if isinstance(props, dict) else None
        if not isinstance(village, str) or not village:
            problem(index, "properties.village_id is missing")
            continue
        region = d.regions.get(village)
        if region is None or region.tier is not Tier.VILLAGE:
            problem(index, f"unknown village {village}: it is not a village of the grid")
            continue
        if village in placed:
            problem(index, f"village {village} already has a boundary (feature {placed[village]})")
            continue
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in ("Polygon", "MultiPolygon"):
            problem(index, f"the geometry of {village} is {kind or 'missing'}, not a Polygon or MultiPolygon")
            continue
        assert isinstance(geometry, dict)
        try:
            polygon = shape(geometry)
        except Exception as error:  # shapely raises several kinds for malformed coordinates
            problem(index, f"the polygon of {village} does not parse: {error}")
            continue
        if polygon.is_empty:
            problem(index, f"the polygon of {village} is empty")
            continue
        if not polygon.is_valid:
            problem(index, f"the polygon of {village} is not valid: {explain_validity(polygon)}")
            continue
        west, south, east, north = polygon.bounds
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            problem(index, f"the polygon of {village} is not in longitude/latitude degrees (WGS-84)")
            continue
        placed[village] = index
        d.regions[village] = region.model_copy(
            update={"boundary": {"type": kind, "coordinates": geometry["coordinates"]}}
        )


def _read_offices(path: Path, d: Directory) -> dict[str, int]:
    """Read the offices (their supervisors are checked later, with the derived ones); return lines."""
    f = _Csv(path, "offices", d.problems)
    lines: dict[str, int] = {}
    for line, row in f.rows():
        oid = row["office_id"]
        if not f.id_ok(line, "office_id", oid):
            continue
        assert oid is not None
        if oid in lines:
            f.problem(line, f"duplicate id: office {oid} is already at line {lines[oid]}")
            continue
        try:
            kind = OfficeKind(row["kind"] or "")
        except ValueError:
            f.problem(line, f"kind {row['kind']!r} is not one of {', '.join(k.value for k in OfficeKind)}")
            continue
        try:
            tier = Tier(row["tier"] or "")
        except ValueError:
            f.problem(line, f"tier {row['tier']!r} is not one of {', '.join(t.value for t in TIERS)}")
            continue
        region = d.regions.get(row["region_id"] or "")
        if region is None:
            f.problem(line, f"region_id {row['region_id']!r} is not a region of the grid")
            continue
        if region.tier is not tier:
            f.problem(
                line, f"the office's tier is {tier.value} but {region.region_id} is a {region.tier.value}"
            )
            continue
        if kind is not OfficeKind.TERRITORIAL and tier not in (Tier.COUNTY, Tier.CITY):
            f.problem(line, f"a {kind.value} office belongs to a county or a city, not a {tier.value}")
            continue
        if row["name_zh"] is None or row["name_en"] is None:
            f.problem(
                line, f"empty name: {'name_zh' if row['name_zh'] is None else 'name_en'} of office {oid}"
            )
            continue
        supervisor = row["supervisor_id"]
        if supervisor is not None and not f.id_ok(line, "supervisor_id", supervisor):
            continue
        f.channels(line, row)
        lines[oid] = line
        d.offices[oid] = Office(
            office_id=oid,
            kind=kind,
            tier=tier,
            region_id=region.region_id,
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            supervisor_id=supervisor,
            phone=row["phone"],
            email=row["email"],
            webhook=row["webhook"],
        )
    return lines


def territorial_office_id(region_id: str) -> str:
    """The id a derived territorial office gets: ``office-<region_id>``."""
    return f"office-{region_id}"


def _complete_offices(d: Directory, path: Path | None, lines: dict[str, int]) -> None:
    """Derive the territorial office of every region that has none, give each office without a
    supervisor its default one, then check supervisors exist and never loop."""
    name = str(path) if path is not None else "offices"
    governs: dict[str, str] = {}
    for office in d.offices.values():
        if office.kind is OfficeKind.TERRITORIAL:
            if office.region_id in governs:
                d.problems.append(
                    Problem(
                        name,
                        lines[office.office_id],
                        f"{office.region_id} has two territorial"
                        f" offices: {office.office_id} and {governs[office.region_id]}",
                    )
                )
                continue
            governs[office.region_id] = office.office_id
    for region in d.regions.values():
        if region.region_id in governs:
            continue
        oid = territorial_office_id(region.region_id)
        if oid in d.offices:
            d.problems.append(
                Problem(
                    name,
                    lines[oid],
                    f"office {oid} is the id the territorial office of"
                    f" {region.region_id} would be given; name that office differently",
                )
            )
            continue
        zh, en = _TERRITORIAL_NAMES[region.tier]
        d.offices[oid] = Office(
            office_id=oid,
            kind=OfficeKind.TERRITORIAL,
            tier=region.tier,
            region_id=region.region_id,
            name_zh=region.name_zh + zh,
            name_en=f"{region.name_en} {en}",
        )
        governs[region.region_id] = oid
    for oid, office in list(d.offices.items()):
        if office.supervisor_id is not None:
            continue
        if office.kind is OfficeKind.TERRITORIAL:
            parent = d.regions[office.region_id].parent_id
            default = None if parent is None else governs.get(parent)
        else:
            default = governs.get(office.region_id)
        if default is not None and default != oid:
            d.offices[oid] = office.model_copy(update={"supervisor_id": default})
    for oid, office in d.offices.items():
        if office.supervisor_id is not None and office.supervisor_id not in d.offices:
            d.problems.append(
                Problem(
                    name, lines.get(oid, 0), f"supervisor_id {office.supervisor_id} of {oid} is not an office"
                )
            )
    reported: set[str] = set()
    for start in d.offices:
        trail: list[str] = []
        at: str | None = start
        while at is not None and at in d.offices and at not in trail:
            trail.append(at)
            at = d.offices[at].supervisor_id
        if at is not None and at in trail and at not in reported:
            cycle = trail[trail.index(at) :]
            reported.update(cycle)
            d.problems.append(
                Problem(name, lines.get(at, 0), "supervision cycle: " + " → ".join([*cycle, at]))
            )


def _read_people(path: Path, d: Directory) -> None:
    f = _Csv(path, "people", d.problems)
    lines: dict[str, int] = {}
    for line, row in f.rows():
        pid = row["person_id"]
        if not f.id_ok(line, "person_id", pid):
            continue
        assert pid is not None
        if pid in lines:
            f.problem(line, f"duplicate id: person {pid} is already at line {lines[pid]}")
            continue
        if row["name"] is None:
            f.problem(line, f"empty name: name of {pid}")
            continue
        try:
            role = PersonRole(row["role"] or "")
        except ValueError:
            f.problem(line, f"role {row['role']!r} is not one of {', '.join(r.value for r in PersonRole)}")
            continue
        if row["office_id"] not in d.offices:
            f.problem(line, f"office_id {row['office_id']!r} is not an office")
            continue
        f.channels(line, row)
        lines[pid] = line
        d.people[pid] = Person(
            person_id=pid,
            name=row["name"],
            role=role,
            office_id=row["office_id"],
            phone=row["phone"],
            email=row["email"],
            webhook=row["webhook"],
        )


def _read_duty(path: Path, d: Directory) -> None:
    f = _Csv(path, "duty", d.problems)
    lines: dict[str, int] = {}
    villages = d.villages
    for line, row in f.rows():
        village, person = row["village_id"], row["person_id"]
        if village not in villages:
            f.problem(line, f"village_id {village!r} is not a village of the grid")
            continue
        assert village is not None
        if village in lines:
            f.problem(
                line, f"duplicate id: village {village} already has a duty cadre at line {lines[village]}"
            )
            continue
        found = d.people.get(person or "")
        if found is None or found.role is not PersonRole.CADRE:
            f.problem(line, f"person_id {person!r} is not a cadre of the roster")
            continue
        lines[village] = line
        d.duty[village] = found.person_id


def _read_successors(path: Path, d: Directory) -> None:
    f = _Csv(path, "successors", d.problems)
    lines: dict[str, int] = {}
    for line, row in f.rows():
        old, new = row["old_id"], row["new_id"]
        if not (f.id_ok(line, "old_id", old) and f.id_ok(line, "new_id", new)):
            continue
        assert old is not None and new is not None
        if old in d.regions:
            f.problem(line, f"old_id {old} is still a region of the new grid")
            continue
        if new not in d.regions:
            f.problem(line, f"new_id {new} is not a region of the new grid")
            continue
        if old in lines:
            f.problem(line, f"duplicate id: {old} already has a successor at line {lines[old]}")
            continue
        lines[old] = line
        d.successors[old] = new


def read_files(files: Sequence[tuple[str | None, Path]]) -> Directory:
    """Read and validate ``(kind or None to detect it, path)`` pairs: everything but the households
    (``Directory.households`` names that file). The problems are in ``Directory.problems``."""
    d = Directory()
    by_kind: dict[str, Path] = {}
    for kind, path in files:
        found = kind or detect_kind(path)
        if found is None and not _utf8(path):
            d.problems.append(Problem(str(path), 1, _NOT_UTF8))
            continue
        if found is None:
            d.problems.append(
                Problem(
                    str(path),
                    1,
                    "unknown kind of file: the header matches none of "
                    + "; ".join(f"{k} ({','.join(c)})" for k, c in COLUMNS.items())
                    + " and it is not .geojson",
                )
            )
            continue
        if found not in KINDS:
            d.problems.append(Problem(str(path), 0, f"unknown kind {found!r}: one of {', '.join(KINDS)}"))
            continue
        if found in by_kind:
            d.problems.append(Problem(str(path), 0, f"a second {found} file (the first is {by_kind[found]})"))
            continue
        by_kind[found] = path
    if "grid" not in by_kind:
        d.problems.append(Problem("import", 0, "no grid file: every import is a full snapshot and needs one"))
        return d
    _read_grid(by_kind["grid"], d)
    if "boundaries" in by_kind:
        _read_boundaries(by_kind["boundaries"], d)
    lines = _read_offices(by_kind["offices"], d) if "offices" in by_kind else {}
    _complete_offices(d, by_kind.get("offices"), lines)
    if "people" in by_kind:
        _read_people(by_kind["people"], d)
    if "duty" in by_kind:
        _read_duty(by_kind["duty"], d)
    if "successors" in by_kind:
        _read_successors(by_kind["successors"], d)
    d.households = by_kind.get("households")
    return d


class HouseholdRows:
    """The households file's rows, checked as they stream (village and cadre exist); the rows with a
    problem are left out and the problems kept in ``problems``."""

    def __init__(self, path: Path, villages: set[str], cadres: set[str]) -> None:
        self.path, self.villages, self.cadres = path, villages, cadres
        self.problems: list[Problem] = []

    def records(self, version: int) -> Iterator[tuple[int, str, str, str | None, str | None]]:
        f = _Csv(self.path, "households", self.problems)
        villages, cadres = self.villages, self.cadres
        for line, (hid, village, cadre, phone) in f.cells():
            if not hid or len(hid) > MAX_ID:
                f.id_ok(line, "household_id", hid or None)
                continue
            if village not in villages:
                f.problem(
                    line, f"village_id {village or None!r} of household {hid} is not a village of the grid"
                )
                continue
            if cadre and cadre not in cadres:
                f.problem(line, f"cadre_id {cadre!r} of household {hid} is not a cadre of the roster")
                continue
            yield version, hid, village, cadre or None, phone or None

    def lines_of(self, household_id: str) -> list[int]:
        """The lines that hold ``household_id`` (to explain a duplicate PostgreSQL refused)."""
        return [
            line
            for line, row in _Csv(self.path, "households", []).rows()
            if row["household_id"] == household_id
        ]


def boundary_feature(region: Region) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"village_id": region.region_id}, "geometry": region.boundary}
