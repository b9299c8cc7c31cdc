# JupyterHub configuration of the course platform, driven by environment settings.
#
# Run:  jupyterhub -f hub_config/jupyterhub_config.py
# Every setting below is documented in README.md ("Configuration"). Unset settings fall back to
# the embedded default: a laptop demo on 127.0.0.1 with local accounts and SQLite.
import os
import sys

c = get_config()


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_flag(name, default):
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name, default).strip()
    try:
        return int(value)
    except ValueError:
        sys.exit(f"{name}: {value!r} is not a whole number")


state_dir = os.path.abspath(os.environ.get("LMS_STATE_DIR", ".state"))
os.makedirs(state_dir, exist_ok=True)

# -- the hub -------------------------------------------------------------------------------------
c.JupyterHub.ip = os.environ.get("LMS_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("LMS_HUB_PORT", "8000"))
c.JupyterHub.hub_port = int(os.environ.get("LMS_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = os.environ.get("LMS_PROXY_API_URL", "http://127.0.0.1:8001")
c.ConfigurableHTTPProxy.pid_file = os.path.join(state_dir, "jupyterhub-proxy.pid")
c.JupyterHub.db_url = os.environ.get(
    "LMS_HUB_DB_URL", "sqlite:///" + os.path.join(state_dir, "jupyterhub.sqlite")
)
# a SQLite hub database (and its journal) is readable by its owner only, like the cookie secret
from lms_extension.service.private_files import private_sqlite_file  # noqa: E402

private_sqlite_file(c.JupyterHub.db_url)
c.JupyterHub.cookie_secret_file = os.path.join(state_dir, "jupyterhub_cookie_secret")
# per-user origins: each learner's server at <name>.<host>, the LMS service at
# lms--service.<host>, so JavaScript in a learner's home cannot act with a visitor's hub login
from lms_spawner.origins import subdomain_host  # noqa: E402

c.JupyterHub.subdomain_host = subdomain_host(
    os.environ.get("LMS_SUBDOMAIN_HOST"), c.JupyterHub.ip, c.JupyterHub.port
)
# the hub's pages (spawn form, spawn errors) in the request's language: the lms-lang cookie of
# the language switch, else the browser's Accept-Language (Korean or English)
from lms_spawner.language import HUB_TEMPLATES, RequestLanguage, template_vars  # noqa: E402

c.JupyterHub.template_paths = [HUB_TEMPLATES]
c.JupyterHub.template_vars = template_vars()
c.JupyterHub.tornado_settings = {"transforms": [RequestLanguage]}
# lesson servers keep running while the hub restarts or upgrades
c.JupyterHub.cleanup_servers = False
# a lesson in another environment runs as another named server of the same learner
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = int(os.environ.get("LMS_NAMED_SERVER_LIMIT", "5"))

# -- lessons ---------------------------------------------------------------------------------------
# docker: each lesson server a container on this machine's engine (LessonSpawner);
# swarm: a Docker Swarm service, placed by the Swarm on any node (LessonSwarmSpawner)
spawner = os.environ.get("LMS_SPAWNER", "docker")
if spawner == "docker":
    c.JupyterHub.spawner_class = "lesson"
    lessons = c.LessonSpawner
elif spawner == "swarm":
    c.JupyterHub.spawner_class = "lesson-swarm"
    lessons = c.LessonSwarmSpawner
else:
    raise ValueError(f"LMS_SPAWNER={spawner!r} is not one of: docker, swarm")
lessons.content_repo = os.environ.get("LMS_CONTENT_REPO", "")
lessons.content_ref = os.environ.get("LMS_CONTENT_REF", "HEAD")
lessons.content_refresh_interval = float(os.environ.get("LMS_CONTENT_REFRESH_INTERVAL", "60"))
lessons.content_cache_dir = os.path.join(state_dir, "content")
lessons.allowed_image_patterns = env_list("LMS_ALLOWED_IMAGES", "lms/*")
# every lesson server's memory, CPUs, processes and /dev/shm: LMS_DEFAULT_* where its environment
# names none, at most LMS_MAX_*; a bad value (2GB, -1, lots) stops the hub, naming the variable
from lms_spawner.limit_settings import apply_env_settings  # noqa: E402

apply_env_settings(lessons, os.environ)
# where lesson servers run: by default on a private Docker network that the platform creates
# (internal: no route out of it; no traffic between containers), with the hub's API and the LMS
# service listening on its gateway address, out of reach of anything a learner runs; host
# networking only as an explicit opt-in for engines without bridge networks (see README,
# "Security model")
host_networking = env_flag("LMS_HOST_NETWORKING", "0")
lessons.host_networking = host_networking
if host_networking:
    hub_side_ip = "127.0.0.1"
    from lms_spawner.network import host_networking_warnings  # noqa: E402
    from urllib.parse import urlparse  # noqa: E402

    for warning in host_networking_warnings({
        "LMS_HUB_PORT": c.JupyterHub.port,
        "LMS_HUB_API_PORT": c.JupyterHub.hub_port,
        "LMS_PROXY_API_URL": urlparse(c.ConfigurableHTTPProxy.api_url).port or 80,
        "LMS_SERVICE_PORT": int(os.environ.get("LMS_SERVICE_PORT", "10101")),
    }):
        print(f"WARNING: {warning}", file=sys.stderr)
elif spawner == "docker":
    from lms_spawner.network import lesson_network  # noqa: E402

    lesson_net = lesson_network(
        os.environ.get("LMS_NETWORK", "lms-lessons"),
        os.environ.get("LMS_NETWORK_SUBNET", "10.213.0.0/20"),
        internal=not env_flag("LMS_LESSON_INTERNET", "0"),
    )
    lessons.network_name = lesson_net.name
    hub_side_ip = lesson_net.gateway
else:  # Swarm services on an overlay network (c.LessonSwarmSpawner.network_name)
    hub_side_ip = "127.0.0.1"
c.JupyterHub.hub_ip = hub_side_ip
# Swarm nodes fetch images themselves
default_pull = "skip" if spawner == "swarm" else "ifnotpresent"
lessons.pull_policy = os.environ.get("LMS_PULL_POLICY", default_pull)
if spawner == "swarm":
    # the Swarm generic resource that GPU nodes advertise (dockerd --node-generic-resource)
    lessons.gpu_resource_kind = os.environ.get("LMS_GPU_RESOURCE", "NVIDIA-GPU")
# GET /hub/api/lms/gpus: free GPUs for lesson servers, as the spawn form shows them
from lms_spawner.gpu_api import handlers as gpu_handlers  # noqa: E402
# GET /hub/api/lms/content, POST …/sync: the hub's content follower, for admins (see README)
from lms_spawner.content_api import handlers as content_handlers  # noqa: E402
# GET /hub/lms/open/<course>/<lesson>: open a lesson in a server of its environment; spawn links
# (/hub/spawn?lesson=…) never open a lesson in a server running another environment
from lms_spawner.open_lesson import handlers as open_lesson_handlers  # noqa: E402
from lms_spawner.open_lesson import route_spawn_links  # noqa: E402

route_spawn_links()
c.JupyterHub.extra_handlers = gpu_handlers + content_handlers + open_lesson_handlers
# warm lesson pools: LMS_WARM_LESSONS="course/lesson=N,…" keeps N servers of each lesson started,
# each claimed by the next learner who opens it and replaced in the background (needs root on
# the Docker host; see README, "Warm lesson pools"); LMS_WARM_SCHEDULE (a JSON file of class
# sessions) warms a lesson around a cohort's start; GET/PUT /hub/api/lms/pool for admins
if spawner == "docker":
    from lms_spawner.lesson_pool import keep_warm_lessons  # noqa: E402
    from lms_spawner.pool_api import handlers as pool_handlers  # noqa: E402
    from lms_spawner.pool_schedule import load_sessions, parse_warm_lessons  # noqa: E402

    c.LessonPool.warm_lessons = parse_warm_lessons(os.environ.get("LMS_WARM_LESSONS", ""))
    if os.environ.get("LMS_WARM_SCHEDULE"):
        c.LessonPool.schedule = [s.as_dict() for s in
                                 load_sessions(os.environ["LMS_WARM_SCHEDULE"])]
    c.LessonPool.slots_dir = os.path.join(state_dir, "pool-slots")
    keep_warm_lessons()
    c.JupyterHub.extra_handlers += pool_handlers
c.Spawner.start_timeout = env_int("LMS_START_TIMEOUT", "300")
if os.environ.get("LMS_CONCURRENT_BOOTS"):
    c.LessonSpawner.concurrent_boots = c.LessonSwarmSpawner.concurrent_boots = env_int(
        "LMS_CONCURRENT_BOOTS", "")
c.Spawner.http_timeout = int(os.environ.get("LMS_HTTP_TIMEOUT", "60"))

# -- the LMS service (progress, cohorts, surveys) ---------------------------------------------------
lms_dir = os.path.join(state_dir, "lms")
os.makedirs(lms_dir, exist_ok=True)
lms_url = f"http://{hub_side_ip}:" + os.environ.get("LMS_SERVICE_PORT", "10101")
c.JupyterHub.services = [
    {
        "name": "lms",
        "url": lms_url,
        "command": [sys.executable, "-m", "lms_extension.service"],
        "cwd": lms_dir,
        "environment": {
            "LMS_CONTENT_REPO": os.environ.get("LMS_CONTENT_REPO", ""),
            "LMS_CONTENT_REF": os.environ.get("LMS_CONTENT_REF", "HEAD"),
            "LMS_SERVICE_DB_URL": os.environ.get(
                "LMS_SERVICE_DB_URL", "sqlite:///" + os.path.join(lms_dir, "lms.sqlite")
            ),
            "LMS_WEBHOOK_SECRET": os.environ.get("LMS_WEBHOOK_SECRET", ""),
            # the service's own content timer (LmsService.content_sync_interval)
            "LMS_CONTENT_SYNC_INTERVAL": os.environ.get("LMS_CONTENT_SYNC_INTERVAL", ""),
            # a learner's quotas (LmsService.events_per_minute, .max_stored_events)
            "LMS_EVENTS_PER_MINUTE": os.environ.get("LMS_EVENTS_PER_MINUTE", ""),
            "LMS_MAX_STORED_EVENTS": os.environ.get("LMS_MAX_STORED_EVENTS", ""),
            # sending scores to the school's LMS (LtiPassback: poll, retries)
            "LMS_LTI_PASSBACK_INTERVAL": os.environ.get("LMS_LTI_PASSBACK_INTERVAL", ""),
            "LMS_LTI_RETRY_DELAY": os.environ.get("LMS_LTI_RETRY_DELAY", ""),
            "LMS_LTI_MAX_ATTEMPTS": os.environ.get("LMS_LTI_MAX_ATTEMPTS", ""),
        },
        "oauth_no_confirm": True,
        # dashboard logins carry the instructor scope (with its cohort filters) where granted,
        # and the admin scope
        "oauth_client_allowed_scopes": ["custom:lms:instructor", "custom:lms:admin"],
        "display": True,  # listed in the hub's Services menu
    }
]
c.JupyterHub.custom_scopes = {
    "custom:lms:content-sync": {
        "description": "Sync the course content now, on the hub and in the LMS service (held "
        "by the hub's lms-content token and the LMS service; hub admins may sync anyway).",
    },
    "custom:lms:instructor": {
        "description": "In the LMS service: see the progress and survey answers of the learners "
        "in these cohorts (hub groups) and extend their deadlines.",
    },
    "custom:lms:admin": {
        "description": "In the LMS service: use the hub admin rights of the token's owner (only "
        "a hub admin's token has any). Lesson servers' tokens never hold it.",
    },
    "custom:lms:visits": {
        "description": "Read the hub's record of visits to these users' servers "
        "(GET /hub/api/lms/visits); held by the LMS service.",
    },
    "custom:lms:lti": {
        "description": "Record LTI 1.3 launches in the LMS service (POST "
        "/services/lms/api/lti/launches: which line item scores which learner's lesson); held "
        "by the hub's own LTI token.",
    },
}
c.JupyterHub.load_roles = [
    # every learner may use the LMS service (its own data only); custom:lms:admin makes a hub
    # admin's dashboard login and own tokens admin there, and nobody else's
    {"name": "user", "scopes": ["self", "access:services!service=lms", "custom:lms:admin"]},
    # the service reads group members (cohorts) and asks the hub to sync the content when it
    # found a new version first; its cohort screens create cohorts' groups and change their
    # members (admin:groups), after checking that each named user exists (read:users:name)
    {"name": "lms-service", "scopes": ["read:groups", "custom:lms:content-sync",
                                       "custom:lms:visits", "admin:groups", "read:users:name"],
     "services": ["lms"]},
    # the hub's own token for announcing content versions to the service (below)
    {"name": "lms-content", "scopes": ["access:services!service=lms", "custom:lms:content-sync"],
     "services": ["lms-content"]},
]
# the members of <cohort>-instructors teach <cohort>: the hub keeps a role lms-staff-<cohort> for
# every such group, live (lms_spawner.cohort_roles; c.CohortRoles.*): add instructors and
# teaching assistants in the admin panel. LMS_COHORTS only makes the groups at start.
c.JupyterHub.load_groups = {f"{cohort}-instructors": {} for cohort in env_list("LMS_COHORTS")}
from lms_spawner.cohort_roles import handlers as cohort_role_handlers  # noqa: E402
from lms_spawner.cohort_roles import watch_cohort_roles  # noqa: E402
# every visit to a server by someone else than its owner, recorded by the hub (GET
# /hub/api/lms/visits?user=<owner>: the owner, admins, custom:lms:visits)
from lms_spawner.visits import handlers as visit_handlers  # noqa: E402
from lms_spawner.visits import record_visits  # noqa: E402

watch_cohort_roles()
record_visits()
c.JupyterHub.extra_handlers += cohort_role_handlers + visit_handlers
# GET /hub/lms/preview?ref=<branch>: editors (hub group LMS_PREVIEW_GROUPS, default editors) and
# admins open the lessons of an unpublished branch or pull request in their server "preview"
from lms_spawner.preview import handlers as preview_handlers  # noqa: E402

c.JupyterHub.extra_handlers += preview_handlers
lessons.preview_groups = env_list("LMS_PREVIEW_GROUPS", "editors")
# a lesson server asks the hub again about a visitor's token after this many seconds: how soon
# removing an instructor shuts them out of servers open in their browser, and how finely a
# visit's last_seen is known
c.Spawner.args = [
    "--HubOAuth.cache_max_age=" + str(int(os.environ.get("LMS_SERVER_AUTH_CACHE", "30")))
]

# one content authority: before a new content version goes live for spawns, the hub announces
# it to the service and waits for it to take it, with a token of its own (made anew at every
# start, known to this process only); see README, "One content authority"
import secrets  # noqa: E402

content_sync_token = secrets.token_hex(32)
c.JupyterHub.services.append({"name": "lms-content", "api_token": content_sync_token})
c.ContentSource.lms_sync_url = lms_url + "/services/lms/api/content/sync"
c.ContentSource.lms_sync_token = content_sync_token

# lesson servers forward learner events to the service with their own token, and start the
# learner's other lesson environments as named servers (the JupyterLab lesson switch)
lessons.lms_service_url = os.environ.get("LMS_SERVICE_CONTAINER_URL", lms_url + "/services/lms")
# (never custom:lms:* here: a lesson server of an admin or instructor is a learner to the service)
c.Spawner.server_token_scopes = [
    "access:servers!server", "users:activity!user", "access:services!service=lms",
    "servers!user", "read:servers!user",
]

# -- idle servers ----------------------------------------------------------------------------------
# jupyterhub-idle-culler stops lesson servers idle longer than LMS_IDLE_TIMEOUT seconds (0: never);
# GPU lesson servers also stop themselves sooner (LessonSpawner.gpu_idle_timeout)
idle_timeout = int(os.environ.get("LMS_IDLE_TIMEOUT", "3600"))
# JupyterLab warns the learner a few minutes before an idle server is stopped
c.Spawner.environment = {"LMS_IDLE_TIMEOUT": str(max(idle_timeout, 0))}
# lesson servers start the lesson notebook's kernel while JupyterLab loads; LMS_PRESTART_KERNEL=0:
# only when JupyterLab opens it (LmsExtensionApp.prestart_kernel)
if os.environ.get("LMS_PRESTART_KERNEL", "").strip():
    c.Spawner.environment["LMS_PRESTART_KERNEL"] = os.environ["LMS_PRESTART_KERNEL"].strip()
if idle_timeout > 0:
    c.JupyterHub.services.append(
        {
            "name": "idle-culler",
            "command": [
                sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={idle_timeout}",
                "--cull-every=" + os.environ.get("LMS_IDLE_CULL_EVERY", str(max(idle_timeout // 6, 1))),
            ],
        }
    )
    c.JupyterHub.load_roles.append(
        {
            "name": "idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }
    )
lessons.gpu_idle_timeout = int(os.environ.get("LMS_GPU_IDLE_TIMEOUT", "900"))

# -- login -----------------------------------------------------------------------------------------
authenticator = os.environ.get("LMS_AUTHENTICATOR", "native")
c.Authenticator.admin_users = set(env_list("LMS_ADMIN_USERS"))
if authenticator == "native":
    # local accounts: learners sign up with their own password (stored bcrypt-hashed); the hub
    # makes the LMS_ADMIN_USERS accounts itself at its first start (a generated password, printed
    # once on the console), and nobody can sign up under an admin name
    c.JupyterHub.authenticator_class = "lms_spawner.native_auth.LmsNativeAuthenticator"
    c.LmsNativeAuthenticator.reset_admin_passwords = set(env_list("LMS_RESET_ADMIN_PASSWORDS"))
    c.NativeAuthenticator.open_signup = env_flag("LMS_OPEN_SIGNUP", "1")
    c.NativeAuthenticator.minimum_password_length = 8
    c.NativeAuthenticator.check_common_password = True
    c.Authenticator.allow_all = True  # signing up is the gate; admins authorize when not open
elif authenticator == "github":
    # OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET and OAUTH_CALLBACK_URL are read by oauthenticator
    c.JupyterHub.authenticator_class = "github"
    c.GitHubOAuthenticator.allowed_organizations = set(env_list("LMS_GITHUB_ORGS"))
    c.GitHubOAuthenticator.allow_all = not env_list("LMS_GITHUB_ORGS")
    # organization membership can only be read with this scope
    c.GitHubOAuthenticator.scope = ["read:org"] if env_list("LMS_GITHUB_ORGS") else []
elif authenticator == "generic":
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.authorize_url = os.environ.get("LMS_OAUTH_AUTHORIZE_URL", "")
    c.GenericOAuthenticator.token_url = os.environ.get("LMS_OAUTH_TOKEN_URL", "")
    c.GenericOAuthenticator.userdata_url = os.environ.get("LMS_OAUTH_USERDATA_URL", "")
    c.GenericOAuthenticator.username_claim = os.environ.get("LMS_OAUTH_USERNAME_CLAIM", "sub")
    c.GenericOAuthenticator.scope = env_list("LMS_OAUTH_SCOPES", "openid,profile,email")
    c.GenericOAuthenticator.allow_all = not env_list("LMS_OAUTH_ALLOWED_GROUPS")
    if env_list("LMS_OAUTH_ALLOWED_GROUPS"):
        c.GenericOAuthenticator.allowed_groups = set(env_list("LMS_OAUTH_ALLOWED_GROUPS"))
        c.GenericOAuthenticator.manage_groups = True
        c.GenericOAuthenticator.auth_state_groups_key = (
            "oauth_user." + os.environ.get("LMS_OAUTH_GROUPS_CLAIM", "groups")
        )
elif authenticator == "lti13":
    # LTI 1.3 launches from the school's LMS (Moodle, Canvas, Open edX): see README, "LTI 1.3"
    c.JupyterHub.authenticator_class = "lms_spawner.lti.LmsLTI13Authenticator"
    lti = c.LmsLTI13Authenticator
    lti.issuer = os.environ.get("LMS_LTI_ISSUER", "")
    lti.client_id = set(env_list("LMS_LTI_CLIENT_ID"))
    lti.deployment_ids = set(env_list("LMS_LTI_DEPLOYMENT_IDS"))
    lti.jwks_endpoint = os.environ.get("LMS_LTI_JWKS_URL", "")
    lti.authorize_url = os.environ.get("LMS_LTI_AUTHORIZE_URL", "")
    lti.username_key = os.environ.get("LMS_LTI_USERNAME_CLAIM", "sub")
    lti.cohort_prefix = os.environ.get("LMS_LTI_COHORT_PREFIX", "lti-")
    c.Authenticator.allow_all = True  # the platform's signed launch is the gate
    # the tool's key pair (made once in the state dir); the public key at /hub/lti13/jwks, the
    # private key for the LMS service's AGS client assertions
    from lms_spawner.lti_keys import ensure_tool_key, key_id  # noqa: E402

    lti.tool_key_path = ensure_tool_key(state_dir)
    # the hub hands each launch's line item to the LMS service with a token of its own
    lti_token = secrets.token_hex(32)
    c.JupyterHub.services.append({"name": "lms-lti", "api_token": lti_token})
    c.JupyterHub.load_roles.append({"name": "lms-lti", "services": ["lms-lti"],
                                    "scopes": ["access:services!service=lms", "custom:lms:lti"]})
    lti.launch_record_url = lms_url + "/services/lms/api/lti/launches"
    lti.launch_record_token = lti_token
    next(s for s in c.JupyterHub.services if s["name"] == "lms")["environment"].update({
        "LMS_LTI_KEY_PATH": lti.tool_key_path,
        "LMS_LTI_KEY_ID": key_id(lti.tool_key_path),
        "LMS_LTI_TOKEN_URL": os.environ.get("LMS_LTI_TOKEN_URL", ""),
        "LMS_LTI_CLIENT_ID": os.environ.get("LMS_LTI_CLIENT_ID", ""),
        "LMS_LTI_ISSUER": lti.issuer,
    })
else:
    raise ValueError(
        f"LMS_AUTHENTICATOR={authenticator!r} is not one of: native, github, generic, lti13"
    )
# GET /hub/lms/lti: what the school's LMS admin enters (for hub admins; also lms-lti-config)
from lms_spawner.lti_config import handlers as lti_config_handlers  # noqa: E402

c.JupyterHub.extra_handlers += lti_config_handlers

# -- site-specific additions -----------------------------------------------------------------------
extra = os.environ.get("LMS_EXTRA_CONFIG", "")
if extra:
    load_subconfig(extra)
