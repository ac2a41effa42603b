"""PdqIndex: exact against a brute-force scan, incremental updates, input validation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from casework.evidence.pdq_index import HASH_BYTES, PdqIndex, hamming, parse_pdq

PLANTED_DISTANCES = (0, 1, 15, 31, 32, 40)

Hashes = npt.NDArray[np.uint8]


def flip_bits(base: Hashes, distance: int, rng: np.random.Generator) -> Hashes:
    """A copy of base differing in exactly `distance` bits."""
    out = base.copy()
    for bit in rng.choice(8 * HASH_BYTES, size=distance, replace=False):
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def to_hex(row: Hashes) -> str:
    return row.tobytes().hex()


def brute_force(
    ids: npt.NDArray[np.int64], raw: Hashes, query: Hashes, max_distance: int
) -> list[tuple[int, int]]:
    dist = np.unpackbits(raw ^ query, axis=1).sum(axis=1)
    hits = np.flatnonzero(dist <= max_distance)
    return sorted(((int(ids[i]), int(dist[i])) for i in hits), key=lambda r: (r[1], r[0]))


@pytest.fixture(scope="module")
def planted() -> tuple[npt.NDArray[np.int64], Hashes, list[Hashes]]:
    """20,000 random hashes plus, for each of 8 queries, neighbours at PLANTED_DISTANCES."""
    rng = np.random.default_rng(20240601)
    raw = rng.integers(0, 256, size=(20_000, HASH_BYTES), dtype=np.uint8)
    queries = [rng.integers(0, 256, size=HASH_BYTES, dtype=np.uint8) for _ in range(8)]
    near = [flip_bits(q, d, rng) for q in queries for d in PLANTED_DISTANCES]
    raw = np.concatenate([raw, np.stack(near)])
    ids = rng.permutation(len(raw)).astype(np.int64) * 3 + 7  # not row numbers
    return ids, raw, queries


@pytest.fixture(scope="module")
def planted_index(planted: tuple[npt.NDArray[np.int64], Hashes, list[Hashes]]) -> PdqIndex:
    ids, raw, _ = planted
    return PdqIndex.build(ids, raw)


def test_planted_neighbours_found_up_to_31_only(
    planted: tuple[npt.NDArray[np.int64], Hashes, list[Hashes]], planted_index: PdqIndex
) -> None:
    ids, raw, queries = planted
    for q in queries:
        got = planted_index.search(to_hex(q), max_distance=31)
        assert got == brute_force(ids, raw, q, 31)
        assert {0, 1, 15, 31} <= {d for _, d in got}
        assert not {d for _, d in got} & {32, 40}


@pytest.mark.parametrize("max_distance", [0, 1, 7, 8, 15, 16, 23, 24, 30, 32, 40, 256])
def test_exact_at_every_radius(
    planted: tuple[npt.NDArray[np.int64], Hashes, list[Hashes]],
    planted_index: PdqIndex,
    max_distance: int,
) -> None:
    ids, raw, queries = planted
    for q in queries[:3]:
        got = planted_index.search(to_hex(q), max_distance)
        assert got == brute_force(ids, raw, q, max_distance)


def test_results_sorted_by_distance_then_id() -> None:
    rng = np.random.default_rng(1)
    q = rng.integers(0, 256, size=HASH_BYTES, dtype=np.uint8)
    rows = [flip_bits(q, d, rng) for d in (5, 5, 0, 3, 5)]
    index = PdqIndex.build([40, 10, 99, 7, 20], [to_hex(r) for r in rows])
    assert index.search(to_hex(q)) == [(99, 0), (7, 3), (10, 5), (20, 5), (40, 5)]


def test_hex_and_array_builds_agree(
    planted: tuple[npt.NDArray[np.int64], Hashes, list[Hashes]], planted_index: PdqIndex
) -> None:
    ids, raw, queries = planted
    from_hex = PdqIndex.build(ids.tolist(), [to_hex(r) for r in raw])
    for q in queries[:3]:
        assert from_hex.search(to_hex(q)) == planted_index.search(to_hex(q))


def test_clustered_data_large_buckets() -> None:
    # Many near-copies of a few images: huge buckets, shared substrings, duplicate hashes.
    rng = np.random.default_rng(7)
    seeds = rng.integers(0, 256, size=(5, HASH_BYTES), dtype=np.uint8)
    raw = np.stack(
        [flip_bits(seeds[i % 5], int(rng.integers(0, 48)), rng) for i in range(4000)]
        + [seeds[0]] * 50
    )
    ids = np.arange(len(raw), dtype=np.int64)
    index = PdqIndex.build(ids, raw)
    for q in [*seeds, flip_bits(seeds[1], 20, rng)]:
        for max_distance in (8, 31):
            assert index.search(to_hex(q), max_distance) == brute_force(ids, raw, q, max_distance)


def test_more_than_65536_rows_odd_count() -> None:
    # Above 2**16 rows the row permutations carry packed high nibbles.
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 256, size=(70_001, HASH_BYTES), dtype=np.uint8)
    queries = [flip_bits(raw[i], d, rng) for i, d in ((0, 3), (35_000, 17), (70_000, 31))]
    ids = np.arange(len(raw), dtype=np.int64)
    index = PdqIndex.build(ids, raw)
    for q in queries:
        got = index.search(to_hex(q))
        assert got and got == brute_force(ids, raw, q, 31)


def test_add_and_remove_match_reference_model() -> None:
    rng = np.random.default_rng(11)
    q = rng.integers(0, 256, size=HASH_BYTES, dtype=np.uint8)
    model: dict[int, Hashes] = {i: flip_bits(q, int(rng.integers(0, 64)), rng) for i in range(300)}
    # A tiny delta buffer forces rebuilds and tombstone compactions along the way.
    index = PdqIndex.build(list(model), [to_hex(h) for h in model.values()], delta_capacity=16)
    next_id = 1000
    for step in range(400):
        if step % 3 == 2:
            victim = int(rng.choice(list(model)))
            index.remove(victim)
            del model[victim]
        else:
            model[next_id] = flip_bits(q, int(rng.integers(0, 64)), rng)
            index.add(next_id, to_hex(model[next_id]))
            next_id += 1
        if step % 25 == 0:
            ids = np.array(list(model), dtype=np.int64)
            raw = np.stack(list(model.values()))
            assert index.search(to_hex(q)) == brute_force(ids, raw, q, 31)
            assert len(index) == len(model)


def test_add_remove_basics() -> None:
    rng = np.random.default_rng(5)
    raw = rng.integers(0, 256, size=(1000, HASH_BYTES), dtype=np.uint8)
    index = PdqIndex.build(np.arange(1000), raw)
    new = to_hex(flip_bits(raw[10], 2, rng))
    index.add(5000, new)
    assert len(index) == 1001
    assert index.search(new, 0) == [(5000, 0)]
    assert index.search(to_hex(raw[10]), 2) == [(10, 0), (5000, 2)]
    index.remove(10)  # from the bulk tables
    index.remove(5000)  # from the delta buffer
    assert index.search(to_hex(raw[10]), 2) == []
    assert len(index) == 999
    with pytest.raises(KeyError):
        index.remove(10)
    with pytest.raises(KeyError):
        index.remove(-1)


def test_id_stored_twice_is_removed_whole() -> None:
    a, b = "0" * 64, "0" * 63 + "1"
    index = PdqIndex.build([1, 1, 2], [a, b, a])
    index.add(1, "f" * 64)
    assert index.search(a) == [(1, 0), (2, 0), (1, 1)]
    index.remove(1)
    assert index.search(a, 256) == [(2, 0)]
    assert len(index) == 1


def test_large_and_negative_ids() -> None:
    index = PdqIndex.build([2**40, -5], ["a" * 64, "b" * 64])
    index.add(2**63 - 1, "c" * 64)
    assert [i for i, _ in index.search("a" * 64, 256)] == [2**40, -5, 2**63 - 1]
    index.remove(-5)
    assert len(index) == 2
    with pytest.raises(ValueError):
        index.add(2**63, "a" * 64)


def test_empty_index() -> None:
    for index in (PdqIndex(), PdqIndex.build([], []), PdqIndex.build(np.empty(0), [])):
        assert len(index) == 0
        assert index.search("0" * 64) == []
        assert index.search("0" * 64, 256) == []
        with pytest.raises(KeyError):
            index.remove(1)
        index.add(1, "0" * 64)
        assert index.search("0" * 64) == [(1, 0)]
    assert PdqIndex().nbytes < 2_000_000


BAD_HEX = [
    "",
    "0" * 63,
    "0" * 65,
    "g" * 64,
    "0x" + "0" * 62,
    "ab cd" + "0" * 59,  # bytes.fromhex would skip the space
    " " + "0" * 63,
    "０" * 64,  # fullwidth digits
]


@pytest.mark.parametrize("bad", BAD_HEX)
def test_bad_hex_rejected(bad: str) -> None:
    index = PdqIndex.build([1], ["0" * 64])
    with pytest.raises(ValueError):
        index.search(bad)
    with pytest.raises(ValueError):
        index.add(2, bad)
    with pytest.raises(ValueError):
        PdqIndex.build([1, 2], ["0" * 64, bad])
    with pytest.raises(ValueError):
        hamming(bad, "0" * 64)
    with pytest.raises(ValueError):
        parse_pdq(bad)
    assert len(index) == 1


def test_bad_build_arguments() -> None:
    with pytest.raises(ValueError):
        PdqIndex.build([1, 2], ["0" * 64])
    with pytest.raises(ValueError):
        PdqIndex.build([1], np.zeros((1, 31), dtype=np.uint8))
    with pytest.raises(ValueError):
        PdqIndex.build([1], np.zeros((1, 32), dtype=np.int16))
    with pytest.raises(TypeError):
        PdqIndex.build([1.5], ["0" * 64])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        PdqIndex.build([1], ["0" * 64]).search("0" * 64, -1)


def test_uppercase_hex_and_hamming() -> None:
    rng = np.random.default_rng(9)
    a = rng.integers(0, 256, size=HASH_BYTES, dtype=np.uint8)
    b = flip_bits(a, 77, rng)
    assert hamming(to_hex(a), to_hex(b).upper()) == 77
    assert hamming(to_hex(a), to_hex(a)) == 0
    index = PdqIndex.build([1], [to_hex(a).upper()])
    assert index.search(to_hex(b), 77) == [(1, 77)]
    assert index.search(to_hex(b), 76) == []
