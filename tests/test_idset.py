"""kernel.idset: ids kept as 8-byte hashes, with no false negatives however many are added."""
from __future__ import annotations

from rubricate.guidelines.kernel import idset
from rubricate.guidelines.kernel.idset import HashedIdSet


def test_every_added_id_is_found_and_others_are_not(monkeypatch):
    monkeypatch.setattr(idset, "RECENT", 100)          # many merges into the sorted array
    monkeypatch.setattr(idset, "_FIRST_CAPACITY", 64)  # and the memory map grows several times
    ids = HashedIdSet()
    added = [f"resp-{i}" for i in range(5000)]
    for rid in added:
        assert not ids.might_contain(rid)
        ids.add(rid)
    assert len(ids) == 5000
    assert all(ids.might_contain(rid) for rid in added)
    assert sum(ids.might_contain(f"other-{i}") for i in range(5000)) == 0  # 64-bit hashes: no twins here
    ids.close()
    assert len(ids) == 0 and not ids.might_contain("resp-1")


def test_the_same_id_added_twice_is_one_entry_in_the_recent_set():
    ids = HashedIdSet()
    ids.add("a")
    ids.add("a")
    assert len(ids) == 1 and ids.might_contain("a")
