"""Collection owners and the share setting (sign-in on)."""

from __future__ import annotations

import pytest

from rag.access.collection_owners import CollectionOwners, access_path, may_manage, may_see
from rag.access.users import ADMIN_ROLE, USER_ROLE, User
from rag.errors import ConfigError
from rag.settings import Settings

ALICE = User("alice", "Alice", (USER_ROLE,))
BOB = User("bob", "Bob", (USER_ROLE,))
ADMIN = User("root", "Root", (ADMIN_ROLE,))
NAMES = ["alice-notes", "documents", "bob-plans"]


@pytest.fixture
def owners(tmp_path):
    owners = CollectionOwners.from_settings(Settings(data_dir=tmp_path))
    owners.claim("alice-notes", "alice")
    owners.claim("bob-plans", "bob")
    return owners


def test_a_private_collection_is_seen_by_its_owner_and_admins_only(owners):
    assert owners.visible(NAMES, ALICE) == ["alice-notes", "documents"]
    assert owners.visible(NAMES, BOB) == ["documents", "bob-plans"]
    assert owners.visible(NAMES, ADMIN) == NAMES
    assert owners.visible(NAMES, None) == NAMES  # no sign-in: as before


def test_sharing_shows_it_to_everyone_but_only_the_owner_manages_it(owners):
    owners.set_shared("alice-notes", True)
    access = owners.get("alice-notes")
    assert access is not None and access.shared and access.owner == "alice"
    assert owners.visible(NAMES, BOB) == NAMES
    assert may_see(access, BOB) and not may_manage(access, BOB)
    assert may_manage(access, ALICE) and may_manage(access, ADMIN)
    owners.set_shared("alice-notes", False)
    assert "alice-notes" not in owners.visible(NAMES, BOB)


def test_a_collection_without_owner_is_everyones_to_use_and_admins_to_delete(owners):
    assert owners.get("documents") is None
    assert may_see(None, BOB) and not may_manage(None, BOB)
    assert may_manage(None, ADMIN) and may_manage(None, None)


def test_a_taken_name_cannot_be_claimed_again_and_a_deleted_one_can(owners):
    with pytest.raises(ConfigError, match="exists already"):
        owners.claim("alice-notes", "bob")
    assert owners.get("alice-notes").owner == "alice"
    owners.forget("alice-notes")
    assert owners.claim("alice-notes", "bob").owner == "bob"


def test_without_sign_in_nothing_is_written(tmp_path):
    owners = CollectionOwners.from_settings(Settings(data_dir=tmp_path))
    assert owners.visible(NAMES, None) == NAMES
    assert not access_path(Settings(data_dir=tmp_path)).exists()
