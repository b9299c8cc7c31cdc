"""``lms-content export-z2jh``: the catalog as Zero to JupyterHub values, so a Kubernetes
deployment offers the same lessons in the same images.

One ``singleuser.profileList`` entry per course, with a ``lesson`` option whose choices are the
course's lessons in the course's order; a choice sets its environment's image, resources and
GPUs as KubeSpawner overrides, ``LMS_COURSE``/``LMS_LESSON``, and opens the lesson's first
notebook. ``prePuller.extraImages`` lists every image.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from .catalog import Catalog, load_catalog
from .errors import ContentError
from .model import parse_bytes


def _quantity(value: str) -> str:
    """``4G`` → ``4Gi`` (Kubernetes quantities)."""
    return f"{parse_bytes(value) // 2**20}Mi"


def _environment_override(env) -> dict:
    override: dict = {"image": env.image}
    res = env.resources
    if res.memory:
        override["mem_limit"] = res.memory
    if res.cpus:
        override["cpu_limit"] = res.cpus
    if env.gpu:
        override["extra_resource_limits"] = {"nvidia.com/gpu": str(env.gpu)}
    if res.shm:
        override["volumes"] = [{"name": "dshm", "emptyDir": {"medium": "Memory",
                                                             "sizeLimit": _quantity(res.shm)}}]
        override["volume_mounts"] = [{"name": "dshm", "mountPath": "/dev/shm"}]
    return override


def _image_name(image: str) -> tuple[str, str]:
    if ":" in image.split("/")[-1]:
        name, _, tag = image.rpartition(":")
        return name, tag
    return image, "latest"


def z2jh_values(catalog: Catalog) -> dict:
    """One profile per course whose ``lesson`` choices follow the course's order; each choice
    carries its environment's image, resources and GPUs."""
    profiles, images = [], {}
    for course in catalog.courses.values():
        choices = {}
        for number, lesson in enumerate(course.lessons):
            env_name = course.environment_name(lesson)
            env = course.environments[env_name]
            choices[lesson.slug] = {
                "display_name": f"{number + 1}. {lesson.title} ({env_name})",
                "default": number == 0,
                "kubespawner_override": {
                    **_environment_override(env),
                    "environment": {"LMS_COURSE": course.slug, "LMS_LESSON": lesson.slug,
                                    "LMS_ENVIRONMENT": env_name},
                    "default_url": f"/lab/tree/{course.slug}/{lesson.notebooks[0]}",
                },
            }
        used = dict.fromkeys(course.environment_name(lesson) for lesson in course.lessons)
        described = []
        for env_name in used:
            env = course.environments[env_name]
            described.append(f"{env_name}: {env.image}" + (f", {env.gpu} GPU" if env.gpu else ""))
            name, tag = _image_name(env.image)
            images[re.sub(r"[^a-z0-9-]", "-", env.image.lower())] = {"name": name, "tag": tag}
        profiles.append({
            "display_name": course.title,
            "slug": course.slug,
            "description": f"{len(course.lessons)} lessons in order ({'; '.join(described)})",
            "profile_options": {"lesson": {"display_name": "Lesson", "choices": choices}},
        })
    if profiles:
        profiles[0]["default"] = True
    return {"singleuser": {"profileList": profiles}, "prePuller": {"extraImages": images}}


def run(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog(Path(args.path))
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    text = ("# Zero to JupyterHub values written by lms-content export-z2jh; merge them into\n"
            "# your config.yaml (helm upgrade --values config.yaml --values this-file).\n"
            + yaml.safe_dump(z2jh_values(catalog), sort_keys=False, allow_unicode=True))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def add_parser(sub) -> None:
    cmd = sub.add_parser("export-z2jh", help="write Zero to JupyterHub profiles for the lessons")
    cmd.add_argument("path", help="a content repo or a course folder")
    cmd.add_argument("-o", "--output", help="file to write (default: standard output)")
    cmd.set_defaults(func=run)
