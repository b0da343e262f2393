"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended default, and the password policy:
a minimum length, a strength estimate from zxcvbn (Dropbox's estimator: dictionaries, keyboard patterns,
repeats, dates, l33t) and a check against the user's own e-mail address (ASVS 2.1.7-2.1.9)."""

from __future__ import annotations

import re
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same,
# so timing does not reveal which e-mail addresses have accounts.
_DUMMY_HASH = _hasher.hash("luna-dummy-password")
MIN_LENGTH = 12  # ASVS 2.1.1 (NIST's floor is 8; a passphrase of three words is longer anyway)
MAX_LENGTH = 128  # ASVS 2.1.2: at least 64 allowed, beyond 128 refused
# zxcvbn's scale 0-4; 3 means "safely unguessable: moderate protection from offline slow-hash attacks".
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows fast with length); the first 72 characters are judged.
_ZXCVBN_MAX = 72
# zxcvbn keeps the user inputs in a module-level dictionary while it runs: one evaluation at a time.
_zxcvbn_lock = threading.Lock()
_SEPARATORS = re.compile(r"[\W_]+")


class WeakPassword(ValueError):
    pass


def check_password(password: str, email: str | None = None) -> None:
    """Raises ``WeakPassword`` with a message that says what to change. Run wherever a password is set."""
    if not password.strip():
        raise WeakPassword("password must not be only spaces")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"password must have at most {MAX_LENGTH} characters")
    user_inputs = _email_parts(email)
    folded = _SEPARATORS.sub("", password.casefold())
    for part in user_inputs[:2]:  # the address and its local part; domain names only weigh in zxcvbn
        if len(_SEPARATORS.sub("", part)) >= 4 and _SEPARATORS.sub("", part) in folded:
            raise WeakPassword("password must not contain your e-mail address or the part before the @")
    with _zxcvbn_lock:
        result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=user_inputs)
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        hints = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
        hint = " ".join(h.strip() for h in hints if h and h.strip())
        raise WeakPassword(f"password is too easy to guess{': ' + hint if hint else ''}")


def _email_parts(email: str | None) -> list[str]:
    if not email:
        return []
    address = email.strip().casefold()
    local, _, domain = address.partition("@")
    labels = [label for label in domain.split(".")[:-1] if label]  # the domain's names, not its TLD
    return [address, local, *labels]


def generate_password() -> str:
    """A random password the policy accepts (demo accounts, first admin)."""
    while True:
        candidate = secrets.token_urlsafe(15)
        try:
            check_password(candidate)
        except WeakPassword:  # practically never for 20 random characters; drawn again if so
            continue
        return candidate


def hash_password(password: str) -> str:
    """No policy here: a login re-hashing an older, shorter password must not fail (``check_password``)."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
