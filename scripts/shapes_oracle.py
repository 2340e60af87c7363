"""SQLAlchemy oracle for the mapping shapes real applications use.

Dev-only, like sqlalchemy_oracle.py (whose recorder, options and run it
shares). It maps a second schema, tests/fixtures/shapes/, with the shapes
the sample lacks:

- names SQLite's dialect quotes: a table `order` with columns `createdAt`
  and `key`, a table `group`;
- composite primary and foreign keys: `accounts (tenant_id, number)` and
  the `invoices` that point at them;
- a one-to-one (`Customer.profile`, uselist=False);
- a many-to-one and a one-to-many over a unique non-key column
  (`Order.buyer` on `customers.code`: no use_get);
- the followers pattern: a self-referential many-to-many with explicit
  primaryjoin / secondaryjoin;
- an association object over a link table with its own column
  (`Membership`).

It builds the database by executing these models (create_all, then the
rows added through the ORM) and writes it as tests/fixtures/shapes/shapes.sql;
tests/fixtures/shapes/shapes.toml is loadscope's model of the same classes.
Then, for every scenario, it records what SQLAlchemy 2.1.9 sends into
tests/fixtures/sqlalchemy_shapes/<scenario>.json, in the format of the
sample's fixtures. A scenario SQLAlchemy refuses when mapping (dynamic on a
one-to-one) records the refusal as "config_error".

scripts/pg_oracle.py runs the same scenarios on PostgreSQL, on
tests/fixtures/shapes/shapes.postgresql.sql (written from these classes
and the rows of shapes.sql).

Run from the repository root (see sqlalchemy_oracle.py for the venv):

    scripts/.venv/bin/python scripts/shapes_oracle.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import sqlalchemy
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, relationship

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy_oracle import (  # noqa: E402
    Models,
    Recorder,
    build_in_memory,
    fs,
    lazy_kwargs,
    record_scenarios,
    run,
)

ROOT_DIR = Path(__file__).resolve().parent.parent
SHAPES_DIR = ROOT_DIR / "tests" / "fixtures" / "shapes"
OUT_DIR = ROOT_DIR / "tests" / "fixtures" / "sqlalchemy_shapes"

LABELS = {
    "Customer": "name",
    "Profile": "bio",
    "Order": "key",
    "Account": "label",
    "Invoice": "amount",
    "Group": "name",
    "Membership": "role",
    "Ledger": "title",
    "Entry": "memo",
}

# relationship -> (target, uselist)
RELATIONSHIPS = {
    "Customer": {
        "profile": ("Profile", False),
        "orders": ("Order", True),
        "coded_orders": ("Order", True),
        "accounts": ("Account", True),
        "following": ("Customer", True),
        "followers": ("Customer", True),
        "memberships": ("Membership", True),
    },
    "Profile": {"customer": ("Customer", False)},
    "Order": {"customer": ("Customer", False), "buyer": ("Customer", False)},
    "Account": {"invoices": ("Invoice", True), "owner": ("Customer", False)},
    "Invoice": {"account": ("Account", False)},
    "Group": {"memberships": ("Membership", True)},
    "Membership": {"customer": ("Customer", False), "group": ("Group", False)},
    "Ledger": {"entries": ("Entry", True)},
    "Entry": {"ledger": ("Ledger", False)},
}


def build_models(lazy: dict[str, str]) -> dict[str, type]:
    def rel(key: str) -> dict:
        strategy = lazy.get(key, "select")
        if strategy == "select+innerjoin":
            return {"lazy": "select", "innerjoin": True}
        return lazy_kwargs(strategy)

    class Base(DeclarativeBase):
        pass

    follows = Table(
        "follows",
        Base.metadata,
        Column("follower_id", Integer, ForeignKey("customers.id"), primary_key=True),
        Column("followed_id", Integer, ForeignKey("customers.id"), primary_key=True),
    )

    class Customer(Base):
        __tablename__ = "customers"
        id = mapped_column(Integer, primary_key=True)
        code = mapped_column(String, unique=True, nullable=False)
        name = mapped_column(String, nullable=False)

        profile = relationship(
            "Profile", back_populates="customer", uselist=False, **rel("Customer.profile")
        )
        orders = relationship(
            "Order",
            back_populates="customer",
            foreign_keys="Order.customer_id",
            order_by="Order.id",
            **rel("Customer.orders"),
        )
        coded_orders = relationship(
            "Order",
            back_populates="buyer",
            foreign_keys="Order.customer_code",
            order_by="Order.id",
            **rel("Customer.coded_orders"),
        )
        accounts = relationship(
            "Account",
            back_populates="owner",
            order_by="(Account.tenant_id, Account.number)",
            **rel("Customer.accounts"),
        )
        following = relationship(
            "Customer",
            secondary=follows,
            primaryjoin=id == follows.c.follower_id,
            secondaryjoin=id == follows.c.followed_id,
            back_populates="followers",
            order_by="Customer.id",
            **rel("Customer.following"),
        )
        followers = relationship(
            "Customer",
            secondary=follows,
            primaryjoin=id == follows.c.followed_id,
            secondaryjoin=id == follows.c.follower_id,
            back_populates="following",
            order_by="Customer.id",
            **rel("Customer.followers"),
        )
        memberships = relationship(
            "Membership",
            back_populates="customer",
            order_by="Membership.group_id",
            **rel("Customer.memberships"),
        )

    class Profile(Base):
        __tablename__ = "profiles"
        id = mapped_column(Integer, primary_key=True)
        customer_id = mapped_column(Integer, ForeignKey("customers.id"), unique=True)
        bio = mapped_column(String)

        customer = relationship("Customer", back_populates="profile", **rel("Profile.customer"))

    class Order(Base):
        __tablename__ = "order"
        id = mapped_column(Integer, primary_key=True)
        createdAt = mapped_column(String, nullable=False)
        key = mapped_column(String, nullable=False)
        customer_id = mapped_column(Integer, ForeignKey("customers.id"))
        customer_code = mapped_column(String, ForeignKey("customers.code"))

        customer = relationship(
            "Customer",
            back_populates="orders",
            foreign_keys=[customer_id],
            **rel("Order.customer"),
        )
        buyer = relationship(
            "Customer",
            back_populates="coded_orders",
            foreign_keys=[customer_code],
            **rel("Order.buyer"),
        )

    class Account(Base):
        __tablename__ = "accounts"
        tenant_id = mapped_column(Integer, primary_key=True)
        number = mapped_column(Integer, primary_key=True)
        label = mapped_column(String, nullable=False)
        customer_id = mapped_column(Integer, ForeignKey("customers.id"))

        invoices = relationship(
            "Invoice", back_populates="account", order_by="Invoice.id", **rel("Account.invoices")
        )
        owner = relationship("Customer", back_populates="accounts", **rel("Account.owner"))

    class Invoice(Base):
        __tablename__ = "invoices"
        __table_args__ = (
            ForeignKeyConstraint(
                ["tenant_id", "account_number"], ["accounts.tenant_id", "accounts.number"]
            ),
        )
        id = mapped_column(Integer, primary_key=True)
        tenant_id = mapped_column(Integer, nullable=False)
        account_number = mapped_column(Integer, nullable=False)
        amount = mapped_column(Integer, nullable=False)

        account = relationship("Account", back_populates="invoices", **rel("Invoice.account"))

    class Group(Base):
        __tablename__ = "group"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(String, nullable=False)

        memberships = relationship(
            "Membership",
            back_populates="group",
            order_by="Membership.customer_id",
            **rel("Group.memberships"),
        )

    class Membership(Base):
        __tablename__ = "memberships"
        customer_id = mapped_column(Integer, ForeignKey("customers.id"), primary_key=True)
        group_id = mapped_column(Integer, ForeignKey("group.id"), primary_key=True)
        role = mapped_column(String, nullable=False)

        customer = relationship(
            "Customer", back_populates="memberships", **rel("Membership.customer")
        )
        group = relationship("Group", back_populates="memberships", **rel("Membership.group"))

    class Ledger(Base):
        """Composite keys in numbers past selectin's 500-key batches."""

        __tablename__ = "ledgers"
        tenant_id = mapped_column(Integer, primary_key=True)
        n = mapped_column(Integer, primary_key=True)
        title = mapped_column(String, nullable=False)

        entries = relationship(
            "Entry", back_populates="ledger", order_by="Entry.id", **rel("Ledger.entries")
        )

    class Entry(Base):
        __tablename__ = "entries"
        __table_args__ = (
            ForeignKeyConstraint(["tenant_id", "ledger_n"], ["ledgers.tenant_id", "ledgers.n"]),
        )
        id = mapped_column(Integer, primary_key=True)
        tenant_id = mapped_column(Integer, nullable=False)
        ledger_n = mapped_column(Integer, nullable=False)
        memo = mapped_column(String, nullable=False)

        ledger = relationship("Ledger", back_populates="entries", **rel("Entry.ledger"))

    classes = {
        c.__name__: c
        for c in [Customer, Profile, Order, Account, Invoice, Group, Membership, Ledger, Entry]
    }
    try:
        sqlalchemy.orm.configure_mappers()
    except sqlalchemy.exc.InvalidRequestError:
        # A refused mapping must not poison the next scenario's classes.
        Base.registry.dispose()
        raise
    return classes


