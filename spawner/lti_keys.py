"""The tool's own key pair for LTI 1.3, and its public half as a JSON Web Key Set.

The platform (the school's LMS) verifies with it the JWTs the tool signs: the client assertion
with which the LMS service asks for an AGS access token before posting a score. The pair is made
once, at the hub's first start with ``LMS_AUTHENTICATOR=lti13``, as ``<LMS_STATE_DIR>/lti/
tool-key.pem`` (an RSA 2048 private key, readable by its owner only); its key id is the RFC 7638
thumbprint of the public key. ``GET /hub/lti13/jwks`` serves the public key: a key set is public
by design (the platform fetches it without any login), so this route asks for none.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jupyterhub.handlers.base import BaseHandler

KEY_FILE = "tool-key.pem"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def ensure_tool_key(state_dir: str) -> str:
    """The path of the tool's private key under ``state_dir``, made on the first call."""
    folder = Path(state_dir) / "lti"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / KEY_FILE
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.replace(tmp, path)  # never a half-written key
    return str(path)


def load_private_key(path: str):
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def public_jwk(path: str) -> dict:
    """The public key of the private key at ``path``, as a JWK with its thumbprint as kid."""
    numbers = load_private_key(path).public_key().public_numbers()
    members = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": kid, "alg": "RS256", "use": "sig"}


def key_id(path: str) -> str:
    return public_jwk(path)["kid"]


class ToolJwksHandler(BaseHandler):
    """``GET /hub/lti13/jwks``: the tool's public key set (public, as every JWKS)."""

    def check_xsrf_cookie(self):  # GET only, and nothing secret
        return

    async def get(self):
        path = self.authenticator.tool_key_path
        if not path:
            self.set_status(404)
            self.finish({"error": "this hub has no LTI tool key"})
            return
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "max-age=300")
        self.finish(json.dumps({"keys": [public_jwk(path)]}))
