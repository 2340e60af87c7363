//! `lazy="subquery"` (legacy): as soon as the first parent is read, the
//! statement that loaded them is re-run as a subquery (`anon_1`, keeping its LIMIT)
//! and joined to the children:
//!
//! `SELECT posts.id AS posts_id, ..., anon_1.users_id AS anon_1_users_id
//!  FROM (SELECT users.id AS users_id FROM users ORDER BY users.id LIMIT ? OFFSET ?) AS anon_1
//!  JOIN posts ON anon_1.users_id = posts.user_id ORDER BY posts.id`
//!
//! One level deeper, the path from the original statement is joined again
//! (`JOIN posts AS posts_1 ... JOIN comments ...`).

use super::group_by_key;
use super::select::{lazy_load, parent_key};
use super::sql::{
    LabelStyle, Order, SelectBuilder, SelectSpec, and_class_criterion, class_criterion,
    link_condition, link_equality, render_order,
};
use super::{Loader, Strategy};
use crate::db::Key;
use crate::dialect::{ident, qualified};
use crate::model::{Direction, Join, Model, RelId};
use crate::plan::NodeId;
use crate::session::{Access, LoadOrigin, ObjId, Related, Session};
use anyhow::Result;
use rustc_hash::FxHashMap as HashMap;

pub struct SubqueryLoader;

/// The subquery load runs while its parents' statement turns rows into
/// objects (`Session::execute` calls [`fetch`] and [`Fetched::assign`]);
/// touched without having been loaded, the attribute loads lazily.
impl Loader for SubqueryLoader {
    fn load_time(&self) -> super::LoadTime {
        super::LoadTime::WhileRowsRead
    }

    fn statement_kind(&self) -> crate::db::StatementKind {
        crate::db::StatementKind::Batch
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        lazy_load(session, parent, node, Strategy::Select).map(Access::Loaded)
    }
}

/// What a subquery load fetched: the children of each parent key.
pub struct Fetched {
    by_key: HashMap<Key, Vec<ObjId>>,
}

/// Runs the subquery load of the relationship at `node` for the objects
/// that `origin` loaded.
pub fn fetch(
    session: &mut Session<'_>,
    node: NodeId,
    segment: NodeId,
    origin: &LoadOrigin,
) -> Result<Fetched> {
    let rel_id = session.plan.node(node).rel.expect("relationship node");
    // Where SQLAlchemy puts the loaded objects: on the path from the base
    // statement's entity, started afresh unless that statement is the root
    // query (see `LoadPlan::restart`). Their own eager loads follow it.
    let mut at = session.plan.restart(origin.node);
    for hop in origin.hops.iter().chain([&rel_id]) {
        at = session.plan.child_or_insert(session.model, at, *hop);
    }
    let mut builder = SelectBuilder::new(LabelStyle::TablenamePlusCol, session.conn.dialect());
    let spec = statement(session, at, origin, rel_id, &mut builder);
    let params = origin.params.clone();
    let prepared = session.render_with(spec, &mut builder);
    let mut child_origin = origin.clone();
    child_origin.hops.push(rel_id);
    let log_origin = session.origin(node, Strategy::Subquery);
    let loaded = session.execute(&prepared, params, log_origin, segment, Some(child_origin))?;

    // The re-stated statement can hold a parent more than once (through a
    // link table, or a many-to-one's DISTINCT over more than the key), so
    // a child can come back more than once for its parent.
    let by_key = group_by_key(loaded.rows, true);
    Ok(Fetched { by_key })
}

impl Fetched {
    /// Sets the relationship at `node` of `parents` from what was fetched.
    pub fn assign(&self, session: &mut Session<'_>, node: NodeId, parents: &[ObjId]) {
        let rel_id = session.plan.node(node).rel.expect("relationship node");
        let collection = session.model.rel(rel_id).is_collection();
        for parent in parents {
            let children = parent_key(session, *parent, node)
                .and_then(|k| self.by_key.get(&k).cloned())
                .unwrap_or_default();
            let related = if collection {
                Related::Many(children)
            } else {
                Related::One(children.first().copied())
            };
            session.set_related(*parent, rel_id, related);
        }
    }
}

/// The columns of `rel`'s parent side (`users.id` for `User.posts`), in
/// the order a parent's key lists them.
fn parent_columns(model: &Model, rel: RelId) -> Vec<String> {
    let r = model.rel(rel);
    let parent = model.entity(r.parent);
    model
        .lazy_parent_columns(r)
        .iter()
        .map(|c| parent.columns[*c].clone())
        .collect()
}

