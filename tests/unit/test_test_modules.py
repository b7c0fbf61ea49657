"""pytest imports test modules by their base name (the test folders are not packages): two of one name in
different layers stop the whole collection ("import file mismatch"), which only a clean checkout shows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
