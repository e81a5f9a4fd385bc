"""The web pages: the public echo wall and dashboard, the officials' work queue (issue: web)."""
