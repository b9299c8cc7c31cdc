"""The dashboard in Korean and English: by the browser's language, by the language switch, and
a switch that never sends anyone to another site."""

from __future__ import annotations

import pytest

from ..spawn.accounts import admin_login


@pytest.fixture(scope="module")
def admin(lms):
    return lms, admin_login(lms.hub, "adam")


def page(session, lms, path: str = "", **kwargs):
    return session.get(f"{lms.hub.service_url('lms')}/{path}", timeout=30, **kwargs)


def test_the_dashboard_speaks_the_browsers_language(admin):
    lms, session = admin
    korean = page(session, lms, headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    assert korean.status_code == 200
    assert '<html lang="ko">' in korean.text
    assert "코스" in korean.text and "딥러닝 기초" in korean.text and "레슨 10개" in korean.text
    assert "Deep learning basics" not in korean.text
    english = page(session, lms, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Deep learning basics" in english.text and "10 lessons" in english.text
    course = page(session, lms, "courses/dl-basics", headers={"Accept-Language": "ko"})
    assert "넘파이 기초" in course.text and "지연된 학습자" in course.text


def test_the_switch_remembers_the_language_over_the_browsers(admin):
    lms, session = admin
    start = page(session, lms, "courses/dl-basics", headers={"Accept-Language": "en"})
    assert 'lang="ko"' in start.text and "한국어" in start.text  # the switch is on the page
    r = page(session, lms, "lang", params={"to": "ko", "next": "/services/lms/courses/dl-basics"},
             headers={"Accept-Language": "en"}, allow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/services/lms/courses/dl-basics"
    assert "lms-lang=ko" in r.headers["Set-Cookie"]
    after = page(session, lms, "courses/dl-basics", headers={"Accept-Language": "en"})
    assert '<html lang="ko">' in after.text and "학습 현황" in after.text
    back = page(session, lms, "lang", params={"to": "en", "next": "/services/lms/"})
    assert back.status_code == 200 and '<html lang="en">' in back.text
    assert "Courses" in back.text


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
    "/\t/evil.example", "javascript:alert(1)", "evil.example",
])
def test_the_switch_never_sends_anyone_to_another_site(admin, target):
    lms, session = admin
    r = page(session, lms, "lang", params={"to": "ko", "next": target}, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "/services/lms/", r.headers["Location"]
    page(session, lms, "lang", params={"to": "en", "next": "/services/lms/"})


def test_an_unknown_language_is_a_400_naming_the_field(admin):
    lms, session = admin
    r = page(session, lms, "lang", params={"to": "fr", "next": "/services/lms/"},
             allow_redirects=False)
    assert r.status_code == 400 and "to: must be one of en, ko" in r.text
