//! The model: which entities exist (one per table), how they relate, and
//! the loader strategy each relationship uses by default.
//!
//! A model is written in a file ([`toml`]) or inferred from the schema
//! ([`infer`]); either way it becomes a [`spec::ModelSpec`] first and is
//! then checked against the database by [`resolve`].

pub mod diagnostic;
pub mod infer;
pub mod inflect;
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
    /// Every column's declared type, by table and column: what psycopg 3
    /// casts a bind compared with it to.
    pub column_types: std::collections::HashMap<(String, String), String>,
}

#[derive(Clone, Debug)]
pub struct Entity {
    pub name: String,
    pub table: String,
    /// The mapped columns, in the mapper's order (the SELECT order): all
    /// of the table's by default, or those the model lists.
    pub columns: Vec<String>,
    /// Indexes into `columns` of the primary key, in key order.
    pub pk: Vec<usize>,
    /// Index into `columns` of the column shown in lists.
    pub label: Option<usize>,
    /// This entity's relationships, in the order the model lists them (a
    /// subclass's: its base's first, then its own).
    pub relationships: Vec<RelId>,
    /// Mapper inheritance: `None` for a class outside any hierarchy.
    pub polymorphic: Option<Polymorphic>,
}

/// A class of a single-table hierarchy (SQLAlchemy's `polymorphic_on`,
/// `polymorphic_identity`): its rows come back as the class their
/// discriminator names, and one identity map serves the whole hierarchy.
#[derive(Clone, Debug)]
pub struct Polymorphic {
    /// The hierarchy's base class: identities are keyed by it.
    pub root: EntityId,
    /// The class it inherits from (`None` for the base).
    pub inherits: Option<EntityId>,
    /// The discriminator's index in `columns`, when the base has one.
    pub on: Option<usize>,
    /// Its `polymorphic_identity` (NULL when it has none).
    pub identity: rusqlite::types::Value,
    /// The classes a row loaded as this one may come back as, by
    /// discriminator: itself and every class below it, breadth first in
    /// the order they are defined (SQLAlchemy's `self_and_descendants`).
    pub classes: Vec<(crate::db::Key, EntityId)>,
    /// The identities bound by `kind IN (...)` when a statement loads
    /// this class: a subclass's own and its descendants', in the same
    /// order; empty for the base.
    pub criterion: Vec<rusqlite::types::Value>,
}