def populate(session: Session, c: dict[str, type]) -> None:
    """Rows chosen to hit every edge: no profile, no orders, a NULL
    customer_code, accounts of two tenants with the same numbers, a
    customer nobody follows."""
    names = ["Ada", "Brook", "Cyd", "Dee", "Eli", "Fay", "Gus"]
    customers = [
        c["Customer"](id=i + 1, code=f"C{i + 1:02}", name=n) for i, n in enumerate(names)
    ]
    session.add_all(customers)
    for cid, bio in [(1, "first"), (2, "second"), (4, "fourth"), (6, "sixth")]:
        session.add(c["Profile"](id=cid * 10, customer_id=cid, bio=bio))
    orders = [
        (1, 1, "C01"), (2, 1, "C02"), (3, 2, "C02"), (4, 3, None), (5, 1, "C01"),
        (6, 5, "C05"), (7, 2, "C03"), (8, 6, "C06"), (9, 3, "C03"), (10, 1, None),
    ]
    for oid, cid, code in orders:
        session.add(
            c["Order"](
                id=oid,
                createdAt=f"2026-11-{oid:02}",
                key=f"K{oid}",
                customer_id=cid,
                customer_code=code,
            )
        )
    accounts = [(1, 1, 1), (1, 2, 1), (2, 1, 2), (2, 2, 3), (1, 3, 3), (2, 3, 5)]
    for tenant, number, cid in accounts:
        session.add(
            c["Account"](
                tenant_id=tenant, number=number, label=f"T{tenant}-{number}", customer_id=cid
            )
        )
    invoices = [
        (1, 1, 1, 100), (2, 1, 1, 250), (3, 2, 1, 75), (4, 1, 2, 30), (5, 2, 2, 10),
        (6, 1, 3, 400), (7, 2, 3, 55), (8, 2, 1, 60), (9, 1, 1, 5),
    ]
    for iid, tenant, number, amount in invoices:
        session.add(
            c["Invoice"](id=iid, tenant_id=tenant, account_number=number, amount=amount)
        )
    session.flush()
    # The link rows in a fixed order (the unit of work orders appended
    # ones by set), so that two runs write the same database.
    follows = c["Customer"].following.property.secondary
    session.execute(
        follows.insert(),
        [{"follower_id": a, "followed_id": b}
         for a, b in [(1, 2), (1, 3), (2, 1), (3, 1), (3, 2), (4, 1), (5, 4), (2, 5)]],
    )
    for gid, name in [(1, "admins"), (2, "editors"), (3, "readers")]:
        session.add(c["Group"](id=gid, name=name))
    memberships = [(1, 1, "owner"), (1, 2, "member"), (2, 2, "owner"), (3, 3, "member"),
                   (4, 2, "member"), (5, 3, "guest"), (2, 3, "member")]
    for cid, gid, role in memberships:
        session.add(c["Membership"](customer_id=cid, group_id=gid, role=role))
    # 620 ledgers over two tenants, each with an entry or two (none for
    # every seventh): selectin asks in batches of 500 keys, then 120.
    entry = 0
    for i in range(620):
        tenant, n = 1 + i % 2, 1 + i // 2
        session.add(c["Ledger"](tenant_id=tenant, n=n, title=f"L{tenant}-{n}"))
        for _ in range(0 if i % 7 == 3 else 1 + i % 2):
            entry += 1
            session.add(c["Entry"](id=entry, tenant_id=tenant, ledger_n=n, memo=f"E{entry}"))
    session.commit()


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------

