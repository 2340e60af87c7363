//! The model: which entities exist (one per table), how they relate, and
//! the loader strategy each relationship uses by default.
//!
//! A model is written in a file ([`toml`]) or inferred from the schema
//! ([`infer`]); either way it becomes a [`spec::ModelSpec`] first and is
//! then checked against the database by [`resolve`].

pub mod diagnostic;
pub mod infer;
pub mod python;
pub mod resolve;
pub mod spec;
pub mod toml;

use crate::db::Schema;
use crate::strategy::Strategy;
pub use diagnostic::{Diagnostic, SourceFile};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelId(pub usize);

#[derive(Clone, Debug)]
pub struct Model {
    /// Where it came from: a file name, or "inferred from <db>".
    pub source: String,
    pub entities: Vec<Entity>,
    pub relationships: Vec<Relationship>,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Clone, Debug)]
pub struct Entity {
    pub name: String,
    pub table: String,
    /// All columns of the table, in declaration order (the SELECT order).
    pub columns: Vec<String>,
    /// Index into `columns` of the primary key.
    pub pk: usize,
    /// Index into `columns` of the column shown in lists.
    pub label: Option<usize>,
    /// This entity's relationships, in the order the model lists them.
    pub relationships: Vec<RelId>,
}

impl Entity {
    pub fn pk_column(&self) -> &str {
        &self.columns[self.pk]
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    OneToMany,
    ManyToOne,
    ManyToMany,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::OneToMany => "one_to_many",
            Direction::ManyToOne => "many_to_one",
            Direction::ManyToMany => "many_to_many",
        }
    }
}

/// How parent and target rows are joined. For one-to-many and many-to-one
/// the condition is always `referenced = referencing`, as SQLAlchemy writes
/// its primaryjoin: `users.id = posts.user_id`.
#[derive(Clone, Debug)]
pub enum Join {
    /// `parent.parent_col = target.target_col`; which side holds the
    /// foreign key follows from the direction.
    Direct {
        parent_col: usize,
        target_col: usize,
    },
    /// Through a link table: `parent.parent_col = secondary.parent_fk` and
    /// `target.target_col = secondary.target_fk`.
    Secondary {
        table: String,
        parent_fk: String,
        parent_col: usize,
        target_fk: String,
        target_col: usize,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderTerm {
    pub table: String,
    pub column: String,
    pub descending: bool,
}

#[derive(Clone, Debug)]
pub struct Relationship {
    pub id: RelId,
    pub name: String,
    pub parent: EntityId,
    pub target: EntityId,
    pub direction: Direction,
    pub join: Join,
    /// The mapping's `lazy=` (with `innerjoin` folded into `joined`).
    pub lazy: Strategy,
    pub order_by: Vec<OrderTerm>,
    pub back_populates: Option<String>,
    /// Keys per `selectin` batch.
    pub chunksize: usize,
    /// Position among the parent entity's relationships.
    pub slot: usize,
}

impl Relationship {
    /// Collections hold many targets; a many-to-one holds one or none.
    pub fn is_collection(&self) -> bool {
        self.direction != Direction::ManyToOne
    }
}

impl Model {
    pub fn entity(&self, id: EntityId) -> &Entity {
        &self.entities[id.0]
    }

    pub fn rel(&self, id: RelId) -> &Relationship {
        &self.relationships[id.0]
    }

    pub fn entity_by_name(&self, name: &str) -> Option<EntityId> {
        self.entities
            .iter()
            .position(|e| e.name == name)
            .map(EntityId)
    }

    pub fn rel_by_name(&self, entity: EntityId, name: &str) -> Option<RelId> {
        self.entity(entity)
            .relationships
            .iter()
            .copied()
            .find(|r| self.rel(*r).name == name)
    }

    /// `User.posts`: how SQLAlchemy names a relationship in messages.
    pub fn rel_display(&self, id: RelId) -> String {
        let rel = self.rel(id);
        format!("{}.{}", self.entity(rel.parent).name, rel.name)
    }

    /// Loads a model file (`.toml` or SQLAlchemy `.py`) and checks it
    /// against the schema. `lenient` turns what a `.py` model gets wrong
    /// about SQLAlchemy into warnings.
    pub fn load_file(path: &Path, schema: &Schema, lenient: bool) -> anyhow::Result<Model> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read model file: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{}: not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        Model::from_text(&path.display().to_string(), text, schema, lenient)
    }

    /// Parses model text; the format follows the file name's extension.
    pub fn from_text(
        name: &str,
        text: String,
        schema: &Schema,
        lenient: bool,
    ) -> anyhow::Result<Model> {
        let source = SourceFile {
            name: name.to_string(),
            text,
        };
        let lower = name.to_ascii_lowercase();
        let parsed = if lower.ends_with(".toml") {
            toml::parse(source)?
        } else if lower.ends_with(".py") {
            python::parse(source, lenient)?
        } else {
            anyhow::bail!(
                "{name}: unknown model format; a model file is `.toml` or a SQLAlchemy `.py`"
            );
        };
        Ok(resolve::resolve(parsed, schema)?)
    }
}

impl Model {
    /// The model as a spec again, for writing it out as TOML
    /// (`loadscope model`): every value that differs from a default.
    pub fn to_spec(&self) -> spec::ModelSpec {
        use diagnostic::Located;
        let text = |s: &str| Located::bare(s.to_string());
        let entities = self
            .entities
            .iter()
            .map(|e| spec::EntitySpec {
                name: text(&e.name),
                table: text(&e.table),
                label: e.label.map(|i| text(&e.columns[i])),
                primary_key: None,
                relationships: e
                    .relationships
                    .iter()
                    .map(|r| {
                        let rel = self.rel(*r);
                        let target = self.entity(rel.target);
                        let mut out =
                            spec::RelationshipSpec::new(text(&rel.name), text(&target.name));
                        match &rel.join {
                            Join::Direct {
                                parent_col,
                                target_col,
                            } => {
                                let (table, column) = if rel.direction == Direction::OneToMany {
                                    (&target.table, &target.columns[*target_col])
                                } else {
                                    (&e.table, &e.columns[*parent_col])
                                };
                                out.foreign_key = Some(text(&format!("{table}.{column}")));
                                if rel.parent == rel.target {
                                    out.direction = Some(text(rel.direction.name()));
                                }
                            }
                            Join::Secondary { table, .. } => out.secondary = Some(text(table)),
                        }
                        if rel.lazy != Strategy::Select {
                            out.lazy = Some(text(rel.lazy.lazy_value()));
                        }
                        if rel.lazy == Strategy::JoinedInner {
                            out.innerjoin = Some(Located::bare(true));
                        }
                        if !rel.order_by.is_empty() {
                            let terms: Vec<String> = rel
                                .order_by
                                .iter()
                                .map(|o| {
                                    format!(
                                        "{}.{}{}",
                                        o.table,
                                        o.column,
                                        if o.descending { " DESC" } else { "" }
                                    )
                                })
                                .collect();
                            out.order_by = Some(text(&terms.join(", ")));
                        }
                        out.back_populates = rel.back_populates.as_deref().map(text);
                        if rel.chunksize != resolve::DEFAULT_CHUNKSIZE {
                            out.chunksize = Some(Located::bare(rel.chunksize as i64));
                        }
                        out
                    })
                    .collect(),
            })
            .collect();
        spec::ModelSpec { entities }
    }
}
