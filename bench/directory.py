"""The directory import at the scale of the seeds: Ganzhou's 2.38 million households, 93,180 cadres.

Generates a county-city's files in a temporary folder (1 city, 18 counties, 288 townships, 3,456
villages, a department per county, 93,180 cadres, 2,380,000 households of which one in fifty has no
contact cadre), imports them with ``petitionflow.directory.import_files`` (the same validation and
COPY as ``petitionflow directory import``) into an embedded PostgreSQL with its default, durable
settings, and prints the import's households/s and the process's peak RSS (``resource.getrusage``;
PostgreSQL's own memory is not in it).

    .venv/bin/python bench/directory.py [--households 2380000] [--cadres 93180]
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make ``bench`` and the project importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import csv
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench import _stack
from petitionflow.directory import COLUMNS, import_files

COUNTIES = 18
TOWNSHIPS_PER_COUNTY = 16
VILLAGES_PER_TOWNSHIP = 12


@dataclass(frozen=True)
class Figures:
    households: int
    cadres: int
    generate_s: float
    import_s: float
    peak_rss_mib: float
    rss_before_import_mib: float
    counts: dict[str, int]

    def lines(self) -> list[str]:
        return [
            f"files: {self.households:,} households, {self.cadres:,} cadres,"
            f" {self.counts['regions']:,} regions, {self.counts['offices']:,} offices"
            f" (generated in {self.generate_s:.1f} s)",
            f"import: {self.import_s:.1f} s (validation, COPY of every table, commit)",
            f"households/s: {self.households / self.import_s:,.0f}",
            f"peak RSS: {self.peak_rss_mib:,.0f} MiB"
            f" (before the import: {self.rss_before_import_mib:,.0f} MiB)",
        ]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def generate(folder: Path, households: int, cadres: int) -> list[Path]:
    """Write the files, row by row (nothing big held in memory)."""
    villages = [
        (f"v-{c:02d}-{t:02d}-{v:02d}", f"t-{c:02d}-{t:02d}", f"c-{c:02d}")
        for c in range(COUNTIES)
        for t in range(TOWNSHIPS_PER_COUNTY)
        for v in range(VILLAGES_PER_TOWNSHIP)
    ]
    paths = []
    with (folder / "grid.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS["grid"])
        for village, township, county in villages:
            out.writerow(
                [
                    village,
                    f"{village}村",
                    village,
                    township,
                    f"{township}镇",
                    township,
                    county,
                    f"{county}县",
                    county,
                    "x-ganzhou",
                    "赣州市",
                    "Ganzhou",
                ]
            )
    paths.append(folder / "grid.csv")
    with (folder / "offices.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS["offices"])
        for c in range(COUNTIES):
            out.writerow(
                [
                    f"dept-c-{c:02d}-water",
                    "department",
                    "county",
                    f"c-{c:02d}",
                    "县水利局",
                    "Water Bureau",
                    "",
                    "",
                    f"water{c}@example.gov.cn",
                    "",
                ]
            )
    paths.append(folder / "offices.csv")
    per_village, extra = divmod(cadres, len(villages))
    village_cadres: list[list[str]] = []
    with (folder / "people.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS["people"])
        for i, (village, _, _) in enumerate(villages):
            ids = [f"k-{village[2:]}-{n}" for n in range(per_village + (i < extra))]
            village_cadres.append(ids)
            for person in ids:
                out.writerow([person, "干部", "cadre", f"office-{village}", "13800000000", "", ""])
    paths.append(folder / "people.csv")
    with (folder / "duty.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS["duty"])
        for (village, _, _), ids in zip(villages, village_cadres, strict=True):
            out.writerow([village, ids[0]])
    paths.append(folder / "duty.csv")
    per_village, extra = divmod(households, len(villages))
    number = 0
    with (folder / "households.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS["households"])
        for i, ((village, _, _), ids) in enumerate(zip(villages, village_cadres, strict=True)):
            for j in range(per_village + (i < extra)):
                number += 1
                cadre = "" if number % 50 == 0 else ids[j % len(ids)]
                out.writerow([f"hh-{number:07d}", village, cadre, f"139{number:08d}"])
    paths.append(folder / "households.csv")
    return paths


async def measure(households: int, cadres: int, workdir: Path) -> Figures:
    started = time.perf_counter()
    files = generate(workdir, households, cadres)
    generated = time.perf_counter() - started
    before = _peak_rss_mib()
    with _stack.postgres(workdir) as url:
        await _stack.migrated(url)
        async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
            started = time.perf_counter()
            info = await import_files(pool, [(None, p) for p in files])
            took = time.perf_counter() - started
    assert info.counts["households"] == households, info.counts
    return Figures(households, cadres, generated, took, _peak_rss_mib(), before, info.counts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=2_380_000)
    parser.add_argument("--cadres", type=int, default=93_180)
    args = parser.parse_args()
    print(_stack.machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-directory-") as workdir:
        figures = asyncio.run(measure(args.households, args.cadres, Path(workdir)))
    for line in figures.lines():
        print(line)


if __name__ == "__main__":
    main()
