//! `lazy="selectin"`: right after the parents load, one
//! `SELECT ... WHERE posts.user_id IN (?, ...)` per `chunksize` (500)
//! parents. The foreign key comes first in the column list so each row can
//! be handed to its parent. A many-to-one asks for the distinct foreign-key
//! values instead (all of them: SQLAlchemy does not skip the ones already
//! in the identity map); a many-to-many reads the link table joined to the
//! target. Where the target cannot be found from the parent's key alone
//! (see [`Form`]), the parents are selected again, aliased, and joined.

use super::group_by_key;
use super::select::{lazy_load, parent_key};
use super::sql::{
    LabelStyle, Order, SelectBuilder, SelectSpec, and_class_criterion, class_criterion,
    direct_condition, link_condition,
};
use super::{Loader, Strategy};
use crate::db::Key;
use crate::dialect::{ident, in_keys, qualified};
use crate::model::{Direction, Join, Model, RelId};
use crate::plan::NodeId;
use crate::session::{Access, ObjId, PostLoad, QueryKind, Related, Session};
use anyhow::Result;
use std::collections::{HashMap, HashSet};

pub struct SelectinLoader;

impl Loader for SelectinLoader {
    fn load_time(&self) -> super::LoadTime {
        super::LoadTime::AfterParentsLoaded
    }

    fn statement_kind(&self) -> crate::db::StatementKind {
        crate::db::StatementKind::Batch
    }

