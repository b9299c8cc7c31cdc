"""``LessonMixin``: the lesson logic shared by the Docker and the Docker Swarm lesson spawners.

A spawn asks for a lesson, ``{"lesson": "<course>/<lesson>"}`` (REST body, spawn form, or a spawn
link's ``?lesson=`` query option). The lesson is resolved through the catalog of the live content
version; its environment names the image, which must pass the hub's allowed-image policy. The
server gets the learner repo of the lesson's course read-only (nothing else of the content), the
learner's persistent home volume, and ``LMS_*`` variables that tell the user-side extension
which lesson to bring into the home folder.

Nothing here knows whether the server runs as a container (``LessonSpawner``) or as a Swarm
service (``LessonSwarmSpawner``): the mixin sits before a DockerSpawner subclass and a GPU mixin
in the class's bases and uses only the hooks they share. What differs is left to two small hooks,
``clear_stale_object`` and ``exit_report``. Its settings are configurable under the concrete
class's name (``c.LessonSpawner.content_repo``, ``c.LessonSwarmSpawner.content_repo``).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import socket

from tornado import web
from traitlets import Bool, Float, List, Unicode, default, validate

from lms_extension.content.catalog import LessonRef
from lms_extension.content.errors import LessonNotFound
from lms_extension.content.images import image_allowed
from lms_extension.content.repo import ContentVersion

from .boot_queue import BootQueue
from .content_source import ContentSource, ContentUnavailable
from .form import render_form
from .preview_content import PreviewMirror, check_may_preview, load_preview
from .readiness import wait_until_answers

ACCEPTED_OPTIONS = frozenset({"lesson", "preview"})


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class LessonMixin(BootQueue):
    """Lesson → image, content, home volume and ``LMS_*`` env, for a DockerSpawner subclass."""

    content_repo = Unicode(
        "",
        help="""Git URL or local path of the course content repo the hub follows.

        Each commit of ``content_ref`` that passes validation becomes a content version; lessons
        are resolved through its catalog.
        """,
    ).tag(config=True)

    content_ref = Unicode(
        "HEAD",
        help="Branch, tag or commit of ``content_repo`` to publish ('HEAD': the remote's default).",
    ).tag(config=True)

    content_cache_dir = Unicode(
        help="""Folder where the hub keeps its mirror of the content repo, one exported folder
        per content version, and the learner repos in ``learner/`` (each lesson server gets its
        course's repo read-only; on a Swarm of several machines it must be a path every node
        has, e.g. a shared file system).

        Default: ``lms-content`` in the hub's working directory.
        """,
    ).tag(config=True)

    @default("content_cache_dir")
    def _default_content_cache_dir(self):
        return os.path.abspath("lms-content")

    content_refresh_interval = Float(
        60.0,
        help="Seconds between checks of the content repo for a new commit.",
    ).tag(config=True)

    learner_repos_mount_path = Unicode(
        "/srv/lms/learner",
        help="""Folder inside lesson servers where the learner repo of the lesson's course (a
        git repo with a commit per content version, holding only what learners get: no
        ``course.yaml``, surveys or hidden files) is mounted read-only, as ``<course>.git``.
        The server brings the course into the learner's home from there and merges later
        versions with nbgitpuller. Other courses' repos and the content repo itself are never
        mounted.""",
    ).tag(config=True)

    allowed_image_patterns = List(
        Unicode(),
        default_value=["lms/*"],
        help="""The hub's allowed-image policy: shell-style patterns (``fnmatch``) an environment
        image must match. A lesson whose image matches none is refused with HTTP 400. The
        course decides which image a lesson needs; this policy has the last word.
        """,
    ).tag(config=True)

    default_lesson = Unicode(
        "",
        help="""Lesson (``course/lesson``) started when a spawn names none and the user has no
        previous lesson. Empty: the first lesson of the first course.
        """,
    ).tag(config=True)

    home_volume_name_template = Unicode(
        "lms-home-{username}",
        help="""Name of the learner's persistent Docker volume, mounted at ``notebook_dir`` in
        every lesson server, so work survives restarts and image switches.
        """,
    ).tag(config=True)

    host_networking = Bool(
        False,
        help="""Run lesson servers on the host's network: each server gets a free port on
        ``host_networking_ip``. Sets ``network_name`` to ``host``.
        """,
    ).tag(config=True)

    host_networking_ip = Unicode(
        "127.0.0.1",
        help="""Address lesson servers listen on with ``host_networking``. On a Swarm of several
        machines use ``0.0.0.0``: the hub then reaches each server at the address of the node
        it runs on.""",
    ).tag(config=True)

    lms_service_url = Unicode(
        "",
        help="""URL of the LMS service as lesson servers reach it (e.g.
        ``http://127.0.0.1:10101/services/lms`` with host networking), given to them as
        ``LMS_SERVICE_URL``: their server extension forwards learner events there. Empty: events
        stay queued in the learner's home.
        """,
    ).tag(config=True)

    preview_groups = List(
        Unicode(),
        default_value=["editors"],
        help="""Hub groups whose members (and hub admins) may preview a branch or pull-request
        ref of the content repo: ``{"lesson": "course/lesson", "preview": "<ref>"}`` starts the
        lesson at that ref, unpublished, in the named server ``preview_server_name``, with a
        home of its own that lives as long as its container and no events forwarded.""",
    ).tag(config=True)

    preview_server_name = Unicode(
        "preview",
        help="""The named server previews run in (one per editor; a preview of another ref or
        lesson replaces it).""",
    ).tag(config=True)

    ready_poll_interval = Float(
        0.05,
        help="""Seconds between checks that a starting lesson server answers. ``start()`` returns
        once it does, so the hub's own (exponentially backed-off) check passes at once.
        """,
    ).tag(config=True)

    # set for the lesson being started
    lesson_ref: LessonRef | None = None
    content_version: str = ""
    content_path: str = ""
    preview: str = ""  # "<ref>@<commit>" while a preview runs
    preview_learner_dir: str = ""
    _preview_ref: str = ""
    _progress_message: str = ""

    @default("network_name")
    def _default_network_name(self):
        if self.host_networking:
            return "host"
        parent = getattr(super(), "_default_network_name", None)
        return parent() if parent else "bridge"

    @default("use_internal_ip")
    def _default_use_internal_ip(self):
        # host networking publishes no ports: the server listens on the host's address itself
        return self.host_networking or super()._default_use_ip()

    @default("notebook_dir")
    def _default_notebook_dir(self):
        return "/home/jovyan"

    @default("volumes")
    def _default_volumes(self):
        return {self.home_volume_name_template: self.notebook_dir}

    @default("options_form")
    def _default_options_form(self):
        return self._lesson_options_form

    @default("apply_user_options")
    def _default_apply_user_options(self):
        return self._apply_lesson_options

    @default("options_from_form")
    def _default_options_from_form(self):
        return self._lesson_options_from_form

    @validate("allowed_image_patterns")
    def _validate_patterns(self, proposal):
        return [p.strip() for p in proposal.value if p.strip()]

    # -- content ---------------------------------------------------------------------------

    @property
    def content(self) -> ContentSource:
        if not self.content_repo:
            raise web.HTTPError(500, f"{type(self).__name__}.content_repo is not configured")
        return ContentSource.shared(
            self.content_repo,
            self.content_ref,
            self.content_cache_dir,
            self.content_refresh_interval,
        )

    async def _lesson_options_form(self, spawner):
        try:
            version = await self.content.current()
        except ContentUnavailable as exc:
            return render_form(None, error=str(exc))
        selected = (self.orm_spawner.user_options or {}).get("lesson", "") if self.orm_spawner else ""
        return render_form(version.catalog, selected=str(selected),
                           gpu_status=await self.gpu_status())

    @staticmethod
    def _lesson_options_from_form(form_data):
        lesson = form_data.get("lesson") or [""]
        options = {"lesson": lesson[0] if isinstance(lesson, list) else lesson}
        preview = form_data.get("preview")
        if preview:  # a preview link (/hub/spawn/<user>/preview?lesson=…&preview=<ref>)
            options["preview"] = preview[0] if isinstance(preview, list) else preview
        return options

    def check_image_allowed(self, image: str) -> bool:
        """Whether the allowed-image policy admits ``image``."""
        return image_allowed(image, self.allowed_image_patterns)

    async def resolve_lesson(self, user_options: dict) -> tuple[LessonRef, str]:
        """The lesson asked for and the content version's commit; HTTP 400 on bad options."""
        if not isinstance(user_options, dict):
            raise web.HTTPError(400, "user options must be a JSON object like {\"lesson\": \"course/lesson\"}")
        if "image" in user_options:
            raise web.HTTPError(
                400,
                "user option 'image' is not accepted: ask for a lesson "
                "({\"lesson\": \"course/lesson\"}) and its environment picks the image",
            )
        unknown = sorted(set(user_options) - ACCEPTED_OPTIONS)
        if unknown:
            raise web.HTTPError(400, f"unknown user option(s): {', '.join(map(repr, unknown))}")
        if "preview" in user_options:
            version = await self.preview_version(user_options["preview"])
        else:
            try:
                version = await self.content.current()
            except ContentUnavailable as exc:
                raise web.HTTPError(503, str(exc)) from None
        key = user_options.get("lesson") or self.default_lesson
        if not key:
            lessons = version.catalog.lessons()
            key = lessons[0].key
        try:
            ref = version.catalog.resolve(key)
        except LessonNotFound as exc:
            raise web.HTTPError(400, f"lesson: {exc}") from None
        image = ref.environment.image
        if not self.check_image_allowed(image):
            raise web.HTTPError(
                400,
                f"lesson {ref.key!r} needs image {image!r} (environment "
                f"{ref.environment_name!r}), which the allowed-image policy "
                f"({', '.join(self.allowed_image_patterns) or 'empty'}) refuses",
            )
        return ref, version

    async def preview_version(self, ref) -> ContentVersion:
        """The content of ``ref`` for a preview (:mod:`.preview_content`): HTTP 403 for users
        who may not preview, 400 for a bad ref, another server or content that fails
        validation."""
        check_may_preview(self.user, self.preview_groups)
        if self.name != self.preview_server_name:
            raise web.HTTPError(400, f"preview: previews run in your named server "
                                     f"{self.preview_server_name!r}, not {self.name!r}")
        if not self.content_repo:
            raise web.HTTPError(500, f"{type(self).__name__}.content_repo is not configured")
        self._preview_ref, version = await load_preview(self.content_repo, ref,
                                                        self.content_cache_dir)
        self.preview_learner_dir = str(PreviewMirror.learner_dir_of(self.content_cache_dir,
                                                                    version.sha))
        return version

    # -- spawner hooks ---------------------------------------------------------------------

    async def _apply_lesson_options(self, spawner, user_options):
        """The default ``apply_user_options`` hook: resolve the lesson and set image and env."""
        ref, version = await self.resolve_lesson(user_options)
        ref = await self.take_gpus(ref)  # the CPU fallback when no GPU is free
        if not self.check_image_allowed(ref.environment.image):
            self.release_gpus()
            raise web.HTTPError(400, f"lesson {ref.key!r} falls back to image "
                                     f"{ref.environment.image!r}, which the policy refuses")
        self.lesson_ref = ref
        self.content_version = version.sha
        self.content_path = str(version.path)
        self.preview = f"{self._preview_ref}@{version.sha}" if "preview" in user_options else ""
        self.image = ref.environment.image
        self.limits = self.resolve_limits(ref)
        notebook = posixpath.join(ref.course.slug, ref.first_notebook)
        self.default_url = f"/lab/tree/{notebook}"

    def clear_state(self):
        super().clear_state()
        self.release_gpus()
        self.lesson_ref = None
        self.content_version = self.content_path = self.preview = ""

    async def start(self):
        if self.lesson_ref is None:
            # a deployment replaced apply_user_options: the lesson still decides the image
            await self._apply_lesson_options(self, self.user_options)
        if self.host_networking:
            self.ip = self.host_networking_ip
            self.port = free_port(self.ip)
        await self.clear_stale_object()
        if self.preview and await self.get_object():
            # a preview starts from a fresh container: nothing of an earlier preview stays
            await self.stop_object()
            await self.remove_object()
            self.object_id = ""
        starting = (f"Starting {self.lesson_ref.lesson.title} in {self.image}"
                    f"{self.gpu_summary()}")

        def waiting(ahead: int) -> None:
            self._progress_message = (f"Waiting to start: {ahead} lesson server"
                                      f"{'s are' if ahead != 1 else ' is'} starting before "
                                      "yours")

        # a warm pooled server (PoolClaim) is claimed, not booted: its turn is in the claims' queue
        turn = self.boot_turn(waiting, claim=getattr(self, "pool_slot", None) is not None)
        try:
            async with turn:
                self._progress_message = starting
                ip, port = await super().start()
                await self._wait_until_ready(ip, port)
        except BaseException:
            self.release_gpus()
            raise
        return ip, port

    async def stop(self, now=False):
        try:
            await super().stop(now=now)
        finally:
            self.release_gpus()

    async def clear_stale_object(self) -> None:
        """Remove a kept container or service that cannot serve this start (here: none)."""

    async def exit_report(self) -> str:
        """What the server said before it exited during start-up (its last log lines)."""
        return ""

    async def _wait_until_ready(self, ip: str, port: int):
        url = f"http://{ip}:{port}{self.server.base_url}api"
        answered = await wait_until_answers(
            url,
            timeout=self.http_timeout,
            interval=self.ready_poll_interval,
            still_running=self._still_running,
        )
        if not answered and await self.poll() is not None:
            raise RuntimeError(
                f"lesson server for {self.lesson_ref.key} exited during start-up; its last log "
                f"lines:\n{await self.exit_report()}"
            )

    async def _still_running(self) -> bool:
        return await self.poll() is None

    async def get_ip_and_port(self):
        if self.host_networking:
            return self.ip, self.port
        return await super().get_ip_and_port()

    @property
    def volume_binds(self):
        binds = super().volume_binds
        for source in binds:
            if str(source).rstrip("/").endswith("docker.sock"):
                raise RuntimeError(f"refusing to mount {source} into a lesson server: the "
                                   "Docker socket gives whoever holds it the host")
        if self.preview:  # never the learner's home: a preview's home lives with its container
            binds.pop(self.format_volume_name(self.home_volume_name_template, self), None)
        repo = self.learner_repo_path()
        if repo:
            # only this course's learner files: never course.yaml, surveys, other courses or
            # hidden files, which stay on the hub side
            binds[repo] = {"bind": posixpath.join(self.learner_repos_mount_path,
                                                  os.path.basename(repo)), "mode": "ro"}
        return binds

    def learner_repo_path(self) -> str:
        """The hub-side path of the learner repo of the lesson's course ('' if none)."""
        ref = self.lesson_ref
        if ref is None or not self.content_path:
            return ""
        learner = self.preview_learner_dir if self.preview else os.path.join(
            self.content_cache_dir, "learner")
        repo = os.path.join(learner, f"{ref.course.slug}.git")
        return repo if os.path.isdir(repo) else ""

    def get_env(self):
        env = super().get_env()
        ref = self.lesson_ref
        if ref is not None:
            env.update(
                LMS_COURSE=ref.course.slug,
                LMS_LESSON=ref.lesson.slug,
                LMS_CONTENT_VERSION=self.content_version,
                LMS_ENVIRONMENT=ref.environment_name,
            )
            repo = self.learner_repo_path()
            if repo:
                env["LMS_LEARNER_REPO"] = posixpath.join(self.learner_repos_mount_path,
                                                         os.path.basename(repo))
        if self.preview:  # marked as a preview; its events reach no one
            env["LMS_PREVIEW"] = self.preview
        elif self.lms_service_url:
            env["LMS_SERVICE_URL"] = self.lms_service_url
        return env

    def get_state(self):
        state = super().get_state()
        ref = self.lesson_ref
        if ref is not None and self.object_id:
            state["lesson"] = ref.key
            state["content_version"] = self.content_version
            if self.preview:
                state["preview"] = self.preview
        return state

    async def progress(self):
        # the message changes while a start waits (e.g. for a Swarm node with a free GPU)
        shown = ""
        while True:
            if self._progress_message and self._progress_message != shown:
                shown = self._progress_message
                yield {"progress": 50, "message": shown}
            if self.pending != "spawn":
                return
            await asyncio.sleep(0.25)
