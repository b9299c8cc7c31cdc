"""Packaging for the course platform.

One distribution, two sides, chosen with extras:

* ``pip install .[hub]``  - the hub side: ``LessonSpawner`` and the login options.
* ``pip install .[lab]``  - the user side, installed in every lesson image: the Jupyter
  server extension that brings a lesson's notebooks into the learner's home, and the
  JupyterLab extension (course sidebar, lesson navigation, progress capture, surveys).

The JupyterLab extension ships prebuilt: ``scripts/build-labextension.sh`` compiles
``lms_extension/lab`` (TypeScript) into ``lms_extension/labextension``, which this file installs
into ``share/jupyter/labextensions``, so installing the package needs no Node.js.

The base install (no extra) is the course-content toolkit shared by both sides and the
``lms-content`` command.
"""

from pathlib import Path

from setuptools import setup

LABEXTENSION = Path("lms_extension/labextension")
LABEXTENSION_NAME = "@lms-platform/course"


def labextension_files() -> list[tuple[str, list[str]]]:
    """``data_files`` entries for the prebuilt JupyterLab extension (none before it is built)."""
    if not (LABEXTENSION / "package.json").is_file():
        return []
    target = Path("share/jupyter/labextensions") / LABEXTENSION_NAME
    entries: dict[str, list[str]] = {str(target): ["lms_extension/lab/install.json"]}
    for path in sorted(LABEXTENSION.rglob("*")):
        if path.is_file():
            folder = target / path.parent.relative_to(LABEXTENSION)
            entries.setdefault(str(folder), []).append(path.as_posix())
    return sorted(entries.items())


# NativeAuthenticator (the embedded local-account login) does not run on JupyterHub 6 yet
JUPYTERHUB = "jupyterhub>=5.3,<6"

setup(
    name="lms-platform",
    version="0.1.0",
    description="A deep-learning course platform built as a JupyterHub extension suite",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.11",
    packages=[
        "lms_extension",
        "lms_extension.content",
        "lms_extension.service",
        "lms_extension.service.migrations",
        "lms_extension.service.migrations.versions",
        "lms_spawner",
    ],
    package_dir={"lms_spawner": "spawner"},
    package_data={
        "lms_spawner": ["templates/*.html"],
        "lms_extension.service.migrations": ["script.py.mako"],
        # JupyterLab texts in Korean (the "jupyterlab.locale" entry point below)
        "lms_extension": ["locale/*/LC_MESSAGES/*.json"],
    },
    data_files=[
        (
            "etc/jupyter/jupyter_server_config.d",
            ["lms_extension/etc/lms_extension.json"],
        ),
        *labextension_files(),
    ],
    install_requires=[
        "pydantic>=2.5",
        "pyyaml>=6",
        "nbformat>=5.9",
        "nbclient>=0.10",
        "nbstripout>=0.8",
    ],
    extras_require={
        "hub": [
            JUPYTERHUB,
            "dockerspawner>=13",
            "oauthenticator>=16",
            "jupyterhub-nativeauthenticator>=1.3",
            "jinja2>=3",
            # the LMS service, which the hub starts
            "sqlalchemy>=2",
            "alembic>=1.13",
            "psycopg[binary]>=3.1",
            # stops idle lesson servers (a hub service)
            "jupyterhub-idle-culler>=1.4",
        ],
        "lab": [
            JUPYTERHUB,
            "jupyterlab>=4.2,<5",
            "jupyter_server>=2.10",
            # merges new course content into learners' homes without losing their edits
            "nbgitpuller>=1.2",
            # JupyterLab in Korean (the extension's own Korean texts ship in this package)
            "jupyterlab-language-pack-ko-KR",
        ],
        "test": [
            "pytest>=8",
            "requests>=2.31",
            "ipykernel>=6.29",
            "pytest-jupyter[server]>=0.10",
            # the z2jh export is checked by KubeSpawner's own profile_list handling
            "jupyterhub-kubespawner>=6",
            # drives Debian's chromium in the browser tests (its driver is playwright-core;
            # no browser is downloaded)
            "playwright>=1.45",
        ],
    },
    entry_points={
        "console_scripts": [
            "lms-content = lms_extension.content.cli:main",
        ],
        "jupyterlab.locale": [
            "lms_course = lms_extension",
        ],
        "jupyterhub.spawners": [
            "lesson = lms_spawner:LessonSpawner",
            "lessonspawner = lms_spawner:LessonSpawner",
            "lesson-swarm = lms_spawner:LessonSwarmSpawner",
            "lessonswarmspawner = lms_spawner:LessonSwarmSpawner",
        ],
        "jupyterhub.authenticators": [
            "lms-native = lms_spawner.native_auth:LmsNativeAuthenticator",
        ],
    },
    classifiers=[
        "Framework :: Jupyter",
        "Framework :: Jupyter :: JupyterLab",
        "Programming Language :: Python :: 3.11",
    ],
)
