"""Password rules and Argon2id hashing, without HTTP."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services import passwords
from portal.services.errors import InvalidInput


@pytest.fixture(autouse=True)
def cheap_hashing():
    # The cost the test configuration uses: the tests check behaviour, not cost.
    passwords.configure(time_cost=1, memory_kib=8, parallelism=1)


@pytest.mark.parametrize("too_short", ["", "a", "eleven char", "short pass!"])
def test_new_password_needs_at_least_12_characters(too_short):
    with pytest.raises(InvalidInput) as refused:
        passwords.check_new_password(too_short)
    assert refused.value.field == "password"
    assert "12" in str(refused.value.message)


def test_a_12_character_password_of_unrelated_words_is_accepted():
    passwords.check_new_password("kite violet9")


def test_a_passphrase_of_a_few_words_is_accepted():
    passwords.check_new_password("correct horse battery staple")


@pytest.mark.parametrize(
    "common",
    [
        "password1234",
        "qwertyuiopas",
        "PASSWORD1234",
        "Password1234!",
        "123456123456",
        "!!password!!",
        "aaaaaaaaaaaa",
        "abcabcabcabc",
        "iloveyou2024",
    ],
)
def test_common_and_repeated_passwords_are_refused(common):
    with pytest.raises(InvalidInput) as refused:
        passwords.check_new_password(common)
    assert refused.value.field == "password"
    assert "too common" in str(refused.value.message)


def test_a_password_containing_the_users_name_or_email_is_refused():
    with pytest.raises(InvalidInput):
        passwords.check_new_password("maria.lopez rocks", context=("maria.lopez", "María López"))
    with pytest.raises(InvalidInput):
        passwords.check_new_password("my name is Rivera!", context=("alex", "Rivera"))


def test_short_context_parts_do_not_refuse_a_password():
    passwords.check_new_password("al is a good sailor", context=("al", "Al"))


def test_a_password_longer_than_the_maximum_is_refused():
    with pytest.raises(InvalidInput) as refused:
        passwords.check_new_password("x" * 700 + "y" * (passwords.MAX_LENGTH - 699))
    assert str(passwords.MAX_LENGTH) in str(refused.value.message)


def test_a_password_of_the_maximum_length_is_accepted():
    longest = "rain on tin roofs " * 56 + "and then sunrise"
    assert len(longest) == passwords.MAX_LENGTH
    passwords.check_new_password(longest)


def test_hashes_are_argon2id_and_verify():
    hashed = passwords.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "correct horse battery staple")
    assert not passwords.verify_password(hashed, "correct horse battery stapler")


def test_the_same_password_hashes_differently_each_time():
    assert passwords.hash_password("same words every time") != passwords.hash_password("same words every time")


def test_a_passphrase_differing_only_after_the_72nd_byte_does_not_verify():
    # bcrypt would stop at byte 72 and accept this; Argon2id hashes every byte.
    prefix = "the quick brown fox jumps over the lazy dog and keeps running far far away "
    assert len(prefix.encode()) >= 72
    hashed = passwords.hash_password(prefix + "north")
    assert passwords.verify_password(hashed, prefix + "north")
    assert not passwords.verify_password(hashed, prefix + "south")


def test_multibyte_passphrases_differing_after_72_bytes_do_not_verify():
    prefix = "ñandú " * 15  # 105 bytes in UTF-8
    hashed = passwords.hash_password(prefix + "uno")
    assert not passwords.verify_password(hashed, prefix + "dos")


def test_an_account_without_a_password_never_verifies():
    assert not passwords.verify_password(None, "")
    assert not passwords.verify_password(None, "an unknown account spends as long as a known one")


@pytest.mark.parametrize("broken", ["", "not a hash", "$argon2id$v=19$broken"])
def test_a_damaged_hash_does_not_verify_and_does_not_raise(broken):
    assert not passwords.verify_password(broken, "anything at all")


def test_a_hash_made_with_a_lower_cost_needs_rehashing():
    passwords.configure(time_cost=1, memory_kib=8, parallelism=1)
    cheap = passwords.hash_password("correct horse battery staple")
    assert not passwords.needs_rehash(cheap)
    passwords.configure(time_cost=2, memory_kib=16, parallelism=1)
    assert passwords.needs_rehash(cheap)
    assert passwords.verify_password(cheap, "correct horse battery staple")


def test_the_common_password_list_is_loaded():
    common = passwords.common_passwords()
    assert len(common) > 10_000
    assert "password" in common


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_is_common_answers_true_or_false_for_any_text(text):
    assert passwords.is_common(text) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.lists(st.text(max_size=30), max_size=3))
def test_check_new_password_raises_nothing_but_invalid_input(text, context):
    try:
        passwords.check_new_password(text, context=tuple(context))
    except InvalidInput as refused:
        assert refused.field == "password"
        assert str(refused.message)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789!@#$%^&*()-_=+.,?~ ", max_size=20), st.text(alphabet="0123456789!?", max_size=5))
def test_a_common_password_padded_with_digits_and_symbols_is_still_common(before, after):
    assert passwords.is_common(before + "sunshine" + after)
