"""Sign-in through the real page (AppTest): the form gate, per-user chats, admin-only controls,
and the refusal to serve beyond loopback without sign-in."""

from __future__ import annotations

import html

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from rag.access.users import add_user, remove_user
from rag.answer.history import ChatHistory, history_path
from rag.settings import Settings
from tests.ui.conftest import APP
from tests.ui.test_app import all_text

PASSWORDS = {"alice": "Alice-pass-771", "bob": "Bob-pass-4402"}
SERVER_CONTROLS = ("Base URL", "API key", "Index folder")


@pytest.fixture(scope="module")
def users_file(app_env):
    path = app_env / "users.yaml"
    add_user(path, "alice", PASSWORDS["alice"], name="Alice", admin=True)
    add_user(path, "bob", PASSWORDS["bob"], name="Bob")
    return path


@pytest.fixture
def sign_in_on(users_file, monkeypatch):
    monkeypatch.setenv("RAG_AUTH__CONFIG_FILE", str(users_file))
    return users_file


@pytest.fixture(scope="module")
def chats(app_env):
    """One chat each for alice and bob, written where the app keeps chats."""
    path = history_path(Settings())
    alice, bob = ChatHistory(path, "alice"), ChatHistory(path, "bob")
    mine = alice.create("Alice descaling notes")
    alice.add_message(mine.id, "user", "How often is the Zephyr-9 descaled?")
    theirs = bob.create("Bob merger plan")
    bob.add_message(theirs.id, "user", "When is the merger with Quillfeather announced?")
    return {"alice": mine.id, "bob": theirs.id}


def start(timeout: float = 120) -> AppTest:
    return AppTest.from_file(APP, default_timeout=timeout).run()


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    by_label = {w.label: w for w in at.text_input}
    by_label["User name"].input(username)
    by_label["Password"].input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    return at.run()


def labels(at: AppTest) -> list[str]:
    return [w.label for w in (*at.text_input, *at.selectbox, *at.button)]


def test_a_visitor_who_has_not_signed_in_sees_only_the_sign_in_form(sign_in_on, chats):
    at = start()
    assert not at.exception
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.chat_input and not at.selectbox and not at.sidebar.children
    text = all_text(at)
    assert "merger" not in text and "descaling" not in text


def test_a_wrong_password_keeps_the_form_and_says_so(sign_in_on):
    at = sign_in(start(), "alice", "Not-her-password-1")
    assert "Wrong user name or password." in [e.value for e in at.error]
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert not at.chat_input


def test_each_signed_in_user_sees_only_their_own_chats(sign_in_on, chats):
    at = sign_in(start(), "alice", PASSWORDS["alice"])
    assert not at.exception
    assert at.chat_input
    chat_buttons = [b.label for b in at.sidebar.button]
    assert any("Alice descaling notes" in label for label in chat_buttons)
    assert "merger" not in all_text(at)

    # Bob's conversation id planted in Alice's session is not opened: she gets her own.
    at.session_state["conversation_id"] = chats["bob"]
    at.run()
    assert "merger" not in all_text(at).lower()
    assert at.session_state["conversation_id"] != chats["bob"]

    bob = sign_in(start(), "bob", PASSWORDS["bob"])
    assert any("Bob merger plan" in b.label for b in bob.sidebar.button)
    assert "descaling" not in all_text(bob).lower()


def test_a_user_who_is_not_an_admin_gets_no_server_wide_controls(sign_in_on):
    bob = sign_in(start(), "bob", PASSWORDS["bob"])
    assert not bob.exception
    assert not set(SERVER_CONTROLS) & set(labels(bob))
    assert "Test connection" not in labels(bob)
    keys = {w.key for w in bob.selectbox}
    assert "backend" not in keys
    assert "collection" in keys  # choosing a collection stays with every user
    assert "set by an admin" in all_text(bob)

    alice = sign_in(start(), "alice", PASSWORDS["alice"])
    assert set(SERVER_CONTROLS) <= set(labels(alice))
    assert "backend" in {w.key for w in alice.selectbox}


