"""PINs: keyed, salted, compared in constant time; useless without the server's key."""

from wallet.codes import pin_hash, pin_matches


def test_the_right_pin_matches_and_a_wrong_one_does_not() -> None:
    stored = pin_hash("4321")
    assert pin_matches("4321", stored)
    assert not pin_matches("4322", stored)
    assert not pin_matches(None, stored)
    assert "4321" not in stored


def test_each_pin_gets_its_own_salt() -> None:
    assert pin_hash("4321") != pin_hash("4321")


def test_without_the_key_the_hash_is_useless(settings) -> None:
    stored = pin_hash("4321")
    settings.KASSA_CODE_HMAC_KEY = "another-deployment-key"
    assert not pin_matches("4321", stored)


def test_no_pin_set_accepts_any_and_unknown_schemes_never_match() -> None:
    assert pin_matches(None, "")
    assert not pin_matches("4321", "pbkdf2_sha256$1000000$salt$digest")
