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
    pub table: Text,
    pub label: Option<Text>,
    pub primary_key: Option<Text>,
    pub relationships: Vec<RelationshipSpec>,
}

#[derive(Clone, Debug)]
pub struct RelationshipSpec {
    pub name: Text,
    pub target: Text,
    /// `table.column` of the column that references the other side.
    pub foreign_key: Option<Text>,
    /// The link table of a many-to-many relationship.
    pub secondary: Option<Text>,
    pub lazy: Option<Text>,
    pub order_by: Option<Text>,
    pub back_populates: Option<Text>,
    pub innerjoin: Option<Located<bool>>,
    pub direction: Option<Text>,
    /// Keys per `selectin` batch (SQLAlchemy's `chunksize`, default 500).
    pub chunksize: Option<Located<i64>>,
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