def test_sign_out_returns_to_the_form(sign_in_on):
    at = sign_in(start(), "bob", PASSWORDS["bob"])
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert not at.chat_input and "merger" not in all_text(at)


def test_a_non_loopback_address_without_sign_in_shows_only_the_refusal(app_env, monkeypatch):
    monkeypatch.delenv("RAG_AUTH__CONFIG_FILE", raising=False)
    previous = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "0.0.0.0")
    try:
        at = start()
    finally:
        streamlit_config.set_option("server.address", previous)
    assert not at.exception
    [error] = at.error
    message = html.unescape(error.value)  # shown as text (ui.untrusted)
    assert "Refusing to serve 0.0.0.0 without sign-in" in message
    assert "python -m rag users add NAME --admin" in message
    assert not at.text_input and not at.chat_input and not at.sidebar.children


def test_a_user_removed_while_signed_in_is_signed_out_at_the_next_action(app_env, monkeypatch):
    path = app_env / "removed-users.yaml"
    add_user(path, "carol", "Carol-pass-5150")
    monkeypatch.setenv("RAG_AUTH__CONFIG_FILE", str(path))
    at = sign_in(start(), "carol", "Carol-pass-5150")
    assert at.chat_input
    add_user(path, "dave", "Dave-pass-6262")  # the file keeps at least one user
    remove_user(path, "carol")
    at.run()
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert not at.chat_input and not at.sidebar.children
    assert any("no longer exists" in html.unescape(e.value) for e in at.error)


def test_a_signed_in_user_uploads_into_their_own_folder(sign_in_on):
    bob = sign_in(start(), "bob", PASSWORDS["bob"])
    shared = Settings().ingest.upload_dir
    assert bob.session_state["choices"].settings.ingest.upload_dir == shared / "bob"


def test_a_new_collection_is_private_to_its_creator_until_shared(sign_in_on):
    alice = sign_in(start(), "alice", PASSWORDS["alice"])
    alice.text_input(key="new_collection").input("alice-private")
    alice.button(key="create_coll").click().run()
    assert not alice.exception
    assert alice.selectbox(key="collection").value == "alice-private"

    bob = sign_in(start(), "bob", PASSWORDS["bob"])
    assert "alice-private" not in bob.selectbox(key="collection").options
    bob.text_input(key="new_collection").input("alice-private")
    bob.button(key="create_coll").click().run()
    assert any("exists already" in html.unescape(e.value) for e in bob.error)
    assert "alice-private" not in bob.selectbox(key="collection").options

    alice.toggle(key="share-alice-private").set_value(True).run()
    bob = sign_in(start(), "bob", PASSWORDS["bob"])
    assert "alice-private" in bob.selectbox(key="collection").options
    bob.selectbox(key="collection").set_value("alice-private").run()
    assert "Shared by alice" in all_text(bob)
    assert "delete_coll" not in [b.key for b in bob.button]  # only the owner or an admin


def test_in_another_users_shared_collection_documents_cannot_be_deleted(sign_in_on, app_env):
    from rag.access.collection_owners import CollectionOwners
    from rag.store.index import DocumentIndex

    CollectionOwners.from_settings(Settings()).claim("alice-shared", "alice")
    CollectionOwners.from_settings(Settings()).set_shared("alice-shared", True)
    note = app_env / "alice-note.md"
    note.write_text("# Note\n\nThe Quillfeather launch is on 3 May.\n", encoding="utf-8")
    assert DocumentIndex(Settings(), collection="alice-shared").ingest_paths([note]).failed == 0

    def documents_page(username: str) -> AppTest:
        at = sign_in(start(), username, PASSWORDS[username])
        at.selectbox(key="collection").set_value("alice-shared").run()
        at.switch_page("ui/pages/documents_page.py").run()
        at.multiselect(key="library_selection").select(at.multiselect(
            key="library_selection").options[0]).run()
        return at

    bob = documents_page("bob")
    assert not bob.exception
    assert bob.button(key="delete_documents").disabled
    alice = documents_page("alice")
    assert not alice.button(key="delete_documents").disabled
