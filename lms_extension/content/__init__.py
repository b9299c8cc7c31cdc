"""Course content: the repo format, its loader and the ``lms-content`` command.

Shared by the hub (``LessonSpawner``), the LMS service and the user-side server extension; it
imports neither JupyterHub nor Jupyter Server.
"""

from .catalog import Catalog, LessonRef, load_catalog
from .errors import ContentError, LessonNotFound, Problem
from .model import Course, Environment, Lesson

__all__ = [
    "Catalog",
    "ContentError",
    "Course",
    "Environment",
    "Lesson",
    "LessonNotFound",
    "LessonRef",
    "Problem",
    "load_catalog",
]
