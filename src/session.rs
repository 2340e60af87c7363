//! The session: an identity map of loaded objects, the load plan, and the
//! plumbing every loader shares (running a statement through the traced
//! connection, turning rows into objects, and firing the eager loaders of
//! what was just loaded). Which strategy does what lives in `loader/`.

use crate::db::value::owned;
use crate::db::{Key, Origin, TracedConnection};
use crate::loader::sql::{JoinedNode, LabelStyle, Order, SelectBuilder, SelectSpec, Slot};
use crate::loader::{self, Strategy};
use crate::model::{EntityId, Model, RelId};
use crate::plan::{LoadPlan, NodeId};
use anyhow::Result;
use rusqlite::types::Value;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjId(pub u32);

/// The value of a loaded relationship attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum Related {
    Many(Vec<ObjId>),
    One(Option<ObjId>),
}

impl Related {
    pub fn empty(collection: bool) -> Related {
        if collection {
            Related::Many(Vec::new())
        } else {
            Related::One(None)
        }
    }

    pub fn objects(&self) -> Vec<ObjId> {
        match self {
            Related::Many(v) => v.clone(),
            Related::One(o) => o.iter().copied().collect(),
        }
    }
}

#[derive(Clone, Debug)]
enum RelState {
    Unloaded,
    /// `load` is the statement that is filling it, so rows of a joined load
    /// append to it while later statements leave it alone.
    Loaded {
        related: Related,
        load: u32,
    },
}

#[derive(Clone, Debug)]
pub struct Object {
    pub entity: EntityId,
    pub key: Key,
    pub values: Box<[Value]>,
    rels: Box<[RelState]>,
    /// The plan node it was first loaded at (SQLAlchemy's load path).
    pub node: NodeId,
    /// The node where the query that loaded it began (eager loading never
    /// loops back to an entity already on the path since then).
    pub segment: NodeId,
}

/// An eager load waiting for the immediate load that fired it.
#[derive(Clone, Debug)]
pub struct Deferred {
    pub node: NodeId,
    pub parents: Vec<ObjId>,
    pub origin: LoadOrigin,
}

/// The result of touching a relationship attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    Loaded(Related),
    /// The strategy refuses (raise, write_only iteration): the message is
    /// SQLAlchemy's.
    Refused(String),
}

/// The query that loaded some objects, kept so that a `subquery` loader can
/// re-state it: the base statement and the relationships walked from its
/// entity to the objects.
#[derive(Clone, Debug)]
pub struct LoadOrigin {
    pub base: Rc<QueryBase>,
    /// The base statement's parameters (before its LIMIT and OFFSET).
    pub params: Vec<Value>,
    pub hops: Vec<RelId>,
}

#[derive(Clone, Debug)]
pub struct QueryBase {
    pub entity: EntityId,
    /// The FROM clause before joined eager loads (`posts, post_tags` for a
    /// lazy many-to-many load).
    pub from: String,
    pub where_clause: Option<String>,
    pub order_by: Vec<Order>,
    pub limit: Option<i64>,
}

/// A statement ready to run: its text, and where each object's columns are.
pub struct Prepared {
    pub sql: Arc<str>,
    pub main: Slot,
    pub lead: Vec<usize>,
    pub trail: Vec<usize>,
    /// Parameters after the caller's (LIMIT and OFFSET).
    pub tail_params: Vec<Value>,
    pub repeats_children: bool,
    /// The statement as a `subquery` loader below it re-states it.
    pub base: Rc<QueryBase>,
}

/// What a statement loaded: the main entity's object (if the row had one)
/// and the key in its lead or trail column, per row.
pub struct Loaded {
    pub rows: Vec<(Option<Key>, Option<ObjId>)>,
}

