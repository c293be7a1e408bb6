"""The demo accounts `rackroom seed` creates; `python -m jobs.demo_logins` lists them.

The list is read from the database, so it shows the logins that exist right now
(`make run` prints it after seeding).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError

from models.catalog import Brand
from models.db import database_url, get_engine, read_session
from models.users import Role, User

DEMO_PASSWORD = "rackroom-demo"  # noqa: S105  (published demo password, .test domains)
#: (email, role, display name) of the demo staff.
STAFF: tuple[tuple[str, Role, str], ...] = (
    ("admin@rackroom.test", Role.ADMIN, "Ada Admin"),
    ("merch@rackroom.test", Role.MERCHANDISER, "Max Merch"),
    ("manager@rackroom.test", Role.MANAGER, "Mia Manager"),
)


def vendor_email(brand_slug: str) -> str:
    return f"vendor@{brand_slug}.test"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    role: str
    brand: str | None


def demo_logins(engine: Engine | None = None) -> list[DemoLogin]:
    """The demo accounts present in the database: staff first, then vendors by brand."""
    staff = [email for email, _, _ in STAFF]
    with read_session(engine or get_engine()) as session:
        rows = session.execute(
            select(User.email, User.role, Brand.code)
            .outerjoin(Brand, Brand.id == User.brand_id)
            .where(
                User.is_active.is_(True),
                or_(User.email.in_(staff), User.email.like("vendor@%.test")),
            )
        ).all()
    order = {email: i for i, email in enumerate(staff)}
    logins = [DemoLogin(email, role, brand) for email, role, brand in rows]
    return sorted(logins, key=lambda x: (order.get(x.email, len(order)), x.brand or "", x.email))


def main() -> None:
    try:
        logins = demo_logins()
    except SQLAlchemyError as error:
        print(f"Could not read demo logins from {database_url().split('://')[0]}: {error}")
        return
    if not logins:
        print("No demo logins in this database (run `rackroom seed` on an empty one).")
        return
    print(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    width = max(len(x.email) for x in logins)
    for login in logins:
        brand = f"  brand {login.brand}" if login.brand else ""
        print(f"  {login.email:<{width}}  {login.role:<12}{brand}")


if __name__ == "__main__":
    main()
