"""The OpenAPI 3.1 document of the REST API, served at ``api/openapi.json``."""

from __future__ import annotations

from lms_extension.content.wire import (
    MAX_REPORTS_PER_BATCH,
    BatchResult,
    EnvelopeError,
    EventBatch,
    Refusal,
    RefusalReport,
    RefusalReports,
    ReportsResult,
    ServiceLimits,
)

from .checks_api import CHECKS_SCHEMAS, checks_openapi_paths
from .content_api import ContentSyncIn
from .lti_launches import LTI_SCHEMAS, lti_openapi_paths
from .payloads import CohortIn, ExtensionIn, SurveyIn
from .staff_api import STAFF_SCHEMAS, staff_openapi_paths

TOKEN = [{"hubToken": []}]


def _op(summary: str, body=None, who: str = "any user with access to the service") -> dict:
    op = {"summary": summary, "description": f"Allowed: {who}.", "security": TOKEN,
          "responses": {"200": {"description": "OK"}, "400": {"description": "bad input; "
                        "the message names the field"}, "401": {"description": "no valid token"},
                        "403": {"description": "not allowed"}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body.__name__}"}}}}
    return op


def _ref(model) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


def _events_op() -> dict:
    op = _op("Record a batch of the caller's learner events (idempotent by id). The envelope "
             "is judged as a whole (400/413: nothing stored), each event on its own: the "
             "answer lists the ids taken and, per refused event, its index, field, reason and "
             "whether to send it again (retry)", EventBatch,
             who="any learner, for their own events")
    op["responses"].update({
        "200": {"description": "the batch was read; which events were taken and which refused",
                "content": _ref(BatchResult)},
        "400": {"description": "the envelope is not a JSON object with a non-empty events "
                "list; field names what is wrong", "content": _ref(EnvelopeError)},
        "413": {"description": "over max_body_bytes or max_events_per_batch; limit is the "
                "limit", "content": _ref(EnvelopeError)},
    })
    return op


def _reports_op() -> dict:
    op = _op("Report events the caller's lesson server refused itself and never sent to "
             "events (malformed, larger than the body limit), for the learner's instructors "
             "(source: lesson server). Taken whole or not at all; idempotent by report_id "
             "and by the event's id", RefusalReports,
             who="any learner, for their own lesson server (stored under the token's owner)")
    op["responses"].update({
        "200": {"description": "the report ids the service now holds",
                "content": _ref(ReportsResult)},
        "400": {"description": "not a JSON object with a non-empty refusals list of "
                "well-formed reports; field names what is wrong (refusals.2.course)",
                "content": _ref(EnvelopeError)},
        "413": {"description": f"over max_body_bytes or more than {MAX_REPORTS_PER_BATCH} "
                "reports; limit is the limit", "content": _ref(EnvelopeError)},
    })
    return op


def openapi_document(base_url: str) -> dict:
    learner_self = "the learner themself, an instructor of one of their cohorts, an admin"
    staff = "instructors (for their cohorts) and admins"
    paths = {
        "/catalog": {"get": _op("The live content version's courses, lessons and surveys")},
        "/content": {"get": _op("The live content version and the last refused commit's problems")},
        "/content/sync": {"post": _op(
            "Fetch the content repo and publish its newest commit. The hub announces each "
            "version it is about to make live ({\"version\": commit}; optional): nothing is "
            "fetched when that version is live already", ContentSyncIn,
            who="admins, and the hub (a token with custom:lms:content-sync)")},
        "/content/webhook": {"post": {
            "summary": "Push webhook: sync the content (GitHub-style X-Hub-Signature-256 and "
                       "X-GitHub-Delivery)",
            "security": [], "responses": {
                "200": {"description": "synced"},
                "400": {"description": "missing or malformed X-GitHub-Delivery"},
                "401": {"description": "missing, malformed or wrong signature"},
                "403": {"description": "the webhook is off (no secret)"},
                "409": {"description": "a replay: this delivery id or body was accepted before"},
                "413": {"description": "the body is over webhook_max_body_bytes"}}}},
        "/": {"get": _op("Who is asking, and the limits of the service (limits: "
                         "ServiceLimits)")},
        "/events": {"post": _events_op()},
        "/progress/{user}": {"get": _op("A learner's status in every lesson", who=learner_self)},
        "/visits/{user}": {"get": _op(
            "Who else opened the learner's servers, as the hub recorded it: visitor, server, "
            "started, last_seen, seconds; newest first (502: the hub did not answer)",
            who=learner_self)},
        "/courses/{course}/progress": {"get": _op(
            "Progress matrix, delayed learners and completion funnel of a course", who=staff)},
        "/courses/{course}/refusals": {"get": _op(
            "The newest refused events of the course's learners (?limit=, at most 1000), "
            "each with its source: service or lesson server", who=staff)},
        "/refusals": {"post": _reports_op()},
        "/refusals/{user}": {"get": _op("A learner's newest refused events (?limit=)",
                                        who=learner_self)},
        "/cohorts": {"get": _op("Cohorts the caller teaches (admins: all)", who=staff)},
        "/cohorts/{group}": {
            "get": _op("A cohort with its members and deadline extensions", who=staff),
            "put": _op("Bind a hub group to a course with a start date", CohortIn, who="admins"),
            "delete": _op("Unbind a cohort", who="admins")},
        "/surveys/{course}/{lesson}": {
            "get": _op("The lesson's survey and the caller's answers"),
            "put": _op("Answer (or change the answers to) the lesson's survey", SurveyIn)},
        "/surveys/{course}/{lesson}/results": {"get": _op("Aggregated answers", who=staff)},
        "/deadlines/run": {"post": _op("Mark lessons past their due date as delayed now",
                                       who="admins")},
        "/search": {"get": _op(
            "Search lesson titles and notebook text (markdown and code) of the live content "
            "version: ?q= (1 to 200 characters), optional course= and limit= (1 to 100, "
            "default 20). Title hits first; each hit names its course, lesson, title, "
            "notebook, cell (index and id), a snippet and where the match is in it")},
    }
    for path, ops in staff_openapi_paths(_op).items():
        paths.setdefault(path, {}).update(ops)
    for path, ops in checks_openapi_paths(_op).items():
        paths.setdefault(path, {}).update(ops)
    for path, ops in lti_openapi_paths(_op).items():
        paths.setdefault(path, {}).update(ops)
    paths["/content/sync"]["post"]["requestBody"]["required"] = False
    schemas = {m.__name__: m.model_json_schema(ref_template="#/components/schemas/{model}")
               for m in (EventBatch, BatchResult, Refusal, EnvelopeError, ServiceLimits,
                         RefusalReports, RefusalReport, ReportsResult, CohortIn, ExtensionIn,
                         SurveyIn, ContentSyncIn, *STAFF_SCHEMAS, *CHECKS_SCHEMAS,
                         *LTI_SCHEMAS)}
    for schema in list(schemas.values()):
        schemas.update(schema.pop("$defs", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "LMS service", "version": "1"},
        "servers": [{"url": base_url.rstrip("/") + "/api"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"hubToken": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "A JupyterHub token: 'token <token>'"}}},
    }