impl Loaded {
    /// Distinct objects in the order they first appeared.
    pub fn objects(&self) -> Vec<ObjId> {
        let mut seen = std::collections::HashSet::new();
        self.rows
            .iter()
            .filter_map(|(_, o)| *o)
            .filter(|o| seen.insert(*o))
            .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueryKind {
    Root {
        limit: bool,
        after: bool,
        from: bool,
        before: bool,
    },
    Lazy,
    Selectin(usize),
}

/// The root query: `select(Entity).order_by(pk)`, optionally after a key
/// (keyset pagination forwards) or before one (backwards, ordered by the
/// key descending), and limited.
#[derive(Clone, Debug, Default)]
pub struct RootQuery {
    pub after: Option<Key>,
    pub before: Option<Key>,
    /// Rows from this key on (`WHERE pk >= ?`).
    pub from: Option<Key>,
    /// The last rows: ordered by the key descending.
    pub from_end: bool,
    pub limit: Option<i64>,
}

pub struct Session<'a> {
    pub model: &'a Model,
    pub conn: &'a TracedConnection,
    pub plan: LoadPlan,
    objects: Vec<Object>,
    identity: Vec<HashMap<Key, ObjId>>,
    load_seq: u32,
    prepared: HashMap<(QueryKind, NodeId, NodeId), Rc<Prepared>>,
    /// Immediate loads waiting for the batch that fired them to finish.
    /// While an immediate load runs, the eager loads its statements fire
    /// wait here, one entry per path with all their parents, as SQLAlchemy
    /// queues them on the top-level load (`sa_top_level_orm_context`).
    pub deferred: Option<std::collections::VecDeque<Deferred>>,
}

impl<'a> Session<'a> {
    pub fn new(model: &'a Model, conn: &'a TracedConnection, plan: LoadPlan) -> Session<'a> {
        Session {
            model,
            conn,
            plan,
            objects: Vec::new(),
            identity: vec![HashMap::new(); model.entities.len()],
            load_seq: 0,
            prepared: HashMap::new(),
            deferred: None,
        }
    }

    pub fn object(&self, id: ObjId) -> &Object {
        &self.objects[id.0 as usize]
    }

    pub fn lookup(&self, entity: EntityId, key: &Key) -> Option<ObjId> {
        self.identity[entity.0].get(key).copied()
    }

    /// The label column's value as text (empty for NULL).
    pub fn label(&self, id: ObjId) -> Option<&Value> {
        let object = self.object(id);
        let entity = self.model.entity(object.entity);
        entity.label.map(|i| &object.values[i])
    }

    /// The loaded value of a relationship, if it is loaded.
    pub fn related(&self, id: ObjId, rel: RelId) -> Option<&Related> {
        let slot = self.model.rel(rel).slot;
        match &self.object(id).rels[slot] {
            RelState::Loaded { related, .. } => Some(related),
            RelState::Unloaded => None,
        }
    }

    fn rel_state(&mut self, id: ObjId, rel: RelId) -> &mut RelState {
        let slot = self.model.rel(rel).slot;
        &mut self.objects[id.0 as usize].rels[slot]
    }

    pub fn is_loaded(&self, id: ObjId, rel: RelId) -> bool {
        self.related(id, rel).is_some()
    }

    /// Marks a relationship as loaded with `related`.
    pub fn set_related(&mut self, id: ObjId, rel: RelId, related: Related) {
        *self.rel_state(id, rel) = RelState::Loaded { related, load: 0 };
    }

    /// The value of column `column` of the object.
    pub fn value(&self, id: ObjId, column: usize) -> &Value {
        &self.object(id).values[column]
    }

    /// The origin label for a statement issued for `node`.
    pub fn origin(&self, node: NodeId, strategy: Strategy) -> Origin {
        let n = self.plan.node(node);
        let rel = n.rel.expect("relationship node");
        Origin {
            loader: self.model.rel_display(rel).into(),
            path: Some(n.path.as_str().into()),
            strategy: Some(strategy),
        }
    }

    /// The strategy that loads `rel` of objects loaded at `parent_node`.
    pub fn strategy_for(&self, parent: ObjId, rel: RelId) -> Strategy {
        let object = self.object(parent);
        self.plan
            .strategy_below(self.model, object.node, rel, object.segment)
    }