impl Entity {
    /// The primary key's column names, in key order.
    pub fn pk_columns(&self) -> impl Iterator<Item = &str> {
        self.pk.iter().map(|i| self.columns[*i].as_str())
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
/// each condition is `referenced = referencing`, as SQLAlchemy writes its
/// primaryjoin: `users.id = posts.user_id`; a composite key joins on every
/// pair, `AND`ed in key order.
#[derive(Clone, Debug)]
pub enum Join {
    /// `parent.p = target.t` for each `(p, t)` (column indexes of the two
    /// entities); which side holds the foreign key follows from the
    /// direction.
    Direct { pairs: Vec<(usize, usize)> },
    /// Through a link table: `parent.p = secondary.l` for each of `parent`
    /// and `target.t = secondary.l` for each of `target`.
    Secondary {
        table: String,
        parent: Vec<(usize, String)>,
        target: Vec<(usize, String)>,
        /// Per side (parent, target): the condition was written link
        /// column first (`followers.c.follower_id == User.id`). SQLAlchemy
        /// keeps a written condition's order in the SQL it renders; its
        /// own conditions put the entity's column first.
        link_first: [bool; 2],
    },
}

impl Join {
    /// The parent entity's columns in the join, in pair order.
    pub fn parent_columns(&self) -> Vec<usize> {
        match self {
            Join::Direct { pairs } => pairs.iter().map(|(p, _)| *p).collect(),
            Join::Secondary { parent, .. } => parent.iter().map(|(p, _)| *p).collect(),
        }
    }

    /// The target entity's columns in the join, in pair order.
    pub fn target_columns(&self) -> Vec<usize> {
        match self {
            Join::Direct { pairs } => pairs.iter().map(|(_, t)| *t).collect(),
            Join::Secondary { target, .. } => target.iter().map(|(t, _)| *t).collect(),
        }
    }
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
    /// `uselist`: false for a one-to-one (an object or none) and for a
    /// many-to-one.
    pub uselist: bool,
    /// The mapping's `innerjoin=True`: a `joined` load of it, by `lazy=`
    /// or by a `joinedload()` option that does not say otherwise, is an
    /// inner join.
    pub innerjoin: bool,
    /// It comes after the entity's columns among the mapper's properties
    /// (a relationship a `backref=` made); the relationships a class
    /// declares come before them, as declarative orders `mapper._props`.
    /// A joined eager load follows that order in the select list.
    pub after_columns: bool,
    /// Where the model defines it (`models.py:12:5`); `None` when inferred.
    pub defined_at: Option<String>,
    /// Position among the parent entity's relationships.
    pub slot: usize,
}

impl Relationship {
    /// Collections hold many targets; a many-to-one or a one-to-one
    /// (`uselist=False`) holds one or none.
    pub fn is_collection(&self) -> bool {
        self.uselist
    }
}

impl Model {
    /// The declared type of `table.column` (a table's name, not an alias),
    /// when the schema gives one.
    pub fn column_type(&self, table: &str, column: &str) -> Option<&str> {
        self.column_types
            .get(&(table.to_string(), column.to_string()))
            .map(String::as_str)
            .filter(|t| !t.is_empty())
    }

    pub fn entity(&self, id: EntityId) -> &Entity {
        &self.entities[id.0]
    }

    pub fn rel(&self, id: RelId) -> &Relationship {
        &self.relationships[id.0]
    }

    /// The entity whose identity map holds `entity`'s objects: the base of
    /// its hierarchy, or itself.
    pub fn identity_root(&self, entity: EntityId) -> EntityId {
        self.entity(entity)
            .polymorphic
            .as_ref()
            .map_or(entity, |p| p.root)
    }

    /// `entity` is `ancestor` or inherits from it.
    pub fn is_a(&self, entity: EntityId, ancestor: EntityId) -> bool {
        let mut at = Some(entity);
        while let Some(e) = at {
            if e == ancestor {
                return true;
            }
            at = self.entity(e).polymorphic.as_ref().and_then(|p| p.inherits);
        }
        false
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

    /// A many-to-one whose join columns are exactly the target's primary
    /// key: SQLAlchemy's `use_get`. Its lazy load is a get by identity,
    /// answered from the identity map when the target is there.
    pub fn uses_get(&self, rel: &Relationship) -> bool {
        let Join::Direct { pairs } = &rel.join else {
            return false;
        };
        let target = self.entity(rel.target);
        rel.direction == Direction::ManyToOne
            && pairs.len() == target.pk.len()
            && target.pk.iter().all(|k| pairs.iter().any(|(_, t)| t == k))
    }

    /// A direct join's `(parent, target)` column pairs in the order a lazy
    /// load binds them: primaryjoin order, except a get by identity, which
    /// binds in the target's key order (so the parent's key is the
    /// target's identity). Empty for a link-table join.
    pub fn direct_pairs(&self, rel: &Relationship) -> Vec<(usize, usize)> {
        match &rel.join {
            Join::Direct { pairs } if self.uses_get(rel) => self
                .entity(rel.target)
                .pk
                .iter()
                .map(|k| *pairs.iter().find(|(_, t)| t == k).expect("uses_get"))
                .collect(),
            Join::Direct { pairs } => pairs.clone(),
            Join::Secondary { .. } => Vec::new(),
        }
    }

    /// The parent's columns a lazy load binds, in bind order: a parent's
    /// key for the relationship.
    pub fn lazy_parent_columns(&self, rel: &Relationship) -> Vec<usize> {
        match &rel.join {
            Join::Direct { .. } => self.direct_pairs(rel).iter().map(|(p, _)| *p).collect(),
            Join::Secondary { parent, .. } => parent.iter().map(|(p, _)| *p).collect(),
        }
    }

    /// Sets a relationship's `lazy=` as a mapping would, refused as
    /// SQLAlchemy refuses the mapping (dynamic or write_only on a scalar).
    pub fn set_lazy(&mut self, rel: RelId, lazy: Strategy) -> Result<(), String> {
        if !self.rel(rel).is_collection() && lazy.attribute().needs_collection() {
            return Err(crate::strategy::scalar_refusal(&self.rel_display(rel)));
        }
        self.relationships[rel.0].lazy = lazy;
        Ok(())
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
        Model::load_files(&[path.to_path_buf()], schema, lenient)
    }

    /// Loads the model of several `--model` arguments: one `.toml` or
    /// `.py` file, or SQLAlchemy `.py` files and directories (every `.py`
    /// under them), read together so that classes resolve across files.
    pub fn load_files(
        paths: &[std::path::PathBuf],
        schema: &Schema,
        lenient: bool,
    ) -> anyhow::Result<Model> {
        if let [path] = paths
            && !path.is_dir()
        {
            return Model::from_text(
                &path.display().to_string(),
                read_model_file(path)?,
                schema,
                lenient,
            );
        }
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let before = files.len();
                python_files_under(path, &mut files)?;
                if files.len() == before {
                    anyhow::bail!("{}: no .py files in this directory", path.display());
                }
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("py"))
            {
                files.push(path.clone());
            } else {
                anyhow::bail!(
                    "{}: only SQLAlchemy .py files (and directories of them) are read \
                     together; give a .toml model on its own",
                    path.display()
                );
            }
        }
        let name = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut texts = Vec::with_capacity(files.len());
        for file in &files {
            texts.push((file.display().to_string(), read_model_file(file)?));
        }
        let source = SourceFile::joined(name, texts);
        let parsed = python::parse(source, lenient)?;
        Ok(resolve::resolve(parsed, schema)?)
    }

    /// Parses model text; the format follows the file name's extension.
    pub fn from_text(
        name: &str,
        text: String,
        schema: &Schema,
        lenient: bool,
    ) -> anyhow::Result<Model> {
        let source = SourceFile::new(name, text);
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

fn read_model_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read model file: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Every `.py` file under `dir`, in path order, leaving out hidden
/// directories and `__pycache__` (and a virtualenv's `site-packages`).
fn python_files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    // File types as listed, not followed: a symbolic link to a directory
    // is not entered (it could lead back up).
    let mut entries: Vec<(std::path::PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot read model directory: {e}", dir.display()))?
        .filter_map(|e| {
            let e = e.ok()?;
            Some((e.path(), e.file_type().ok()?.is_dir()))
        })
        .collect();
    entries.sort();
    for (path, is_dir) in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_dir {
            if !name.starts_with('.') && name != "__pycache__" && name != "site-packages" {
                python_files_under(&path, out)?;
            }
        } else if name.ends_with(".py") {
            out.push(path);
        }
    }
    Ok(())
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
            .enumerate()
            .map(|(id, e)| {
                let poly = e.polymorphic.as_ref();
                let base = poly.and_then(|p| p.inherits).map(|b| self.entity(b));
                let identity = poly.and_then(|p| match &p.identity {
                    rusqlite::types::Value::Text(t) => Some(text(t)),
                    rusqlite::types::Value::Integer(i) => Some(text(&i.to_string())),
                    _ => None,
                });
                spec::EntitySpec {
                    name: text(&e.name),
                    // A single-table subclass names its base, the columns it
                    // adds, and its own relationships only.
                    table: base.is_none().then(|| text(&e.table)),
                    label: e
                        .label
                        .filter(|l| base.is_none_or(|b| b.label != Some(*l)))
                        .map(|i| text(&e.columns[i])),
                    primary_key: None,
                    columns: base
                        .map(|b| e.columns[b.columns.len()..].to_vec())
                        .filter(|added| !added.is_empty())
                        .map(Located::bare),
                    inherits: base.map(|b| text(&b.name)),
                    polymorphic_on: poly
                        .filter(|p| p.inherits.is_none())
                        .and_then(|p| p.on)
                        .map(|i| text(&e.columns[i])),
                    polymorphic_identity: identity,
                    relationships: e
                        .relationships
                        .iter()
                        .filter(|r| self.rel(**r).parent == EntityId(id))
                        .map(|r| {
                            let rel = self.rel(*r);
                            let target = self.entity(rel.target);
                            let mut out =
                                spec::RelationshipSpec::new(text(&rel.name), text(&target.name));
                            match &rel.join {
                                Join::Direct { pairs } => {
                                    let columns: Vec<String> = pairs
                                        .iter()
                                        .map(|(p, t)| {
                                            if rel.direction == Direction::OneToMany {
                                                format!("{}.{}", target.table, target.columns[*t])
                                            } else {
                                                format!("{}.{}", e.table, e.columns[*p])
                                            }
                                        })
                                        .collect();
                                    out.foreign_key = Some(Located::bare(columns));
                                    if rel.parent == rel.target {
                                        out.direction = Some(text(rel.direction.name()));
                                    }
                                }
                                Join::Secondary {
                                    table,
                                    parent,
                                    target: target_pairs,
                                    link_first,
                                } => {
                                    out.secondary = Some(text(table));
                                    // Through a link from a table to itself,
                                    // which link column is which side is
                                    // only known from the conditions.
                                    if rel.parent == rel.target || link_first.contains(&true) {
                                        let condition = |pairs: &[(usize, String)], link_first| {
                                            let terms: Vec<String> = pairs
                                                .iter()
                                                .map(|(c, l)| {
                                                    let entity =
                                                        format!("{}.{}", e.table, e.columns[*c]);
                                                    let link = format!("{table}.{l}");
                                                    if link_first {
                                                        format!("{link} = {entity}")
                                                    } else {
                                                        format!("{entity} = {link}")
                                                    }
                                                })
                                                .collect();
                                            text(&terms.join(" AND "))
                                        };
                                        out.primaryjoin = Some(condition(parent, link_first[0]));
                                        out.secondaryjoin =
                                            Some(condition(target_pairs, link_first[1]));
                                    }
                                }
                            }
                            if rel.lazy != Strategy::Select {
                                out.lazy = Some(text(rel.lazy.lazy_value()));
                            }
                            if rel.innerjoin || rel.lazy == Strategy::JoinedInner {
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
                            if !rel.uselist && rel.direction != Direction::ManyToOne {
                                out.uselist = Some(Located::bare(false));
                            }
                            if rel.chunksize != resolve::DEFAULT_CHUNKSIZE {
                                out.chunksize = Some(Located::bare(rel.chunksize as i64));
                            }
                            out
                        })
                        .collect(),
                }
            })
            .collect();
        spec::ModelSpec { entities }
    }
}
