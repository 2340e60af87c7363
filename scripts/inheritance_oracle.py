"""SQLAlchemy oracle for single-table inheritance.

Dev-only, like shapes_oracle.py (whose way of working it follows). It maps
a hierarchy over one table, tests/fixtures/inheritance/:

- `Vehicle` (polymorphic_on `kind`), `Truck(Vehicle)`, `Pickup(Truck)` and
  `Car(Vehicle)`, all in `vehicles`, each subclass adding its own columns;
- relationships to the base (`Shop.vehicles`), to a subclass
  (`Shop.trucks`, `Cargo.truck`), through a link table to a subclass
  (`Shop.rentals`), defined on a subclass (`Truck.cargo`) and inherited
  from the base (`Truck.shop` is `Vehicle.shop`).

It builds the database by executing these models and writes it as
tests/fixtures/inheritance/inheritance.sql; tests/fixtures/inheritance/
holds loadscope's models of the same classes (inheritance.toml, and
models.py written as an application would, which this script also maps
to check that it builds the same tables). For every scenario it records
what SQLAlchemy 2.1.9 sends into tests/fixtures/sqlalchemy_inheritance/.
scripts/pg_oracle.py runs the same scenarios on PostgreSQL, on
tests/fixtures/inheritance/inheritance.postgresql.sql (written from these
classes and the rows of inheritance.sql).

    scripts/.venv/bin/python scripts/inheritance_oracle.py
"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String, Table, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, relationship
from sqlalchemy.pool import StaticPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy_oracle import (  # noqa: E402
    Models,
    build_in_memory,
    fs,
    lazy_kwargs,
    record_scenarios,
    run,
)

ROOT_DIR = Path(__file__).resolve().parent.parent
FIXTURE_DIR = ROOT_DIR / "tests" / "fixtures" / "inheritance"
OUT_DIR = ROOT_DIR / "tests" / "fixtures" / "sqlalchemy_inheritance"

VEHICLES = ["Vehicle", "Truck", "Pickup", "Car"]
LABELS = {"Shop": "name", "Cargo": "label", **{v: "name" for v in VEHICLES}}

# relationship -> (target, uselist), by class: a subclass has its base's
# relationships too (the walk asks by the class an object came back as).
VEHICLE_RELS = {"shop": ("Shop", False)}
TRUCK_RELS = {**VEHICLE_RELS, "cargo": ("Cargo", True)}
RELATIONSHIPS = {
    "Shop": {
        "vehicles": ("Vehicle", True),
        "trucks": ("Truck", True),
        "cars": ("Car", True),
        "rentals": ("Car", True),
    },
    "Vehicle": VEHICLE_RELS,
    "Truck": TRUCK_RELS,
    "Pickup": TRUCK_RELS,
    "Car": VEHICLE_RELS,
    "Cargo": {"truck": ("Truck", False)},
}

# The class that defines each inherited relationship: `lazy=` is set there.
OWNER = {"Truck.shop": "Vehicle.shop", "Pickup.shop": "Vehicle.shop",
         "Car.shop": "Vehicle.shop", "Pickup.cargo": "Truck.cargo"}


def build_models(lazy: dict[str, str]) -> dict[str, type]:
    lazy = {OWNER.get(k, k): v for k, v in lazy.items()}

    def rel(key: str) -> dict:
        return lazy_kwargs(lazy.get(key, "select"))

    class Base(DeclarativeBase):
        pass

    rentals_table = Table(
        "rentals",
        Base.metadata,
        Column("shop_id", Integer, ForeignKey("shops.id"), primary_key=True),
        Column("car_id", Integer, ForeignKey("vehicles.id"), primary_key=True),
    )

    class Shop(Base):
        __tablename__ = "shops"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(String, nullable=False)

        vehicles = relationship("Vehicle", back_populates="shop", order_by="Vehicle.id",
                                **rel("Shop.vehicles"))
        trucks = relationship("Truck", viewonly=True, order_by="Truck.id", **rel("Shop.trucks"))
        cars = relationship("Car", viewonly=True, order_by="Car.id", **rel("Shop.cars"))
        rentals = relationship("Car", secondary=rentals_table, viewonly=True, order_by="Car.id",
                               **rel("Shop.rentals"))

    class Vehicle(Base):
        __tablename__ = "vehicles"
        id = mapped_column(Integer, primary_key=True)
        shop_id = mapped_column(Integer, ForeignKey("shops.id"), nullable=False)
        name = mapped_column(String, nullable=False)
        kind = mapped_column(String, nullable=False)

        shop = relationship("Shop", back_populates="vehicles", **rel("Vehicle.shop"))
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "vehicle"}

    class Truck(Vehicle):
        payload = mapped_column(Integer)

        cargo = relationship("Cargo", back_populates="truck", order_by="Cargo.id",
                             **rel("Truck.cargo"))
        __mapper_args__ = {"polymorphic_identity": "truck"}

    class Pickup(Truck):
        bed = mapped_column(Integer)
        __mapper_args__ = {"polymorphic_identity": "pickup"}

    class Car(Vehicle):
        seats = mapped_column(Integer)
        __mapper_args__ = {"polymorphic_identity": "car"}

    class Cargo(Base):
        __tablename__ = "cargo"
        id = mapped_column(Integer, primary_key=True)
        truck_id = mapped_column(Integer, ForeignKey("vehicles.id"), nullable=False)
        label = mapped_column(String, nullable=False)

        truck = relationship("Truck", back_populates="cargo", **rel("Cargo.truck"))

    classes = {c.__name__: c for c in [Shop, Vehicle, Truck, Pickup, Car, Cargo]}
    try:
        sqlalchemy.orm.configure_mappers()
    except sqlalchemy.exc.InvalidRequestError:
        Base.registry.dispose()
        raise
    return classes


def populate(session: Session, c: dict[str, type]) -> None:
    """Every kind in two shops, none in the third; a truck without cargo;
    rentals of cars of other shops."""
    for sid, name in [(1, "North"), (2, "South"), (3, "Empty")]:
        session.add(c["Shop"](id=sid, name=name))
    rows = [
        (1, 1, "Vehicle", {}), (2, 1, "Truck", {"payload": 10}),
        (3, 1, "Car", {"seats": 4}), (4, 1, "Pickup", {"payload": 2, "bed": 5}),
        (5, 2, "Truck", {"payload": 20}), (6, 2, "Car", {"seats": 2}),
        (7, 2, "Vehicle", {}), (8, 2, "Pickup", {"payload": 1, "bed": 3}),
        (9, 1, "Car", {"seats": 7}), (10, 2, "Truck", {}),
    ]
    for vid, sid, cls, extra in rows:
        session.add(c[cls](id=vid, shop_id=sid, name=f"{cls[0]}{vid}", **extra))
    for cid, tid, label in [(1, 2, "bricks"), (2, 2, "sand"), (3, 4, "tools"),
                            (4, 5, "wood"), (5, 8, "hay"), (6, 5, "steel")]:
        session.add(c["Cargo"](id=cid, truck_id=tid, label=label))
    session.flush()
    rentals = c["Shop"].rentals.property.secondary
    session.execute(rentals.insert(), [{"shop_id": s, "car_id": v}
                                       for s, v in [(1, 6), (2, 3), (2, 9), (3, 3)]])
    session.commit()


LOADING = ["select", "immediate", "joined", "joined+innerjoin", "subquery", "selectin"]
EVERY = LOADING + ["raise", "raise_on_sql", "noload"]

PATHS = [
    ("Vehicle",),
    ("Truck",),
    ("Pickup",),
    ("Shop", "vehicles"),
    ("Shop", "trucks"),
    ("Shop", "cars"),
    ("Shop", "rentals"),
    ("Shop", "trucks", "cargo"),
    ("Shop", "vehicles", "shop"),
    ("Vehicle", "shop"),
    ("Truck", "shop"),
    ("Truck", "cargo"),
    ("Truck", "cargo", "truck"),
    ("Pickup", "cargo"),
    ("Cargo", "truck"),
    ("Cargo", "truck", "shop"),
    ("Car", "shop", "cars"),
    ("Shop", "trucks", "cargo", "truck"),
]


def scenario(name, root, limit, expand, strategies, via):
    return {"name": name, "root": root, "limit": limit, "expand": list(expand),
            "strategies": dict(strategies), "via": via}


def all_scenarios() -> list[dict]:
    out = []
    for root, *rels in PATHS:
        expand = [".".join(rels[: i + 1]) for i in range(len(rels))]
        stem = "_".join([root.lower(), *rels])
        if not rels:
            out.append(scenario(f"{stem}_limit", root, 3, [], {}, "mapping"))
            out.append(scenario(f"{stem}_nolimit", root, None, [], {}, "mapping"))
            continue
        for s in EVERY:
            for limit, suffix in [(3, ""), (None, "_nolimit")]:
                if suffix and s not in ("joined", "subquery", "selectin"):
                    continue
                strategies = {p: s for p in expand}
                for via, tail in [("mapping", ""), ("options", "_option")]:
                    out.append(scenario(f"{stem}_{fs(s)}{suffix}{tail}", root, limit, expand,
                                        strategies, via))
        if len(rels) == 1 and RELATIONSHIPS[root][rels[0]][1]:
            for s in ["dynamic", "write_only"]:
                out.append(scenario(f"{stem}_{s}", root, 3, expand, {expand[0]: s}, "mapping"))
    return out


INHERITANCE = Models(build_models, RELATIONSHIPS, LABELS)


def table_sql(conn: sqlite3.Connection) -> list[str]:
    return sorted(r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))


def check_models_py(expected: list[str]) -> None:
    """models.py, executed, must make the very tables the oracle's classes make."""
    spec = importlib.util.spec_from_file_location("inheritance_models", FIXTURE_DIR / "models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its annotations are resolved by module name)
    spec.loader.exec_module(module)
    conn = sqlite3.connect(":memory:")
    engine = create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)
    module.Base.metadata.create_all(engine)
    sqlalchemy.orm.configure_mappers()
    if table_sql(conn) != expected:
        raise SystemExit("models.py does not build the oracle's tables")
    module.Base.registry.dispose()


def main(argv: list[str]) -> int:
    dbapi_conn = build_in_memory(INHERITANCE, populate, FIXTURE_DIR / "inheritance.sql",
                                 "scripts/inheritance_oracle.py",
                                 check=lambda conn: check_models_py(table_sql(conn)))
    return record_scenarios(dbapi_conn, all_scenarios(),
                            lambda engine, recorder, sc: run(engine, recorder, sc, INHERITANCE),
                            OUT_DIR, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
