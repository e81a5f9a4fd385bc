"""The Merkle tree is RFC 6962/9162's: its reference roots, and proofs that hold exactly when they should."""

from __future__ import annotations

from petitionflow.audit import merkle

# RFC 6962's reference leaves (certificate-transparency's test vectors) and the roots of their
# first 1..8 leaves.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_the_roots_are_rfc_6962s() -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES]
    assert [merkle.root(hashes[:n]).hex() for n in range(1, 9)] == ROOTS
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_leaves_and_nodes_are_hashed_apart() -> None:
    """0x00 before a leaf, 0x01 before a node: an inner node cannot pass for a leaf."""
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.root([a, b]) == merkle.node_hash(a, b)
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


def test_every_inclusion_proof_holds_and_no_other_leaf_passes() -> None:
    for n in range(1, 34):
        hashes = _hashes(n)
        root = merkle.root(hashes)
        for i in range(n):
            proof = merkle.inclusion_proof(i, hashes)
            assert merkle.verify_inclusion(i, n, hashes[i], proof, root), (i, n)
            if n > 1:
                assert not merkle.verify_inclusion(i, n, hashes[(i + 1) % n], proof, root), (i, n)
                assert not merkle.verify_inclusion((i + 1) % n, n, hashes[i], proof, root), (i, n)


def test_every_consistency_proof_holds_and_a_rewritten_leaf_breaks_it() -> None:
    for n in range(1, 34):
        hashes = _hashes(n)
        root = merkle.root(hashes)
        for m in range(0, n + 1):
            proof = merkle.consistency_proof(m, hashes)
            assert merkle.verify_consistency(m, n, merkle.root(hashes[:m]), root, proof), (m, n)
            if 0 < m < n:
                rewritten = [merkle.leaf_hash(b"rewritten"), *hashes[1:]]
                earlier = merkle.root(rewritten[:m])
                assert not merkle.verify_consistency(m, n, earlier, root, proof), (m, n)
                assert not merkle.verify_consistency(m, n, merkle.root(hashes[:m]), root, proof[1:] or [root])


def test_the_leaf_names_petition_seq_and_hash() -> None:
    data = merkle.leaf_input("p-1", 7, bytes(32))
    assert data == b"\x00\x03p-1" + (7).to_bytes(8, "big") + bytes(32)
