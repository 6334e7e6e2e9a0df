from __future__ import annotations

from pathlib import Path


def demo_signing_key(path: Path) -> str:
    """The demo's OpenID Connect RSA key: made on first start, kept beside the settings, never committed."""
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path.read_text()


#: Where the demo keeps its key-based client's private key: beside the settings, git-ignored.
CLIENT_KEY_PATH = Path(__file__).resolve().parent / "jar-client.key"


def demo_client_key(path: Path = CLIENT_KEY_PATH) -> str:
    """The private EC P-256 JWK of the demo's key-based client (private_key_jwt, JAR), as JSON.

    Made on first start and kept beside the settings, never committed; setup_demo registers its
    public half on the client.
    """
    if not path.exists():
        from jwcrypto import jwk

        key = jwk.JWK.generate(kty="EC", crv="P-256")
        key["kid"] = key.thumbprint()
        path.write_text(key.export_private())
        path.chmod(0o600)
    return path.read_text()
