"""Trailbook's own server logs: one file per area in the logs folder, rotated by size
into dated gzip copies, with a level per area that can change while the server runs.

``areas`` names the areas and the loggers each one takes, ``files`` writes and rotates
the files, ``setup`` installs it all in a process, ``tail`` reads a file's last lines."""

from trailbook.logs.areas import AREAS, LEVELS, TRACE, area_of, level_name, level_number

__all__ = ["AREAS", "LEVELS", "TRACE", "area_of", "level_name", "level_number"]
