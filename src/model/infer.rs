//! A model inferred from the schema alone: one entity per table with a
//! primary key (composite keys included), a one-to-many and a many-to-one
//! for each foreign key (composite ones too), and a many-to-many each way
//! for each link table (a table that is nothing but two foreign keys; one
//! that joins a table to itself gives both directions, named from its
//! columns).

use super::diagnostic::{Diagnostic, Located, SourceFile};
use super::inflect::{plural, singular};
use super::spec::{EntitySpec, ModelSpec, ParsedModel, RelationshipSpec};
use crate::db::{ForeignKey, Schema, Table};
use std::collections::HashSet;

pub fn infer(schema: &Schema, source_name: &str) -> ParsedModel {
    let source = SourceFile::new(source_name, String::new());
    let mut warnings = Vec::new();
    let usable: Vec<&Table> = schema.tables.iter().collect();
    let link_tables: Vec<&Table> = usable
        .iter()
        .copied()
        .filter(|t| is_link_table(t))
        .collect();
    let entity_tables: Vec<&Table> = usable
        .iter()
        .copied()
        .filter(|t| !is_link_table(t) && !t.primary_key().is_empty())
        .collect();
    for table in usable
        .iter()
        .filter(|t| !is_link_table(t) && t.primary_key().is_empty())
    {
        warnings.push(
            Diagnostic::warning(
                &source,
                None,
                format!(
                    "table `{}` is left out: it has no primary key, and SQLAlchemy maps a class only over a key",
                    table.name
                ),
            )
            .with_help(
                "write a model (`loadscope model DB > model.toml`, then give it a `primary_key`)",
            ),
        );
    }
    let mut entity_names: HashSet<String> = HashSet::new();
    let has_entity = |name: &str| {
        entity_tables
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
    };
    let mut entities: Vec<EntitySpec> = entity_tables
        .iter()
        .map(|t| {
            // Two tables can give one name (`user`, `users`): number the second.
            let wanted = Some(entity_name(&t.name))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| t.name.clone());
            let mut name = wanted.clone();
            let mut n = 2;
            while !entity_names.insert(name.to_lowercase()) {
                name = format!("{wanted}{n}");
                n += 1;
            }
            EntitySpec {
                name: Located::bare(name),
                table: Some(Located::bare(t.name.clone())),
                label: label_column(t).map(Located::bare),
                primary_key: None,
                columns: None,
                inherits: None,
                polymorphic_on: None,
                polymorphic_identity: None,
                relationships: Vec::new(),
            }
        })
        .collect();
    let index_of = |table: &str| {
        entity_tables
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(table))
    };
    let mut taken: Vec<HashSet<String>> = entity_tables
        .iter()
        .map(|t| t.columns.iter().map(|c| c.name.to_lowercase()).collect())
        .collect();
    let mut unique = |entity: usize, wanted: String| {
        let mut name = wanted.clone();
        let mut n = 2;
        while !taken[entity].insert(name.to_lowercase()) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        name
    };

    for (child_index, child) in entity_tables.iter().enumerate() {
        for fk in &child.foreign_keys {
            if !has_entity(&fk.to_table) {
                continue;
            }
            if let Some(problem) = broken_foreign_key(schema, child, fk) {
                warnings.push(Diagnostic::warning(&source, None, problem));
                continue;
            }
            let parent_index = index_of(&fk.to_table).expect("entity table");
            let self_referential = parent_index == child_index;
            let one_name = unique(child_index, many_to_one_name(&fk.from, &fk.to_table));
            // A foreign key that is unique in its table (a UNIQUE key, or
            // the whole primary key) leaves one child per parent: the
            // parent's side is a one-to-one, `uselist=False`, named in the
            // singular.
            let one_to_one = !self_referential && is_unique(child, &fk.from);
            let children = if one_to_one {
                singular(&child.name.to_lowercase())
            } else {
                plural(&child.name.to_lowercase())
            };
            let many_wanted = if self_referential
                || child
                    .foreign_keys
                    .iter()
                    .filter(|k| k.to_table == fk.to_table)
                    .count()
                    > 1
            {
                format!("{children}_by_{one_name}")
            } else {
                children
            };
            let many_name = unique(parent_index, many_wanted);
            let foreign_key: Vec<String> = fk
                .from
                .iter()
                .map(|c| format!("{}.{c}", child.name))
                .collect();
            let parent_entity = entities[parent_index].name.value.clone();
            let child_entity = entities[child_index].name.value.clone();
            let mut many = RelationshipSpec::new(
                Located::bare(many_name.clone()),
                Located::bare(child_entity),
            );
            many.foreign_key = Some(Located::bare(foreign_key.clone()));
            if one_to_one {
                many.uselist = Some(Located::bare(false));
            }
            many.back_populates = Some(Located::bare(one_name.clone()));
            let mut one =
                RelationshipSpec::new(Located::bare(one_name), Located::bare(parent_entity));
            one.foreign_key = Some(Located::bare(foreign_key));
            one.back_populates = Some(Located::bare(many_name));
            if self_referential {
                many.direction = Some(Located::bare("one_to_many".to_string()));
                one.direction = Some(Located::bare("many_to_one".to_string()));
            }
            entities[child_index].relationships.push(one);
            entities[parent_index].relationships.push(many);
        }
    }
    for link in link_tables {
        let (a, b) = (&link.foreign_keys[0], &link.foreign_keys[1]);
        let (Some(ia), Some(ib)) = (index_of(&a.to_table), index_of(&b.to_table)) else {
            continue;
        };
        if let Some(problem) = [a, b]
            .iter()
            .find_map(|fk| broken_foreign_key(schema, link, fk))
        {
            warnings.push(Diagnostic::warning(&source, None, problem));
            continue;
        }
        // A link from a table to itself (followers): each direction is
        // named from the link column that points at its targets
        // (`follows(follower_id, followed_id)`: `followed` and `follower`),
        // with explicit sides, as SQLAlchemy needs them.
        let (a_wanted, b_wanted) = if ia == ib {
            (
                many_to_one_name(&b.from, &b.to_table),
                many_to_one_name(&a.from, &a.to_table),
            )
        } else {
            (
                plural(&entity_tables[ib].name.to_lowercase()),
                plural(&entity_tables[ia].name.to_lowercase()),
            )
        };
        let a_name = unique(ia, a_wanted);
        let b_name = unique(ib, b_wanted);
        let mut to_b = RelationshipSpec::new(
            Located::bare(a_name.clone()),
            Located::bare(entities[ib].name.value.clone()),
        );
        to_b.secondary = Some(Located::bare(link.name.clone()));
        to_b.back_populates = Some(Located::bare(b_name.clone()));
        let mut to_a = RelationshipSpec::new(
            Located::bare(b_name),
            Located::bare(entities[ia].name.value.clone()),
        );
        to_a.secondary = Some(Located::bare(link.name.clone()));
        to_a.back_populates = Some(Located::bare(a_name));
        if ia == ib {
            let condition = |fk: &ForeignKey| {
                let target = schema.table(&fk.to_table).expect("entity table");
                let to = link.referenced_columns(fk, target).expect("checked");
                let terms: Vec<String> = fk
                    .from
                    .iter()
                    .zip(to)
                    .map(|(from, to)| format!("{}.{to} = {}.{from}", target.name, link.name))
                    .collect();
                Located::bare(terms.join(" AND "))
            };
            to_b.primaryjoin = Some(condition(a));
            to_b.secondaryjoin = Some(condition(b));
            to_a.primaryjoin = Some(condition(b));
            to_a.secondaryjoin = Some(condition(a));
        }
        entities[ia].relationships.push(to_b);
        entities[ib].relationships.push(to_a);
    }
    ParsedModel {
        spec: ModelSpec { entities },
        source,
        warnings,
    }
}

