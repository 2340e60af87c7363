//! Checks a model spec against the database schema and resolves it into a
//! [`Model`]: every table, column and foreign key must exist, and each
//! relationship's direction follows from where its foreign key lives, as in
//! SQLAlchemy.

use super::diagnostic::{Diagnostic, Located, Span, did_you_mean, list};
use super::spec::{EntitySpec, ParsedModel, RelationshipSpec};
use super::{
    Direction, Entity, EntityId, Join, Model, OrderTerm, Polymorphic, RelId, Relationship,
};
use crate::db::{ForeignKey, Schema, Table};
use crate::strategy::Strategy;

/// SQLAlchemy's `SelectInLoader._chunksize`.
pub const DEFAULT_CHUNKSIZE: usize = 500;

/// An entity's columns paired with the link-table columns they join.
type LinkPairs = Vec<(usize, String)>;

struct Resolver<'a> {
    parsed: &'a ParsedModel,
    schema: &'a Schema,
}

pub fn resolve(parsed: ParsedModel, schema: &Schema) -> Result<Model, Diagnostic> {
    let resolver = Resolver {
        parsed: &parsed,
        schema,
    };
    let model = resolver.run()?;
    Ok(Model {
        warnings: parsed.warnings,
        ..model
    })
}

impl Resolver<'_> {
    fn error(&self, span: Option<&Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(&self.parsed.source, span, message)
    }

    fn run(&self) -> Result<Model, Diagnostic> {
        let specs = &self.parsed.spec.entities;
        if specs.is_empty() {
            return Err(self
                .error(None, "the model defines no entities")
                .with_help("add at least one [entities.NAME] table with `table = \"...\"`"));
        }
        for (i, spec) in specs.iter().enumerate() {
            if specs[..i].iter().any(|e| e.name.value == spec.name.value) {
                return Err(self.error(
                    spec.name.span.as_ref(),
                    format!("entity `{}` is defined twice", spec.name.value),
                ));
            }
        }
        // Bases before the classes that inherit from them.
        let bases = self.bases(specs)?;
        let order = hierarchy_order(&bases);
        let mut resolved: Vec<Option<Entity>> = vec![None; specs.len()];
        for &i in &order {
            let entity = self.entity(i, specs, &bases, &resolved)?;
            resolved[i] = Some(entity);
        }
        let mut entities: Vec<Entity> = resolved.into_iter().flatten().collect();
        link_hierarchies(&mut entities, &bases);
        let mut relationships: Vec<Relationship> = Vec::new();
        for &e in &order {
            let spec = &specs[e];
            // A subclass has its base's relationships (the same ones: an
            // error names them after the class that defines them).
            if let Some(base) = bases[e] {
                entities[e].relationships = entities[base].relationships.clone();
            }
            for rel_spec in &spec.relationships {
                let id = RelId(relationships.len());
                if entities[e]
                    .relationships
                    .iter()
                    .any(|r: &RelId| relationships[r.0].name == rel_spec.name.value)
                {
                    return Err(self.error(
                        rel_spec.name.span.as_ref(),
                        format!(
                            "relationship `{}.{}` is defined twice",
                            spec.name.value, rel_spec.name.value
                        ),
                    ));
                }
                let mut rel = self.relationship(id, EntityId(e), &entities, rel_spec)?;
                rel.slot = entities[e].relationships.len();
                entities[e].relationships.push(id);
                relationships.push(rel);
            }
        }
        let model = Model {
            source: self.parsed.source.name.clone(),
            entities,
            relationships,
            warnings: Vec::new(),
            column_types: self
                .schema
                .tables
                .iter()
                .flat_map(|t| {
                    t.columns
                        .iter()
                        .map(|c| ((t.name.clone(), c.name.clone()), c.decl_type.clone()))
                })
                .collect(),
        };
        self.check_back_populates(&model)?;
        Ok(model)
    }

    fn table(&self, name: &Located<String>, role: &str) -> Result<&Table, Diagnostic> {
        self.schema.table(&name.value).ok_or_else(|| {
            let names = self.schema.table_names();
            self.error(
                name.span.as_ref(),
                format!("unknown table `{}` in {role}", name.value),
            )
            .with_help(format!(
                "tables in the database: {}{}",
                list(&names),
                did_you_mean(&name.value, names.iter().copied())
            ))
        })
    }

    fn column_of(
        &self,
        table: &Table,
        column: &str,
        span: Option<&Span>,
        role: &str,
    ) -> Result<usize, Diagnostic> {
        table
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(column))
            .ok_or_else(|| {
                let names = table.column_names();
                self.error(
                    span,
                    format!("unknown column `{}.{column}` in {role}", table.name),
                )
                .with_help(format!(
                    "columns of {}: {}{}",
                    table.name,
                    list(&names),
                    did_you_mean(column, names.iter().copied())
                ))
            })
    }

    /// Each entity's base class (`inherits`), by index; refuses unknown
    /// bases and loops.
    fn bases(&self, specs: &[EntitySpec]) -> Result<Vec<Option<usize>>, Diagnostic> {
        let mut bases = Vec::with_capacity(specs.len());
        for spec in specs {
            let Some(inherits) = &spec.inherits else {
                bases.push(None);
                continue;
            };
            let Some(base) = specs.iter().position(|e| e.name.value == inherits.value) else {
                let names: Vec<&str> = specs.iter().map(|e| e.name.value.as_str()).collect();
                return Err(self
                    .error(
                        inherits.span.as_ref(),
                        format!(
                            "unknown entity `{}` in inherits of entity {}",
                            inherits.value, spec.name.value
                        ),
                    )
                    .with_help(format!(
                        "entities in the model: {}{}",
                        list(&names),
                        did_you_mean(&inherits.value, names.iter().copied())
                    )));
            };
            bases.push(Some(base));
        }
        for (i, spec) in specs.iter().enumerate() {
            let mut at = bases[i];
            for _ in 0..specs.len() {
                match at {
                    Some(b) if b == i => {
                        return Err(self.error(
                            spec.inherits.as_ref().and_then(|s| s.span.as_ref()),
                            format!("entity {} inherits from itself", spec.name.value),
                        ));
                    }
                    Some(b) => at = bases[b],
                    None => break,
                }
            }
        }
        Ok(bases)
    }

    fn entity(
        &self,
        index: usize,
        specs: &[EntitySpec],
        bases: &[Option<usize>],
        resolved: &[Option<Entity>],
    ) -> Result<Entity, Diagnostic> {
        let spec = &specs[index];
        if let Some(base) = bases[index] {
            let base = resolved[base].as_ref().expect("bases are resolved first");
            return self.single_table_subclass(spec, base);
        }
        let owner = format!("entity {}", spec.name.value);
        let Some(table_name) = &spec.table else {
            return Err(self
                .error(spec.name.span.as_ref(), format!("{owner} has no `table`"))
                .with_help("name the table it maps: `table = \"...\"`"));
        };
        let table = self.table(table_name, &owner)?;
        // SQLAlchemy's mapper maps the columns the class declares, in its
        // order; by default, every column of the table.
        // A single-table hierarchy's base leaves out the columns its
        // subclasses add.
        let claimed: Vec<&str> = specs
            .iter()
            .enumerate()
            .filter(|(i, e)| root_of(bases, *i) == index && *i != index && e.table.is_none())
            .flat_map(|(_, e)| e.columns.iter().flat_map(|c| c.value.iter()))
            .map(String::as_str)
            .collect();
        let columns: Vec<String> = match &spec.columns {
            None => table
                .columns
                .iter()
                .filter(|c| !claimed.iter().any(|n| n.eq_ignore_ascii_case(&c.name)))
                .map(|c| c.name.clone())
                .collect(),
            Some(listed) => {
                let mut columns: Vec<String> = Vec::with_capacity(listed.value.len());
                for name in &listed.value {
                    let i = self.column_of(
                        table,
                        name,
                        listed.span.as_ref(),
                        &format!("columns of {owner}"),
                    )?;
                    let name = &table.columns[i].name;
                    if columns.iter().any(|c| c == name) {
                        return Err(self.error(
                            listed.span.as_ref(),
                            format!("column `{name}` is listed twice in columns of {owner}"),
                        ));
                    }
                    columns.push(name.clone());
                }
                if columns.is_empty() {
                    return Err(self.error(
                        listed.span.as_ref(),
                        format!(
                            "columns of {owner} is empty; list the mapped columns, key first or not"
                        ),
                    ));
                }
                columns
            }
        };
        let mapped = |name: &str, span: Option<&Span>, role: &str| -> Result<usize, Diagnostic> {
            self.column_of(table, name, span, role)?;
            columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    self.error(
                        span,
                        format!(
                            "column `{}.{name}` in {role} is not among the mapped columns",
                            table.name
                        ),
                    )
                    .with_help(format!("mapped columns of {owner}: {}", list(&columns)))
                })
        };
        let pk: Vec<usize> = match &spec.primary_key {
            Some(pk) => {
                if pk.value.is_empty() {
                    return Err(self.error(
                        pk.span.as_ref(),
                        format!("primary_key of {owner} names no column"),
                    ));
                }
                pk.value
                    .iter()
                    .map(|c| mapped(c, pk.span.as_ref(), &format!("primary_key of {owner}")))
                    .collect::<Result<_, _>>()?
            }
            None => {
                let pk_cols = table.primary_key();
                if pk_cols.is_empty() {
                    return Err(self
                        .error(
                            table_name.span.as_ref(),
                            format!("table `{}` has no primary key", table.name),
                        )
                        .with_help(format!(
                            "set `primary_key` of {owner} to the column (or columns) with unique values; columns: {}",
                            list(&table.column_names())
                        )));
                }
                pk_cols
                    .iter()
                    .map(|c| {
                        mapped(
                            &c.name,
                            table_name.span.as_ref(),
                            &format!("the primary key of {owner}"),
                        )
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let label = match &spec.label {
            Some(label) => Some(mapped(
                &label.value,
                label.span.as_ref(),
                &format!("label of {owner}"),
            )?),
            None => columns
                .iter()
                .position(|c| table.column(c).is_some_and(|c| c.is_text())),
        };
        let polymorphic = if spec.polymorphic_on.is_some() || spec.polymorphic_identity.is_some() {
            let on = match &spec.polymorphic_on {
                None => None,
                Some(on) => Some(mapped(
                    &on.value,
                    on.span.as_ref(),
                    &format!("polymorphic_on of {owner}"),
                )?),
            };
            let discriminator = on.map(|i| columns[i].as_str());
            Some(Polymorphic {
                root: EntityId(index),
                inherits: None,
                on,
                identity: identity_value(spec, table, discriminator),
                classes: Vec::new(),
                criterion: Vec::new(),
            })
        } else {
            None
        };
        Ok(Entity {
            name: spec.name.value.clone(),
            table: table.name.clone(),
            columns,
            pk,
            label,
            relationships: Vec::new(),
            polymorphic,
        })
    }

    /// A subclass without a table of its own: its base's columns, then the
    /// ones it adds; its base's key, table and discriminator.
    fn single_table_subclass(
        &self,
        spec: &EntitySpec,
        base: &Entity,
    ) -> Result<Entity, Diagnostic> {
        let owner = format!("entity {}", spec.name.value);
        if let Some(table) = &spec.table
            && !table.value.eq_ignore_ascii_case(&base.table)
        {
            return Err(self
                .error(
                    table.span.as_ref(),
                    format!(
                        "{owner} inherits from {} and maps its own table `{}`: joined-table inheritance is not supported yet",
                        base.name, table.value
                    ),
                )
                .with_help(format!(
                    "single-table inheritance (no `table`, rows in `{}`) is; or map `{}` as an entity of its own, without `inherits`",
                    base.table, table.value
                )));
        }
        if let Some(on) = &spec.polymorphic_on {
            return Err(self
                .error(
                    on.span.as_ref(),
                    format!(
                        "{owner} sets polymorphic_on, which belongs to the base of its hierarchy"
                    ),
                )
                .with_help("set `polymorphic_on` on the base class, `polymorphic_identity` here"));
        }
        if let Some(pk) = &spec.primary_key {
            return Err(self
                .error(
                    pk.span.as_ref(),
                    format!("{owner} sets primary_key, but a single-table subclass has its base's"),
                )
                .with_help(format!("remove it: the key of {} is used", base.name)));
        }
        let table = self.schema.table(&base.table).expect("checked");
        let mut columns = base.columns.clone();
        if let Some(listed) = &spec.columns {
            for name in &listed.value {
                let i = self.column_of(
                    table,
                    name,
                    listed.span.as_ref(),
                    &format!("columns of {owner}"),
                )?;
                let name = &table.columns[i].name;
                if columns.iter().any(|c| c == name) {
                    return Err(self
                        .error(
                            listed.span.as_ref(),
                            format!("column `{name}` in columns of {owner} is mapped already"),
                        )
                        .with_help(format!(
                            "a subclass lists only the columns it adds to {}: {}",
                            base.name,
                            list(&base.columns)
                        )));
                }
                columns.push(name.clone());
            }
        }
        let label = match &spec.label {
            None => base.label,
            Some(label) => {
                let found = columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(&label.value));
                Some(found.ok_or_else(|| {
                    self.error(
                        label.span.as_ref(),
                        format!(
                            "label of {owner}: `{}` is not among its columns",
                            label.value
                        ),
                    )
                    .with_help(format!("mapped columns of {owner}: {}", list(&columns)))
                })?)
            }
        };
        // The root and base are linked once every class is resolved.
        let on = base.polymorphic.as_ref().and_then(|p| p.on);
        let identity = identity_value(spec, table, on.map(|i| columns[i].as_str()));
        Ok(Entity {
            name: spec.name.value.clone(),
            table: base.table.clone(),
            columns,
            pk: base.pk.clone(),
            label,
            relationships: Vec::new(),
            polymorphic: Some(Polymorphic {
                root: EntityId(usize::MAX),
                inherits: None,
                on,
                identity,
                classes: Vec::new(),
                criterion: Vec::new(),
            }),
        })
    }

    fn relationship(
        &self,
        id: RelId,
        parent: EntityId,
        entities: &[Entity],
        spec: &RelationshipSpec,
    ) -> Result<Relationship, Diagnostic> {
        let parent_entity = &entities[parent.0];
        let display = format!("{}.{}", parent_entity.name, spec.name.value);
        let target = entities
            .iter()
            .position(|e| e.name == spec.target.value)
            .map(EntityId)
            .ok_or_else(|| {
                let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
                self.error(
                    spec.target.span.as_ref(),
                    format!(
                        "unknown entity `{}` in target of {display}",
                        spec.target.value
                    ),
                )
                .with_help(format!(
                    "entities in the model: {}{}",
                    list(&names),
                    did_you_mean(&spec.target.value, names.iter().copied())
                ))
            })?;
        let target_entity = &entities[target.0];
        let parent_table = self.schema.table(&parent_entity.table).expect("checked");
        let target_table = self.schema.table(&target_entity.table).expect("checked");

        let wanted_direction = match &spec.direction {
            None => None,
            Some(d) => Some(match d.value.as_str() {
                "one_to_many" => Direction::OneToMany,
                "many_to_one" => Direction::ManyToOne,
                "many_to_many" => Direction::ManyToMany,
                other => {
                    return Err(self
                        .error(
                            d.span.as_ref(),
                            format!("unknown direction `{other}` in {display}"),
                        )
                        .with_help("valid directions: one_to_many, many_to_one, many_to_many"));
                }
            }),
        };

        let (direction, join) = if let Some(secondary) = &spec.secondary {
            if let Some(fk) = &spec.foreign_key {
                return Err(self
                    .error(fk.span.as_ref(), format!("{display} has both `secondary` and `foreign_key`"))
                    .with_help("a many-to-many relationship takes its two foreign keys from the `secondary` table; remove `foreign_key`"));
            }
            if let Some(d) = wanted_direction.filter(|d| *d != Direction::ManyToMany) {
                return Err(self.error(
                    spec.direction.as_ref().and_then(|d| d.span.as_ref()),
                    format!(
                        "{display} has `secondary`, so it is many_to_many, not {}",
                        d.name()
                    ),
                ));
            }
            let link = self.table(secondary, &format!("secondary of {display}"))?;
            (
                Direction::ManyToMany,
                self.secondary_join(
                    spec,
                    link,
                    parent_table,
                    target_table,
                    parent_entity,
                    target_entity,
                    secondary,
                    &display,
                )?,
            )
        } else {
            self.direct_join(
                spec,
                parent_table,
                target_table,
                parent_entity,
                target_entity,
                wanted_direction,
                &display,
            )?
        };

        let mut lazy = match &spec.lazy {
            None => Strategy::Select,
            Some(l) => Strategy::parse_lazy(&l.value).ok_or_else(|| {
                let names = Strategy::lazy_names();
                self.error(
                    l.span.as_ref(),
                    format!("unknown lazy value `{}` in {display}", l.value),
                )
                .with_help(format!(
                    "valid lazy values: {}{}",
                    names.join(", "),
                    did_you_mean(&l.value, names.iter().copied())
                ))
            })?,
        };
        let innerjoin = spec.innerjoin.as_ref().is_some_and(|i| i.value);
        if innerjoin && lazy == Strategy::Joined {
            lazy = Strategy::JoinedInner;
        }
        let uselist = match &spec.uselist {
            None => direction != Direction::ManyToOne,
            Some(u) if u.value && direction == Direction::ManyToOne => {
                return Err(self
                    .error(
                        u.span.as_ref(),
                        format!("{display} is many-to-one, so it holds one object: `uselist = true` does not apply"),
                    )
                    .with_help("remove `uselist`, or point `foreign_key` at the other side for a collection"));
            }
            Some(u) => u.value,
        };
        if !uselist && lazy.attribute().needs_collection() {
            return Err(self
                .error(
                    spec.lazy.as_ref().and_then(|l| l.span.as_ref()),
                    crate::strategy::scalar_refusal(&display),
                )
                .with_help("dynamic and write_only are for collections; use select, joined or selectin for a single object"));
        }
        let order_by = match &spec.order_by {
            None => Vec::new(),
            Some(o) => self.order_by(o, target_table, &join, &display)?,
        };
        let chunksize = match &spec.chunksize {
            None => DEFAULT_CHUNKSIZE,
            Some(c) if c.value >= 1 => c.value as usize,
            Some(c) => {
                return Err(self.error(
                    c.span.as_ref(),
                    format!("chunksize of {display} must be at least 1, not {}", c.value),
                ));
            }
        };
        Ok(Relationship {
            id,
            name: spec.name.value.clone(),
            parent,
            target,
            direction,
            join,
            lazy,
            order_by,
            back_populates: spec.back_populates.as_ref().map(|b| b.value.clone()),
            chunksize,
            uselist,
            innerjoin,
            slot: 0,
            after_columns: spec.from_backref,
            defined_at: spec
                .name
                .span
                .as_ref()
                .map(|span| self.parsed.source.place(span.start)),
        })
    }

    /// The one table a list of `table.column` names lives in, and the
    /// column names.
    fn columns_in_one_table(
        &self,
        names: &Located<Vec<String>>,
        role: &str,
    ) -> Result<(&Table, Vec<String>), Diagnostic> {
        let span = names.span.as_ref();
        let mut table: Option<&Table> = None;
        let mut columns = Vec::new();
        for name in &names.value {
            let Some((table_name, column)) = name.rsplit_once('.') else {
                return Err(self
                    .error(span, format!("{role} must be `table.column`, not `{name}`"))
                    .with_help("for example `posts.user_id`; a composite key lists each column: [\"t.a\", \"t.b\"]"));
            };
            let t = self.table(
                &Located {
                    value: table_name.to_string(),
                    span: names.span.clone(),
                },
                role,
            )?;
            if let Some(first) = table
                && first.name != t.name
            {
                return Err(self.error(
                    span,
                    format!(
                        "the columns of {role} are in two tables, `{}` and `{}`; a foreign key's columns live in one",
                        first.name, t.name
                    ),
                ));
            }
            let index = self.column_of(t, column, span, role)?;
            columns.push(t.columns[index].name.clone());
            table = Some(t);
        }
        let table = table.ok_or_else(|| self.error(span, format!("{role} names no column")))?;
        Ok((table, columns))
    }

    /// `a.x = b.y AND a.z = b.w`: each term as two `(table, column)`s.
    fn condition(
        &self,
        text: &Located<String>,
        role: &str,
    ) -> Result<Vec<[(String, String); 2]>, Diagnostic> {
        let bad = || {
            self.error(text.span.as_ref(), format!("cannot read {role} `{}`", text.value))
                .with_help("write it as `parent.column = link.column`, with `AND` between the pairs of a composite key")
        };
        let mut terms = Vec::new();
        let upper = text.value.to_ascii_uppercase();
        let mut rest = 0;
        let mut pieces = Vec::new();
        while let Some(at) = upper[rest..].find(" AND ") {
            pieces.push(&text.value[rest..rest + at]);
            rest += at + 5;
        }
        pieces.push(&text.value[rest..]);
        for piece in pieces {
            let Some((left, right)) = piece.split_once('=') else {
                return Err(bad());
            };
            let side = |s: &str| {
                let (t, c) = s.trim().rsplit_once('.')?;
                let unquote = |n: &str| n.trim().trim_matches('"').to_string();
                Some((unquote(t), unquote(c)))
            };
            let (Some(l), Some(r)) = (side(left), side(right)) else {
                return Err(bad());
            };
            terms.push([l, r]);
        }
        Ok(terms)
    }

    /// The index of a column among an entity's mapped columns.
    fn mapped_column(
        &self,
        entity: &Entity,
        column: &str,
        span: Option<&Span>,
        role: &str,
    ) -> Result<usize, Diagnostic> {
        entity.column_index_ci(column).ok_or_else(|| {
            self.error(
                span,
                format!(
                    "column `{}.{column}` in {role} is not mapped by {}",
                    entity.table, entity.name
                ),
            )
            .with_help(format!(
                "mapped columns of {}: {}",
                entity.name,
                list(&entity.columns)
            ))
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn direct_join(
        &self,
        spec: &RelationshipSpec,
        parent_table: &Table,
        target_table: &Table,
        parent: &Entity,
        target: &Entity,
        wanted: Option<Direction>,
        display: &str,
    ) -> Result<(Direction, Join), Diagnostic> {
        if wanted == Some(Direction::ManyToMany) {
            return Err(self
                .error(
                    spec.direction.as_ref().and_then(|d| d.span.as_ref()),
                    format!("{display} is many_to_many but has no `secondary`"),
                )
                .with_help("name the link table with `secondary = \"...\"`"));
        }
        // Candidate foreign keys: (table holding it, the key, direction).
        let mut candidates: Vec<(&Table, &ForeignKey, Direction)> = Vec::new();
        for fk in &target_table.foreign_keys {
            if fk.to_table.eq_ignore_ascii_case(&parent_table.name) {
                candidates.push((target_table, fk, Direction::OneToMany));
            }
        }
        for fk in &parent_table.foreign_keys {
            if fk.to_table.eq_ignore_ascii_case(&target_table.name) {
                candidates.push((parent_table, fk, Direction::ManyToOne));
            }
        }
        let fk_span = spec.foreign_key.as_ref().and_then(|f| f.span.as_ref());
        if let Some(fk) = &spec.foreign_key {
            let role = format!("foreign_key of {display}");
            let (table, columns) = self.columns_in_one_table(fk, &role)?;
            let shown = fk.value.join(", ");
            let is_parent = table.name.eq_ignore_ascii_case(&parent_table.name);
            let is_target = table.name.eq_ignore_ascii_case(&target_table.name);
            if !is_parent && !is_target {
                return Err(self
                    .error(fk_span, format!(
                        "foreign_key `{shown}` of {display} is in table `{}`, which is neither `{}` ({}) nor `{}` ({})",
                        table.name, parent_table.name, parent.name, target_table.name, target.name
                    ))
                    .with_help("a one-to-many foreign key lives in the target's table, a many-to-one in the parent's; many-to-many relationships use `secondary`"));
            }
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            candidates.retain(|(t, k, _)| t.name == table.name && k.has_columns(&names));
            if candidates.is_empty() {
                let other = if is_target && !is_parent {
                    &parent_table.name
                } else {
                    &target_table.name
                };
                let declared: Vec<String> = table
                    .foreign_keys
                    .iter()
                    .map(|k| format!("{} -> {}", k.describe(&table.name), k.to_table))
                    .collect();
                return Err(self
                    .error(fk_span, format!(
                        "`{shown}` is not a foreign key to `{other}` in the database, so it cannot join {display}",
                    ))
                    .with_help(format!(
                        "foreign keys declared by {}: {}{}",
                        table.name,
                        if declared.is_empty() { "(none)".to_string() } else { declared.join(", ") },
                        table
                            .foreign_keys
                            .iter()
                            .find(|k| k.to_table.eq_ignore_ascii_case(other))
                            .map(|k| format!("; did you mean `{}`?", k.describe(&table.name)))
                            .unwrap_or_default()
                    )));
            }
        }
        if let Some(primaryjoin) = &spec.primaryjoin {
            // The condition names the key's columns on both sides.
            let role = format!("primaryjoin of {display}");
            let terms = self.condition(primaryjoin, &role)?;
            let wanted_pairs: std::collections::HashSet<[String; 2]> = terms
                .iter()
                .flat_map(|[l, r]| {
                    let l = format!("{}.{}", l.0, l.1).to_lowercase();
                    let r = format!("{}.{}", r.0, r.1).to_lowercase();
                    [[l.clone(), r.clone()], [r, l]]
                })
                .collect();
            candidates.retain(|(t, k, d)| {
                let other = if *d == Direction::OneToMany {
                    parent_table
                } else {
                    target_table
                };
                let Some(to) = t.referenced_columns(k, other) else {
                    return false;
                };
                k.from.len() == terms.len()
                    && k.from.iter().zip(&to).all(|(f, to)| {
                        wanted_pairs.contains(&[
                            format!("{}.{f}", t.name).to_lowercase(),
                            format!("{}.{to}", other.name).to_lowercase(),
                        ])
                    })
            });
            if candidates.is_empty() {
                return Err(self
                    .error(primaryjoin.span.as_ref(), format!(
                        "{role} `{}` is not a foreign key between `{}` and `{}` in the database",
                        primaryjoin.value, parent_table.name, target_table.name
                    ))
                    .with_help("the condition pairs each column of a declared foreign key with the column it references"));
            }
        }
        if let Some(wanted) = wanted {
            candidates.retain(|(_, _, d)| *d == wanted);
        }
        let (table, fk, direction) = match candidates.as_slice() {
            [one] => *one,
            [] => {
                return Err(self
                    .error(spec.name.span.as_ref(), format!(
                        "no foreign key joins {display}: neither `{}` references `{}` nor the other way round",
                        target_table.name, parent_table.name
                    ))
                    .with_help("declare the foreign key in the database, or use `secondary` for a many-to-many link table"));
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|(t, k, d)| format!("{} ({})", k.describe(&t.name), d.name()))
                    .collect();
                let self_referential = parent_table.name == target_table.name;
                let what = if self_referential {
                    format!("{display} is self-referential, so its direction cannot be inferred")
                } else {
                    format!("{display} could use more than one foreign key")
                };
                let mut help = format!("candidates: {}", names.join(", "));
                let columns: std::collections::HashSet<String> =
                    many.iter().map(|(t, k, _)| k.describe(&t.name)).collect();
                if spec.foreign_key.is_none() && columns.len() > 1 {
                    help.push_str("; set `foreign_key` to one of them");
                }
                if self_referential {
                    help.push_str(&format!(
                        "; set `direction = \"many_to_one\"` (one {0}, like a manager) \
                         or `direction = \"one_to_many\"` (a collection of {0}, like reports)",
                        target.name
                    ));
                }
                return Err(self
                    .error(fk_span.or(spec.name.span.as_ref()), what)
                    .with_help(help));
            }
        };
        let (referenced_table, referenced_entity, fk_entity) = match direction {
            Direction::OneToMany => (parent_table, parent, target),
            _ => (target_table, target, parent),
        };
        let role = format!("the foreign key of {display}");
        let referenced = table
            .referenced_columns(fk, referenced_table)
            .ok_or_else(|| {
                self.error(
                    fk_span,
                    format!(
                        "the foreign key `{}` of {display} references columns `{}` lacks",
                        fk.describe(&table.name),
                        referenced_table.name
                    ),
                )
            })?;
        let mut pairs = Vec::with_capacity(fk.from.len());
        for (from, to) in fk.from.iter().zip(referenced) {
            let referenced_col = self.mapped_column(referenced_entity, to, fk_span, &role)?;
            let fk_col = self.mapped_column(fk_entity, from, fk_span, &role)?;
            pairs.push(match direction {
                Direction::OneToMany => (referenced_col, fk_col),
                _ => (fk_col, referenced_col),
            });
        }
        Ok((direction, Join::Direct { pairs }))
    }

    #[allow(clippy::too_many_arguments)]
    fn secondary_join(
        &self,
        spec: &RelationshipSpec,
        link: &Table,
        parent_table: &Table,
        target_table: &Table,
        parent: &Entity,
        target: &Entity,
        secondary: &Located<String>,
        display: &str,
    ) -> Result<Join, Diagnostic> {
        // One side of the link: from a written condition, or from the one
        // foreign key of the link table to that side's table.
        let side = |condition: Option<&Located<String>>,
                    role: &str,
                    table: &Table,
                    entity: &Entity,
                    exclude: Option<&ForeignKey>|
         -> Result<(LinkPairs, Option<&ForeignKey>, bool), Diagnostic> {
            let role = format!("{role} of {display}");
            if let Some(condition) = condition {
                let mut pairs = Vec::new();
                let mut link_first = false;
                for [l, r] in self.condition(condition, &role)? {
                    let (entity_side, link_side) = if l.0.eq_ignore_ascii_case(&link.name) {
                        link_first = true;
                        (r, l)
                    } else if r.0.eq_ignore_ascii_case(&link.name) {
                        (l, r)
                    } else {
                        return Err(self
                            .error(
                                condition.span.as_ref(),
                                format!("{role} does not name the link table `{}`", link.name),
                            )
                            .with_help(format!(
                                "write it as `{}.column = {}.column`",
                                table.name, link.name
                            )));
                    };
                    if !entity_side.0.eq_ignore_ascii_case(&table.name) {
                        return Err(self.error(
                            condition.span.as_ref(),
                            format!(
                                "{role} names `{}`, but this side is `{}`",
                                entity_side.0, table.name
                            ),
                        ));
                    }
                    let link_col =
                        self.column_of(link, &link_side.1, condition.span.as_ref(), &role)?;
                    let col =
                        self.mapped_column(entity, &entity_side.1, condition.span.as_ref(), &role)?;
                    pairs.push((col, link.columns[link_col].name.clone()));
                }
                return Ok((pairs, None, link_first));
            }
            let fks: Vec<&ForeignKey> = link
                .foreign_keys
                .iter()
                .filter(|k| k.to_table.eq_ignore_ascii_case(&table.name))
                .filter(|k| exclude.is_none_or(|e| !std::ptr::eq(*k, e)))
                .collect();
            let [fk] = fks.as_slice() else {
                let self_referential = parent_table.name == target_table.name;
                let mut error = self.error(
                    secondary.span.as_ref(),
                    if self_referential {
                        format!(
                            "link table `{}` of {display} joins `{}` to itself, so which of its columns points at the parent cannot be inferred",
                            link.name, table.name
                        )
                    } else {
                        format!(
                            "link table `{}` of {display} needs exactly one foreign key to `{}`",
                            link.name, table.name
                        )
                    },
                );
                error = error.with_help(if self_referential {
                    format!(
                        "set `primaryjoin = \"{0}.id = {1}.COLUMN\"` (the link column that points at the parent) and `secondaryjoin` (the one that points at the target)",
                        table.name, link.name
                    )
                } else {
                    format!(
                        "foreign keys declared by {}: {}",
                        link.name,
                        link.foreign_keys
                            .iter()
                            .map(|k| format!("{} -> {}", k.describe(&link.name), k.to_table))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
                return Err(error);
            };
            let referenced = link.referenced_columns(fk, table).ok_or_else(|| {
                self.error(
                    secondary.span.as_ref(),
                    format!(
                        "foreign key `{}` references columns `{}` lacks",
                        fk.describe(&link.name),
                        table.name
                    ),
                )
            })?;
            let mut pairs = Vec::new();
            for (from, to) in fk.from.iter().zip(referenced) {
                pairs.push((
                    self.mapped_column(entity, to, secondary.span.as_ref(), &role)?,
                    from.clone(),
                ));
            }
            Ok((pairs, Some(*fk), false))
        };
        let self_referential = parent_table.name == target_table.name;
        // A self-referential link with one side written: the other side
        // is the link's other foreign key.
        let (parent_pairs, parent_fk, parent_link_first) =
            match (&spec.primaryjoin, &spec.secondaryjoin) {
                (None, Some(_)) if self_referential => {
                    let (target_pairs, _, _) = side(
                        spec.secondaryjoin.as_ref(),
                        "secondaryjoin",
                        target_table,
                        target,
                        None,
                    )?;
                    let used: Vec<&str> = target_pairs.iter().map(|(_, l)| l.as_str()).collect();
                    let other = link.foreign_keys.iter().find(|k| !k.has_columns(&used));
                    side(
                        None,
                        "primaryjoin",
                        parent_table,
                        parent,
                        other.and_then(|_| link.foreign_keys.iter().find(|k| k.has_columns(&used))),
                    )?
                }
                _ => side(
                    spec.primaryjoin.as_ref(),
                    "primaryjoin",
                    parent_table,
                    parent,
                    None,
                )?,
            };
        let exclude = if self_referential { parent_fk } else { None };
        let (target_pairs, _, target_link_first) = side(
            spec.secondaryjoin.as_ref(),
            "secondaryjoin",
            target_table,
            target,
            exclude,
        )?;
        Ok(Join::Secondary {
            table: link.name.clone(),
            parent: parent_pairs,
            target: target_pairs,
            link_first: [parent_link_first, target_link_first],
        })
    }

    fn order_by(
        &self,
        spec: &Located<String>,
        target_table: &Table,
        join: &Join,
        display: &str,
    ) -> Result<Vec<OrderTerm>, Diagnostic> {
        let mut terms = Vec::new();
        for raw in spec.value.split(',') {
            let words: Vec<&str> = raw.split_whitespace().collect();
            let (name, descending) = match words.as_slice() {
                [name] => (*name, false),
                [name, dir] if dir.eq_ignore_ascii_case("asc") => (*name, false),
                [name, dir] if dir.eq_ignore_ascii_case("desc") => (*name, true),
                _ => {
                    return Err(self
                        .error(spec.span.as_ref(), format!("cannot read order_by `{}` of {display}", raw.trim()))
                        .with_help("order_by is `column` or `table.column`, optionally followed by ASC or DESC, comma-separated"));
                }
            };
            let (table, column) = match name.split_once('.') {
                Some((t, c)) => (t, c),
                None => (target_table.name.as_str(), name),
            };
            let allowed: Vec<&str> = match join {
                Join::Secondary { table: link, .. } => {
                    vec![target_table.name.as_str(), link.as_str()]
                }
                Join::Direct { .. } => vec![target_table.name.as_str()],
            };
            let Some(table) = allowed.iter().find(|t| t.eq_ignore_ascii_case(table)) else {
                return Err(self
                    .error(
                        spec.span.as_ref(),
                        format!("order_by of {display} names table `{table}`"),
                    )
                    .with_help(format!(
                        "a relationship orders by columns of its target: {}",
                        list(&allowed)
                    )));
            };
            let table = self.schema.table(table).expect("checked");
            let index = self.column_of(
                table,
                column,
                spec.span.as_ref(),
                &format!("order_by of {display}"),
            )?;
            terms.push(OrderTerm {
                table: table.name.clone(),
                column: table.columns[index].name.clone(),
                descending,
            });
        }
        Ok(terms)
    }

    fn check_back_populates(&self, model: &Model) -> Result<(), Diagnostic> {
        for (e, spec) in self.parsed.spec.entities.iter().enumerate() {
            for rel_spec in &spec.relationships {
                let Some(back) = &rel_spec.back_populates else {
                    continue;
                };
                let rel = model.rel(
                    model
                        .rel_by_name(EntityId(e), &rel_spec.name.value)
                        .expect("resolved"),
                );
                let target = model.entity(rel.target);
                let names: Vec<&str> = target
                    .relationships
                    .iter()
                    .map(|r| model.rel(*r).name.as_str())
                    .collect();
                let Some(other) = model.rel_by_name(rel.target, &back.value) else {
                    return Err(self
                        .error(
                            back.span.as_ref(),
                            format!(
                                "back_populates of {}.{} names `{}`, which {} does not have",
                                spec.name.value, rel.name, back.value, target.name
                            ),
                        )
                        .with_help(format!(
                            "relationships of {}: {}{}",
                            target.name,
                            list(&names),
                            did_you_mean(&back.value, names.iter().copied())
                        )));
                };
                if model.rel(other).target != rel.parent {
                    return Err(self.error(
                        back.span.as_ref(),
                        format!(
                            "back_populates of {}.{} names {}.{}, which points at {}, not {}",
                            spec.name.value,
                            rel.name,
                            target.name,
                            back.value,
                            model.entity(model.rel(other).target).name,
                            spec.name.value
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Entity indexes, every base before the classes that inherit from it,
/// otherwise in model order.
fn hierarchy_order(bases: &[Option<usize>]) -> Vec<usize> {
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(b) = bases[i] {
            i = b;
            d += 1;
        }
        d
    };
    let mut order: Vec<usize> = (0..bases.len()).collect();
    order.sort_by_key(|i| depth(*i));
    order
}

/// The base of `i`'s hierarchy (itself outside one).
fn root_of(bases: &[Option<usize>], mut i: usize) -> usize {
    while let Some(b) = bases[i] {
        i = b;
    }
    i
}

/// A `polymorphic_identity` as SQLAlchemy binds it: an integer for an
/// integer discriminator, else text; NULL when the class has none.
fn identity_value(
    spec: &EntitySpec,
    table: &crate::db::Table,
    discriminator: Option<&str>,
) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    let Some(identity) = &spec.polymorphic_identity else {
        return Value::Null;
    };
    let integer = discriminator
        .and_then(|d| table.column(d))
        .is_some_and(|c| c.decl_type.contains("INT"));
    match identity.value.parse::<i64>() {
        Ok(n) if integer => Value::Integer(n),
        _ => Value::Text(identity.value.clone()),
    }
}

/// Fills in each hierarchy's links once every class is resolved: each
/// class's root and base, the classes its rows may come back as, and the
/// identities its statements bind.
fn link_hierarchies(entities: &mut [Entity], bases: &[Option<usize>]) {
    for b in bases.iter().flatten() {
        if entities[*b].polymorphic.is_none() {
            // A base without polymorphic_on or an identity of its own.
            entities[*b].polymorphic = Some(Polymorphic {
                root: EntityId(*b),
                inherits: None,
                on: None,
                identity: rusqlite::types::Value::Null,
                classes: Vec::new(),
                criterion: Vec::new(),
            });
        }
    }
    for i in 0..entities.len() {
        let Some(_) = entities[i].polymorphic else {
            continue;
        };
        let root = root_of(bases, i);
        // Breadth first over the classes below, in model order.
        let mut below = vec![i];
        let mut at = 0;
        while at < below.len() {
            let parent = below[at];
            below.extend((0..bases.len()).filter(|c| bases[*c] == Some(parent)));
            at += 1;
        }
        let identities: Vec<(rusqlite::types::Value, usize)> = below
            .iter()
            .map(|c| {
                let identity = entities[*c]
                    .polymorphic
                    .as_ref()
                    .map(|p| p.identity.clone());
                (identity.unwrap_or(rusqlite::types::Value::Null), *c)
            })
            .collect();
        let poly = entities[i].polymorphic.as_mut().expect("checked");
        poly.root = EntityId(root);
        poly.inherits = bases[i].map(EntityId);
        poly.classes = identities
            .iter()
            .filter_map(|(v, c)| Some((crate::db::Key::from_value(v)?, EntityId(*c))))
            .collect();
        poly.criterion = if bases[i].is_some() && poly.on.is_some() {
            identities.into_iter().map(|(v, _)| v).collect()
        } else {
            Vec::new()
        };
    }
}

impl Entity {
    fn column_index_ci(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}
