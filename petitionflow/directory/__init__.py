"""The county's own directory: importing its grid, offices, roster and households (issue: directory)."""
