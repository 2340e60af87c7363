//! Checks a model spec against the database schema and resolves it into a
//! [`Model`]: every table, column and foreign key must exist, and each
//! relationship's direction follows from where its foreign key lives, as in
//! SQLAlchemy.

use super::diagnostic::{Diagnostic, Located, Span, did_you_mean, list};
use super::spec::{EntitySpec, ParsedModel, RelationshipSpec};
use super::{Direction, Entity, EntityId, Join, Model, OrderTerm, RelId, Relationship};
use crate::db::{ForeignKey, Schema, Table};
use crate::strategy::Strategy;

/// SQLAlchemy's `SelectInLoader._chunksize`.
pub const DEFAULT_CHUNKSIZE: usize = 500;

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
        let mut entities = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            if let Some(first) = specs[..i].iter().find(|e| e.name.value == spec.name.value) {
                let _ = first;
                return Err(self.error(
                    spec.name.span.as_ref(),
                    format!("entity `{}` is defined twice", spec.name.value),
                ));
            }
            entities.push(self.entity(spec)?);
        }
        let mut relationships: Vec<Relationship> = Vec::new();
        for (e, spec) in specs.iter().enumerate() {
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

    fn entity(&self, spec: &EntitySpec) -> Result<Entity, Diagnostic> {
        let owner = format!("entity {}", spec.name.value);
        let table = self.table(&spec.table, &owner)?;
        let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let pk = match &spec.primary_key {
            Some(pk) => self.column_of(
                table,
                &pk.value,
                pk.span.as_ref(),
                &format!("primary_key of {owner}"),
            )?,
            None => {
                let pk_cols = table.primary_key();
                match pk_cols.as_slice() {
                    [one] => columns.iter().position(|c| *c == one.name).unwrap_or(0),
                    [] => {
                        return Err(self
                            .error(
                                spec.table.span.as_ref(),
                                format!("table `{}` has no primary key", table.name),
                            )
                            .with_help(format!(
                                "set `primary_key` of {owner} to a column with unique values; columns: {}",
                                list(&table.column_names())
                            )));
                    }
                    many => {
                        let names: Vec<&str> = many.iter().map(|c| c.name.as_str()).collect();
                        return Err(self
                            .error(
                                spec.table.span.as_ref(),
                                format!(
                                    "table `{}` has a composite primary key ({}); loadscope supports single-column keys only",
                                    table.name,
                                    names.join(", ")
                                ),
                            )
                            .with_help(format!(
                                "set `primary_key` of {owner} to one column with unique values, or use `{}` as a link table (`secondary`) of a many-to-many relationship",
                                table.name
                            )));
                    }
                }
            }
        };
        let label = match &spec.label {
            Some(label) => Some(self.column_of(
                table,
                &label.value,
                label.span.as_ref(),
                &format!("label of {owner}"),
            )?),
            None => table.columns.iter().position(|c| c.is_text()),
        };
        Ok(Entity {
            name: spec.name.value.clone(),
            table: table.name.clone(),
            columns,
            pk,
            label,
            relationships: Vec::new(),
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
        if spec.innerjoin.as_ref().is_some_and(|i| i.value) && lazy == Strategy::Joined {
            lazy = Strategy::JoinedInner;
        }
        if direction == Direction::ManyToOne
            && matches!(lazy, Strategy::Dynamic | Strategy::WriteOnly)
        {
            return Err(self
                .error(
                    spec.lazy.as_ref().and_then(|l| l.span.as_ref()),
                    format!(
                        "on relationship {display}, '{}' loaders cannot be used with many-to-one relationships",
                        lazy.name()
                    ),
                )
                .with_help("dynamic and write_only are for collections; use select, joined or selectin for a many-to-one"));
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
            slot: 0,
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
            let Some((table_name, column)) = fk.value.split_once('.') else {
                return Err(self
                    .error(
                        fk_span,
                        format!(
                            "foreign_key of {display} must be `table.column`, not `{}`",
                            fk.value
                        ),
                    )
                    .with_help(format!(
                        "for example `{}.{}_id`",
                        target_table.name,
                        parent.name.to_lowercase()
                    )));
            };
            let table = self.table(
                &Located {
                    value: table_name.to_string(),
                    span: fk.span.clone(),
                },
                &format!("foreign_key of {display}"),
            )?;
            let is_parent = table.name.eq_ignore_ascii_case(&parent_table.name);
            let is_target = table.name.eq_ignore_ascii_case(&target_table.name);
            if !is_parent && !is_target {
                return Err(self
                    .error(fk_span, format!(
                        "foreign_key `{}` of {display} is in table `{}`, which is neither `{}` ({}) nor `{}` ({})",
                        fk.value, table.name, parent_table.name, parent.name, target_table.name, target.name
                    ))
                    .with_help("a one-to-many foreign key lives in the target's table, a many-to-one in the parent's; many-to-many relationships use `secondary`"));
            }
            self.column_of(table, column, fk_span, &format!("foreign_key of {display}"))?;
            candidates
                .retain(|(t, k, _)| t.name == table.name && k.from.eq_ignore_ascii_case(column));
            if candidates.is_empty() {
                let other = if is_target && !is_parent {
                    &parent_table.name
                } else {
                    &target_table.name
                };
                let declared: Vec<String> = table
                    .foreign_keys
                    .iter()
                    .map(|k| format!("{}.{} -> {}", table.name, k.from, k.to_table))
                    .collect();
                return Err(self
                    .error(fk_span, format!(
                        "`{}` is not a foreign key to `{other}` in the database, so it cannot join {display}",
                        fk.value
                    ))
                    .with_help(format!(
                        "foreign keys declared by {}: {}{}",
                        table.name,
                        if declared.is_empty() { "(none)".to_string() } else { declared.join(", ") },
                        table
                            .foreign_keys
                            .iter()
                            .find(|k| k.to_table.eq_ignore_ascii_case(other))
                            .map(|k| format!("; did you mean `{}.{}`?", table.name, k.from))
                            .unwrap_or_default()
                    )));
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
                    .map(|(t, k, d)| format!("{}.{} ({})", t.name, k.from, d.name()))
                    .collect();
                let self_referential = parent_table.name == target_table.name;
                let what = if self_referential {
                    format!("{display} is self-referential, so its direction cannot be inferred")
                } else {
                    format!("{display} could use more than one foreign key")
                };
                let mut help = format!("candidates: {}", names.join(", "));
                let columns: std::collections::HashSet<(&str, &str)> = many
                    .iter()
                    .map(|(t, k, _)| (t.name.as_str(), k.from.as_str()))
                    .collect();
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
        let referenced_col = table
            .referenced_column(fk, referenced_table)
            .and_then(|c| referenced_entity.column_index_ci(c))
            .ok_or_else(|| {
                self.error(
                    fk_span,
                    format!(
                        "the foreign key `{}.{}` of {display} references a column `{}` lacks",
                        table.name, fk.from, referenced_table.name
                    ),
                )
            })?;
        let fk_col = fk_entity
            .column_index_ci(&fk.from)
            .expect("foreign key column exists");
        let join = match direction {
            Direction::OneToMany => Join::Direct {
                parent_col: referenced_col,
                target_col: fk_col,
            },
            _ => Join::Direct {
                parent_col: fk_col,
                target_col: referenced_col,
            },
        };
        Ok((direction, join))
    }

    #[allow(clippy::too_many_arguments)]
    fn secondary_join(
        &self,
        link: &Table,
        parent_table: &Table,
        target_table: &Table,
        parent: &Entity,
        target: &Entity,
        secondary: &Located<String>,
        display: &str,
    ) -> Result<Join, Diagnostic> {
        let to_parent: Vec<&ForeignKey> = link
            .foreign_keys
            .iter()
            .filter(|k| k.to_table.eq_ignore_ascii_case(&parent_table.name))
            .collect();
        let to_target: Vec<&ForeignKey> = link
            .foreign_keys
            .iter()
            .filter(|k| k.to_table.eq_ignore_ascii_case(&target_table.name))
            .collect();
        let self_referential = parent_table.name == target_table.name;
        let pair = if self_referential {
            (to_parent.len() == 2).then(|| (to_parent[0], to_parent[1]))
        } else {
            (to_parent.len() == 1 && to_target.len() == 1).then(|| (to_parent[0], to_target[0]))
        };
        let Some((parent_fk, target_fk)) = pair else {
            return Err(self
                .error(secondary.span.as_ref(), format!(
                    "link table `{}` of {display} needs exactly one foreign key to `{}` and one to `{}`",
                    link.name, parent_table.name, target_table.name
                ))
                .with_help(format!(
                    "foreign keys declared by {}: {}",
                    link.name,
                    link.foreign_keys
                        .iter()
                        .map(|k| format!("{} -> {}", k.from, k.to_table))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
        };
        let column = |fk: &ForeignKey, table: &Table, entity: &Entity| {
            link.referenced_column(fk, table)
                .and_then(|c| entity.column_index_ci(c))
                .ok_or_else(|| {
                    self.error(
                        secondary.span.as_ref(),
                        format!(
                            "foreign key `{}.{}` references a column `{}` lacks",
                            link.name, fk.from, table.name
                        ),
                    )
                })
        };
        Ok(Join::Secondary {
            table: link.name.clone(),
            parent_fk: parent_fk.from.clone(),
            parent_col: column(parent_fk, parent_table, parent)?,
            target_fk: target_fk.from.clone(),
            target_col: column(target_fk, target_table, target)?,
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

impl Entity {
    fn column_index_ci(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}
