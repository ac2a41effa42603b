"""Exact near-duplicate search over 256-bit PDQ hashes by multi-index hashing."""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["HASH_BYTES", "MIH_MAX_DISTANCE", "PdqIndex", "hamming", "parse_pdq"]

HASH_BYTES = 32
_WORDS = HASH_BYTES // 8

# Multi-index hashing (Norouzi, Punjani & Fleet): the 256 bits are cut into m = 8 substrings
# of 32 bits (4 bytes). If two hashes differ in at most r bits, one of the 8 substrings
# differs in at most floor(r / 8) bits, so r <= 31 needs only substring radius 3. Fewer,
# longer substrings explode the probe count (m = 7 means radius 4 over 37 bits: 75k probes
# per substring); more substrings cost one row permutation each, the dominant memory item.
_SUBSTRINGS = 8
_SUB_BYTES = HASH_BYTES // _SUBSTRINGS
_MAX_RADIUS = 3
MIH_MAX_DISTANCE = _SUBSTRINGS * (_MAX_RADIUS + 1) - 1  # 31; wider searches scan linearly

# Each substring table buckets rows by the substring's top 16 bits through a direct offset
# table (65,537 uint32, 256 KiB) rather than a sorted 32-bit key array: a lookup is one
# gather instead of a 20-step binary search whose last steps all miss the cache. Inside a
# bucket the next 8 bits (the "residual" byte) are kept alongside the rows and filter out
# almost every non-candidate before the raw hash is touched; the last 8 bits of the
# substring are only checked by the exact 256-bit verification.
_BUCKET_BITS = 16
_N_BUCKETS = 1 << _BUCKET_BITS
_OFFSETS_PER_SUB = _N_BUCKETS + 1

# Adds go to a small unsorted buffer, scanned linearly on every search; at this size the
# scan costs ~0.15 ms at 1M rows, and the rebuild it triggers is amortised over as many adds.
DEFAULT_DELTA_CAPACITY = 16_384

_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")
_UINT32_MAX = (1 << 32) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_Rows = npt.NDArray[np.intp]


def _low_weight_masks() -> tuple[_Rows, _Rows, tuple[int, ...]]:
    """All 16-bit masks of at most _MAX_RADIUS set bits, lightest first."""
    values = np.arange(_N_BUCKETS, dtype=np.intp)
    weights = np.bitwise_count(values).astype(np.intp)
    keep = np.flatnonzero(weights <= _MAX_RADIUS)
    order = np.argsort(weights[keep], kind="stable")
    masks, mask_weights = values[keep][order], weights[keep][order]
    # Sorted by weight, the probes for radius r are a prefix: 1, 17, 137, 697 masks.
    prefix = tuple(
        int(np.searchsorted(mask_weights, r, side="right")) for r in range(_MAX_RADIUS + 1)
    )
    return masks, mask_weights, prefix


_MASKS, _MASK_WEIGHTS, _MASKS_FOR_RADIUS = _low_weight_masks()

# _RESIDUAL_PASS[budget << 8 | (residual ^ query_residual)]: may this entry still be within
# the substring radius? `budget` is what the radius leaves after the bucket's own flips.
_RESIDUAL_PASS = (
    np.bitwise_count(np.arange(256, dtype=np.uint8))[None, :]
    <= np.arange(_MAX_RADIUS + 1, dtype=np.uint8)[:, None]
).ravel()