LOADING = ["select", "immediate", "joined", "joined+innerjoin", "subquery", "selectin"]
EVERY = LOADING + ["raise", "raise_on_sql", "noload"]

# (root, path, ...): one navigation each, every strategy at every level.
PATHS = [
    ("Customer", "profile"),
    ("Customer", "orders"),
    ("Customer", "coded_orders"),
    ("Customer", "accounts"),
    ("Customer", "accounts", "invoices"),
    ("Customer", "following"),
    ("Customer", "followers"),
    ("Customer", "memberships", "group"),
    ("Profile", "customer"),
    ("Order", "customer"),
    ("Order", "buyer"),
    ("Order", "buyer", "profile"),
    ("Account", "invoices"),
    ("Invoice", "account"),
    ("Group", "memberships", "customer"),
    ("Membership", "customer"),
    ("Customer", "accounts", "invoices", "account"),
    ("Group", "memberships", "customer", "profile"),
]

# Past selectin's 500-key batches (no LIMIT: all 620 ledgers, or all
# their entries): each loading strategy, by mapping and by option.
BATCHES = [("Ledger", "entries"), ("Entry", "ledger")]


def scenario(name, root, limit, expand, strategies, via):
    return {
        "name": name,
        "root": root,
        "limit": limit,
        "expand": list(expand),
        "strategies": dict(strategies),
        "via": via,
    }


