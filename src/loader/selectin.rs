//! `lazy="selectin"`: right after the parents load, one
//! `SELECT ... WHERE posts.user_id IN (?, ...)` per `chunksize` (500)
//! parents. The foreign key comes first in the column list so each row can
//! be handed to its parent. A many-to-one asks for the distinct foreign-key
//! values instead (all of them: SQLAlchemy does not skip the ones already
//! in the identity map); a many-to-many reads the link table joined to the
//! target.

use super::group_by_key;
use super::select::{lazy_load, parent_key};
use super::sql::{LabelStyle, Order, SelectSpec, link_condition};
use super::{Loader, Strategy};
use crate::db::Key;
use crate::dialect::{ident, in_keys, qualified};
use crate::model::{Direction, Join};
use crate::plan::NodeId;
use crate::session::{Access, ObjId, PostLoad, QueryKind, Related, Session};
use anyhow::Result;
use std::collections::{HashMap, HashSet};

pub struct SelectinLoader;

impl Loader for SelectinLoader {
    fn after_parents_loaded(&self, session: &mut Session<'_>, load: &PostLoad) -> Result<()> {
        let node = load.node;
        let segment = load.segment;
        let rel_id = session.plan.node(node).rel.expect("relationship node");
        let rel = session.model.rel(rel_id);
        let chunksize = rel.chunksize;
        // SQLAlchemy asks for every target, but sets only those that are
        // not loaded yet or that the statement before created.
        let parents: Vec<ObjId> = load.targets.iter().map(|t| t.object).collect();
        let to_set: HashSet<ObjId> = load.to_set(session).into_iter().collect();
        if rel.direction == Direction::ManyToOne {
            return load_many_to_one(session, node, &parents, &to_set, segment, chunksize);
        }
        // Parents whose key is NULL own nothing and are not asked for.
        let mut keyed = Vec::with_capacity(parents.len());
        for parent in parents {
            match parent_key(session, parent, node) {
                Some(key) => keyed.push((parent, key)),
                None if to_set.contains(&parent) => {
                    session.set_related(parent, rel_id, Related::Many(Vec::new()))
                }
                None => {}
            }
        }
        for chunk in keyed.chunks(chunksize) {
            let prepared = session.prepare(QueryKind::Selectin(chunk.len()), node, segment, |s| {
                collection_spec(s, node, chunk.len())
            });
            let mut params = Vec::with_capacity(chunk.len());
            for (_, key) in chunk {
                key.push_params(&mut params);
            }
            let origin = session.origin(node, Strategy::Selectin);
            let loaded = session.execute(&prepared, params, origin, segment, None)?;
            let mut by_key = group_by_key(loaded.rows, !prepared.main.joined.is_empty());
            for (parent, key) in chunk {
                let children = by_key.remove(key).unwrap_or_default();
                if to_set.contains(parent) {
                    session.set_related(*parent, rel_id, Related::Many(children));
                }
            }
        }
        Ok(())
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        // Loaded elsewhere, without its eager load: falls back to lazy.
        lazy_load(session, parent, node, Strategy::Select).map(Access::Loaded)
    }
}

/// `SELECT posts.user_id, posts.id, ... FROM posts WHERE posts.user_id IN (...)`
/// or, through a link table,
/// `SELECT post_tags.post_id, tags.id, ... FROM post_tags JOIN tags ON ... WHERE post_tags.post_id IN (...)`.
/// A composite key selects every key column and asks with a tuple IN.
fn collection_spec(session: &mut Session<'_>, node: NodeId, n: usize) -> SelectSpec {
    let model = session.model;
    let rel = model.rel(session.plan.node(node).rel.expect("relationship node"));
    let target = model.entity(rel.target);
    let table = target.table.as_str();
    let mut spec = SelectSpec::new(rel.target, node, LabelStyle::Plain, table);
    // The key columns, in the order `parent_key` builds a parent's key.
    let key_columns: Vec<(String, String)> = match &rel.join {
        Join::Direct { .. } => model
            .direct_pairs(rel)
            .iter()
            .map(|(_, t)| (table.to_string(), target.columns[*t].clone()))
            .collect(),
        Join::Secondary {
            table: link,
            parent,
            target: target_pairs,
        } => {
            spec.from = format!(
                "{} JOIN {} ON {}",
                ident(link),
                ident(table),
                link_condition(&target.columns, table, target_pairs, link)
            );
            parent
                .iter()
                .map(|(_, l)| (link.clone(), l.clone()))
                .collect()
        }
    };
    let qualified_keys: Vec<String> = key_columns.iter().map(|(q, c)| qualified(q, c)).collect();
    spec.where_clause = Some(in_keys(session.conn.dialect(), &qualified_keys, n));
    let link = match &rel.join {
        Join::Secondary { table: link, .. } => Some((link.as_str(), link.as_str())),
        Join::Direct { .. } => None,
    };
    spec.order_by = Order::from_terms(&rel.order_by, table, table, link);
    spec.lead = key_columns;
    spec.joined = session.joined_tree(node);
    spec
}

/// Many-to-one: `SELECT users.* FROM users WHERE users.id IN (...)` over the
/// distinct foreign-key values.
fn load_many_to_one(
    session: &mut Session<'_>,
    node: NodeId,
    parents: &[ObjId],
    to_set: &HashSet<ObjId>,
    segment: NodeId,
    chunksize: usize,
) -> Result<()> {
    let rel_id = session.plan.node(node).rel.expect("relationship node");
    // The target's columns, in the order a parent's key lists them.
    let target_columns: Vec<usize> = {
        let model = session.model;
        model
            .direct_pairs(model.rel(rel_id))
            .iter()
            .map(|(_, t)| *t)
            .collect()
    };
    // Distinct, in the order the parents were loaded.
    let mut seen = std::collections::HashSet::new();
    let keys: Vec<Key> = parents
        .iter()
        .filter_map(|p| parent_key(session, *p, node))
        .filter(|k| seen.insert(k.clone()))
        .collect();
    // What the rows held, by key: a target the rows lack (an inner join
    // below dropped it) is None, as in SQLAlchemy, even if it is in the
    // identity map.
    let mut found: HashMap<Key, ObjId> = HashMap::new();
    for chunk in keys.chunks(chunksize) {
        let prepared = session.prepare(QueryKind::Selectin(chunk.len()), node, segment, |s| {
            let model = s.model;
            let rel = model.rel(rel_id);
            let entity = model.entity(rel.target);
            let mut spec = SelectSpec::new(rel.target, node, LabelStyle::Plain, &entity.table);
            let columns: Vec<String> = target_columns
                .iter()
                .map(|c| qualified(&entity.table, &entity.columns[*c]))
                .collect();
            spec.where_clause = Some(in_keys(s.conn.dialect(), &columns, chunk.len()));
            spec.order_by = Order::from_terms(&rel.order_by, &entity.table, &entity.table, None);
            spec.joined = s.joined_tree(node);
            spec
        });
        let mut params = Vec::with_capacity(chunk.len() * target_columns.len());
        for key in chunk {
            key.push_params(&mut params);
        }
        let origin = session.origin(node, Strategy::Selectin);
        let loaded = session.execute(&prepared, params, origin, segment, None)?;
        for object in loaded.objects() {
            let values = target_columns.iter().map(|c| session.value(object, *c));
            if let Some(key) = Key::from_values(values) {
                found.insert(key, object);
            }
        }
    }
    for parent in parents.iter().filter(|p| to_set.contains(p)) {
        let target = parent_key(session, *parent, node).and_then(|k| found.get(&k).copied());
        session.set_related(*parent, rel_id, Related::One(target));
    }
    Ok(())
}