    /// Loads root objects ordered by primary key (always returned in
    /// ascending order, whichever way the statement ran).
    pub fn load_root(&mut self, query: &RootQuery) -> Result<Vec<ObjId>> {
        let root = NodeId::ROOT;
        let entity_id = self.plan.root_entity();
        let entity = self.model.entity(entity_id);
        let pk = format!("{}.{}", entity.table, entity.pk_column());
        let mut conditions = Vec::new();
        if query.after.is_some() {
            conditions.push(format!("{pk} > ?"));
        }
        if query.from.is_some() {
            conditions.push(format!("{pk} >= ?"));
        }
        if query.before.is_some() {
            conditions.push(format!("{pk} < ?"));
        }
        let where_clause = (!conditions.is_empty()).then(|| conditions.join(" AND "));
        let params: Vec<Value> = query
            .after
            .iter()
            .chain(&query.from)
            .chain(&query.before)
            .map(Key::to_value)
            .collect();
        let backwards = query.before.is_some() || query.from_end;
        let order_by = vec![Order {
            qualifier: entity.table.clone(),
            column: entity.pk_column().to_string(),
            descending: backwards,
        }];
        let kind = QueryKind::Root {
            limit: query.limit.is_some(),
            after: query.after.is_some(),
            from: query.from.is_some(),
            before: backwards,
        };
        let prepared = self.prepare(kind, root, root, |s| {
            let mut spec = SelectSpec::new(
                entity_id,
                root,
                LabelStyle::Disambiguate,
                &s.model.entity(entity_id).table,
            );
            spec.where_clause = where_clause;
            spec.order_by = order_by;
            spec.limit = query.limit;
            spec.joined = s.joined_tree(root, root);
            spec
        });
        let loaded = self.execute(&prepared, params, Origin::root(&entity.name), root, None)?;
        let mut objects = loaded.objects();
        if backwards {
            objects.reverse();
        }
        Ok(objects)
    }

