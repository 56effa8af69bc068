"""Sign-in gate (streamlit-authenticator) and who the session belongs to.

With ``auth.config_file`` unset the app is the one-user loopback app it always was: no form,
chats owned by "", every control shown. With it set, a visitor sees the sign-in form and
nothing else until signed in; chats then belong to the user name and the server-wide controls
(store, endpoints, keys, model folders) are shown to admins only. Serving beyond loopback
without it is refused before anything is drawn (``rag.access.users.check_serving``).
"""

from __future__ import annotations

import threading
import time

import streamlit as st

from rag.access.users import User, check_serving, load_auth_config
from rag.settings import Settings
from ui.untrusted import inert_markdown

_USER_KEY = "signed_in_user"
_SET_COOKIE = "sign_in_cookie_pending"
_DELETE_COOKIE = "sign_out_cookie_pending"
# The widget key under which extra-streamlit-components' cookie manager reports `True` once
# the browser has stored a cookie it was asked to set (CookieManager.set's default key).
_COOKIE_SET_REPORT = "set"
_NOTICE = "sign_in_notice"
# Session state streamlit-authenticator keeps; a new user in this session starts from none of
# the previous one's per-user state.
_PER_USER_KEYS = ("conversation_id", "pending_answer")
_FIELDS = {"Form name": "Sign in", "Username": "User name", "Password": "Password",
           "Login": "Sign in"}


# Sign-outs this server process has seen: user name -> when. A sign-in cookie issued before its
# user's last sign-out is refused, so signing out holds even while the browser still sends the
# cookie (the page component deletes it a moment later; a reload in between signed the user
# back in). Signing out ends that user's cookies in every browser. Kept in memory: a restart
# forgets it, and a cookie then lasts until it expires.
_SIGNED_OUT: dict[str, float] = {}
_SIGNED_OUT_LOCK = threading.Lock()


def current_user() -> User | None:
    """The signed-in user; None when sign-in is off."""
    return st.session_state.get(_USER_KEY)


def current_owner() -> str:
    """Whose chats this session sees: the user name, or "" without sign-in."""
    user = current_user()
    return user.username if user else ""


def may_change_server_settings() -> bool:
    """Store, endpoints, keys and model folders: admins, or anyone when sign-in is off (the
    app then only serves this machine)."""
    user = current_user()
    return user is None or user.is_admin


def require_sign_in(settings: Settings) -> User | None:
    """The signed-in user, None when sign-in is off; otherwise draws the form and stops.

    Raises ``ConfigError`` when this address may not be served without sign-in, or the users
    file cannot be read: the caller shows it and draws nothing else.
    """
    check_serving(st.get_option("server.address"), settings)
    if settings.auth.config_file is None:
        return None
    import streamlit_authenticator as stauth  # only when sign-in is on
    from streamlit_authenticator.utilities import LoginError

    config = load_auth_config(settings.auth.config_file)
    authenticator = stauth.Authenticate(
        config.credentials, config.cookie_name, config.cookie_key, config.cookie_expiry_days,
        auto_hash=False,  # add_user hashed them; a plain password in the file is refused
    )
    if not st.session_state.get("authentication_status") and _cookie_signed_out(
            authenticator, config.cookie_expiry_days):
        st.session_state["logout"] = True  # the library then ignores the cookie
    try:
        authenticator.login(location="main", key="sign_in", fields=_FIELDS)
    except LoginError:  # a cookie naming a user no longer in the file
        _sign_out(authenticator, "That user no longer exists; sign in again.")
    status = st.session_state.get("authentication_status")
    user = config.users.get(st.session_state.get("username") or "") if status else None
    if status and user is None:  # removed from the file while signed in
        _sign_out(authenticator, "That user no longer exists; sign in again.")
    if user is None:
        if st.session_state.get(_DELETE_COOKIE):
            # Drawn on every run until the next sign-in: the cookie component's own report
            # starts a rerun, and a one-run component was sometimes gone before it ran.
            authenticator.cookie_controller.delete_cookie()
        notice = st.session_state.pop(_NOTICE, None)
        if notice or status is False:
            st.error(notice or "Wrong user name or password.", icon=":material/error:")
        _forget_user()
        st.stop()
    previous = current_user()
    if previous is None or previous.username != user.username:
        _forget_user()
        st.session_state.pop(_DELETE_COOKIE, None)
        st.session_state[_USER_KEY] = user
        st.session_state[_SET_COOKIE] = True
        st.rerun()  # redraw without the form
    st.session_state[_USER_KEY] = user  # roles may have changed in the file
    if st.session_state.get(_SET_COOKIE):
        # The library sets its cookie in the run that signs in, and the rerun above drops
        # that before the browser runs it. A later run can be cut short too (a question sent
        # right after signing in), so the cookie is drawn on every run until the browser's
        # cookie component reports it set.
        authenticator.cookie_controller.set_cookie()
        if st.session_state.get(_COOKIE_SET_REPORT) is True:
            st.session_state.pop(_SET_COOKIE)
    _render_signed_in(user, authenticator)
    return user


def _render_signed_in(user: User, authenticator) -> None:
    with st.sidebar:
        role = "admin" if user.is_admin else "user"
        st.caption(f":material/account_circle: {inert_markdown(user.name)} ({role})")
        if st.button("Sign out", icon=":material/logout:", key="sign_out", type="tertiary"):
            _sign_out(authenticator)


def _cookie_signed_out(authenticator, expiry_days: float) -> bool:
    """Whether the request's sign-in cookie (read and verified by the library) was issued
    before its user last signed out."""
    token = authenticator.cookie_controller.get_cookie()
    if not token or not isinstance(token.get("exp_date"), int | float):
        return False
    with _SIGNED_OUT_LOCK:
        signed_out = _SIGNED_OUT.get(str(token.get("username")))
    issued = token["exp_date"] - expiry_days * 86400
    return signed_out is not None and issued <= signed_out


def _sign_out(authenticator, notice: str | None = None) -> None:
    """End the sign-in and redraw with the form (the cookie goes in that run)."""
    user = current_user()
    if user is not None:
        with _SIGNED_OUT_LOCK:
            _SIGNED_OUT[user.username] = time.time()
    authenticator.logout(location="unrendered")
    _forget_user()
    st.session_state[_DELETE_COOKIE] = True
    if notice:
        st.session_state[_NOTICE] = notice
    st.rerun()


def _forget_user() -> None:
    st.session_state.pop(_USER_KEY, None)
    for key in _PER_USER_KEYS:
        st.session_state.pop(key, None)