fn statement(
    session: &mut Session<'_>,
    node: NodeId,
    origin: &LoadOrigin,
    rel_id: RelId,
    builder: &mut SelectBuilder,
) -> SelectSpec {
    let model = session.model;
    let base = &origin.base;
    let base_table = model.entity(base.entity).table.clone();
    let first = origin.hops.first().copied().unwrap_or(rel_id);
    let first_rel = model.rel(first);

    // The re-stated parent statement: only the columns the join needs.
    // SQLAlchemy makes it DISTINCT when the key columns do not cover the
    // parent's primary key (a many-to-one's foreign key, a join on a
    // unique non-key column); then its ORDER BY columns are selected too.
    let key_cols = parent_columns(model, first);
    let base_entity = model.entity(first_rel.parent);
    let distinct = !base_entity
        .pk_columns()
        .all(|k| key_cols.iter().any(|c| c == k));
    let mut inner_cols = key_cols.clone();
    if distinct && base.limit.is_some() {
        for o in &base.order_by {
            if !inner_cols.contains(&o.column) {
                inner_cols.push(o.column.clone());
            }
        }
    }
    let select_list: Vec<String> = inner_cols
        .iter()
        .map(|c| {
            format!(
                "{} AS {}",
                qualified(&base_table, c),
                ident(&format!("{base_table}_{c}"))
            )
        })
        .collect();
    let distinct = if distinct { "DISTINCT " } else { "" };
    // The base's own FROM: a lazy many-to-many load reads `posts, post_tags`.
    let mut inner = format!(
        "SELECT {distinct}{} FROM {}",
        select_list.join(", "),
        base.from
    );
    // The WHERE criteria, then the class criteria: of the class that
    // defines the relationship, when the base loaded one of its
    // subclasses, then of the base's own entity.
    let mut conditions: Vec<String> = base.where_clause.iter().cloned().collect();
    if first_rel.parent != base.entity {
        conditions.extend(class_criterion(model, first_rel.parent, &base_table));
    }
    conditions.extend(base.criterion.iter().cloned());
    if !conditions.is_empty() {
        inner.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    if base.limit.is_some() {
        // Without a LIMIT the order cannot change which rows come back, so
        // SQLAlchemy drops it.
        inner.push_str(&format!(
            " ORDER BY {}{}",
            render_order(&base.order_by),
            builder.dialect().limit_offset(base.limit, None)
        ));
    }
    let anon = builder.alias("anon");
    let mut from = format!("({inner}) AS {}", ident(&anon));

    // Walk the hops again, aliased, from the re-stated statement; then the
    // relationship being loaded, to its unaliased target. The first hop's
    // parent columns are the re-stated statement's labels.
    let parent_name = |hop: usize, column: &str| {
        if hop == 0 {
            format!("{base_table}_{column}")
        } else {
            column.to_string()
        }
    };
    let mut previous = anon.clone();
    let hops: Vec<RelId> = origin.hops.iter().copied().chain([rel_id]).collect();
    let last = hops.len() - 1;
    let mut trail: Vec<(String, String)> = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let r = model.rel(*hop);
        let parent = model.entity(r.parent);
        let target = model.entity(r.target);
        let alias = if i == last {
            target.table.clone()
        } else {
            builder.alias(&target.table)
        };
        if i == last {
            trail = parent_columns(model, *hop)
                .iter()
                .map(|c| (previous.clone(), parent_name(i, c)))
                .collect();
        }
        let aliased = if i == last {
            ident(&alias)
        } else {
            format!("{} AS {}", ident(&target.table), ident(&alias))
        };
        match &r.join {
            Join::Direct { .. } => {
                let terms: Vec<String> = model
                    .direct_pairs(r)
                    .iter()
                    .map(|(p, t)| {
                        let parent_side =
                            qualified(&previous, &parent_name(i, &parent.columns[*p]));
                        let target_side = qualified(&alias, &target.columns[*t]);
                        if r.direction == Direction::OneToMany {
                            format!("{parent_side} = {target_side}")
                        } else {
                            format!("{target_side} = {parent_side}")
                        }
                    })
                    .collect();
                let on = and_class_criterion(terms.join(" AND "), model, r.target, &alias);
                from.push_str(&format!(" JOIN {aliased} ON {on}"));
            }
            Join::Secondary {
                table: link,
                parent: parent_pairs,
                target: target_pairs,
                link_first,
            } => {
                let link_alias = builder.alias(link);
                let parent_on: Vec<String> = parent_pairs
                    .iter()
                    .map(|(p, l)| {
                        link_equality(
                            qualified(&previous, &parent_name(i, &parent.columns[*p])),
                            qualified(&link_alias, l),
                            link_first[0],
                        )
                    })
                    .collect();
                from.push_str(&format!(
                    " JOIN {} AS {} ON {} JOIN {aliased} ON {}",
                    ident(link),
                    ident(&link_alias),
                    parent_on.join(" AND "),
                    and_class_criterion(
                        link_condition(
                            &target.columns,
                            &alias,
                            target_pairs,
                            &link_alias,
                            link_first[1]
                        ),
                        model,
                        r.target,
                        &alias
                    )
                ));
            }
        }
        previous = alias;
    }

    let rel = model.rel(rel_id);
    let target = model.entity(rel.target);
    let mut spec = SelectSpec::new(
        rel.target,
        node,
        LabelStyle::TablenamePlusCol,
        &target.table,
    );
    spec.from = from;
    spec.order_by = Order::from_terms(&rel.order_by, &target.table, &target.table, None);
    spec.trail = trail;
    spec.joined = session.joined_tree(node);
    spec
}
