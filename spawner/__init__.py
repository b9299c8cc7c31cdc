"""Hub side: ``LessonSpawner`` starts each lesson in its own environment image."""

from .lesson_spawner import LessonSpawner

__all__ = ["LessonSpawner"]
