"""Gift card and voucher codes: generation, normalisation, keyed hashing; PINs.

A code is 16 characters of Crockford's base32 (digits and capitals without I, L, O, U), i.e.
16 x 5 = 80 bits from `secrets`, printed in groups of four. Input is forgiving the way Crockford
intends: case, spaces and dashes are ignored, O reads as 0 and I/L as 1, so a misread letter is
never a wrong code. Only HMAC-SHA256(KASSA_CODE_HMAC_KEY, code) and the last 4 characters are
stored: a database leak reveals no usable code, and lookup stays one indexed equality.

PINs (4 to 8 digits) are stored as HMAC-SHA256 under the same server-side key, with a random
salt per PIN. A slow password hash would not protect them: at most 10^8 values fall to an
offline search whatever the hash costs, while it made every till lookup spend ~0.25 s of CPU. The
key is what protects them (a leaked database without the key reveals nothing), and online
guessing is rate-limited (wallet.guessing).
"""

import hashlib
import hmac
import re
import secrets
from functools import cache

from django.conf import settings

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s-]+")
_PIN = re.compile(r"^[0-9]{4,8}$")


def code_generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def code_format(code: str) -> str:
    """`ABCD-EFGH-JKMN-PQRS`: how a code is printed and shown once."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_normalise(raw: str) -> str | None:
    """The canonical code, or None when `raw` cannot be a code at all."""
    code = _SEPARATORS.sub("", raw).upper().translate(_LOOK_ALIKES)
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def code_hmac(code: str) -> str:
    key = settings.KASSA_CODE_HMAC_KEY.encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def pin_is_valid(pin: str) -> bool:
    return bool(_PIN.match(pin))


_PIN_SCHEME = "hmac-sha256"


def _pin_digest(salt: str, pin: str) -> str:
    key = settings.KASSA_CODE_HMAC_KEY.encode()
    return hmac.new(key, f"pin:{salt}:{pin}".encode(), hashlib.sha256).hexdigest()


def pin_hash(pin: str) -> str:
    salt = secrets.token_hex(8)
    return f"{_PIN_SCHEME}${salt}${_pin_digest(salt, pin)}"


def _pin_check(pin: str, stored_hash: str) -> bool:
    scheme, _, rest = stored_hash.partition("$")
    salt, _, digest = rest.partition("$")
    computed = _pin_digest(salt, pin)
    return scheme == _PIN_SCHEME and hmac.compare_digest(computed, digest)


@cache
def _decoy_pin_hash() -> str:
    """A hash of a random secret, so a decoy check costs what a real one costs."""
    return pin_hash(secrets.token_hex(16))


def pin_matches(pin: str | None, stored_hash: str) -> bool:
    """True when no PIN is set, or `pin` is it. Always spends one hash check."""
    if not stored_hash:
        _pin_check(pin or "", _decoy_pin_hash())
        return True
    return pin is not None and _pin_check(pin, stored_hash)


def pin_check_decoy(pin: str | None) -> None:
    """Spend the time of a PIN check when no instrument matched the code."""
    _pin_check(pin or "", _decoy_pin_hash())
