"""Sidebar library section: which collection to use, create one, delete one (with confirmation).

With sign-in on, the list holds only what the user may see (rag.access.collection_owners): their own
collections, shared ones and those without an owner; a new one is private to its creator until
shared, and only its owner or an admin shares or deletes it.
"""

from __future__ import annotations

import re

import streamlit as st

from rag.access.collection_owners import CollectionOwners, may_manage
from rag.errors import ConfigError
from rag.settings import Settings
from ui.auth import current_user
from ui.errors import error_boundary
from ui.resources import drop_cached_index, get_index, shown_store_location
from ui.untrusted import inert_markdown

# Chroma's rule for collection names, checked here so the user gets the reason at once.
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


def list_collections(settings: Settings) -> list[str]:
    from rag.store.clients import get_client
    from rag.store.clients import list_collections as store_collections

    return store_collections(get_client(settings))


def check_collection_name(name: str) -> str:
    name = name.strip()
    if not _COLLECTION_NAME.match(name) or ".." in name:
        raise ConfigError(
            f"Collection name {name!r} is not valid: use 3-63 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )
    return name


def render_collection_picker(settings: Settings) -> str:
    location = shown_store_location(settings)
    if location is not None:
        # Not in a code span: references would show raw there.
        st.caption(f":material/location_on: {inert_markdown(location)}")
    user = current_user()
    owners = CollectionOwners.from_settings(settings)
    names: list[str] = []
    in_store: list[str] = []
    with error_boundary():
        in_store = list_collections(settings)
        names = list(in_store)
    default = settings.store.collection
    for extra in (default, *st.session_state.get("created_collections", ())):
        if extra not in names:
            names.append(extra)
    names = owners.visible(names, user)
    if "select_collection" in st.session_state:  # set by "Create" on the previous run
        st.session_state["collection"] = st.session_state.pop("select_collection")
    if st.session_state.get("collection") not in names:
        st.session_state["collection"] = default
    collection = st.selectbox("Collection", names, key="collection")
    access = None
    if user is not None:  # without sign-in no record is read or written
        access = owners.get(collection)
        _render_sharing(owners, access, manage=may_manage(access, user))

    new_name = st.text_input("New collection", placeholder="e.g. contracts-2024",
                             key="new_collection")
    if st.button("Create collection", icon=":material/create_new_folder:", key="create_coll"):
        with error_boundary():
            name = check_collection_name(new_name)
            if user is not None and name not in names:
                # Another user's private collection, or the default not yet created: taken.
                if name in in_store or name == default:
                    raise ConfigError(f"A collection named {name!r} exists already.")
                owners.claim(name, user.username)
            get_index(settings, name)
            created = st.session_state.setdefault("created_collections", [])
            created.append(name)
            st.session_state["select_collection"] = name
            st.rerun()

    if not may_manage(access, user):
        return collection
    confirm = st.checkbox(f"Yes, delete “{collection}” and all its documents",
                          key=f"confirm_delete-{collection}")
    if st.button("Delete collection", icon=":material/delete_forever:", disabled=not confirm,
                 key="delete_coll"):
        with error_boundary():
            delete_collection(settings, collection)
            owners.forget(collection)
            created = st.session_state.get("created_collections", [])
            if collection in created:
                created.remove(collection)
            st.session_state["select_collection"] = default
            st.toast(f"Deleted collection {inert_markdown(collection)}",
                     icon=":material/delete:")
            st.rerun()
    return collection


def may_manage_collection(settings: Settings, collection: str) -> bool:
    """Whether this session's user may delete the collection or documents from it."""
    user = current_user()
    if user is None:
        return True
    return may_manage(CollectionOwners.from_settings(settings).get(collection), user)


def _render_sharing(owners: CollectionOwners, access, *, manage: bool) -> None:
    if access is None:
        st.caption(":material/groups: Shared with everyone (no owner)")
        return
    if not manage:
        st.caption(f":material/groups: Shared by {inert_markdown(access.owner)}")
        return
    shared = st.toggle("Shared with every signed-in user", value=access.shared,
                       key=f"share-{access.name}")
    if shared != access.shared:
        owners.set_shared(access.name, shared)


def delete_collection(settings: Settings, collection: str) -> None:
    get_index(settings, collection).drop()  # the chunks and the document registry
    drop_cached_index(settings, collection)
