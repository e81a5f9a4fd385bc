"""A Merkle tree over the event log, as Certificate Transparency's (RFC 9162, section 2.1).

One leaf per recorded event, in the log's tree order (``store.checkpoints``: ``events.tree_index``).
A leaf's input is ``leaf_input(petition_id, seq, event_hash)``; its hash is
``SHA-256(0x00 || input)``, an inner node's ``SHA-256(0x01 || left || right)``, and the tree of n
leaves splits at the largest power of two below n. The empty tree's root is ``SHA-256()``.

Inclusion proofs (audit paths, RFC 9162 2.1.3) and consistency proofs (2.1.4) are generated from the
leaves and verified with the RFC's own algorithms, so any implementation of the RFC checks them.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

Hash = bytes

EMPTY_ROOT: Hash = hashlib.sha256(b"").digest()


def leaf_input(petition_id: str, seq: int, event_hash: bytes) -> bytes:
    """What a leaf stands for: the petition id (UTF-8, 2-byte length first), the seq (8 bytes,
    big-endian) and the event's chain hash (32 bytes, which covers its whole content)."""
    pid = petition_id.encode()
    if len(event_hash) != 32:
        raise ValueError("an event hash is 32 bytes")
    return struct.pack(">H", len(pid)) + pid + struct.pack(">Q", seq) + event_hash


def leaf_hash(data: bytes) -> Hash:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: Hash, right: Hash) -> Hash:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[Hash]) -> Hash:
    """MTH of the leaf hashes ``leaves``, computed bottom-up (the same tree as the recursive
    definition: pairs are joined left to right and an odd last node is promoted)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        joined = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            joined.append(level[-1])
        level = joined
    return level[0]


def _subroot(leaves: Sequence[Hash], start: int, stop: int) -> Hash:
    return root(leaves[start:stop])


def inclusion_proof(index: int, leaves: Sequence[Hash]) -> list[Hash]:
    """PATH(index, D[n]): the audit path of leaf ``index`` in the tree of ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    proof: list[Hash] = []

    def path(m: int, start: int, stop: int) -> None:
        n = stop - start
        if n == 1:
            return
        k = _split(n)
        if m < k:
            path(m, start, start + k)
            proof.append(_subroot(leaves, start + k, stop))
        else:
            path(m - k, start + k, stop)
            proof.append(_subroot(leaves, start, start + k))

    path(index, 0, len(leaves))
    return proof


def consistency_proof(first: int, leaves: Sequence[Hash]) -> list[Hash]:
    """PROOF(first, D[n]): that the tree of ``leaves`` extends its first ``first`` leaves."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError(f"a tree of {n} has no first {first} leaves")
    if first in (0, n):
        return []
    proof: list[Hash] = []

    def subproof(m: int, start: int, stop: int, whole: bool) -> None:
        size = stop - start
        if m == size:
            if not whole:
                proof.append(_subroot(leaves, start, stop))
            return
        k = _split(size)
        if m <= k:
            subproof(m, start, start + k, whole)
            proof.append(_subroot(leaves, start + k, stop))
        else:
            subproof(m - k, start + k, stop, False)
            proof.append(_subroot(leaves, start, start + k))

    subproof(first, 0, n, True)
    return proof


def verify_inclusion(index: int, size: int, leaf: Hash, proof: Sequence[Hash], expected_root: Hash) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` put ``leaf`` at ``index`` of the tree of ``size`` with
    root ``expected_root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int, second: int, first_root: Hash, second_root: Hash, proof: Sequence[Hash]
) -> bool:
    """RFC 9162 2.1.4.2: does ``proof`` show the tree of ``second`` leaves (root ``second_root``)
    extends the tree of its first ``first`` leaves (root ``first_root``)?"""
    if first > second or first < 0:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's first node
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
