"""A user's own account: changing their password, and the temporary-password rule.

An admin's create or reset gives a user a temporary password (`models.admin`) and sets
`must_change_password`; until they choose their own, the dashboard shows them only the
account page. The current password is verified outside any write transaction (an argon2
check takes a noticeable fraction of a second), then the change is a compare-and-swap on
the hash, so two changes at once cannot both win.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from models.db import read_session, transaction
from models.errors import AuthenticationFailed, Conflict, InvalidQuantity, NotFound
from models.users import User, hash_password, verify_password

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200


def check_new_password(new: str, *, current: str = "", email: str = "") -> None:
    """Refuse a password that is too short, too long, unchanged or the email itself."""
    if len(new) < MIN_PASSWORD_LENGTH:
        raise InvalidQuantity(
            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.",
            field="new_password",
        )
    if len(new) > MAX_PASSWORD_LENGTH:
        raise InvalidQuantity(
            f"A password has at most {MAX_PASSWORD_LENGTH} characters.", field="new_password"
        )
    if current and new == current:
        raise InvalidQuantity(
            "The new password must differ from the current one.", field="new_password"
        )
    if email and new.strip().lower() == email.strip().lower():
        raise InvalidQuantity("Your password can't be your email.", field="new_password")


def change_own_password(user_id: int, current: str, new: str) -> None:
    """Replace `user_id`'s password after checking the current one. Other sessions stay.

    Raises AuthenticationFailed when `current` is wrong, InvalidQuantity naming
    `new_password` when the new one is refused, Conflict when the password changed
    meanwhile (another tab or an admin's reset).
    """
    with read_session() as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound("Your account no longer exists.", user_id=user_id)
        old_hash, email = user.password_hash, user.email
    if not verify_password(old_hash, current):
        raise AuthenticationFailed("Your current password is not right.")
    check_new_password(new, current=current, email=email)
    new_hash = hash_password(new)
    with transaction() as session:
        changed = _swap_hash(session, user_id, old_hash, new_hash)
    if not changed:
        raise Conflict(
            "Your password was changed elsewhere meanwhile. Sign in again.", user_id=user_id
        )


def _swap_hash(session: Session, user_id: int, old_hash: str, new_hash: str) -> bool:
    result = session.execute(
        update(User)
        .where(User.id == user_id, User.password_hash == old_hash)
        .values(password_hash=new_hash, must_change_password=False)
    )
    return result.rowcount == 1