def expand_of(rels: tuple[str, ...]) -> list[str]:
    return [".".join(rels[: i + 1]) for i in range(len(rels))]


def all_scenarios() -> list[dict]:
    out = []
    for root, *rels in PATHS:
        expand = expand_of(tuple(rels))
        stem = f"{root.lower()}_{'_'.join(rels)}"
        for s in EVERY:
            for limit, suffix in [(3, ""), (None, "_nolimit")]:
                if suffix and s not in ("joined", "subquery", "selectin"):
                    continue
                strategies = {p: s for p in expand}
                out.append(scenario(f"{stem}_{fs(s)}{suffix}", root, limit, expand, strategies,
                                    "mapping"))
                out.append(scenario(f"{stem}_{fs(s)}{suffix}_option", root, limit, expand,
                                    strategies, "options"))
        for s in ["dynamic", "write_only"]:
            if len(rels) == 1:
                out.append(scenario(f"{stem}_{s}", root, 3, expand, {expand[0]: s}, "mapping"))
    for root, rel in BATCHES:
        # (select and immediate would be 620 statements each: the batches
        # are what is pinned here.)
        for s in ["joined", "joined+innerjoin", "subquery", "selectin"]:
            for via, suffix in [("mapping", ""), ("options", "_option")]:
                out.append(scenario(f"{root.lower()}_{rel}_{fs(s)}_batches{suffix}", root, None,
                                    [rel], {rel: s}, via))
    # a mapping's innerjoin is kept by a joinedload() option that does not
    # say otherwise
    out.append({**scenario("customer_orders_innerjoin_mapping_joined_option", "Customer", 3,
                           ["orders"], {"orders": "joined"}, "options"),
                "mapping": {"Customer.orders": "select+innerjoin"}})
    return out


SHAPES = Models(build_models, RELATIONSHIPS, LABELS)


def composite_subquery_keys(sc: dict) -> list[list[str]]:
    """The re-stated key labels of each subquery load over a composite
    key, in primaryjoin order (`accounts_tenant_id`, `accounts_number`)."""
    classes = build_models({})
    out = []
    try:
        for path in sc["expand"]:
            if sc["strategies"][path] != "subquery":
                continue
            entity = sc["root"]
            parts = path.split(".")
            for part in parts[:-1]:
                entity = RELATIONSHIPS[entity][part][0]
            prop = inspect(classes[entity]).relationships[parts[-1]]
            # (referenced, referencing) pairs of the primaryjoin, in order
            pairs = prop.synchronize_pairs
            if len(pairs) > 1:
                local = [fk if prop.direction.name == "MANYTOONE" else pk for pk, fk in pairs]
                # the label of a parent key column taken from the re-stated
                # statement (`anon_1_accounts_tenant_id`) or from an alias
                # of a hop (`accounts_1_tenant_id`)
                out.append(
                    [rf"\b(?:anon_1_{c.table.name}|{c.table.name}_\d+)_{c.name}\b" for c in local]
                )
    finally:
        classes["Customer"].registry.dispose()
    return out


def run_pinned(engine, recorder: Recorder, sc: dict) -> dict:
    """`run`, pinned where SQLAlchemy is not deterministic.

    A subquery load over a composite key re-states the key columns in the
    iteration order of `RelationshipProperty.local_columns`, a set of
    column objects hashed by id, so each process may order them
    differently. Every order is SQLAlchemy's; the fixture records the one
    in primaryjoin order (rerunning until it comes up), which loadscope
    follows.
    """
    wanted = composite_subquery_keys(sc)
    for _ in range(200):
        fixture = run(engine, recorder, sc, SHAPES)
        sqls = [st["sql"] for st in fixture.get("statements", [])]

        def in_order(labels):
            # (A load that issued no statement, say from the identity
            # map, has nothing to pin.)
            for sql in sqls:
                found = [re.search(label, sql) for label in labels]
                if all(found):
                    starts = [m.start() for m in found]
                    if starts != sorted(starts):
                        return False
            return True

        if all(in_order(labels) for labels in wanted):
            return fixture
    raise RuntimeError("composite subquery keys never came in primaryjoin order")


def main(argv: list[str]) -> int:
    dbapi_conn = build_in_memory(SHAPES, populate, SHAPES_DIR / "shapes.sql",
                                 "scripts/shapes_oracle.py")
    return record_scenarios(dbapi_conn, all_scenarios(), run_pinned, OUT_DIR, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
