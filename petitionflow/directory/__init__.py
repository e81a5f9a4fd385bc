"""The county's own directory: importing its grid, offices, roster and households (issue 11).

``import_files`` validates CSV/GeoJSON files (every problem with its file and line, nothing imported
when anything is wrong) and imports them as a new version; ``export_version`` writes a version back
as files; ``write_sample`` generates the dev stack's sample county; ``current_region_directory``
gives the API's Open311 door the current villages. SQL is in ``store.directory``.
"""

from petitionflow.directory._files import COLUMNS, KINDS, DirectoryInvalid, Problem, detect_kind, read_files
from petitionflow.directory._import import (
    current_locators,
    current_region_directory,
    export_version,
    files_in,
    import_files,
    import_folder_once,
    region_directory,
)
from petitionflow.directory._sample import SAMPLE_SIZES, write_sample

__all__ = [
    "COLUMNS",
    "KINDS",
    "SAMPLE_SIZES",
    "DirectoryInvalid",
    "Problem",
    "current_locators",
    "current_region_directory",
    "detect_kind",
    "export_version",
    "files_in",
    "import_files",
    "import_folder_once",
    "read_files",
    "region_directory",
    "write_sample",
]
