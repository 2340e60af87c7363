//! `lazy="select"`, the default: the first access of the attribute runs one
//! SELECT for that parent. Over N parents that is the N+1. A many-to-one
//! whose target is already in the identity map needs no SQL at all.

use super::sql::{LabelStyle, Order, SelectSpec, class_criterion, link_equality};
use super::{Loader, Strategy};
use crate::db::Key;
use crate::dialect::{arg, arg_named, ident, qualified};
use crate::model::{Direction, Join};
use crate::plan::NodeId;
use crate::session::{Access, ObjId, Prepared, QueryKind, Related, Session};
use anyhow::Result;

pub struct SelectLoader;

impl Loader for SelectLoader {
    fn loads_per_parent(&self) -> bool {
        true
    }

    fn on_first_sight(&self) -> super::FirstSight {
        super::FirstSight::LazyCallable
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        lazy_load(session, parent, node, Strategy::Select).map(Access::Loaded)
    }
}

/// The value of the parent's side of the join (`users.id` for
/// `User.posts`, `posts.user_id` for `Post.user`); `None` when NULL.
pub fn parent_key(session: &Session<'_>, parent: ObjId, node: NodeId) -> Option<Key> {
    let rel = session
        .model
        .rel(session.plan.node(node).rel.expect("relationship node"));
    let columns = session.model.lazy_parent_columns(rel);
    Key::from_values(columns.iter().map(|c| session.value(parent, *c)))
}

/// A many-to-one target found without SQL: a get by identity whose target
/// the identity map has, or a NULL foreign key. `None` when SQL would be
/// needed.
pub fn many_to_one_without_sql(
    session: &Session<'_>,
    parent: ObjId,
    node: NodeId,
) -> Option<Option<ObjId>> {
    let rel = session.model.rel(session.plan.node(node).rel?);
    if rel.direction != Direction::ManyToOne {
        return None;
    }
    match parent_key(session, parent, node) {
        None => Some(None),
        // An object of another class of the hierarchy under that key is
        // no target: None, without SQL (`PASSIVE_CLASS_MISMATCH`).
        Some(key) if session.model.uses_get(rel) => session.lookup(rel.target, &key).map(|o| {
            session
                .model
                .is_a(session.object(o).entity, rel.target)
                .then_some(o)
        }),
        Some(_) => None,
    }
}

