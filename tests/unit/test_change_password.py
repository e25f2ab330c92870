"""A person's own change of password: the current one required, the rules of
``users password``, every session of theirs ended (the page starts a fresh one)."""

from __future__ import annotations

import pytest

from regulars.adapters.memory import MemoryUserStore
from regulars.adapters.passwords import Argon2Hasher
from regulars.services.users import UserError, Users, WrongPasswordError

PASSWORD = "correct horse battery"
NEW = "a new long password"


@pytest.fixture
def users() -> Users:
    return Users(MemoryUserStore(), Argon2Hasher(cheap=True), ttl=60)


def test_the_current_password_is_required_and_nothing_changes_without_it(users):
    anna = users.create("anna", "cashier", PASSWORD)
    with pytest.raises(WrongPasswordError):
        users.change_password(anna.user_id, "not it at all", NEW)
    assert users.authenticate("anna", PASSWORD) is not None
    assert users.session_user(anna.user_id, anna.session_epoch) is not None


def test_the_new_password_follows_the_rules(users):
    anna = users.create("anna", "cashier", PASSWORD)
    with pytest.raises(UserError, match="at least 10 characters"):
        users.change_password(anna.user_id, PASSWORD, "short")
    assert users.authenticate("anna", PASSWORD) is not None


def test_a_change_ends_every_session_and_the_new_epoch_is_returned(users):
    anna = users.create("anna", "cashier", PASSWORD)
    changed = users.change_password(anna.user_id, PASSWORD, NEW)
    assert changed.session_epoch == anna.session_epoch + 1
    assert users.session_user(anna.user_id, anna.session_epoch) is None
    assert users.session_user(anna.user_id, changed.session_epoch) == changed
    assert users.authenticate("anna", PASSWORD) is None
    assert users.authenticate("anna", NEW) is not None
