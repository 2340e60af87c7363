//! A model inferred from the schema alone: one entity per table with a
//! single-column primary key, a one-to-many and a many-to-one for each
//! foreign key, and a many-to-many for each link table (a table that is
//! nothing but two foreign keys).

use super::diagnostic::{Located, SourceFile};
use super::spec::{EntitySpec, ModelSpec, ParsedModel, RelationshipSpec};
use crate::db::{Schema, Table};
use std::collections::HashSet;

pub fn infer(schema: &Schema, source_name: &str) -> ParsedModel {
    let link_tables: Vec<&Table> = schema.tables.iter().filter(|t| is_link_table(t)).collect();
    let entity_tables: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| !is_link_table(t) && t.primary_key().len() == 1)
        .collect();
    let has_entity = |name: &str| {
        entity_tables
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
    };
    let mut entities: Vec<EntitySpec> = entity_tables
        .iter()
        .map(|t| EntitySpec {
            name: Located::bare(entity_name(&t.name)),
            table: Located::bare(t.name.clone()),
            label: None,
            primary_key: None,
            relationships: Vec::new(),
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
            let parent_index = index_of(&fk.to_table).expect("entity table");
            let self_referential = parent_index == child_index;
            let one_name = unique(child_index, many_to_one_name(&fk.from, &fk.to_table));
            let many_wanted = if self_referential
                || child
                    .foreign_keys
                    .iter()
                    .filter(|k| k.to_table == fk.to_table)
                    .count()
                    > 1
            {
                format!("{}_by_{}", child.name.to_lowercase(), one_name)
            } else {
                child.name.to_lowercase()
            };
            let many_name = unique(parent_index, many_wanted);
            let foreign_key = format!("{}.{}", child.name, fk.from);
            let parent_entity = entities[parent_index].name.value.clone();
            let child_entity = entities[child_index].name.value.clone();
            let mut many = RelationshipSpec::new(
                Located::bare(many_name.clone()),
                Located::bare(child_entity),
            );
            many.foreign_key = Some(Located::bare(foreign_key.clone()));
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
        if ia == ib {
            continue; // a self-referential link needs a hand-written model
        }
        let a_name = unique(ia, entity_tables[ib].name.to_lowercase());
        let b_name = unique(ib, entity_tables[ia].name.to_lowercase());
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
        entities[ia].relationships.push(to_b);
        entities[ib].relationships.push(to_a);
    }
    ParsedModel {
        spec: ModelSpec { entities },
        source: SourceFile {
            name: source_name.to_string(),
            text: String::new(),
        },
        warnings: Vec::new(),
    }
}

/// Exactly two foreign keys, and every column is one of them.
fn is_link_table(table: &Table) -> bool {
    table.foreign_keys.len() == 2
        && table.columns.iter().all(|c| {
            table
                .foreign_keys
                .iter()
                .any(|k| k.from.eq_ignore_ascii_case(&c.name))
        })
}

/// `manager_id` -> `manager`; a column not ending in `_id` gives the
/// singular of the referenced table (`users` -> `user`).
fn many_to_one_name(column: &str, to_table: &str) -> String {
    let lower = column.to_lowercase();
    match lower.strip_suffix("_id") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => singular(&to_table.to_lowercase()),
    }
}

/// `users` -> `User`, `post_tags` -> `PostTag`, `categories` -> `Category`.
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

fn singular(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some(stem) = lower.strip_suffix("ies") {
        return format!("{}y", &word[..stem.len()]);
    }
    for suffix in ["sses", "xes", "ches", "shes", "zes"] {
        if lower.ends_with(suffix) {
            return word[..word.len() - 2].to_string();
        }
    }
    if lower.ends_with('s') && !lower.ends_with("ss") && !lower.ends_with("us") {
        return word[..word.len() - 1].to_string();
    }
    word.to_string()
}