    /// Returns a cached statement for `(kind, node, segment)` or builds it.
    pub fn prepare(
        &mut self,
        kind: QueryKind,
        node: NodeId,
        segment: NodeId,
        build: impl FnOnce(&mut Session<'a>) -> SelectSpec,
    ) -> Rc<Prepared> {
        if let Some(p) = self.prepared.get(&(kind, node, segment)) {
            return p.clone();
        }
        let spec = build(self);
        let prepared = Rc::new(self.render(spec));
        self.prepared
            .insert((kind, node, segment), prepared.clone());
        prepared
    }

    pub fn render(&self, spec: SelectSpec) -> Prepared {
        let mut builder = SelectBuilder::new(spec.style);
        self.render_with(spec, &mut builder)
    }

    /// Renders with a builder that has already handed out aliases.
    pub fn render_with(&self, spec: SelectSpec, builder: &mut SelectBuilder) -> Prepared {
        let caller_params = spec.params.len();
        let base = Rc::new(QueryBase {
            entity: spec.entity,
            from: spec.from.clone(),
            where_clause: spec.where_clause.clone(),
            order_by: spec.order_by.clone(),
            limit: spec.limit,
        });
        let rendered = spec.render(self.model, builder);
        Prepared {
            base,
            sql: rendered.sql.into(),
            main: rendered.main,
            lead: rendered.lead,
            trail: rendered.trail,
            tail_params: rendered.params[caller_params..].to_vec(),
            repeats_children: rendered.repeats_children,
        }
    }

    /// The joined eager loads below `node` for a query that began at
    /// `segment`, creating their plan nodes.
    pub fn joined_tree(&mut self, node: NodeId, segment: NodeId) -> Vec<JoinedNode> {
        let entity = self.plan.node(node).entity;
        let rels = self.model.entity(entity).relationships.clone();
        let mut out = Vec::new();
        for rel in rels {
            let strategy = self.plan.strategy_below(self.model, node, rel, segment);
            if strategy.is_joined() {
                let child = self.plan.child_or_insert(self.model, node, rel);
                out.push(JoinedNode {
                    rel,
                    node: child,
                    inner: strategy == Strategy::JoinedInner,
                    children: self.joined_tree(child, segment),
                });
            }
        }
        out
    }

    /// Runs a prepared statement, turns its rows into objects (through the
    /// identity map), populates joined relationships, and then fires the
    /// eager loaders of everything it loaded. `load_origin` says how the
    /// loaded objects came to be for a `subquery` loader below them;
    /// `None` means this very statement.
    pub fn execute(
        &mut self,
        prepared: &Prepared,
        params: Vec<Value>,
        origin: Origin,
        segment: NodeId,
        load_origin: Option<LoadOrigin>,
    ) -> Result<Loaded> {
        let load_origin = load_origin.unwrap_or_else(|| LoadOrigin {
            base: prepared.base.clone(),
            params: params.clone(),
            hops: Vec::new(),
        });
        let load_origin = &load_origin;
        let mut params = params;
        params.extend(prepared.tail_params.iter().cloned());
        self.load_seq += 1;
        let load = self.load_seq;
        let key_column = prepared.lead.first().or(prepared.trail.first()).copied();
        let mut rows = Vec::new();
        let mut loaded_at: Vec<Vec<ObjId>> = Vec::new();
        let conn = self.conn;
        conn.run(&prepared.sql, params, origin, |row| {
            let key = key_column.and_then(|c| Key::from_ref(row.get_ref(c).ok()?));
            let obj = self.materialize(
                &prepared.main,
                row,
                load,
                segment,
                prepared.repeats_children,
                &mut loaded_at,
                0,
            )?;
            rows.push((key, obj));
            Ok(())
        })?;
        let loaded = Loaded { rows };
        let main_objects = loaded.objects();
        conn.set_last_distinct(main_objects.len());
        // Eager loaders of the main entity, then of each joined one.
        self.after_load(prepared.main.node, &main_objects, load_origin)?;
        let mut index = 1;
        self.after_joined_load(&prepared.main, &mut loaded_at, &mut index, load_origin)?;
        Ok(loaded)
    }

    fn after_joined_load(
        &mut self,
        slot: &Slot,
        loaded_at: &mut [Vec<ObjId>],
        index: &mut usize,
        origin: &LoadOrigin,
    ) -> Result<()> {
        for (rel, child) in &slot.joined {
            // A statement that returned no rows (a lazy load of an empty
            // collection with a joined load below) filled no slot.
            let mut objects = loaded_at
                .get_mut(*index - 1)
                .map(std::mem::take)
                .unwrap_or_default();
            let mut seen = std::collections::HashSet::new();
            objects.retain(|o| seen.insert(*o));
            *index += 1;
            let mut child_origin = origin.clone();
            child_origin.hops.push(*rel);
            self.after_load(child.node, &objects, &child_origin)?;
            self.after_joined_load(child, loaded_at, index, &child_origin)?;
        }
        Ok(())
    }

    /// Reads one slot's object from a row; `None` when its key is NULL (an
    /// outer join that found nothing).
    #[allow(clippy::too_many_arguments)]
    fn materialize(
        &mut self,
        slot: &Slot,
        row: &rusqlite::Row<'_>,
        load: u32,
        segment: NodeId,
        repeats: bool,
        loaded_at: &mut Vec<Vec<ObjId>>,
        depth_index: usize,
    ) -> Result<Option<ObjId>> {
        let entity = self.model.entity(slot.entity);
        let Some(key) = Key::from_ref(row.get_ref(slot.columns[entity.pk])?) else {
            return Ok(None);
        };
        let id = match self.identity[slot.entity.0].get(&key) {
            Some(id) => *id,
            None => {
                let values: Box<[Value]> = slot
                    .columns
                    .iter()
                    .map(|c| row.get_ref(*c).map(owned))
                    .collect::<rusqlite::Result<_>>()?;
                let id = ObjId(self.objects.len() as u32);
                self.objects.push(Object {
                    entity: slot.entity,
                    key: key.clone(),
                    values,
                    rels: vec![RelState::Unloaded; entity.relationships.len()].into(),
                    node: slot.node,
                    segment,
                });
                self.identity[slot.entity.0].insert(key, id);
                id
            }
        };
        let mut index = depth_index;
        for (rel, child_slot) in &slot.joined {
            index += 1;
            if loaded_at.len() < index {
                loaded_at.resize(index, Vec::new());
            }
            let child =
                self.materialize(child_slot, row, load, segment, repeats, loaded_at, index)?;
            if let Some(c) = child {
                loaded_at[index - 1].push(c);
            }
            index += count_slots(child_slot);
            self.populate(id, *rel, child, load, repeats);
        }
        Ok(Some(id))
    }

    /// Adds a joined row's child to its parent's attribute, unless that
    /// attribute was loaded before this statement.
    fn populate(
        &mut self,
        parent: ObjId,
        rel: RelId,
        child: Option<ObjId>,
        load: u32,
        repeats: bool,
    ) {
        let collection = self.model.rel(rel).is_collection();
        let state = self.rel_state(parent, rel);
        match state {
            RelState::Loaded { load: l, .. } if *l != load => {}
            RelState::Unloaded => {
                let related = match (collection, child) {
                    (true, c) => Related::Many(c.into_iter().collect()),
                    (false, c) => Related::One(c),
                };
                *state = RelState::Loaded { related, load };
            }
            RelState::Loaded { related, .. } => {
                if let (Related::Many(items), Some(c)) = (related, child) {
                    let present = if repeats {
                        items.contains(&c)
                    } else {
                        items.last() == Some(&c)
                    };
                    if !present {
                        items.push(c);
                    }
                }
            }
        }
    }

    /// Fires the eager loaders (selectin, subquery, immediate, noload) of
    /// objects just loaded at `node`.
    pub fn after_load(
        &mut self,
        node: NodeId,
        objects: &[ObjId],
        origin: &LoadOrigin,
    ) -> Result<()> {
        let Some(first) = objects.first() else {
            return Ok(());
        };
        let entity = self.object(*first).entity;
        let segment = self.object(*first).segment;
        for rel in self.model.entity(entity).relationships.clone() {
            let strategy = self.plan.strategy_below(self.model, node, rel, segment);
            if !loader::fires_after_load(strategy) {
                continue;
            }
            let parents: Vec<ObjId> = objects
                .iter()
                .copied()
                .filter(|o| !self.is_loaded(*o, rel))
                .collect();
            if parents.is_empty() {
                continue;
            }
            let child = self.plan.child_or_insert(self.model, node, rel);
            if let Some(queue) = self.deferred.as_mut() {
                // Loads of one path merge into one batch, except subquery
                // loads: each re-states the statement that fired it.
                let mergeable = strategy != Strategy::Subquery;
                match queue.iter_mut().find(|d| mergeable && d.node == child) {
                    Some(entry) => {
                        for parent in parents {
                            if !entry.parents.contains(&parent) {
                                entry.parents.push(parent);
                            }
                        }
                    }
                    None => queue.push_back(Deferred {
                        node: child,
                        parents,
                        origin: origin.clone(),
                    }),
                }
                continue;
            }
            loader::for_strategy(strategy).after_parents_loaded(self, child, &parents, origin)?;
        }
        Ok(())
    }

    /// Touches `parent.rel` as application code would (`user.posts`).
    pub fn access(&mut self, parent: ObjId, rel: RelId) -> Result<Access> {
        let strategy = self.strategy_for(parent, rel);
        let node = self
            .plan
            .child_or_insert(self.model, self.object(parent).node, rel);
        // Dynamic and write-only attributes are queries, never cached.
        if let Some(related) = self.related(parent, rel)
            && !matches!(strategy, Strategy::Dynamic | Strategy::WriteOnly)
        {
            return Ok(Access::Loaded(related.clone()));
        }
        loader::for_strategy(strategy).access(self, parent, node)
    }

    /// Runs a write-only collection's explicit `select()`.
    pub fn select_write_only(&mut self, parent: ObjId, rel: RelId) -> Result<Vec<ObjId>> {
        let node = self
            .plan
            .child_or_insert(self.model, self.object(parent).node, rel);
        loader::write_only::select(self, parent, node)
    }
}

fn count_slots(slot: &Slot) -> usize {
    slot.joined.iter().map(|(_, s)| 1 + count_slots(s)).sum()
}
