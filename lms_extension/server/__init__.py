"""The course platform's Jupyter Server extension, run in every lesson server.

:class:`~.app.LmsExtensionApp` (a Jupyter Server ``ExtensionApp``) holds the settings, read from
the ``LMS_*`` variables that the hub's ``LessonSpawner`` sets. On start-up it brings the course
of the lesson into the home folder (:mod:`.context`), and it serves, under ``/lms/api/``
(:mod:`.handlers`):

- ``context``: the lesson this server was started for, what was brought into the home, this
  extension's version (JupyterLab's half checks it), the idle time after which the server is
  stopped, and what one events batch may hold;
- ``events``: POST a batch of learner events, judged one by one: well-formed events are kept
  in a durable queue in the home folder (:mod:`.queue`) and forwarded to the LMS service
  (:mod:`.forwarder`, one forwarder per home: :mod:`.lease`), the others refused by index;
  GET the queue's state and the latest events set aside;
- ``outline``: the course outline with the learner's status (from the LMS service; the last
  one is kept on disk and served, marked stale, while the service cannot be reached);
- ``access``: who other than the owner used this server (admins, instructors), and when;
- ``update``: GET whether the learner repo has a newer content version and what it changes,
  POST merge it into the home (nbgitpuller, :mod:`.pull`), reporting the files both changed;
- ``surveys/<course>/<lesson>``: the lesson's survey (from the LMS service);
- ``servers``: start a lesson in another environment as another named server, and
  ``servers/<name>/progress`` follow its start; ``activity``: tell the hub the learner is
  active (:mod:`.servers`).

It imports nothing of the LMS service (:mod:`lms_extension.service`): what both sides share,
the wire format of events included, lives in :mod:`lms_extension.content`.
"""


def _jupyter_server_extension_points():
    from .app import LmsExtensionApp

    return [{"module": "lms_extension.server", "app": LmsExtensionApp}]
