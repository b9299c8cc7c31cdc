"""Local accounts in which no stranger can claim an admin name.

NativeAuthenticator lets anyone sign up under any free user name, and authorizes a name listed in
``Authenticator.admin_users`` at once: with open sign-up, whoever signs up first under a
configured admin name becomes hub admin. ``LmsNativeAuthenticator`` closes that:

* when the hub starts, before it serves any request, every configured admin name without a local
  account gets one, authorized, with a generated password that is printed once on the console
  (the hub's standard error), never on later starts;
* signing up under an admin name (configured, or an admin in the hub's database) is refused with
  HTTP 403 and a message that says why, and under a name that has an account with HTTP 409; an
  admin name is never authorized by signing up.

Passwords are changed as usual at ``/hub/change-password`` (one's own) and
``/hub/change-password/<name>`` (admins, for anyone). Use it with
``c.JupyterHub.authenticator_class = "lms-native"`` (or its import path); every setting of
``NativeAuthenticator`` applies.
"""

from __future__ import annotations

import secrets
import sys

import bcrypt
from jupyterhub import orm
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import SignUpHandler
from nativeauthenticator.orm import UserInfo
from traitlets import Integer, Set, TraitError, Unicode, validate


class LmsSignUpHandler(SignUpHandler):
    """``/hub/signup``: refuses admin names (403) and names already in use (409), saying why."""

    refusal: str | None = None

    async def post(self):
        username = self.get_body_argument("username", "", strip=False)
        if self.authenticator.enable_signup:
            self.refusal = self.authenticator.signup_refusal(username)
            if self.refusal:
                self.log.warning("%s (user name sent: %r)", self.refusal, username)
                self.set_status(403)
            elif self.authenticator.user_exists(username):
                self.set_status(409)
        await super().post()

    def get_result_message(self, user, *args):
        if user is None and self.refusal:
            return "alert-danger", self.refusal
        return super().get_result_message(user, *args)


class LmsNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator whose admins get their accounts from the hub, not from sign-up."""

    admin_password_length = Integer(
        24,
        config=True,
        help="""Length of the passwords generated for admin accounts (letters, digits, '-' and
        '_'; at least 16, and at least minimum_password_length). The hub prints each one once
        on its console when it creates the account; change it afterwards at
        /hub/change-password.""",
    )

    @validate("admin_password_length")
    def _check_password_length(self, proposal):
        if proposal.value < 16:
            raise TraitError(
                f"LmsNativeAuthenticator.admin_password_length={proposal.value}: at least 16"
            )
        return proposal.value

    reset_admin_passwords = Set(
        Unicode(),
        config=True,
        help="""Admin names (of Authenticator.admin_users) whose password is replaced by a new
        generated one when the hub starts, printed once on the console like a new account's.
        For an admin whose password is lost; remove the name again afterwards, or every start
        replaces the password anew.""",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # names whose account this hub process has checked: add_user also runs at every login
        self._admin_accounts_checked: set[str] = set()

    # -- admin accounts, made by the hub ----------------------------------------------------------

    def check_allow_config(self):
        super().check_allow_config()
        admins = {self.normalize_username(name) for name in self.admin_users}
        unknown = {self.normalize_username(name) for name in self.reset_admin_passwords} - admins
        if unknown:
            self.log.warning(
                "LmsNativeAuthenticator.reset_admin_passwords: %s not in admin_users, left alone",
                ", ".join(sorted(unknown)),
            )

    def add_user(self, user):
        """Called for every user in the hub's database when the hub starts (configured admins
        included, before the hub serves requests), and for users added later."""
        result = super().add_user(user)
        name = user.name
        if name in self.admin_users and name not in self._admin_accounts_checked:
            self._admin_accounts_checked.add(name)
            self._ensure_admin_account(name)
        return result

    def _ensure_admin_account(self, name: str) -> None:
        info = self.get_user(name)
        if info is None:
            password = self._new_password()
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
            self.db.add(UserInfo(username=name, password=hashed, is_authorized=True))
            self.db.commit()
            self.log.info("Created the local account of admin %s", name)
            self._announce(name, password, "was created")
        elif name in {self.normalize_username(n) for n in self.reset_admin_passwords}:
            password = self._new_password()
            info.password = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
            info.is_authorized = True
            self.db.commit()
            self.log.warning(
                "Replaced the password of admin %s (reset_admin_passwords): remove the name "
                "from it, or the next start replaces the password again", name,
            )
            self._announce(name, password, "has a new password")

    def _new_password(self) -> str:
        length = max(self.admin_password_length, self.minimum_password_length)
        while True:
            password = secrets.token_urlsafe(length)[:length]
            if self.is_password_strong(password):
                return password

    def _announce(self, name: str, password: str, what: str) -> None:
        """Print the password on the console only: not through the logger, whose records may
        be kept or shipped elsewhere."""
        rule = "=" * 72
        print(
            f"\n{rule}\n"
            f"  The admin account {name!r} {what}. Its password is shown only this once:\n\n"
            f"    user name: {name}\n"
            f"    password:  {password}\n\n"
            f"  Log in with it, then change it at /hub/change-password.\n"
            f"{rule}\n",
            file=sys.stderr,
            flush=True,
        )

    # -- sign-up ----------------------------------------------------------------------------------

    def signup_refusal(self, username: str) -> str | None:
        """Why signing up under ``username`` is refused (an admin name), or None."""
        name = self.normalize_username(username)
        if name in self.admin_users:
            reason = "is reserved for an administrator of this hub"
        else:
            hub_user = orm.User.find(self.db, name)
            if hub_user is None or not hub_user.admin:
                return None
            reason = "belongs to an administrator of this hub"
        return (
            f"Sign-up refused: the user name {name!r} {reason}. "
            "Please sign up with another user name."
        )

    def create_user(self, username, password, **kwargs):
        if self.signup_refusal(username):
            return None
        return super().create_user(username, password, **kwargs)

    def get_handlers(self, app):
        return [
            (pattern, LmsSignUpHandler if handler is SignUpHandler else handler)
            for pattern, handler in super().get_handlers(app)
        ]
