"""Fixed test key pairs (tests/fixtures/keys/*.pem, RSA-2048 PKCS8) as PEM strings."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization

_KEYS = Path(__file__).parent / "fixtures" / "keys"


def _load(name: str) -> tuple[str, str]:
    private_pem = (_KEYS / f"{name}.pem").read_text(encoding="ascii")
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem.decode("ascii")


ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM = _load("alice")
BOB_PRIVATE_PEM, BOB_PUBLIC_PEM = _load("bob")
