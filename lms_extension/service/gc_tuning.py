"""The garbage collector tuned for a long-running service that allocates in bursts.

Every event batch makes many short-lived objects (parsed JSON, validated events, rows), and with
Python's default thresholds the cyclic collector runs every 700 allocations, its oldest
generation walking every object the service holds (the loaded modules, the ORM's mappings, the
catalog) again and again: a quarter of the CPU that ingestion costs. :func:`settle` moves what
the service set up before serving into the permanent generation, which no collection walks, and
lets the youngest generation grow larger before it is collected. Reference counting still frees
almost everything at once; only cycles wait a little longer.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 50, 100)  # youngest generation: allocations between collections


def settle() -> None:
    """Call once the service is set up, before it serves."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