/// The per-parent statement: `WHERE ? = posts.user_id` (one-to-many),
/// `WHERE users.id = ?` (many-to-one), or the old-style two-table FROM of
/// a many-to-many. Shared by lazy, immediate, dynamic and write_only.
pub fn per_parent_spec(session: &mut Session<'_>, node: NodeId, style: LabelStyle) -> SelectSpec {
    let model = session.model;
    let rel = model.rel(session.plan.node(node).rel.expect("relationship node"));
    let target = model.entity(rel.target);
    let table = target.table.clone();
    let mut spec = SelectSpec::new(rel.target, node, style, &table);
    let column = |i: usize| qualified(&table, &target.columns[i]);
    let (where_clause, link) = match &rel.join {
        Join::Direct { .. } => {
            let pairs = model.direct_pairs(rel);
            // The parent's key, bound in key order. A many-to-one that is
            // a get binds `pk_1`, `pk_2` as `Mapper._get_clause` does.
            let get = rel.direction != Direction::OneToMany && model.uses_get(rel);
            // Each bind has the type of the parent's column it comes from
            // (the target's key for a get).
            let parent = model.entity(rel.parent);
            let parent_type = |p: usize| model.column_type(&parent.table, &parent.columns[p]);
            let target_type = |t: usize| model.column_type(&table, &target.columns[t]);
            let terms: Vec<String> = pairs
                .iter()
                .enumerate()
                .map(|(i, (p, t))| {
                    if rel.direction == Direction::OneToMany {
                        format!("{} = {}", arg(i, parent_type(*p)), column(*t))
                    } else if let Some(k) = target.pk.iter().position(|c| c == t).filter(|_| get) {
                        format!(
                            "{} = {}",
                            column(*t),
                            arg_named(i, &format!("pk_{}", k + 1), target_type(*t))
                        )
                    } else {
                        format!("{} = {}", column(*t), arg(i, parent_type(*p)))
                    }
                })
                .collect();
            (terms.join(" AND "), None)
        }
        Join::Secondary {
            table: link,
            parent,
            target: targets,
            link_first,
        } => {
            spec.from = format!("{}, {}", ident(&table), ident(link));
            // The parent's side bound, each term in its written order.
            let parent_entity = model.entity(rel.parent);
            let terms =
                parent
                    .iter()
                    .enumerate()
                    .map(|(i, (p, l))| {
                        let bind = arg(
                            i,
                            model.column_type(&parent_entity.table, &parent_entity.columns[*p]),
                        );
                        link_equality(bind, qualified(link, l), link_first[0])
                    })
                    .chain(targets.iter().map(|(t, l)| {
                        link_equality(column(*t), qualified(link, l), link_first[1])
                    }));
            (terms.collect::<Vec<_>>().join(" AND "), Some(link.clone()))
        }
    };
    spec.where_clause = Some(where_clause);
    spec.criterion = class_criterion(model, rel.target, &table);
    spec.order_by = Order::from_terms(
        &rel.order_by,
        &table,
        &table,
        link.as_deref().map(|l| (l, l)),
    );
    spec.joined = session.joined_tree(node);
    if let Some(link) = &link
        && !spec.joined.is_empty()
    {
        // The joins attach to the target, which SQLAlchemy then lists
        // last: `FROM post_tags, posts LEFT OUTER JOIN comments ...`; a
        // subquery load re-states the statement without them.
        spec.base_from = Some(std::mem::replace(
            &mut spec.from,
            format!("{}, {}", ident(link), ident(&table)),
        ));
    }
    spec
}

/// Runs a per-parent statement for one parent and returns what it found.
/// `segment` is where the path of the eager loaders below it begins.
pub fn run_per_parent(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    strategy: Strategy,
    prepared: &Prepared,
    segment: NodeId,
) -> Result<Related> {
    let rel_id = session.plan.node(node).rel.expect("relationship node");
    let collection = session.model.rel(rel_id).is_collection();
    let Some(key) = parent_key(session, parent, node) else {
        return Ok(Related::empty(collection));
    };
    let origin = session.origin(node, strategy);
    let loaded = session.execute(prepared, key.params(), origin, segment, None)?;
    let objects = loaded.objects();
    Ok(if collection {
        Related::Many(objects)
    } else {
        Related::One(objects.first().copied())
    })
}

/// Loads the attribute for one parent and stores it. Without loader
/// options it starts a new segment: eager loaders below it see a fresh
/// path, as after a lazy load in SQLAlchemy (`Parent.rel`).
pub fn lazy_load(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    strategy: Strategy,
) -> Result<Related> {
    let segment = if session.plan.has_options() {
        session.object(parent).segment
    } else {
        node
    };
    lazy_load_on(session, parent, node, strategy, segment)
}

/// `lazy_load` on a path that begins at `segment`: an `immediate` load
/// runs its lazy loads on the path of the statement that fired it.
pub fn lazy_load_on(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    strategy: Strategy,
    segment: NodeId,
) -> Result<Related> {
    let rel = session.plan.node(node).rel.expect("relationship node");
    let related = match many_to_one_without_sql(session, parent, node) {
        Some(target) => {
            let reason = if parent_key(session, parent, node).is_none() {
                "NULL foreign key"
            } else {
                "identity map"
            };
            session.no_sql(node, strategy, reason);
            Related::One(target)
        }
        None => {
            let prepared = session.prepare(QueryKind::Lazy, node, node, |s| {
                // SQLAlchemy 2.1 labels nothing in a lazy load, not even
                // the repeated names of a joined eager load below it.
                per_parent_spec(s, node, LabelStyle::Plain)
            });
            run_per_parent(session, parent, node, strategy, &prepared, segment)?
        }
    };
    session.set_related(parent, rel, related.clone());
    Ok(related)
}
