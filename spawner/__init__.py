"""Hub side: the lesson spawners start each lesson in its own environment image.

``LessonSpawner`` runs it as a container on one Docker engine (``spawner_class = "lesson"``),
``LessonSwarmSpawner`` as a Docker Swarm service (``spawner_class = "lesson-swarm"``); both share
the lesson logic of ``LessonMixin``.
"""

from .lesson_mixin import LessonMixin
from .lesson_spawner import LessonSpawner
from .swarm_spawner import LessonSwarmSpawner

__all__ = ["LessonMixin", "LessonSpawner", "LessonSwarmSpawner"]
