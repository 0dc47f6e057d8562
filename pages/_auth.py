"""The login gate, the logged-in user and the audit trail of what people see and do.

Login is streamlit-authenticator 0.4.x: one `Authenticate` per browser session (kept in
session state), bcrypt hashes from `.streamlit/credentials.yaml` (`auto_hash=False`), the
cookie signed with `[auth] cookie_key` (secrets.toml) or env LENS_COOKIE_KEY. Our own form
checks the lockout (5 failures per username in 10 minutes, counted from the audit log)
before the password is even tried. The role and scope are read fresh from the credentials
file on every run, so a removed user or a changed role takes effect at once.

Who is logged in is read from the session keys in `LOGIN_KEYS` and nothing else: only
streamlit-authenticator's password check (`authentication_controller.login`) or its signed
re-authentication cookie sets them (its `roles` key too, but the role is taken from the file).
There is no other way in.
"""
from __future__ import annotations

import copy
import secrets
from dataclasses import asdict, is_dataclass
from datetime import date, timedelta
from typing import Any, Callable, Mapping, NoReturn

import streamlit as st
from streamlit_authenticator import Authenticate
from streamlit_authenticator.utilities import LoginError

from lens_etl import audit, users
from lens_etl.config import Settings
from lens_etl.users import User
from pages._settings import app_settings

AUTH_KEY = "lens_authenticator"
USER_KEY = "lens_user"
VIEWED_KEY = "lens_audit_viewed"
COOKIE_NAME = "lens_auth"
COOKIE_DAYS = 7.0
LOCK_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=10)
LOGIN_KEYS = ("authentication_status", "username")  # set by streamlit-authenticator on a good login
COOKIE_PENDING_KEY = "lens_cookie_pending"  # the login cookie is written in the run after a login
COOKIE_DELETE_KEY = "lens_cookie_delete"  # and deleted in the run after a logout


def authenticated_username() -> str | None:
    """The username streamlit-authenticator logged in this session (`authentication_status` is
    exactly True only after a password or cookie check), else None."""
    status, username = (st.session_state.get(key) for key in LOGIN_KEYS)
    return str(username) if status is True and username else None


def current_user() -> User | None:
    """The logged-in user of this session, with the role and scope the credentials file gives
    them now (the gate keeps it for the run), else None."""
    username = authenticated_username()
    if username is None:
        return None
    user = st.session_state.get(USER_KEY)
    if isinstance(user, User) and user.username == username.lower():
        return user
    return users.lookup(app_settings().credentials_file, username)


def require_user() -> User:
    """The logged-in user; nothing (no query, no download) runs without one."""
    user = current_user()
    if user is None:
        st.stop()
    return user


def can_edit_budgets() -> bool:
    user = current_user()
    return user is not None and user.can_edit_budgets()


def can_edit_rules() -> bool:
    user = current_user()
    return user is not None and user.can_edit_rules()


def audit_event(action: str, target: str = "", detail: Mapping[str, Any] | str = "") -> None:
    """Record what the logged-in user did (a budget, user or alert-rule change, an export…)."""
    user = current_user()
    audit.record(app_settings().audit_dir, user.username if user else "anonymous", action, target, detail,
                 user.role if user else "")


def filters_detail(filters: Any) -> dict[str, Any] | None:
    """The shared filters as an audit event's JSON: ISO dates and the dimensions that narrow, so an
    admin reads them (not a Python repr) and a query can pick them apart."""
    if not is_dataclass(filters):
        return None
    return {name: value.isoformat() if isinstance(value, date) else list(value)
            for name, value in asdict(filters).items() if value}


def log_view(page: str, filters: Any) -> None:
    """A page view with its filters, once per change (not on every rerun)."""
    seen = (page, repr(filters))
    if st.session_state.get(VIEWED_KEY) != seen:
        st.session_state[VIEWED_KEY] = seen
        audit_event("view", page, {"filters": filters_detail(filters)})


# --- the gate ----------------------------------------------------------------------------

def _only(render: Callable[[], None]) -> NoReturn:
    """Show one screen instead of the app: a hidden one-page navigation (so no page file,
    deep link or sidebar nav runs), then stop."""
    st.navigation([st.Page(render, title="Lens")], position="hidden").run()
    st.stop()


@st.cache_resource(show_spinner=False)
def _demo_cookie_key() -> str:
    """Demo mode without a key: one random key per server process (cookies die with it)."""
    return secrets.token_urlsafe(32)


