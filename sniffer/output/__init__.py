"""Views of records for the terminal and for scripts: text lines, JSON and JSON Lines."""
