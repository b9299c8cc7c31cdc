"""Packaging for the course platform.

One distribution, two sides, chosen with extras:

* ``pip install .[hub]``  - the hub side: ``LessonSpawner`` and the login options.
* ``pip install .[lab]``  - the user side, installed in every lesson image: the Jupyter
  server extension that brings a lesson's notebooks into the learner's home, and the
  JupyterLab extension (course sidebar, lesson navigation, progress capture, surveys).

The JupyterLab extension ships prebuilt inside the wheel: every package build (``pip install .``,
``pip wheel .``, editable installs) first runs the ``build_labextension`` step
(``scripts/build_labextension.py``), which compiles ``lms_extension/lab`` (TypeScript) into
``lms_extension/labextension`` with Node.js from the build requirements (pyproject.toml), or
skips that when the build there is up to date, and installs it into
``share/jupyter/labextensions``. Installing a wheel needs no Node.js.

The version is written once, as ``__version__`` in ``lms_extension/__init__.py``.

The base install (no extra) is the course-content toolkit shared by both sides and the
``lms-content`` command.
"""

import importlib.util
from pathlib import Path

from setuptools import setup


def _build_helper():
    """scripts/build_labextension.py: the labextension build step and the package version."""
    path = Path(__file__).resolve().parent / "scripts" / "build_labextension.py"
    spec = importlib.util.spec_from_file_location("lms_build_labextension", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


labextension = _build_helper()

# NativeAuthenticator (the embedded local-account login) does not run on JupyterHub 6 yet
JUPYTERHUB = "jupyterhub>=5.3,<6"

setup(
    name="lms-platform",
    version=labextension.package_version(),
    cmdclass=labextension.cmdclass(),
    description="A deep-learning course platform built as a JupyterHub extension suite",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.11",
    packages=[
        "lms_extension",
        "lms_extension.content",
        "lms_extension.i18n",
        "lms_extension.server",
        "lms_extension.service",
        "lms_extension.service.migrations",
        "lms_extension.service.migrations.versions",
        "lms_spawner",
    ],
    package_dir={"lms_spawner": "spawner"},
    package_data={
        # the spawn form, and the hub pages in both languages (spawn, errors, branch preview)
        "lms_spawner": ["templates/*.html", "templates/hub/*.html"],
        # the dashboard's, the learner page's and the staff screens' pages
        "lms_extension.service": ["templates/*.html"],
        "lms_extension.service.migrations": ["script.py.mako"],
        # JupyterLab texts in Korean (the "jupyterlab.locale" entry point below)
        "lms_extension": ["locale/*/LC_MESSAGES/*.json"],
        # the pages' texts in Korean
        "lms_extension.i18n": ["*/*.json"],
    },
    data_files=[
        (
            "etc/jupyter/jupyter_server_config.d",
            ["lms_extension/etc/lms_extension.json"],
        ),
        # + share/jupyter/labextensions/@lms-platform/course, added by build_labextension
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
            # LTI 1.3 launches from the school's LMS, and the JWTs of grade passback
            "jupyterhub-ltiauthenticator>=1.6",
            "PyJWT[crypto]>=2.8",
            "cryptography>=41",
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
            "lms-lti-config = lms_spawner.lti_config:main",
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
