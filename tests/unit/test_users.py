"""The web pages' users: logins, roles, passwords and the sessions they end."""

from __future__ import annotations

import pytest

from regulars.adapters.memory import MemoryUserStore
from regulars.adapters.passwords import Argon2Hasher
from regulars.i18n import use_language
from regulars.services.users import Role, UserError, Users

PASSWORD = "correct horse battery"


@pytest.fixture
def users() -> Users:
    return Users(MemoryUserStore(), Argon2Hasher(cheap=True), ttl=60)


def test_a_login_is_kept_in_lower_case_and_signs_in_however_it_is_typed(users):
    user = users.create("  Anna.K@Shop ", "cashier", PASSWORD)
    assert user.login == "anna.k@shop"
    assert users.authenticate("ANNA.K@shop", PASSWORD) == user


@pytest.mark.parametrize("login", ["", "-anna", "an na", "a" * 65, "анна"])
def test_a_login_outside_the_letters_it_may_have_is_refused(users, login):
    with pytest.raises(UserError, match="a login is 1 to 64"):
        users.create(login, "cashier", PASSWORD)


def test_a_login_is_taken_once(users):
    users.create("anna", "cashier", PASSWORD)
    with pytest.raises(UserError, match="the login anna is taken"):
        users.create("ANNA", "owner", PASSWORD)


def test_a_manager_is_bound_to_a_managers_name_and_only_a_manager(users):
    with pytest.raises(UserError, match="give --manager"):
        users.create("anna", Role.MANAGER, PASSWORD)
    with pytest.raises(UserError, match="only a user with the role manager"):
        users.create("boris", Role.CASHIER, PASSWORD, manager="Boris")
    assert users.create("anna", Role.MANAGER, PASSWORD, manager=" Anna K ").manager == "Anna K"


@pytest.mark.parametrize(("password", "says"), [("short", "at least 10"),
                                                 ("x" * 1025, "at most 1024")])
def test_a_password_too_short_or_too_long_is_refused(users, password, says):
    with pytest.raises(UserError, match=says):
        users.create("anna", "owner", password)


def test_the_refusals_are_in_the_readers_language(users):
    with use_language("ru"), pytest.raises(UserError, match="пароль должен быть не короче"):
        users.create("anna", "owner", "short")


def test_only_the_hash_of_a_password_is_kept(users):
    user = users.create("anna", "owner", PASSWORD)
    stored = users.store.get_user(user.user_id)
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)


def test_a_wrong_password_an_unknown_login_and_a_disabled_user_do_not_sign_in(users):
    users.create("anna", "owner", PASSWORD)
    users.create("boris", "cashier", PASSWORD)
    users.disable("boris")
    assert users.authenticate("anna", "wrong password") is None
    assert users.authenticate("nobody", PASSWORD) is None
    assert users.authenticate("boris", PASSWORD) is None
    assert users.enable("boris").active
    assert users.authenticate("boris", PASSWORD) is not None


def test_a_session_ends_when_the_password_changes_or_the_user_is_disabled(users):
    user = users.create("anna", "owner", PASSWORD)
    assert users.session_user(user.user_id, user.session_epoch) == user
    changed = users.set_password("anna", "a new good password")
    assert users.session_user(user.user_id, user.session_epoch) is None
    assert users.session_user(user.user_id, changed.session_epoch) is not None
    users.disable("anna")
    assert users.session_user(user.user_id, changed.session_epoch) is None
    assert users.session_user("nobody", 1) is None


def test_a_sessions_user_is_read_once_within_the_ttl(users):
    user = users.create("anna", "owner", PASSWORD)
    for _ in range(5):
        users.session_user(user.user_id, 1)
    assert users.store.reads == 1


def test_a_hash_made_with_weaker_parameters_is_made_again_at_sign_in():
    store = MemoryUserStore()
    Users(store, Argon2Hasher(cheap=True)).create("anna", "owner", PASSWORD)
    strong = Users(store, Argon2Hasher())
    assert strong.authenticate("anna", PASSWORD) is not None
    assert not Argon2Hasher().needs_rehash(store.user_by_login("anna")["password_hash"])


def test_the_language_is_one_regulars_speaks_or_none(users):
    user = users.create("anna", "owner", PASSWORD, language="et")
    assert user.language == "et"
    users.set_language(user.user_id, None)
    assert users.get("anna").language is None
    with pytest.raises(UserError, match="unknown language"):
        users.set_language(user.user_id, "de")


def test_the_session_key_is_made_once(users):
    key = users.session_secret()
    assert len(key) >= 48 and users.session_secret() == key
