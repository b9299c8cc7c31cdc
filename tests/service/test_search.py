"""Course search in the LMS service: lesson titles and notebook text of the live content
version, in English and Korean, ranked; rebuilt when a new version is published; the search
page through the hub's login."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import requests
from publish_content import publish

from ..hubctl import ROOT, Hub
from ..spawn.accounts import login
from .conftest import Lms, wait_for

NUMPY = "dl-basics/02-numpy/numpy-basics.ipynb"
KOREAN_CELL = {"cell_type": "markdown", "id": "ko-intro", "metadata": {},
               "source": ["## 브로드캐스팅\n", "\n", "넘파이의 브로드캐스팅은 자동미분과 다른 이야기입니다."]}


def add_cell(src, notebook: str, cell: dict) -> None:
    path = src / notebook
    nb = json.loads(path.read_text())
    nb["cells"].append(cell)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1))


@pytest.fixture(scope="module")
def searching(tmp_path_factory, run_id):
    """A hub on a copy of the demo course with a Korean title and a Korean markdown cell."""
    src = tmp_path_factory.mktemp("search-src")
    shutil.copytree(ROOT / "content_repo", src, dirs_exist_ok=True)
    manifest = src / "dl-basics" / "course.yaml"
    manifest.write_text(manifest.read_text().replace(
        "    title: NumPy basics", "    title: {en: NumPy basics, ko: 넘파이 기초}"))
    add_cell(src, NUMPY, KOREAN_CELL)
    remote = tmp_path_factory.mktemp("search-remote") / "content.git"
    first = publish(src, remote, "the course, in two languages")
    hub = Hub(tmp_path_factory.mktemp("search-hub"), str(remote), f"{run_id}-search")
    hub.start()
    lms = Lms(hub)
    # the index is built once the version is live
    wait_for(hub, lambda: lms.call("GET", "/search?q=numpy", "admin").json()["version"] == first,
             "no search index for the content")
    yield lms, src, remote, first
    hub.stop()


def search(lms: Lms, query: str, user: str = "lena", **params) -> dict:
    r = lms.call("GET", "/search", user, params={"q": query, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_learner_finds_notebook_text_with_its_cell(searching):
    lms, *_ = searching
    hits = search(lms, "broadcasting")["results"]
    assert hits, "nothing found"
    first = hits[0]
    assert first["key"] == "dl-basics/numpy-basics" and first["course"] == "dl-basics"
    assert first["notebook"] == "02-numpy/numpy-basics.ipynb"
    assert (first["kind"], first["cell"], first["cell_id"]) == ("markdown", 2, "d8aad5f9")
    assert first["title"] == "NumPy basics" and first["titles"]["ko"] == "넘파이 기초"
    start, end = first["highlight"]
    assert first["snippet"][start:end].casefold() == "broadcasting"

    code = search(lms, "np.arange")["results"]
    assert [(h["lesson"], h["kind"], h["cell_id"]) for h in code][:1] == [
        ("numpy-basics", "code", "2b77e116")]
    # every word must be in the same cell; a word prefix is enough
    both = search(lms, "dense matri")["results"]
    assert [h["cell_id"] for h in both] == ["fd0a35e0"]
    assert search(lms, "zyxwvut")["results"] == []


def test_title_hits_come_first(searching):
    lms, *_ = searching
    hits = search(lms, "numpy")["results"]
    kinds = [h["kind"] for h in hits]
    assert kinds[0] == "title" and hits[0]["lesson"] == "numpy-basics"
    first_cell = next(i for i, k in enumerate(kinds) if k != "title")
    assert all(k == "title" for k in kinds[:first_cell])
    assert any(h["kind"] == "markdown" for h in hits) and any(h["kind"] == "code" for h in hits)
    assert len(search(lms, "numpy", limit=2)["results"]) == 2


def test_the_words_as_written_rank_above_the_same_words_apart(searching):
    lms, *_ = searching
    hits = search(lms, "packaging the model")["results"]
    assert [h["lesson"] for h in hits[:2]] == ["model-to-production"] * 2
    assert [h["cell_id"] for h in hits[:2]] == ["d9c8f2c8", "24f37aa5"]


def test_korean_titles_and_text_inside_words_are_found(searching):
    lms, *_ = searching
    titles = search(lms, "넘파이 기초")["results"]
    assert titles[0]["kind"] == "title" and titles[0]["key"] == "dl-basics/numpy-basics"
    # 미분 is inside 자동미분: Korean writes such words together
    inside = search(lms, "미분")["results"]
    assert [(h["lesson"], h["cell_id"]) for h in inside] == [("numpy-basics", "ko-intro")]
    start, end = inside[0]["highlight"]
    assert inside[0]["snippet"][start:end] == "미분"
    # a word's start ranks above the middle of a word
    ranked = search(lms, "브로드캐스팅")["results"]
    assert ranked[0]["cell_id"] == "ko-intro"


def test_the_course_filter(searching):
    lms, *_ = searching
    assert {h["course"] for h in search(lms, "numpy", course="dl-basics")["results"]} == {
        "dl-basics"}


@pytest.mark.parametrize("params, field", [
    ({"q": ""}, "q"),
    ({"q": "   "}, "q"),
    ({"q": "x" * 201}, "q"),
    ({}, "q"),
    ({"q": "numpy", "limit": "lots"}, "limit"),
    ({"q": "numpy", "limit": "0"}, "limit"),
    ({"q": "numpy", "limit": "101"}, "limit"),
    ({"q": "numpy", "course": "no-such-course"}, "course"),
])
def test_bad_parameters_are_refused_by_name(searching, params, field):
    lms, *_ = searching
    r = lms.call("GET", "/search", "lena", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and r.json()["message"].startswith(f"{field}: ")


def test_search_needs_a_hub_token(searching):
    lms, *_ = searching
    for headers in ({}, {"Authorization": "token not-a-real-token"}):
        r = requests.get(f"{lms.api_url}/search", params={"q": "numpy"}, headers=headers,
                         timeout=30)
        assert r.status_code == 401, r.text


def test_the_search_page_links_hits_to_the_lesson(searching):
    lms, *_ = searching
    browser = login(lms.hub.url, "sina")
    page = f"{lms.hub.service_url('lms')}/search"
    r = browser.get(page, params={"q": "broadcasting"}, timeout=30)
    assert r.status_code == 200, r.text[-1000:]
    assert 'href="/hub/lms/open/dl-basics/numpy-basics"' in r.text
    assert "<mark>Broadcasting</mark>" in r.text
    korean = browser.get(page, params={"q": "미분"}, headers={"Accept-Language": "ko"}, timeout=30)
    assert "검색 결과 1건" in korean.text and ">넘파이 기초</a>" in korean.text
    assert "<mark>미분</mark>" in korean.text
    empty = browser.get(page, params={"q": ""}, timeout=30)
    assert empty.status_code == 400
    assert 'data-field="q"' in empty.text and "Enter 1 to 200 characters" in empty.text
    assert browser.get(page, timeout=30).status_code == 200  # the form alone


def test_the_index_follows_a_new_content_version(searching):
    lms, src, remote, first = searching
    add_cell(src, NUMPY, {"cell_type": "code", "id": "new-cell", "metadata": {},
                          "execution_count": None, "outputs": [],
                          "source": ["quaternion_rotation = 1  # 사원수회전"]})
    manifest = src / "dl-basics" / "course.yaml"
    manifest.write_text(manifest.read_text().replace("title: Python basics",
                                                     "title: Python, the basics"))
    second = publish(src, remote, "a new cell and a new title")
    assert search(lms, "quaternion")["results"] == []
    r = lms.call("POST", "/content/sync", "admin")
    assert r.json()["version"] == second, r.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = search(lms, "quaternion")
        if answer["version"] == second:
            break
        # until the new index is ready the old one answers
        assert answer["version"] == first and search(lms, "numpy")["results"]
        time.sleep(0.2)
    else:
        raise AssertionError(f"the index was not rebuilt:\n{lms.hub.log_tail(40)}")
    assert [h["cell_id"] for h in answer["results"]] == ["new-cell"]
    assert [h["cell_id"] for h in search(lms, "원수회")["results"]] == ["new-cell"]
    titles = [h for h in search(lms, "the basics")["results"] if h["kind"] == "title"]
    assert [h["title"] for h in titles] == ["Python, the basics"]