    fn after_parents_loaded(&self, session: &mut Session<'_>, load: &PostLoad) -> Result<()> {
        let node = load.node;
        let segment = load.segment;
        let rel_id = session.plan.node(node).rel.expect("relationship node");
        let rel = session.model.rel(rel_id);
        let chunksize = rel.chunksize;
        let form = Form::of(session.model, rel_id);
        let collection = rel.is_collection();
        // SQLAlchemy asks for every target, but sets only those that are
        // not loaded yet or that the statement before created.
        let parents: Vec<ObjId> = load.targets.iter().map(|t| t.object).collect();
        let to_set: HashSet<ObjId> = load.to_set(session).into_iter().collect();
        if form == Form::ByTargetKey {
            return load_many_to_one(session, node, &parents, &to_set, segment, chunksize);
        }
        // Every other form asks by the parents' own keys.
        let keyed: Vec<(ObjId, Key)> = parents
            .iter()
            .map(|p| (*p, session.object(*p).key.clone()))
            .collect();
        for chunk in keyed.chunks(chunksize) {
            let prepared = session.prepare_aliased(
                QueryKind::Selectin(chunk.len()),
                node,
                segment,
                LabelStyle::Plain,
                |s, builder| statement(s, builder, node, form, chunk.len()),
            );
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
                    let related = if collection {
                        Related::Many(children)
                    } else {
                        Related::One(children.first().copied())
                    };
                    session.set_related(*parent, rel_id, related);
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

/// How the statement finds the targets (`SelectInLoader.omit_join`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// A many-to-one by identity: the targets by their own key, from the
    /// parents' distinct foreign keys.
    ByTargetKey,
    /// The targets (or the link rows) by the column that holds the
    /// parent's key: `WHERE posts.user_id IN (...)`.
    ByForeignKey,
    /// The parents again, aliased, joined to the targets:
    /// `FROM users AS users_1 JOIN posts ON ... WHERE users_1.id IN (...)`.
    /// For a many-to-one not on the target's key, a one-to-many not from
    /// the parent's key, and a many-to-many from a table to itself.
    JoinedToParent,
}

impl Form {
    fn of(model: &Model, rel_id: RelId) -> Form {
        let rel = model.rel(rel_id);
        // The join's parent columns are the parent's key (so the parents'
        // keys can be asked for without the parents).
        let from_parent_key = || {
            let mut columns = rel.join.parent_columns();
            let mut pk = model.entity(rel.parent).pk.clone();
            columns.sort_unstable();
            pk.sort_unstable();
            columns == pk
        };
        let omit_join = match rel.direction {
            Direction::ManyToOne => model.uses_get(rel),
            Direction::ManyToMany => rel.parent != rel.target && from_parent_key(),
            Direction::OneToMany => from_parent_key(),
        };
        match (omit_join, rel.direction) {
            (false, _) => Form::JoinedToParent,
            (true, Direction::ManyToOne) => Form::ByTargetKey,
            (true, _) => Form::ByForeignKey,
        }
    }
}

/// `SELECT posts.user_id, posts.id, ... FROM posts WHERE posts.user_id IN (...)`;
/// through a link table
/// `SELECT post_tags.post_id, tags.id, ... FROM post_tags JOIN tags ON ... WHERE post_tags.post_id IN (...)`;
/// or joined to the parents, `SELECT users_1.id, posts.id, ... FROM users
/// AS users_1 JOIN posts ON ... WHERE users_1.id IN (...)`. The key columns
/// come first, in the parent's key order; a composite key asks with a
/// tuple IN.
fn statement(
    session: &mut Session<'_>,
    builder: &mut SelectBuilder,
    node: NodeId,
    form: Form,
    n: usize,
) -> SelectSpec {
    let model = session.model;
    let rel = model.rel(session.plan.node(node).rel.expect("relationship node"));
    let parent = model.entity(rel.parent);
    let target = model.entity(rel.target);
    let table = target.table.as_str();
    let mut spec = SelectSpec::new(rel.target, node, LabelStyle::Plain, table);
    let mut link_alias = None;
    let key_columns: Vec<(String, String)> = match (form, &rel.join) {
        (Form::JoinedToParent, join) => {
            let alias = builder.alias(&parent.table);
            let aliased = format!("{} AS {}", ident(&parent.table), ident(&alias));
            spec.from = match join {
                Join::Direct { .. } => format!(
                    "{aliased} JOIN {} ON {}",
                    ident(table),
                    and_class_criterion(
                        direct_condition(model, rel.id, &alias, table),
                        model,
                        rel.target,
                        table
                    )
                ),
                Join::Secondary {
                    table: link,
                    parent: parent_pairs,
                    target: target_pairs,
                    link_first,
                } => {
                    let link_as = builder.alias(link);
                    let from = format!(
                        "{aliased} JOIN {} AS {} ON {} JOIN {} ON {}",
                        ident(link),
                        ident(&link_as),
                        link_condition(
                            &parent.columns,
                            &alias,
                            parent_pairs,
                            &link_as,
                            link_first[0]
                        ),
                        ident(table),
                        and_class_criterion(
                            link_condition(
                                &target.columns,
                                table,
                                target_pairs,
                                &link_as,
                                link_first[1]
                            ),
                            model,
                            rel.target,
                            table
                        )
                    );
                    link_alias = Some(link_as);
                    from
                }
            };
            parent
                .pk_columns()
                .map(|c| (alias.clone(), c.to_string()))
                .collect()
        }
        (_, Join::Direct { pairs }) => parent
            .pk
            .iter()
            .filter_map(|k| pairs.iter().find(|(p, _)| p == k))
            .map(|(_, t)| (table.to_string(), target.columns[*t].clone()))
            .collect(),
        (
            _,
            Join::Secondary {
                table: link,
                parent: parent_pairs,
                target: target_pairs,
                link_first,
            },
        ) => {
            spec.from = format!(
                "{} JOIN {} ON {}",
                ident(link),
                ident(table),
                and_class_criterion(
                    link_condition(&target.columns, table, target_pairs, link, link_first[1]),
                    model,
                    rel.target,
                    table
                )
            );
            link_alias = Some(link.clone());
            parent
                .pk
                .iter()
                .filter_map(|k| parent_pairs.iter().find(|(p, _)| p == k))
                .map(|(_, l)| (link.clone(), l.clone()))
                .collect()
        }
    };
    let qualified_keys: Vec<String> = key_columns.iter().map(|(q, c)| qualified(q, c)).collect();
    // The bind takes the type of the column it is compared with (an
    // alias's is its table's: the parent's).
    let key_type = match &key_columns[..] {
        [(_, column)] if matches!(form, Form::JoinedToParent) => {
            model.column_type(&parent.table, column)
        }
        [(table, column)] => model.column_type(table, column),
        _ => None,
    };
    let keys = in_keys(session.conn.dialect(), &qualified_keys, key_type, n, 0);
    // The target in the FROM list itself gets its class criterion here; a
    // joined one has it in its ON clause.
    spec.where_clause = Some(keys);
    if let (Form::ByTargetKey | Form::ByForeignKey, Join::Direct { .. }) = (form, &rel.join) {
        spec.criterion = class_criterion(model, rel.target, table);
    }
    let link = match (&rel.join, &link_alias) {
        (Join::Secondary { table: link, .. }, Some(alias)) => Some((link.as_str(), alias.as_str())),
        _ => None,
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
            let key_type = match target_columns[..] {
                [c] => model.column_type(&entity.table, &entity.columns[c]),
                _ => None,
            };
            spec.where_clause = Some(in_keys(
                s.conn.dialect(),
                &columns,
                key_type,
                chunk.len(),
                0,
            ));
            spec.criterion = class_criterion(model, rel.target, &entity.table);
            // SQLAlchemy selects the key columns first (`_raw_columns =
            // [*pk_cols, entity]`): a key not first in the table moves up.
            spec.lead = target_columns
                .iter()
                .map(|c| (entity.table.clone(), entity.columns[*c].clone()))
                .collect();
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
