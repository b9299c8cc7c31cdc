"""How fast the course search builds its index and answers, on a generated 100-lesson course.

    .venv/bin/python bench/search.py [--lessons 100] [--cells 30] [--rounds 200]

Generates a course of LESSONS lessons (one notebook each, CELLS cells: markdown in English and
Korean, and code, about the size of the demo course's cells) in a temporary folder, reads it as
the LMS service does (``load_catalog``), builds the search index (``SearchIndex.build``, what
the service runs in a thread when a content version goes live), then runs a mix of English and
Korean queries (single words, word prefixes, two words, text inside Korean words, a word that
is nowhere) ROUNDS times each, with the hits turned into JSON as the API sends them. Prints the
build time, the index size and the query time p50/p99 per query and over all. Goal: a query
under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from lms_extension.content import load_catalog
from lms_extension.content.cli import catalog_json
from lms_extension.service.search import SearchIndex

TOPICS = [("tensor", "텐서"), ("gradient descent", "경사 하강법"), ("loss function", "손실 함수"),
          ("convolution", "합성곱"), ("dropout", "드롭아웃"), ("batch normalization", "배치 정규화"),
          ("learning rate", "학습률"), ("overfitting", "과적합"), ("attention", "어텐션"),
          ("embedding", "임베딩"), ("backpropagation", "역전파"), ("autograd", "자동미분")]
QUERIES = ["tensor", "grad", "learning rate", "np.arange", "텐서", "경사 하강법", "미분",
           "학습률을", "Lesson 57", "no-such-word-anywhere"]


def markdown(n: int, topic: tuple[str, str], rng: random.Random) -> str:
    en, ko = topic
    return (f"## Step {n}: {en} ({ko})\n\n"
            + f"In this step we look at **{en}** again. " * rng.randint(2, 5)
            + f"\n\n이 단계에서는 {ko}을(를) 직접 구현하고, 결과를 그래프로 확인합니다. "
            * rng.randint(1, 3))


def code(n: int, topic: tuple[str, str], rng: random.Random) -> str:
    name = topic[0].replace(" ", "_")
    lines = ["import numpy as np", "import torch", "",
             f"def {name}_step(x, lr={rng.random():.3f}):",
             f"    \"\"\"One step of {topic[0]}.\"\"\"",
             "    y = np.arange(x.size).reshape(x.shape) * lr",
             "    return torch.tensor(y).relu().sum()", ""]
    lines += [f"result_{n}_{i} = {name}_step(np.ones(({i + 2}, 3)))" for i in range(rng.randint(2, 8))]
    return "\n".join(lines)


def make_course(folder: Path, lessons: int, cells: int, seed: int = 13) -> None:
    rng = random.Random(seed)
    lines = ["slug: generated", "title: {en: A generated course, ko: 생성된 코스}",
             "environments:", '  cpu: {image: "lms/scipy:latest"}', "default_environment: cpu",
             "lessons:"]
    for n in range(1, lessons + 1):
        slug = f"lesson-{n:03d}"
        path = f"{n:03d}-{slug}/{slug}.ipynb"
        topic = TOPICS[n % len(TOPICS)]
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_markdown_cell(f"# Lesson {n}: {topic[0]}\n\n{topic[1]}"))
        for c in range(1, cells):
            other = rng.choice(TOPICS)
            make = code if c % 2 else markdown
            cell = (nbformat.v4.new_code_cell if c % 2 else nbformat.v4.new_markdown_cell)(
                make(c, other, rng))
            nb.cells.append(cell)
        (folder / path).parent.mkdir(parents=True)
        (folder / path).write_text(nbformat.writes(nb))
        lines += [f"  - slug: {slug}",
                  f"    title: {{en: 'Lesson {n}: {topic[0]}', ko: '레슨 {n}: {topic[1]}'}}",
                  f"    notebooks: [{path}]"]
    (folder / "course.yaml").write_text("\n".join(lines) + "\n")


def percentile(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=100)
    parser.add_argument("--cells", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        root = Path(tmp)
        make_course(root / "generated", args.lessons, args.cells)
        size = sum(p.stat().st_size for p in root.rglob("*.ipynb"))
        data = catalog_json(load_catalog(root))
        builds = []
        for _ in range(3):
            start = time.perf_counter()
            index = SearchIndex.build("bench", data, root)
            builds.append(time.perf_counter() - start)
    print(f"course: {args.lessons} lessons, {args.cells} cells each, notebooks {size / 1e6:.1f} MB")
    print(f"index: {index.size} texts, built in median {statistics.median(builds) * 1000:.0f} ms"
          f" (slowest {max(builds) * 1000:.0f} ms)")
    every: list[float] = []
    for query in QUERIES:
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            hits = index.search(query, limit=20)
            json.dumps(hits)
            times.append(time.perf_counter() - start)
        every += times
        print(f"  {query!r:26} {len(hits):3} hits  p50 {percentile(times, 50) * 1000:6.2f} ms"
              f"  p99 {percentile(times, 99) * 1000:6.2f} ms")
    p99 = percentile(every, 99) * 1000
    print(f"  all queries: p50 {percentile(every, 50) * 1000:.2f} ms, p99 {p99:.2f} ms"
          f" -> goal under 100 ms {'met' if p99 < 100 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
