//! The TOML model format (see the README's "Model file format"; a contract).

use super::diagnostic::{Diagnostic, Located, SourceFile};
use super::spec::{EntitySpec, ModelSpec, ParsedModel, RelationshipSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    entities: BTreeMap<Spanned<String>, EntityToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityToml {
    table: Option<Spanned<String>>,
    label: Option<Spanned<String>>,
    primary_key: Option<Spanned<OneOrMany>>,
    columns: Option<Spanned<Vec<String>>>,
    inherits: Option<Spanned<String>>,
    polymorphic_on: Option<Spanned<String>>,
    polymorphic_identity: Option<Spanned<String>>,
    #[serde(default)]
    relationships: BTreeMap<Spanned<String>, RelationshipToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationshipToml {
    target: Spanned<String>,
    foreign_key: Option<Spanned<OneOrMany>>,
    secondary: Option<Spanned<String>>,
    lazy: Option<Spanned<String>>,
    order_by: Option<Spanned<String>>,
    back_populates: Option<Spanned<String>>,
    innerjoin: Option<Spanned<bool>>,
    direction: Option<Spanned<String>>,
    chunksize: Option<Spanned<i64>>,
    uselist: Option<Spanned<bool>>,
    primaryjoin: Option<Spanned<String>>,
    secondaryjoin: Option<Spanned<String>>,
}

/// `"a"` or `["a", "b"]` (a composite key).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn names(s: Spanned<OneOrMany>) -> Located<Vec<String>> {
    let span = s.span();
    let names = match s.into_inner() {
        OneOrMany::One(name) => vec![name],
        OneOrMany::Many(names) => names,
    };
    Located::new(names, span)
}

fn located<T>(s: Spanned<T>) -> Located<T> {
    let span = s.span();
    Located::new(s.into_inner(), span)
}

/// Parses a TOML model. Entities and relationships keep the order in which
/// the file lists them.
pub fn parse(source: SourceFile) -> Result<ParsedModel, Diagnostic> {
    let file: FileToml = toml::from_str(&source.text).map_err(|e| {
        let message = e.message().trim_end().to_string();
        Diagnostic::error(
            &source,
            e.span().as_ref(),
            format!("invalid model file: {message}"),
        )
        .with_help(
            "a model file has [entities.NAME] tables with `table`, optional `label`, \
                 `primary_key`, `columns`, `inherits`, `polymorphic_on`, `polymorphic_identity`, \
                 and [entities.NAME.relationships.NAME] tables with `target`, `foreign_key`, \
                 `secondary`, `primaryjoin`, `secondaryjoin`, `lazy`, `order_by`, \
                 `back_populates`, `innerjoin`, `uselist`, `direction`, `chunksize`",
        )
    })?;
    let mut entities: Vec<(Spanned<String>, EntityToml)> = file.entities.into_iter().collect();
    entities.sort_by_key(|(name, _)| name.span().start);
    let entities = entities
        .into_iter()
        .map(|(name, entity)| {
            let mut relationships: Vec<_> = entity.relationships.into_iter().collect();
            relationships.sort_by_key(|(name, _)| name.span().start);
            EntitySpec {
                name: located(name),
                table: entity.table.map(located),
                label: entity.label.map(located),
                primary_key: entity.primary_key.map(names),
                columns: entity.columns.map(located),
                inherits: entity.inherits.map(located),
                polymorphic_on: entity.polymorphic_on.map(located),
                polymorphic_identity: entity.polymorphic_identity.map(located),
                relationships: relationships
                    .into_iter()
                    .map(|(name, r)| RelationshipSpec {
                        name: located(name),
                        target: located(r.target),
                        foreign_key: r.foreign_key.map(names),
                        secondary: r.secondary.map(located),
                        lazy: r.lazy.map(located),
                        order_by: r.order_by.map(located),
                        back_populates: r.back_populates.map(located),
                        innerjoin: r.innerjoin.map(located),
                        direction: r.direction.map(located),
                        chunksize: r.chunksize.map(located),
                        uselist: r.uselist.map(located),
                        primaryjoin: r.primaryjoin.map(located),
                        secondaryjoin: r.secondaryjoin.map(located),
                        from_backref: false,
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(ParsedModel {
        spec: ModelSpec { entities },
        source,
        warnings: Vec::new(),
    })
}

/// Writes a spec back as TOML in the contract format (for `loadscope model`).
pub fn write(spec: &ModelSpec) -> String {
    let mut out = String::new();
    for entity in &spec.entities {
        let name = &entity.name.value;
        out.push_str(&format!("[entities.{}]\n", key(name)));
        if let Some(inherits) = &entity.inherits {
            out.push_str(&format!("inherits = {}\n", quote(&inherits.value)));
        }
        if let Some(table) = &entity.table {
            out.push_str(&format!("table = {}\n", quote(&table.value)));
        }
        if let Some(label) = &entity.label {
            out.push_str(&format!("label = {}\n", quote(&label.value)));
        }
        if let Some(pk) = &entity.primary_key {
            out.push_str(&format!("primary_key = {}\n", one_or_many(&pk.value)));
        }
        if let Some(columns) = &entity.columns {
            out.push_str(&format!("columns = {}\n", many(&columns.value)));
        }
        for (field, value) in [
            ("polymorphic_on", &entity.polymorphic_on),
            ("polymorphic_identity", &entity.polymorphic_identity),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("{field} = {}\n", quote(&value.value)));
            }
        }
        out.push('\n');
        for rel in &entity.relationships {
            out.push_str(&format!(
                "[entities.{}.relationships.{}]\n",
                key(name),
                key(&rel.name.value)
            ));
            out.push_str(&format!("target = {}\n", quote(&rel.target.value)));
            if let Some(fk) = &rel.foreign_key {
                out.push_str(&format!("foreign_key = {}\n", one_or_many(&fk.value)));
            }
            let fields = [
                ("secondary", &rel.secondary),
                ("primaryjoin", &rel.primaryjoin),
                ("secondaryjoin", &rel.secondaryjoin),
                ("lazy", &rel.lazy),
                ("order_by", &rel.order_by),
                ("back_populates", &rel.back_populates),
                ("direction", &rel.direction),
            ];
            for (field, value) in fields {
                if let Some(value) = value {
                    out.push_str(&format!("{field} = {}\n", quote(&value.value)));
                }
            }
            if let Some(uselist) = &rel.uselist {
                out.push_str(&format!("uselist = {}\n", uselist.value));
            }
            if let Some(inner) = &rel.innerjoin {
                out.push_str(&format!("innerjoin = {}\n", inner.value));
            }
            if let Some(chunksize) = &rel.chunksize {
                out.push_str(&format!("chunksize = {}\n", chunksize.value));
            }
            out.push('\n');
        }
    }
    out
}

/// `"a"` for one name, `["a", "b"]` for several.
fn one_or_many(names: &[String]) -> String {
    match names {
        [one] => quote(one),
        _ => many(names),
    }
}

fn many(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| quote(n)).collect();
    format!("[{}]", quoted.join(", "))
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        quote(s)
    }
}
