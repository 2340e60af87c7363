//! A model as written: what a model file (TOML, Python) or the schema
//! inference says, with every value's place in its file, before it is
//! checked against the database.

use super::diagnostic::{Diagnostic, Located, SourceFile};

type Text = Located<String>;

#[derive(Clone, Debug, Default)]
pub struct ModelSpec {
    pub entities: Vec<EntitySpec>,
}

#[derive(Clone, Debug)]
pub struct EntitySpec {
    pub name: Text,
    /// `None` only for a single-table subclass (`inherits`, no table).
    pub table: Option<Text>,
    pub label: Option<Text>,
    /// The key columns, when not the table's primary key.
    pub primary_key: Option<Located<Vec<String>>>,
    /// The mapped columns in the mapper's order, when not all the table's.
    pub columns: Option<Located<Vec<String>>>,
    /// The mapped class this one inherits from.
    pub inherits: Option<Text>,
    pub polymorphic_on: Option<Text>,
    pub polymorphic_identity: Option<Text>,
    pub relationships: Vec<RelationshipSpec>,
}

#[derive(Clone, Debug)]
pub struct RelationshipSpec {
    pub name: Text,
    pub target: Text,
    /// `table.column` of each column that references the other side (more
    /// than one for a composite foreign key).
    pub foreign_key: Option<Located<Vec<String>>>,
    /// The link table of a many-to-many relationship.
    pub secondary: Option<Text>,
    pub lazy: Option<Text>,
    pub order_by: Option<Text>,
    pub back_populates: Option<Text>,
    pub innerjoin: Option<Located<bool>>,
    pub direction: Option<Text>,
    /// Keys per `selectin` batch (SQLAlchemy's `chunksize`, default 500).
    pub chunksize: Option<Located<i64>>,
    /// Made by a `backref=` on the other side: SQLAlchemy adds it to the
    /// mapper when mappers are configured, after the class's columns.
    pub from_backref: bool,
    /// `uselist = false`: a one-to-one.
    pub uselist: Option<Located<bool>>,
    /// `parent.col = link.col` (`AND` for composite keys): which link
    /// columns point at the parent (a self-referential many-to-many).
    pub primaryjoin: Option<Text>,
    /// `target.col = link.col`: which link columns point at the target.
    pub secondaryjoin: Option<Text>,
}

impl RelationshipSpec {
    pub fn new(name: Text, target: Text) -> RelationshipSpec {
        RelationshipSpec {
            name,
            target,
            foreign_key: None,
            secondary: None,
            lazy: None,
            order_by: None,
            back_populates: None,
            innerjoin: None,
            direction: None,
            chunksize: None,
            from_backref: false,
            uselist: None,
            primaryjoin: None,
            secondaryjoin: None,
        }
    }
}

/// A parsed model file: the spec, its source for later diagnostics, and
/// the warnings parsing produced (things it could read but not map).
#[derive(Clone, Debug)]
pub struct ParsedModel {
    pub spec: ModelSpec,
    pub source: SourceFile,
    pub warnings: Vec<Diagnostic>,
}