/// A foreign key whose referenced column does not exist (SQLite accepts
/// the declaration and only fails when it is enforced).
fn broken_foreign_key(schema: &Schema, table: &Table, fk: &ForeignKey) -> Option<String> {
    let target = schema.table(&fk.to_table)?;
    match table.referenced_columns(fk, target) {
        Some(columns) if columns.iter().all(|c| target.column(c).is_some()) => None,
        _ => Some(format!(
            "foreign key `{}` is left out: it references `{}({})`, which does not exist",
            fk.describe(&table.name),
            target.name,
            if fk.to.is_empty() {
                "its primary key".to_string()
            } else {
                fk.to.join(", ")
            }
        )),
    }
}

/// The column shown in lists: the first text column that is not the
/// primary key (a text key would only repeat itself), else none (the
/// resolver then takes the first text column).
fn label_column(table: &Table) -> Option<String> {
    table
        .columns
        .iter()
        .find(|c| c.is_text() && c.pk == 0)
        .map(|c| c.name.clone())
}

/// Exactly two foreign keys, and every column is one of them.
fn is_link_table(table: &Table) -> bool {
    table.foreign_keys.len() == 2
        && table.columns.iter().all(|c| {
            table
                .foreign_keys
                .iter()
                .any(|k| k.from.iter().any(|f| f.eq_ignore_ascii_case(&c.name)))
        })
}

/// `manager_id` -> `manager`; a column not ending in `_id`, or a composite
/// key, gives the singular of the referenced table (`users` -> `user`).
fn many_to_one_name(columns: &[String], to_table: &str) -> String {
    let [column] = columns else {
        return singular(&to_table.to_lowercase());
    };
    let lower = column.to_lowercase();
    match lower.strip_suffix("_id") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => singular(&to_table.to_lowercase()),
    }
}

/// `users` -> `User`, `post_tags` -> `PostTag`, `categories` -> `Category`.
/// Whether `columns` (a foreign key's) hold a unique value per row of
/// `table`: a unique key or the primary key has exactly those columns.
fn is_unique(table: &Table, columns: &[String]) -> bool {
    let same = |key: &[&str]| {
        key.len() == columns.len()
            && key
                .iter()
                .all(|k| columns.iter().any(|c| c.eq_ignore_ascii_case(k)))
    };
    let pk: Vec<&str> = table
        .primary_key()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    same(&pk)
        || table
            .unique
            .iter()
            .any(|u| same(&u.iter().map(String::as_str).collect::<Vec<_>>()))
}

pub fn entity_name(table: &str) -> String {
    let singular = singular(table);
    singular
        .split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}