def parse_pdq(pdq_hex: str) -> npt.NDArray[np.uint8]:
    """Decode a 64-hex-digit PDQ hash to 32 bytes; ValueError when it is not one."""
    # fullmatch first: bytes.fromhex alone would accept embedded whitespace.
    if not isinstance(pdq_hex, str) or _HEX_RE.fullmatch(pdq_hex) is None:
        raise ValueError(f"not a PDQ hash (64 hex digits): {pdq_hex!r:.80}")
    return np.frombuffer(bytes.fromhex(pdq_hex), dtype=np.uint8)


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two PDQ hashes given as hex."""
    for value in (a_hex, b_hex):
        if not isinstance(value, str) or _HEX_RE.fullmatch(value) is None:
            raise ValueError(f"not a PDQ hash (64 hex digits): {value!r:.80}")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def _parse_many(hashes: Sequence[str]) -> npt.NDArray[np.uint8]:
    n = len(hashes)
    # One join + one fromhex is ~20x faster than a million fromhex calls. Every item being a
    # 64-char ASCII str, and fromhex yielding exactly 32 bytes each, rules out whitespace,
    # which fromhex would otherwise skip silently.
    well_formed = all(isinstance(h, str) and len(h) == 2 * HASH_BYTES for h in hashes)
    joined = "".join(hashes) if well_formed else ""
    if well_formed and joined.isascii():
        try:
            raw = bytes.fromhex(joined)
        except ValueError:
            raw = b""
        if len(raw) == n * HASH_BYTES:
            return np.frombuffer(raw, dtype=np.uint8).reshape(n, HASH_BYTES).copy()
    for i, h in enumerate(hashes):  # slow path, only to name the culprit
        if not isinstance(h, str) or _HEX_RE.fullmatch(h) is None:
            raise ValueError(f"hashes[{i}] is not a PDQ hash (64 hex digits): {h!r:.80}")
    raise ValueError("hashes are not PDQ hashes")  # unreachable in practice


def _as_hash_array(hashes: Sequence[str] | np.ndarray) -> npt.NDArray[np.uint8]:
    if isinstance(hashes, np.ndarray) and hashes.dtype.kind not in "UO":
        if hashes.dtype != np.uint8 or hashes.ndim != 2 or hashes.shape[1] != HASH_BYTES:
            raise ValueError(
                f"hash array must be (n, {HASH_BYTES}) uint8, got {hashes.shape} {hashes.dtype}"
            )
        return np.ascontiguousarray(hashes)  # the byte-pair views below need C order
    if isinstance(hashes, str):
        raise TypeError("hashes must be a sequence of hex strings, not one string")
    return _parse_many(list(hashes) if isinstance(hashes, np.ndarray) else hashes)


def _check_id(value: int) -> int:
    if isinstance(value, bool):
        raise TypeError("id must be an integer, not a bool")
    as_int = operator.index(value)
    if not _INT64_MIN <= as_int <= _INT64_MAX:
        raise ValueError(f"id {as_int} does not fit in 64 bits")
    return as_int


def _compact_ids(ids: np.ndarray) -> npt.NDArray[np.uint32] | npt.NDArray[np.int64]:
    # Database ids are non-negative and usually below 2**32: half the memory of int64.
    if ids.size and ids.min() >= 0 and ids.max() <= _UINT32_MAX:
        return ids.astype(np.uint32)
    return ids.astype(np.int64)


def _as_id_array(ids: np.ndarray | Sequence[int], n: int) -> npt.NDArray[np.int64]:
    arr = np.asarray(ids)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"need one id per hash: {arr.shape} ids for {n} hashes")
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind == "O":
        return np.array([_check_id(v) for v in arr.tolist()], dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got {arr.dtype}")
    if arr.dtype == np.uint64 and int(arr.max()) > _INT64_MAX:
        raise ValueError("ids must fit in 64-bit signed integers")
    return arr.astype(np.int64, copy=False)


class _PackedRows:
    """Row numbers at ceil(log2 n) bits where cheap: low 16 bits + 0, 4, 8 or 16 high bits.

    Seven of these (one per non-primary substring) are the largest part of the index; at
    n <= 2**20 nibble packing makes them 2.5 bytes per row instead of 4.
    """

    __slots__ = ("high", "high_bits", "low")

    def __init__(self, size: int, n_rows: int) -> None:
        self.low = np.empty(size, dtype=np.uint16)
        self.high: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]
        if n_rows <= 1 << 16:
            self.high_bits, self.high = 0, np.empty(0, dtype=np.uint8)
        elif n_rows <= 1 << 20:
            self.high_bits, self.high = 4, np.empty((size + 1) // 2, dtype=np.uint8)
        elif n_rows <= 1 << 24:
            self.high_bits, self.high = 8, np.empty(size, dtype=np.uint8)
        else:
            self.high_bits, self.high = 16, np.empty(size, dtype=np.uint16)

    def put(self, start: int, rows: _Rows) -> None:
        """Store rows at [start, start + len(rows)); start must be even."""
        stop = start + len(rows)
        self.low[start:stop] = rows
        if self.high_bits == 4:
            high = (rows >> 16).astype(np.uint8)
            if len(high) % 2:
                high = np.append(high, np.uint8(0))
            self.high[start // 2 : start // 2 + len(high) // 2] = high[0::2] | (high[1::2] << 4)
        elif self.high_bits:
            self.high[start:stop] = rows >> 16

    def __getitem__(self, index: _Rows) -> _Rows:
        rows = self.low[index].astype(np.intp)
        if self.high_bits == 4:
            nibble = (self.high[index >> 1] >> ((index & 1) << 2).astype(np.uint8)) & 0xF
            rows |= nibble.astype(np.intp) << 16
        elif self.high_bits:
            rows |= self.high[index].astype(np.intp) << 16
        return rows

    @property
    def nbytes(self) -> int:
        return self.low.nbytes + self.high.nbytes


class _Tables:
    """The immutable bulk part of the index: hashes, ids and the 8 substring tables."""

    __slots__ = ("ids", "n", "offsets", "perm", "raw", "raw64", "residual")

    def __init__(self, raw: npt.NDArray[np.uint8], ids: npt.NDArray[np.int64]) -> None:
        n = self.n = len(raw)
        # Rows are stored sorted by substring 0's bucket, so substring 0 needs no permutation
        # (saves one of eight) and its buckets are contiguous runs of raw rows.
        key = _bucket_keys(raw, 0)
        order = np.argsort(key, kind="stable")  # 16-bit keys: numpy radix-sorts, O(n)
        self.raw = raw.take(order, axis=0)  # take: ~5x faster than fancy indexing here
        self.raw64 = self.raw.view(np.uint64)  # (n, 4) for a 4-word XOR + popcount
        self.ids = _compact_ids(ids.take(order))
        # Offsets are global positions into the flattened (8, n) residual array so a probe is
        # a single gather; uint32 holds them up to n = 2**29.
        off_dtype = np.uint32 if _SUBSTRINGS * n <= _UINT32_MAX else np.int64
        # The offset tables are a fixed 2 MiB; an empty index (the start of every add-only
        # index) skips them.
        self.offsets = np.empty((_SUBSTRINGS, _OFFSETS_PER_SUB if n else 0), dtype=off_dtype)
        self.residual = np.empty((_SUBSTRINGS, n), dtype=np.uint8)
        # Substring s >= 1 lives at [(s - 1) * n', ...) with n' even so nibble pairs never
        # straddle two substrings.
        self.perm = _PackedRows((_SUBSTRINGS - 1) * _even(n), n)
        for s in range(_SUBSTRINGS if n else 0):
            residual = np.ascontiguousarray(self.raw[:, s * _SUB_BYTES + 2])
            if s:
                key = _bucket_keys(self.raw, s)
                order = np.argsort(key, kind="stable")
                self.perm.put((s - 1) * _even(n), order)
                np.take(residual, order, out=self.residual[s])
            else:
                key = key.take(order)
                self.residual[0] = residual
            self.offsets[s, 0] = s * n
            np.cumsum(np.bincount(key, minlength=_N_BUCKETS), out=self.offsets[s, 1:])
            self.offsets[s, 1:] += s * n

    @property
    def nbytes(self) -> int:
        parts = (self.raw, self.ids, self.offsets, self.residual)
        return sum(a.nbytes for a in parts) + self.perm.nbytes

    def candidates(self, query: npt.NDArray[np.uint8], radius: int) -> _Rows:
        """Rows with some substring within `radius` bits of the query's; a superset."""
        if self.n == 0:
            return np.empty(0, dtype=np.intp)
        n_masks = _MASKS_FOR_RADIUS[radius]
        masks = _MASKS[:n_masks]
        q_hi = (query[0::_SUB_BYTES].astype(np.intp) << 8) | query[1::_SUB_BYTES]
        buckets = ((q_hi[:, None] ^ masks) + _BUCKET_BASE).ravel()
        offsets = self.offsets.ravel()
        starts = offsets[buckets].astype(np.intp)
        lengths = offsets[buckets + 1].astype(np.intp) - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.intp)
        # Expand every probed bucket [start, start + length) into one position array.
        ends = np.cumsum(lengths)
        positions = np.repeat(starts - (ends - lengths), lengths) + np.arange(total)
        # Per probe: bits left for the residual byte, and the query's residual byte, packed so
        # that one XOR with the stored residual forms the _RESIDUAL_PASS index.
        budget = (radius - _MASK_WEIGHTS[:n_masks]) << 8
        # uint16 codes and take() rather than [] keep these ~85k-element passes narrow.
        code = (budget | query[2::_SUB_BYTES, None]).astype(np.uint16).ravel()
        residual = self.residual.ravel()[positions]
        passed = _RESIDUAL_PASS.take(np.repeat(code, lengths) ^ residual)
        positions = positions[passed]
        # Positions in substring 0 are raw rows already; the rest go through a permutation.
        secondary = np.flatnonzero(positions >= self.n)
        rows: _Rows = positions.copy()
        if len(secondary):
            sub, pos = np.divmod(positions[secondary], self.n)
            rows[secondary] = self.perm[(sub - 1) * _even(self.n) + pos]
        return rows

    def distances(self, query64: npt.NDArray[np.uint64], rows: _Rows) -> _Rows:
        return _word_distances(np.bitwise_count(self.raw64[rows] ^ query64).T)


