"""Packaging for the course platform.

One distribution, two sides, chosen with extras:

* ``pip install .[hub]``  - the hub side: ``LessonSpawner`` and the login options.
* ``pip install .[lab]``  - the user side, installed in every lesson image: the Jupyter
  server extension that brings a lesson's notebooks into the learner's home.

The base install (no extra) is the course-content toolkit shared by both sides and the
``lms-content`` command.
"""

from setuptools import setup

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
    },
    data_files=[
        (
            "etc/jupyter/jupyter_server_config.d",
            ["lms_extension/etc/lms_extension.json"],
        ),
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
        ],
        "test": [
            "pytest>=8",
            "requests>=2.31",
            "ipykernel>=6.29",
            "pytest-jupyter[server]>=0.10",
            # the z2jh export is checked by KubeSpawner's own profile_list handling
            "jupyterhub-kubespawner>=6",
        ],
    },
    entry_points={
        "console_scripts": [
            "lms-content = lms_extension.content.cli:main",
        ],
        "jupyterhub.spawners": [
            "lesson = lms_spawner:LessonSpawner",
            "lessonspawner = lms_spawner:LessonSpawner",
        ],
    },
    classifiers=[
        "Framework :: Jupyter",
        "Framework :: Jupyter :: JupyterLab",
        "Programming Language :: Python :: 3.11",
    ],
)