def _authenticator(settings: Settings, cookie_key: str) -> Authenticate:
    """One Authenticate per session (a second one would repeat its cookie widget); its
    credentials are refreshed from the file each run, so a reset password works at once."""
    credentials = copy.deepcopy(users.load(settings.credentials_file)["credentials"])
    auth = st.session_state.get(AUTH_KEY)
    if auth is None:
        auth = Authenticate(credentials, cookie_name=COOKIE_NAME, cookie_key=cookie_key,
                            cookie_expiry_days=COOKIE_DAYS, auto_hash=False)
        st.session_state[AUTH_KEY] = auth
    else:
        auth.authentication_controller.authentication_model.credentials = credentials
    return auth


def gate(settings: Settings) -> User:
    """The logged-in user, or (having shown the login form or a refusal) stop the run."""
    key, demo = users.cookie_key(settings.secrets_file, settings.env)
    if users.weak_cookie_key(key):
        if not demo:
            def refuse() -> None:
                st.error("Lens will not start: no cookie key. Set `[auth] cookie_key` in .streamlit/secrets.toml "
                         "or env LENS_COOKIE_KEY to a long random string (e.g. `python -c \"import secrets; "
                         "print(secrets.token_urlsafe(32))\"`).")
            _only(refuse)
        key = _demo_cookie_key()
    if not users.load(settings.credentials_file)["credentials"]["usernames"]:
        def no_users() -> None:
            st.error(f"No users in {settings.credentials_file}: run `python -m lens_etl users add NAME --role admin`.")
        _only(no_users)
    auth = _authenticator(settings, key)
    if not st.session_state.get("authentication_status"):
        try:
            auth.login(location="unrendered")  # the re-authentication cookie, if any
        except LoginError:
            pass
    username = authenticated_username()
    user = users.lookup(settings.credentials_file, username)
    if user is None:
        if username:  # removed since the cookie was issued
            auth.logout(location="unrendered")
        st.session_state.pop(USER_KEY, None)
        if st.session_state.pop(COOKIE_DELETE_KEY, False):
            auth.cookie_controller.delete_cookie()  # this run shows the form to its end: the deletion lands
        def login() -> None:
            _login_form(settings, auth)
        _only(login)
    st.session_state[USER_KEY] = user
    if st.session_state.pop(COOKIE_PENDING_KEY, False):
        # Written in the first run after the login, which runs to its end: the cookie component
        # then has time to load (set in the login run, the rerun could remove it first and a
        # reload would log the user out).
        auth.cookie_controller.set_cookie()
    if demo:
        st.sidebar.caption("Demo mode: add real users with `python -m lens_etl users add`.")
    return user


def locked(settings: Settings, username: str) -> bool:
    return audit.recent(settings.audit_dir, "login_failed", username, LOCK_WINDOW) >= LOCK_FAILURES


def _login_form(settings: Settings, auth: Authenticate) -> None:
    st.title("🔭 Lens")
    with st.form("lens_login", clear_on_submit=True):
        st.subheader("Log in")
        name = st.text_input("Username", key="lens_login_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="lens_login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    username = name.strip().lower()
    if locked(settings, username):
        audit.record(settings.audit_dir, username or "anonymous", "login_locked", username)
        st.error(f"Too many failed logins for this user: locked for up to {LOCK_WINDOW.seconds // 60} minutes.")
        return
    try:
        ok = bool(username and password and auth.authentication_controller.login(username, password))
    except LoginError:
        ok = False
    if not ok:
        audit.record(settings.audit_dir, username or "anonymous", "login_failed", username)
        st.session_state["authentication_status"] = None
        st.error("Wrong username or password.")
        return
    st.session_state[COOKIE_PENDING_KEY] = True
    user = users.lookup(settings.credentials_file, username)
    audit.record(settings.audit_dir, username, "login", username, role=user.role if user else "")
    st.rerun()


def sidebar_account(user: User) -> None:
    """Who is logged in, and the logout button."""
    with st.sidebar:
        scope = f" · {', '.join(user.scope_developers + user.scope_teams)}" if user.scoped else ""
        st.caption(f"Signed in as **{user.username}** ({user.role}{scope})")
        auth = st.session_state.get(AUTH_KEY)
        if auth is not None and st.button("Log out", key="lens_logout", icon="🚪"):
            audit_event("logout", user.username)
            auth.authentication_controller.logout()
            for key in [k for k in st.session_state if str(k).startswith("lens_") and k != AUTH_KEY]:
                del st.session_state[key]
            st.session_state[COOKIE_DELETE_KEY] = True
            st.rerun()