_BUCKET_BASE = (np.arange(_SUBSTRINGS, dtype=np.intp) * _OFFSETS_PER_SUB)[:, None]


def _word_distances(counts: npt.NDArray[np.uint8]) -> _Rows:
    """Sum the (4, k) per-word popcounts; 3x faster than .sum(axis=...) on 4-wide rows."""
    total: _Rows = counts[0].astype(np.intp)
    for word in counts[1:]:
        total += word
    return total


def _even(n: int) -> int:
    return n + (n & 1)


def _bucket_keys(raw: npt.NDArray[np.uint8], s: int) -> npt.NDArray[np.uint16]:
    """Top 16 bits of substring s: bytes 4s and 4s+1 read big-endian."""
    return raw.view(">u2")[:, s * _SUB_BYTES // 2].astype(np.uint16)


class PdqIndex:
    """Exact Hamming-radius search over PDQ hashes; ids need not be unique.

    Bulk data lives in immutable tables; add() appends to an unsorted delta buffer and
    remove() sets tombstone bits, both folded into a rebuild when they grow. Not safe for
    concurrent mutation; concurrent searches are fine.
    """

    def __init__(self, *, delta_capacity: int = DEFAULT_DELTA_CAPACITY) -> None:
        if delta_capacity < 1:
            raise ValueError("delta_capacity must be positive")
        self._delta_capacity = delta_capacity
        self._tables = _Tables(
            np.empty((0, HASH_BYTES), dtype=np.uint8), np.empty(0, dtype=np.int64)
        )
        self._dead: npt.NDArray[np.uint8] | None = None  # tombstone bitmap over table rows
        self._n_dead = 0
        # Buffered adds, stored word-major (4, capacity) uint64 so that the linear scan reads
        # four contiguous runs: 10x faster than XOR-ing (k, 4) rows.
        self._delta_words = np.empty((_WORDS, 0), dtype=np.uint64)
        self._delta_ids = np.empty(0, dtype=np.int64)
        self._delta_len = 0

    @classmethod
    def build(
        cls,
        ids: np.ndarray | Sequence[int],
        hashes: Sequence[str] | np.ndarray,
        *,
        delta_capacity: int = DEFAULT_DELTA_CAPACITY,
    ) -> PdqIndex:
        """Index hashes (hex strings or an (n, 32) uint8 array) under the matching ids."""
        raw = _as_hash_array(hashes)
        index = cls(delta_capacity=delta_capacity)
        index._tables = _Tables(raw, _as_id_array(ids, len(raw)))
        return index

    def __len__(self) -> int:
        return self._tables.n - self._n_dead + self._delta_len

    @property
    def nbytes(self) -> int:
        """Bytes held in numpy arrays: raw hashes, ids, substring tables, buffers."""
        extra = self._delta_words.nbytes + self._delta_ids.nbytes
        if self._dead is not None:
            extra += self._dead.nbytes
        return self._tables.nbytes + extra

    def add(self, id: int, pdq_hex: str) -> None:
        """Insert one hash; visible to search immediately."""
        id_ = _check_id(id)
        row = parse_pdq(pdq_hex)
        if self._delta_len == self._delta_words.shape[1]:
            self._grow_delta()
        self._delta_words[:, self._delta_len] = row.view(np.uint64)
        self._delta_ids[self._delta_len] = id_
        self._delta_len += 1
        if self._delta_len >= self._delta_capacity:
            self._rebuild()

    def remove(self, id: int) -> None:
        """Drop every hash stored under id; KeyError if there is none."""
        id_ = _check_id(id)
        found = False
        tables = self._tables
        info = np.iinfo(tables.ids.dtype)
        if tables.n and info.min <= id_ <= info.max:
            rows = np.flatnonzero(tables.ids == id_)
            if len(rows):
                dead = self._tombstones()
                rows = rows[~self._is_dead(rows)]
                np.bitwise_or.at(dead, rows >> 3, (1 << (rows & 7)).astype(np.uint8))
                self._n_dead += len(rows)
                found = bool(len(rows))
        if self._delta_len:
            hit = self._delta_ids[: self._delta_len] == id_
            if hit.any():
                keep = np.flatnonzero(~hit)
                self._delta_words[:, : len(keep)] = self._delta_words[:, keep]
                self._delta_ids[: len(keep)] = self._delta_ids[keep]
                self._delta_len = len(keep)
                found = True
        if not found:
            raise KeyError(id_)
        # Tombstoned rows still cost memory and candidate checks; compact once they pile up.
        if self._n_dead > max(self._delta_capacity, tables.n // 4):
            self._rebuild()

    def search(self, pdq_hex: str, max_distance: int = MIH_MAX_DISTANCE) -> list[tuple[int, int]]:
        """Every stored (id, distance) with distance <= max_distance, by distance then id.

        Exact at any radius; up to MIH_MAX_DISTANCE (31) it probes the substring tables,
        beyond that it falls back to a linear scan.
        """
        query = parse_pdq(pdq_hex)
        max_distance = operator.index(max_distance)
        if max_distance < 0:
            raise ValueError("max_distance must be >= 0")
        query64 = query.view(np.uint64)
        tables = self._tables
        if max_distance <= MIH_MAX_DISTANCE:
            rows = np.unique(tables.candidates(query, max_distance // _SUBSTRINGS))
        else:
            rows = np.arange(tables.n, dtype=np.intp)
        dist = tables.distances(query64, rows)
        hit = dist <= max_distance
        rows, dist = rows[hit], dist[hit]
        if self._n_dead and len(rows):
            alive = ~self._is_dead(rows)
            rows, dist = rows[alive], dist[alive]
        ids = tables.ids[rows].astype(np.int64)
        if self._delta_len:
            delta = self._delta_words[:, : self._delta_len]
            delta_dist = _word_distances(np.bitwise_count(delta ^ query64[:, None]))
            delta_hit = np.flatnonzero(delta_dist <= max_distance)
            ids = np.concatenate([ids, self._delta_ids[delta_hit]])
            dist = np.concatenate([dist, delta_dist[delta_hit]])
        order = np.lexsort((ids, dist))
        return list(zip(ids[order].tolist(), dist[order].tolist(), strict=True))

    def _tombstones(self) -> npt.NDArray[np.uint8]:
        if self._dead is None:
            self._dead = np.zeros((self._tables.n + 7) // 8, dtype=np.uint8)
        return self._dead

    def _is_dead(self, rows: _Rows) -> npt.NDArray[np.bool_]:
        if self._dead is None:
            return np.zeros(len(rows), dtype=bool)
        bits = self._dead[rows >> 3] >> (rows & 7).astype(np.uint8)
        dead: npt.NDArray[np.bool_] = (bits & 1).astype(bool)
        return dead

    def _grow_delta(self) -> None:
        size = min(self._delta_capacity, max(64, 2 * self._delta_words.shape[1]))
        words = np.empty((_WORDS, size), dtype=np.uint64)
        ids = np.empty(size, dtype=np.int64)
        words[:, : self._delta_len] = self._delta_words[:, : self._delta_len]
        ids[: self._delta_len] = self._delta_ids[: self._delta_len]
        self._delta_words, self._delta_ids = words, ids

    def _rebuild(self) -> None:
        """Fold the delta buffer and tombstones into freshly built tables."""
        tables = self._tables
        live = np.flatnonzero(~self._is_dead(np.arange(tables.n, dtype=np.intp)))
        delta = self._delta_words[:, : self._delta_len].T.copy().view(np.uint8)
        raw = np.concatenate([tables.raw[live], delta])
        ids = np.concatenate(
            [tables.ids[live].astype(np.int64), self._delta_ids[: self._delta_len]]
        )
        self._tables = _Tables(raw, ids)
        self._dead, self._n_dead = None, 0
        self._delta_words = np.empty((_WORDS, 0), dtype=np.uint64)
        self._delta_ids = np.empty(0, dtype=np.int64)
        self._delta_len = 0
