"""The lesson server's extension app: its settings, and the parts they make.

Every setting is a trait of :class:`LmsExtensionApp` (``c.LmsExtensionApp.<name>`` in a Jupyter
Server config file). The hub's ``LessonSpawner`` sets the lesson's ones in the container's
environment; the defaults are read from those variables here, and nowhere else.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Float, Integer, TraitError, Unicode, default, validate

from .. import __version__
from .access import HubVisits
from .context import bring_in
from .forwarder import EventForwarder
from .handlers import ROUTES
from .http import TokenClient
from .lease import HomeLease
from .outline import OutlineSource
from .prestart import notebook_of, start_lesson_kernel
from .queue import EventQueue
from .servers import HubServers


def from_env(trait: str, variable: str, number: bool = False):
    """The default of ``trait``: environment variable ``variable`` (absent or empty: the
    trait's own default). With ``number``, a value that is not a whole number of at least 0
    stops the extension with a message naming the variable."""

    @default(trait)
    def _default(self):
        raw = os.environ.get(variable, "").strip()
        if not raw:
            return self.traits()[trait].default_value
        if not number:
            return raw
        try:
            value = int(float(raw))
        except ValueError:
            raise TraitError(f"{variable}: {raw!r} is not a number") from None
        if value < 0:
            raise TraitError(f"{variable}: {raw!r} is less than 0")
        return value

    return _default


class LmsExtensionApp(ExtensionApp):
    """The course platform's server extension in lesson servers (:mod:`lms_extension.server`)."""

    name = "lms_extension"
    description = __doc__
    load_other_extensions = True

    # -- the lesson (set by the hub's LessonSpawner) ------------------------------------------
    course = Unicode("", help="Course slug of the lesson this server was started for "
                     "(LMS_COURSE).").tag(config=True)
    lesson = Unicode("", help="Lesson slug this server was started for (LMS_LESSON).").tag(
        config=True)
    content_version = Unicode("", help="Content version (commit) the lesson was started at "
                              "(LMS_CONTENT_VERSION).").tag(config=True)
    environment = Unicode("", help="The lesson's environment name (LMS_ENVIRONMENT).").tag(
        config=True)
    learner_repo = Unicode("", help="Path or URL of the course's learner repo, cloned into "
                           "<home>/<course> and merged on updates (LMS_LEARNER_REPO).").tag(
        config=True)
    preview = Unicode("", help="Set for an editor's preview of an unpublished ref of the content "
                      "repo, as '<ref>@<commit>' (LMS_PREVIEW): JupyterLab marks the server as a "
                      "preview, and no event is forwarded to the LMS service.").tag(config=True)
    content_dir = Unicode("", help="Without a learner repo: a read-only folder holding the "
                          "course at its content version, from which the lesson's files are "
                          "copied (LMS_CONTENT_DIR).").tag(config=True)

    # -- the hub and the LMS service ----------------------------------------------------------
    service_url = Unicode("", help="The LMS service as this server reaches it, e.g. "
                          "http://10.213.0.1:10101/services/lms (LMS_SERVICE_URL). Empty: events "
                          "stay queued and the outline is empty.").tag(config=True)
    hub_api_url = Unicode("", help="The hub's REST API (JUPYTERHUB_API_URL).").tag(config=True)
    token = Unicode("", help="This server's hub token, sent to the hub and the LMS service "
                    "(JUPYTERHUB_API_TOKEN).").tag(config=True)
    user = Unicode("", help="The learner who owns this server (JUPYTERHUB_USER).").tag(
        config=True)
    server_name = Unicode("", help="This server's name among the learner's named servers "
                          "(JUPYTERHUB_SERVER_NAME; empty: the default server).").tag(config=True)

    # -- behaviour ----------------------------------------------------------------------------
    idle_timeout = Integer(0, help="Seconds of inactivity after which the hub stops this server "
                           "(LMS_IDLE_TIMEOUT; 0: never). JupyterLab warns the learner shortly "
                           "before; the server's own shutdown_no_activity_timeout counts when "
                           "shorter.").tag(config=True)
    state_dir = Unicode(help="Folder in the learner's home (which outlives the container) for "
                        "the event queue, its lock and the saved outline; shared by the "
                        "learner's servers on the same home volume.").tag(config=True)
    forward_interval = Float(5.0, help="Seconds between tries to forward queued events to the "
                             "LMS service (new events are forwarded at once).").tag(config=True)
    max_pause = Float(60.0, help="Longest wait between tries while the LMS service cannot be "
                      "reached (the wait doubles from 2 seconds).").tag(config=True)
    batch_max_bytes = Integer(65_536, help="Largest body of one events batch sent to the LMS "
                              "service; the service's published max_body_bytes caps it too."
                              ).tag(config=True)
    batch_max_events = Integer(200, help="Most events in one batch sent to the LMS service; the "
                               "service's published max_events_per_batch caps it too.").tag(
        config=True)
    events_max_body_bytes = Integer(262_144, help="Largest body JupyterLab may POST to "
                                    "/lms/api/events (larger: 413, and JupyterLab sends fewer "
                                    "events at once).").tag(config=True)
    prestart_kernel = Bool(True, help="Start the kernel of the notebook this server opens "
                           "first (prestart_notebook) as the server starts, while JupyterLab "
                           "loads, so that JupyterLab finds its session and kernel already "
                           "there (LMS_PRESTART_KERNEL=0 or false: the kernel starts when "
                           "JupyterLab opens the notebook).").tag(config=True)
    prestart_notebook = Unicode(help="The notebook whose kernel is started ahead, relative to "
                                "the server's root; default: the one JupyterHub's default URL "
                                "opens (JUPYTERHUB_DEFAULT_URL, /lab/tree/<path>, which the "
                                "hub sets to the lesson's first notebook).").tag(config=True)
    outline_max_age = Float(30.0, help="Seconds the course outline from the LMS service is "
                            "served from the saved copy before it is fetched again.").tag(
        config=True)
    outline_wait = Float(2.0, help="Seconds a request for the course outline waits for the LMS "
                         "service when a saved outline exists; after that the saved one is "
                         "served, marked stale, and the service's answer, when it comes, is "
                         "saved for the next request.").tag(config=True)

    _course_env = from_env("course", "LMS_COURSE")
    _lesson_env = from_env("lesson", "LMS_LESSON")
    _content_version_env = from_env("content_version", "LMS_CONTENT_VERSION")
    _environment_env = from_env("environment", "LMS_ENVIRONMENT")
    _learner_repo_env = from_env("learner_repo", "LMS_LEARNER_REPO")
    _content_dir_env = from_env("content_dir", "LMS_CONTENT_DIR")
    _preview_env = from_env("preview", "LMS_PREVIEW")
    _service_url_env = from_env("service_url", "LMS_SERVICE_URL")
    _hub_api_url_env = from_env("hub_api_url", "JUPYTERHUB_API_URL")
    _token_env = from_env("token", "JUPYTERHUB_API_TOKEN")
    _user_env = from_env("user", "JUPYTERHUB_USER")
    _server_name_env = from_env("server_name", "JUPYTERHUB_SERVER_NAME")
    _idle_timeout_env = from_env("idle_timeout", "LMS_IDLE_TIMEOUT", number=True)

    @default("prestart_kernel")
    def _default_prestart_kernel(self):
        raw = os.environ.get("LMS_PRESTART_KERNEL", "").strip().lower()
        if raw in ("", "1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise TraitError(f"LMS_PRESTART_KERNEL: {raw!r} is not one of 1, 0, true, false")

    @default("prestart_notebook")
    def _default_prestart_notebook(self):
        return notebook_of(os.environ.get("JUPYTERHUB_DEFAULT_URL", "")
                           or getattr(self.serverapp, "default_url", ""))

    @default("state_dir")
    def _default_state_dir(self):
        return os.path.join(os.path.expanduser("~"), ".local", "share", "lms")

    @validate("outline_wait")
    def _wait_not_negative(self, proposal):
        if proposal.value < 0:
            raise TraitError(f"LmsExtensionApp.outline_wait: {proposal.value} is less than 0")
        return proposal.value

    @validate("idle_timeout", "batch_max_bytes", "batch_max_events", "events_max_body_bytes")
    def _not_negative(self, proposal):
        if proposal.value < 0 or (proposal.trait.name != "idle_timeout" and proposal.value < 1):
            raise TraitError(f"LmsExtensionApp.{proposal.trait.name}: {proposal.value} is out "
                             "of range")
        return proposal.value

    # -- the parts, made from the settings ----------------------------------------------------
    lesson_context: dict
    puller = None
    queue: EventQueue
    forwarder: EventForwarder
    outline: OutlineSource
    visits: HubVisits
    hub_servers: HubServers

    def initialize_settings(self):
        super().initialize_settings()
        state = Path(self.state_dir)
        self.lesson_context = {
            "version": __version__, "course": self.course, "lesson": self.lesson,
            "content_version": self.content_version, "environment": self.environment,
            "user": self.user, "server_name": self.server_name,
            "idle_timeout": self.effective_idle_timeout(), "materialized": None, "error": "",
            "preview": self.preview or None,
        }
        self.puller = bring_in(self.lesson_context, Path(self.serverapp.root_dir),
                               self.learner_repo, self.content_dir, self.log)
        service = TokenClient(self.service_url, self.token)
        self.queue = EventQueue(state / "events.sqlite")
        self.outline = OutlineSource(service, self.user, state / "outline.json",
                                     self.outline_max_age,
                                     pending=lambda: self.queue.counts()["queued"],
                                     max_wait=self.outline_wait)
        holder = f"{self.user}/{self.server_name or '(default)'} on {socket.gethostname()}"
        # a preview's events stay in its own queue: its forwarder has no service to send to
        forward_to = TokenClient("", self.token) if self.preview else service
        self.forwarder = EventForwarder(
            self.queue, forward_to, HomeLease(state / "events.lock", holder),
            max_batch_bytes=self.batch_max_bytes, max_batch_events=self.batch_max_events,
            max_pause=self.max_pause, retry_pause=self.forward_interval,
            on_taken=self.outline.invalidate, logger=self.log)
        self.hub_servers = HubServers(TokenClient(self.hub_api_url, self.token), self.user)
        self.visits = HubVisits(TokenClient(self.hub_api_url, self.token), self.user)
        if self.prestart_kernel and self.prestart_notebook:
            # the first thing the event loop does, before the server even listens
            self.serverapp.io_loop.add_callback(self._prestart)
        if self.preview:
            self.log.info("lms_extension: preview of %s; events are not forwarded", self.preview)
        elif not self.service_url:
            self.log.warning("lms_extension: no LMS_SERVICE_URL; events stay queued")

    async def _prestart(self) -> None:
        try:
            self._prestarted = await start_lesson_kernel(self.serverapp,
                                                         self.prestart_notebook, self.log)
        except Exception as exc:  # noqa: BLE001 - JupyterLab starts the kernel as usual
            self.log.warning("lms_extension: the kernel of %s was not started ahead: %s",
                             self.prestart_notebook, exc)

    def initialize_handlers(self):
        super().initialize_handlers()
        self.handlers.extend((f"lms/api/{path}", handler) for path, handler in ROUTES)

    def effective_idle_timeout(self) -> int:
        """Seconds of inactivity after which this server is stopped (0: never)."""
        limits = [self.idle_timeout,
                  int(getattr(self.serverapp, "shutdown_no_activity_timeout", 0) or 0)]
        positive = [t for t in limits if t > 0]
        return min(positive) if positive else 0

    async def _start_jupyter_server_extension(self, serverapp):
        await super()._start_jupyter_server_extension(serverapp)
        if self.service_url and not self.preview:  # a preview's events reach no one
            self._forwarding = PeriodicCallback(self.forwarder.flush,
                                                self.forward_interval * 1000)
            self._forwarding.start()
            self.forwarder.kick()  # events left from before this server started

    async def stop_extension(self):
        await super().stop_extension()
        forwarding = getattr(self, "_forwarding", None)
        if forwarding is not None:
            forwarding.stop()
        self.forwarder.lease.release()
        self.queue.close()
