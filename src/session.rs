//! The session: an identity map of loaded objects, the load plan, and the
//! plumbing every loader shares (running a statement through the traced
//! connection, turning rows into objects, and firing the eager loaders of
//! what was just loaded). Which strategy does what lives in `loader/`.

use crate::db::value::owned;
use crate::db::{Key, Origin, TracedConnection};
use crate::loader::sql::{JoinedNode, LabelStyle, Order, SelectBuilder, SelectSpec, Slot};
use crate::loader::{self, FirstSight, LoadTime};
use crate::model::{EntityId, Model, RelId};
use crate::plan::{JoinedBelow, LoadPlan, NodeId};
use crate::strategy::Strategy;
use anyhow::Result;
use rusqlite::types::{Value, ValueRef};
use rustc_hash::{FxHashMap, FxHashSet};
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
    /// Not loaded, and a later statement made `strategy` its loader:
    /// SQLAlchemy's per-instance lazy callable (see `Session::first_sight`).
    Lazy(Strategy),
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
    /// Where its column values start in the session's value store (as
    /// many as the entity has columns).
    values_at: u32,
    /// Empty until a relationship of it is first set: most objects of a
    /// large load never have one.
    rels: Box<[RelState]>,
    /// The plan node it was first loaded at (SQLAlchemy's load path).
    pub node: NodeId,
    /// The node where the query that loaded it began (eager loading never
    /// loops back to an entity already on the path since then).
    pub segment: NodeId,
    /// The statement (load number) that created it, the last one whose
    /// rows held it, and the node where that statement first met it.
    created: u32,
    seen: u32,
    seen_at: NodeId,
}

/// An object a post-load (selectin, immediate) applies to. `overwrite`:
/// the statement that fired the load created the object, and a selectin
/// load then sets the attribute even if it is loaded; otherwise only if it
/// is not loaded yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadTarget {
    pub object: ObjId,
    pub overwrite: bool,
}

/// A load that runs once a statement's rows are in: the relationship at
/// `node` of `targets`, by `strategy`.
#[derive(Clone, Debug)]
pub struct PostLoad {
    pub node: NodeId,
    pub strategy: Strategy,
    /// Where the query that loaded the targets began.
    pub segment: NodeId,
    pub targets: Vec<LoadTarget>,
    /// Registered with no-fetch flags, so that an `immediate` many-to-one
    /// only takes what the identity map has: SQLAlchemy keeps the last
    /// registration of a path, and one made when the path was already
    /// registered for the same round, or when the model's `immediate`
    /// reached an entity already on the path, has these flags
    /// (`_ImmediateLoader.create_row_processor`).
    pub no_fetch: bool,
    /// Position of each target, built when a second statement merges in.
    index: Option<HashMap<ObjId, usize>>,
}

impl PostLoad {
    fn new(node: NodeId, strategy: Strategy, segment: NodeId) -> PostLoad {
        PostLoad {
            node,
            strategy,
            segment,
            targets: Vec::new(),
            no_fetch: false,
            index: None,
        }
    }

    /// SQLAlchemy keeps one post-load per path: a target already in it
    /// keeps its place and takes the new `overwrite`.
    fn merge(&mut self, targets: Vec<LoadTarget>) {
        if self.targets.is_empty() {
            self.targets = targets;
            return;
        }
        let index = self.index.get_or_insert_with(|| {
            self.targets
                .iter()
                .enumerate()
                .map(|(i, t)| (t.object, i))
                .collect()
        });
        for target in targets {
            match index.get(&target.object) {
                Some(i) => self.targets[*i].overwrite = target.overwrite,
                None => {
                    index.insert(target.object, self.targets.len());
                    self.targets.push(target);
                }
            }
        }
    }

    /// The targets whose attribute this load sets.
    pub fn to_set(&self, session: &Session<'_>) -> Vec<ObjId> {
        let rel = session.plan.node(self.node).rel.expect("relationship node");
        self.targets
            .iter()
            .filter(|t| t.overwrite || !session.is_loaded(t.object, rel))
            .map(|t| t.object)
            .collect()
    }
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
    /// The node of the base statement's own objects.
    pub node: NodeId,
}

#[derive(Clone, Debug)]
pub struct QueryBase {
    pub entity: EntityId,
    /// The FROM clause before joined eager loads (`posts, post_tags` for a
    /// lazy many-to-many load).
    pub from: String,
    pub where_clause: Option<String>,
    pub criterion: Option<String>,
    pub order_by: Vec<Order>,
    pub limit: Option<i64>,
}

/// A statement ready to run: its text, and where each object's columns are.
pub struct Prepared {
    pub sql: Arc<str>,
    pub main: Slot,
    pub lead: Vec<usize>,
    pub trail: Vec<usize>,
    /// Its parameters in text order: the caller's arguments and the values
    /// fixed in it.
    pub binds: Vec<crate::dialect::Bind>,
    pub repeats_children: bool,
    /// A lazy load (select, immediate): SQLAlchemy runs it with
    /// `invoke_all_eagers` off, so objects it finds already in the identity
    /// map get no selectin or immediate loads.
    pub lazy: bool,
    /// The statement as a `subquery` loader below it re-states it.
    pub base: Rc<QueryBase>,
    /// The eager loads of its objects, worked out on its first run for a
    /// segment (a cached statement runs thousands of times).
    pub eager: std::cell::RefCell<Option<(NodeId, Rc<[Eager]>)>>,
}

/// An eager load of the objects of one slot of a statement: slot index,
/// relationship, plan node, strategy.
pub type Eager = (usize, RelId, NodeId, Strategy);

/// What a statement loaded: the main entity's object (if the row had one)
/// and the key in its lead or trail column, per row.
pub struct Loaded {
    pub rows: Vec<(Option<Key>, Option<ObjId>)>,
    /// Each row holds a different object (no join and no key column can
    /// repeat one), so no set is needed to drop repeats.
    pub unique: bool,
}

impl Loaded {
    /// Distinct objects in the order they first appeared.
    pub fn objects(&self) -> Vec<ObjId> {
        if self.unique {
            return self.rows.iter().filter_map(|(_, o)| *o).collect();
        }
        let mut seen = FxHashSet::default();
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
        descending: bool,
    },
    Lazy,
    WriteOnly,
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
    identity: Vec<FxHashMap<Key, ObjId>>,
    /// The column values of every object, one after the other.
    values: Vec<Value>,
    origins: FxHashMap<(NodeId, Strategy), Origin>,
    load_seq: u32,
    prepared: FxHashMap<(QueryKind, NodeId, NodeId), Rc<Prepared>>,
    /// The loaders that act on an object the first time a statement meets
    /// it, per `(node, segment)` (see `first_sight`).
    first_sight_loaders: FxHashMap<(NodeId, NodeId), FirstSightLoaders>,
    /// The next round of post-loads (selectin, immediate) of the top-level
    /// statement being finished; `None` outside one. See `execute`.
    post_loads: Option<Vec<PostLoad>>,
    /// What the navigation adds to a dynamic node's query (its filter,
    /// order, limit).
    pub queries: FxHashMap<NodeId, crate::loader::dynamic::DynamicQuery>,
}

impl<'a> Session<'a> {
    pub fn new(model: &'a Model, conn: &'a TracedConnection, plan: LoadPlan) -> Session<'a> {
        Session {
            model,
            conn,
            plan,
            objects: Vec::new(),
            identity: vec![FxHashMap::default(); model.entities.len()],
            origins: FxHashMap::default(),
            values: Vec::new(),
            load_seq: 0,
            prepared: FxHashMap::default(),
            queries: FxHashMap::default(),
            first_sight_loaders: FxHashMap::default(),
            post_loads: None,
        }
    }

    pub fn object(&self, id: ObjId) -> &Object {
        &self.objects[id.0 as usize]
    }

    /// The object of `entity`'s hierarchy with `key`, whatever its class.
    pub fn lookup(&self, entity: EntityId, key: &Key) -> Option<ObjId> {
        self.identity[self.model.identity_root(entity).0]
            .get(key)
            .copied()
    }

    /// The label column's value as text (empty for NULL).
    pub fn label(&self, id: ObjId) -> Option<&Value> {
        let object = self.object(id);
        let entity = self.model.entity(object.entity);
        entity
            .label
            .map(|i| &self.values[object.values_at as usize + i])
    }

    /// The loaded value of a relationship, if it is loaded.
    pub fn related(&self, id: ObjId, rel: RelId) -> Option<&Related> {
        let slot = self.model.rel(rel).slot;
        match self
            .object(id)
            .rels
            .get(slot)
            .unwrap_or(&RelState::Unloaded)
        {
            RelState::Loaded { related, .. } => Some(related),
            RelState::Unloaded | RelState::Lazy(_) => None,
        }
    }

    fn rel_state(&mut self, id: ObjId, rel: RelId) -> &mut RelState {
        let slot = self.model.rel(rel).slot;
        let count = self
            .model
            .entity(self.objects[id.0 as usize].entity)
            .relationships
            .len();
        let rels = &mut self.objects[id.0 as usize].rels;
        if rels.is_empty() {
            *rels = vec![RelState::Unloaded; count].into();
        }
        &mut rels[slot]
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
        &self.values[self.object(id).values_at as usize + column]
    }

    /// The origin label for a statement issued for `node`; made once per
    /// node and strategy, then shared by every statement of that loader.
    pub fn origin(&mut self, node: NodeId, strategy: Strategy) -> Origin {
        if let Some(origin) = self.origins.get(&(node, strategy)) {
            return origin.clone();
        }
        let n = self.plan.node(node);
        let rel = n.rel.expect("relationship node");
        let origin = Origin {
            loader: self.model.rel_display(rel).into(),
            path: Some(n.path.as_str().into()),
            strategy: Some(strategy),
            kind: loader::for_strategy(strategy).statement_kind(),
        };
        self.origins.insert((node, strategy), origin.clone());
        origin
    }

    /// The strategy that loads `rel` of objects loaded at `parent_node`.
    pub fn strategy_for(&self, parent: ObjId, rel: RelId) -> Strategy {
        let object = self.object(parent);
        if let Some(RelState::Lazy(strategy)) = object.rels.get(self.model.rel(rel).slot) {
            return *strategy;
        }
        self.plan
            .strategy_below(self.model, object.node, rel, object.segment)
    }

    /// Loads root objects ordered by primary key (always returned in
    /// ascending order, whichever way the statement ran).
    pub fn load_root(&mut self, query: &RootQuery) -> Result<Vec<ObjId>> {
        let root = NodeId::ROOT;
        let entity_id = self.plan.root_entity();
        let entity = self.model.entity(entity_id);
        // Keyset paging over the whole key: `(a, b) > (?, ?)` for a
        // composite one, as SQLite compares row values.
        let pk: Vec<String> = entity
            .pk_columns()
            .map(|c| crate::dialect::qualified(&entity.table, c))
            .collect();
        let pk = match pk.as_slice() {
            [one] => one.clone(),
            _ => format!("({})", pk.join(", ")),
        };
        let arity = entity.pk.len();
        let mut conditions = Vec::new();
        for (key, op) in [
            (&query.after, ">"),
            (&query.from, ">="),
            (&query.before, "<"),
        ] {
            if key.is_some() {
                let first = conditions.len() * arity;
                let bind = match entity.pk_columns().collect::<Vec<_>>()[..] {
                    [column] => crate::dialect::arg_for(
                        first,
                        column,
                        self.model.column_type(&entity.table, column),
                    ),
                    _ => crate::dialect::args(first, arity),
                };
                conditions.push(format!("{pk} {op} {bind}"));
            }
        }
        let where_clause = (!conditions.is_empty()).then(|| conditions.join(" AND "));
        let params: Vec<Value> = query
            .after
            .iter()
            .chain(&query.from)
            .chain(&query.before)
            .flat_map(Key::params)
            .collect();
        let backwards = query.before.is_some() || query.from_end;
        let order_by = entity
            .pk_columns()
            .map(|c| Order {
                qualifier: entity.table.clone(),
                column: c.to_string(),
                descending: backwards,
            })
            .collect();
        let kind = QueryKind::Root {
            limit: query.limit.is_some(),
            after: query.after.is_some(),
            from: query.from.is_some(),
            before: query.before.is_some(),
            descending: backwards,
        };
        let prepared = self.prepare(kind, root, root, |s| {
            let mut spec = SelectSpec::new(
                entity_id,
                root,
                LabelStyle::Disambiguate,
                &s.model.entity(entity_id).table,
            );
            spec.where_clause = where_clause;
            spec.criterion = crate::loader::sql::class_criterion(s.model, entity_id, &entity.table);
            spec.order_by = order_by;
            spec.limit = query.limit;
            let mut multi_row = false;
            spec.joined = s.joined_below(root, root, &mut multi_row);
            spec.multi_row = multi_row;
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
        let prepared = self.render(spec);
        self.keep_prepared(kind, node, segment, prepared)
    }

    /// As [`Self::prepare`], for a statement that names anonymous aliases
    /// of its own (`customers_1`) before its joined eager loads add theirs.
    pub fn prepare_aliased(
        &mut self,
        kind: QueryKind,
        node: NodeId,
        segment: NodeId,
        style: LabelStyle,
        build: impl FnOnce(&mut Session<'a>, &mut SelectBuilder) -> SelectSpec,
    ) -> Rc<Prepared> {
        if let Some(p) = self.prepared.get(&(kind, node, segment)) {
            return p.clone();
        }
        let mut builder = SelectBuilder::new(style, self.conn.dialect());
        let spec = build(self, &mut builder);
        let prepared = self.render_with(spec, &mut builder);
        self.keep_prepared(kind, node, segment, prepared)
    }

    fn keep_prepared(
        &mut self,
        kind: QueryKind,
        node: NodeId,
        segment: NodeId,
        mut prepared: Prepared,
    ) -> Rc<Prepared> {
        prepared.lazy = kind == QueryKind::Lazy;
        let prepared = Rc::new(prepared);
        self.prepared
            .insert((kind, node, segment), prepared.clone());
        prepared
    }

    pub fn render(&self, spec: SelectSpec) -> Prepared {
        let mut builder = SelectBuilder::new(spec.style, self.conn.dialect());
        self.render_with(spec, &mut builder)
    }

    /// Renders with a builder that has already handed out aliases.
    pub fn render_with(&self, spec: SelectSpec, builder: &mut SelectBuilder) -> Prepared {
        let base = Rc::new(QueryBase {
            entity: spec.entity,
            from: spec.base_from.clone().unwrap_or_else(|| spec.from.clone()),
            where_clause: spec.where_clause.clone(),
            criterion: spec.criterion.clone(),
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
            binds: rendered.binds,
            repeats_children: rendered.repeats_children,
            lazy: false,
            eager: Default::default(),
        }
    }

    /// The joined eager loads of a statement whose own objects are at
    /// `node`, creating their plan nodes.
    pub fn joined_tree(&mut self, node: NodeId) -> Vec<JoinedNode> {
        self.joined_below(node, node, &mut false)
    }

    /// `multi_row`: a joined collection was considered, joined or stopped
    /// at a cycle; SQLAlchemy then wraps a LIMITed statement either way
    /// (`_JoinedLoader.setup_query` sets `multi_row_eager_loaders` before
    /// its cycle check).
    fn joined_below(
        &mut self,
        node: NodeId,
        statement: NodeId,
        multi_row: &mut bool,
    ) -> Vec<JoinedNode> {
        let entity = self.plan.node(node).entity;
        let rels = self.model.entity(entity).relationships.clone();
        let mut out = Vec::new();
        for rel in rels {
            let strategy = match self.plan.joined_below(self.model, node, rel, statement) {
                JoinedBelow::Join(strategy) => strategy,
                JoinedBelow::Stopped => {
                    *multi_row |= self.model.rel(rel).is_collection();
                    continue;
                }
                JoinedBelow::No => continue,
            };
            *multi_row |= self.model.rel(rel).is_collection();
            let child = self.plan.child_or_insert(self.model, node, rel);
            out.push(JoinedNode {
                rel,
                node: child,
                inner: loader::joined::is_inner(strategy, self.model.rel(rel).innerjoin),
                children: self.joined_below(child, statement, multi_row),
            });
        }
        out
    }

    /// Runs a prepared statement, turns its rows into objects (through the
    /// identity map), populates joined relationships, and then fires the
    /// eager loaders of everything it loaded. `load_origin` says how the
    /// loaded objects came to be for a `subquery` loader below them;
    /// `None` means this very statement.
    ///
    /// The eager loaders run as SQLAlchemy runs them:
    /// - `subquery` loads run while the rows are turned into objects, at the
    ///   first row that needs each: SQLAlchemy fetches every row, then makes
    ///   objects row by row, so what a subquery load (and the loads it
    ///   fires) finds in the identity map does not include the objects of
    ///   later rows. Here the rows after that one wait in a buffer.
    /// - `selectin` and `immediate` loads are post-loads. A top-level
    ///   statement runs them once all its rows are in, round after round,
    ///   merged per path (`loading.instances`); a statement that is itself
    ///   a post-load (or a subquery load of one) adds its own to the queue
    ///   of the top-level statement it serves (`sa_top_level_orm_context`),
    ///   where their paths are registered before its rows are read.
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
            node: prepared.main.node,
        });
        let params = crate::dialect::Bind::resolve(&prepared.binds, params);
        self.load_seq += 1;
        let load = self.load_seq;

        // The slots (main, then joined depth first) and their eager loads.
        let mut slots = vec![(prepared.main.node, load_origin.clone())];
        slot_origins(&prepared.main, &load_origin, &mut slots);
        let eager = self.eager_loads(prepared, &slots, segment);
        let top_level = self.post_loads.is_none();
        let mut queue = self.post_loads.take().unwrap_or_default();
        for (index, rel, child, strategy) in eager.iter() {
            if loader::load_time(*strategy) == LoadTime::WhileRowsRead {
                continue;
            }
            match queue.iter_mut().find(|p| p.node == *child) {
                Some(entry) => entry.no_fetch = true,
                None => {
                    let mut load = PostLoad::new(*child, *strategy, segment);
                    load.no_fetch =
                        self.plan
                            .immediate_no_fetch(self.model, slots[*index].0, *rel, segment);
                    queue.push(load);
                }
            }
        }
        // A subquery load of a top-level statement is a top-level load of
        // its own; one of a post-load adds to the same queue.
        let mut own_queue = None;
        if top_level {
            own_queue = Some(queue);
        } else {
            self.post_loads = Some(queue);
        }

        let mut reader = RowReader {
            prepared,
            load,
            segment,
            lazy: prepared.lazy,
            key_columns: if prepared.lead.is_empty() {
                &prepared.trail
            } else {
                &prepared.lead
            },
            subqueries: eager
                .iter()
                .filter(|e| loader::load_time(e.3) == LoadTime::WhileRowsRead)
                .map(|(index, rel, child, _)| RowSubquery {
                    slot: *index,
                    parents: slots[*index].0,
                    rel: *rel,
                    node: *child,
                    due: false,
                    fetched: None,
                })
                .collect(),
            rows: Vec::new(),
            loaded_at: Vec::new(),
            buffer: None,
            main_keys: std::collections::HashSet::new(),
        };
        let conn = self.conn;
        conn.run(&prepared.sql, params, origin, |row| {
            if let Some(buffer) = reader.buffer.as_mut() {
                let values = (0..row.column_count())
                    .map(|i| row.get_ref(i).map(owned))
                    .collect::<rusqlite::Result<Box<[Value]>>>()?;
                buffer.push(values);
                return Ok(());
            }
            if reader.read(self, &row)? {
                // A subquery load is due: it runs once the statement is done.
                reader.buffer = Some(Vec::new());
            }
            Ok(())
        })?;
        let unique = prepared.main.joined.is_empty()
            && prepared.lead.is_empty()
            && prepared.trail.is_empty();
        let distinct = if reader.subqueries.is_empty() && unique {
            reader.rows.iter().filter(|(_, o)| o.is_some()).count()
        } else if reader.subqueries.is_empty() {
            let mut seen = FxHashSet::default();
            reader
                .rows
                .iter()
                .filter(|(_, o)| o.is_some_and(|o| seen.insert(o)))
                .count()
        } else {
            let main = &prepared.main;
            let pk: Vec<usize> = self
                .model
                .entity(main.entity)
                .pk
                .iter()
                .map(|c| main.columns[*c])
                .collect();
            for values in reader.buffer.iter().flatten() {
                if let Some(key) = row_key(&values[..], &pk)? {
                    reader.main_keys.insert(key);
                }
            }
            reader.main_keys.len()
        };
        conn.set_last_distinct(distinct);
        reader.fetch_due(self, &slots)?;
        for values in reader.buffer.take().unwrap_or_default() {
            reader.read(self, &values[..])?;
            reader.fetch_due(self, &slots)?;
        }

        let RowReader {
            rows,
            mut loaded_at,
            ..
        } = reader;
        // Without joins or key columns, no row repeats an object.
        let loaded = Loaded { rows, unique };
        let mut objects = vec![loaded.objects()];
        for index in 1..slots.len() {
            // A statement that returned no rows (a lazy load of an empty
            // collection with a joined load below) filled no slot.
            let mut at = loaded_at
                .get_mut(index - 1)
                .map(std::mem::take)
                .unwrap_or_default();
            let mut seen = std::collections::HashSet::new();
            at.retain(|o| seen.insert(*o));
            objects.push(at);
        }
        let lazy = prepared.lazy;
        let mut queue = own_queue
            .or_else(|| self.post_loads.take())
            .expect("a queue");
        for &(index, _, child, strategy) in eager.iter() {
            if loader::load_time(strategy) == LoadTime::WhileRowsRead {
                continue;
            }
            // An object the statement did not create gets no post-load
            // from a lazy load.
            let targets: Vec<LoadTarget> = objects[index]
                .iter()
                .map(|o| LoadTarget {
                    object: *o,
                    overwrite: self.object(*o).created == load,
                })
                .filter(|t| t.overwrite || !lazy)
                .collect();
            if let Some(entry) = queue.iter_mut().find(|p| p.node == child) {
                entry.merge(targets);
            }
        }
        self.post_loads = Some(queue);
        if top_level {
            let result = self.run_post_loads();
            self.post_loads = None;
            result?;
        }
        Ok(loaded)
    }

    /// The eager loads (selectin, immediate, subquery, noload) of the
    /// objects of each slot of `prepared`, computed once per segment.
    fn eager_loads(
        &mut self,
        prepared: &Prepared,
        slots: &[(NodeId, LoadOrigin)],
        segment: NodeId,
    ) -> Rc<[Eager]> {
        if let Some((cached_segment, eager)) = &*prepared.eager.borrow()
            && *cached_segment == segment
        {
            return eager.clone();
        }
        let mut eager = Vec::new();
        for (index, (node, _)) in slots.iter().enumerate() {
            let entity = self.plan.node(*node).entity;
            for &rel in &self.model.entity(entity).relationships {
                let strategy = self.plan.strategy_below(self.model, *node, rel, segment);
                if loader::load_time(strategy).with_parents() {
                    let child = self.plan.child_or_insert(self.model, *node, rel);
                    eager.push((index, rel, child, strategy));
                }
            }
        }
        let eager: Rc<[Eager]> = eager.into();
        *prepared.eager.borrow_mut() = Some((segment, eager.clone()));
        eager
    }

    /// Runs the queued post-loads round by round: what a round's statements
    /// add waits for the next round, even for a path still queued in this
    /// one.
    fn run_post_loads(&mut self) -> Result<()> {
        loop {
            let round = std::mem::take(self.post_loads.as_mut().expect("post-loads running"));
            if round.is_empty() {
                return Ok(());
            }
            for load in round.iter().filter(|l| !l.targets.is_empty()) {
                loader::for_strategy(load.strategy).after_parents_loaded(self, load)?;
            }
        }
    }

    /// Reads one slot's object from a row; `None` when its key is NULL (an
    /// outer join that found nothing).
    #[allow(clippy::too_many_arguments)]
    fn materialize<R: RowValues + ?Sized>(
        &mut self,
        slot: &Slot,
        row: &R,
        load: u32,
        segment: NodeId,
        repeats: bool,
        loaded_at: &mut Vec<Vec<ObjId>>,
        depth_index: usize,
    ) -> Result<Option<ObjId>> {
        let entity = self.model.entity(slot.entity);
        let key = match entity.pk.as_slice() {
            [pk] => Key::from_ref(row.value(slot.columns[*pk])?),
            pk => Key::compose(
                pk.iter()
                    .map(|c| row.value(slot.columns[*c]).map(Key::from_ref))
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            ),
        };
        let Some(key) = key else {
            return Ok(None);
        };
        let root = self.model.identity_root(slot.entity);
        let id = match self.identity[root.0].get(&key) {
            Some(id) => *id,
            None => {
                let class = self.class_of(slot, row)?;
                // One store for every object's values: no allocation per
                // object beyond the values themselves. A subclass's own
                // columns a statement for its base did not select stay
                // NULL (SQLAlchemy would load them when read).
                let values_at = self.values.len() as u32;
                for c in &slot.columns {
                    self.values.push(owned(row.value(*c)?));
                }
                let unselected = self.model.entity(class).columns.len() - slot.columns.len();
                self.values
                    .extend(std::iter::repeat_n(Value::Null, unselected));
                let id = ObjId(self.objects.len() as u32);
                self.objects.push(Object {
                    entity: class,
                    key: key.clone(),
                    values_at,
                    rels: Box::new([]),
                    node: slot.node,
                    segment,
                    created: load,
                    seen: 0,
                    seen_at: slot.node,
                });
                self.identity[root.0].insert(key, id);
                id
            }
        };
        if self.objects[id.0 as usize].seen != load {
            self.objects[id.0 as usize].seen = load;
            self.objects[id.0 as usize].seen_at = slot.node;
            self.first_sight(id, slot.node, segment, load);
        }
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

    /// The class a row of `slot` comes back as: the one its discriminator
    /// names (SQLAlchemy's polymorphic loading), else the slot's own.
    fn class_of<R: RowValues + ?Sized>(&self, slot: &Slot, row: &R) -> Result<EntityId> {
        let entity = self.model.entity(slot.entity);
        let Some(poly) = &entity.polymorphic else {
            return Ok(slot.entity);
        };
        let Some(on) = poly.on else {
            return Ok(slot.entity);
        };
        let Some(discriminator) = Key::from_ref(row.value(slot.columns[on])?) else {
            return Ok(slot.entity);
        };
        match poly.classes.iter().find(|(k, _)| *k == discriminator) {
            Some((_, class)) => Ok(*class),
            None => anyhow::bail!(
                "No such polymorphic_identity '{}' is defined (in {}.{} of {})",
                discriminator,
                entity.table,
                entity.columns[on],
                entity.name
            ),
        }
    }

    /// SQLAlchemy's "new" populators: the first time a statement meets an
    /// object (one it creates, or one already in the identity map), the
    /// loaders of the path where it meets it set up the attributes that are
    /// not loaded yet. `noload` empties them; `raise`, `raise_on_sql`, or a
    /// `select` that is not the relationship's own lazy loader, becomes the
    /// attribute's loader (a per-instance lazy callable), so an object first
    /// loaded elsewhere now raises there. Meeting it again in the same
    /// statement changes nothing.
    fn first_sight(&mut self, id: ObjId, node: NodeId, segment: NodeId, load: u32) {
        let loaders = match self.first_sight_loaders.get(&(node, segment)) {
            Some(loaders) => loaders.clone(),
            None => {
                let model = self.model;
                let entity = self.plan.node(node).entity;
                let loaders: FirstSightLoaders = model
                    .entity(entity)
                    .relationships
                    .iter()
                    .map(|rel| (*rel, self.plan.strategy_below(model, node, *rel, segment)))
                    .filter(|(rel, strategy)| {
                        match loader::for_strategy(*strategy).on_first_sight() {
                            FirstSight::Empty => true,
                            FirstSight::LazyCallable => {
                                *strategy != class_level_loader(model.rel(*rel).lazy)
                            }
                            FirstSight::Nothing => false,
                        }
                    })
                    .collect();
                self.first_sight_loaders
                    .insert((node, segment), loaders.clone());
                loaders
            }
        };
        // An object this statement created was loaded at `node`: its
        // attributes already follow that node's loaders.
        let created = self.object(id).created == load;
        for (rel, strategy) in loaders.iter() {
            let collection = self.model.rel(*rel).is_collection();
            let state = self.rel_state(id, *rel);
            if matches!(state, RelState::Loaded { .. }) {
                continue;
            }
            match loader::for_strategy(*strategy).on_first_sight() {
                FirstSight::Empty => {
                    *state = RelState::Loaded {
                        related: Related::empty(collection),
                        load: 0,
                    }
                }
                FirstSight::LazyCallable if !created => *state = RelState::Lazy(*strategy),
                _ => {}
            }
        }
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
        // SQLAlchemy starts a joined collection afresh the first time a
        // statement's rows reach it for an object the statement created,
        // even if it is loaded (a `noload` elsewhere in the same rows set
        // it empty); an object from the identity map keeps what it had.
        let restart = collection && self.object(parent).created == load;
        let state = self.rel_state(parent, rel);
        match state {
            // This statement is filling it: add the row's child.
            RelState::Loaded { related, load: l } if *l == load => {
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
            // Loaded before this statement met the object: left alone.
            RelState::Loaded { .. } if !restart => {}
            _ => {
                let related = match (collection, child) {
                    (true, c) => Related::Many(c.into_iter().collect()),
                    (false, c) => Related::One(c),
                };
                *state = RelState::Loaded { related, load };
            }
        }
    }

    /// Touches `parent.rel` as application code would (`user.posts`).
    pub fn access(&mut self, parent: ObjId, rel: RelId) -> Result<Access> {
        let strategy = self.strategy_for(parent, rel);
        let node = self
            .plan
            .child_or_insert(self.model, self.object(parent).node, rel);
        // Dynamic and write-only attributes are queries, never cached.
        if let Some(related) = self.related(parent, rel)
            && !strategy.attribute().needs_collection()
        {
            let related = related.clone();
            self.no_sql(node, strategy, "already loaded");
            return Ok(Access::Loaded(related));
        }
        loader::for_strategy(strategy).access(self, parent, node)
    }

    /// Logs that an access of the relationship at `node` needed no SQL
    /// (when the log keeps such accesses).
    pub fn no_sql(&mut self, node: NodeId, strategy: Strategy, reason: &'static str) {
        if self.conn.keeps_no_sql() {
            let origin = self.origin(node, strategy);
            self.conn.no_sql(&origin.loader, strategy, reason);
        }
    }

    /// Runs a write-only collection's explicit `select()`.
    pub fn select_write_only(&mut self, parent: ObjId, rel: RelId) -> Result<Vec<ObjId>> {
        let node = self
            .plan
            .child_or_insert(self.model, self.object(parent).node, rel);
        loader::write_only::select(self, parent, node)
    }
}

/// Relationships whose loader acts when a statement first meets an object.
type FirstSightLoaders = Rc<[(RelId, Strategy)]>;

/// The loader an attribute has on its class: the relationship's own lazy
/// loader (see `loader::class_level`).
fn class_level_loader(lazy: Strategy) -> Strategy {
    loader::class_level(lazy)
}

/// The node of each joined slot below `slot`, depth first, each with the
/// origin a `subquery` loader below it re-states.
fn slot_origins(slot: &Slot, origin: &LoadOrigin, out: &mut Vec<(NodeId, LoadOrigin)>) {
    for (rel, child) in &slot.joined {
        let mut child_origin = origin.clone();
        child_origin.hops.push(*rel);
        out.push((child.node, child_origin.clone()));
        slot_origins(child, &child_origin, out);
    }
}

/// A result row, read as it streams or from the buffer.
trait RowValues {
    fn value(&self, index: usize) -> rusqlite::Result<ValueRef<'_>>;
}

impl RowValues for crate::db::Row<'_> {
    fn value(&self, index: usize) -> rusqlite::Result<ValueRef<'_>> {
        self.get_ref(index)
    }
}

impl RowValues for [Value] {
    fn value(&self, index: usize) -> rusqlite::Result<ValueRef<'_>> {
        Ok(ValueRef::from(&self[index]))
    }
}

/// The key held by `columns` of a row: `None` when there are no such
/// columns or one of them is NULL.
fn row_key<R: RowValues + ?Sized>(row: &R, columns: &[usize]) -> rusqlite::Result<Option<Key>> {
    match columns {
        [] => Ok(None),
        [c] => Ok(Key::from_ref(row.value(*c)?)),
        _ => Ok(Key::compose(
            columns
                .iter()
                .map(|c| row.value(*c).map(Key::from_ref))
                .collect::<rusqlite::Result<Vec<_>>>()?,
        )),
    }
}

/// A subquery load below a statement, as its rows are read.
struct RowSubquery {
    slot: usize,
    /// The node of the objects it loads for, and its own.
    parents: NodeId,
    rel: RelId,
    node: NodeId,
    /// Due to run once the current row is read.
    due: bool,
    /// What it fetched, once it ran, and the objects already given theirs.
    fetched: Option<(loader::subquery::Fetched, std::collections::HashSet<ObjId>)>,
}

/// Turns one statement's rows into objects, runs its subquery loads when
/// a row first needs them and hands their results to the objects (see
/// `Session::execute`).
struct RowReader<'p> {
    prepared: &'p Prepared,
    load: u32,
    segment: NodeId,
    lazy: bool,
    /// The result columns of the parent key each row belongs to (none
    /// for a statement of its own).
    key_columns: &'p [usize],
    subqueries: Vec<RowSubquery>,
    rows: Vec<(Option<Key>, Option<ObjId>)>,
    loaded_at: Vec<Vec<ObjId>>,
    /// Rows that wait while a subquery load runs.
    buffer: Option<Vec<Box<[Value]>>>,
    /// Keys of the main objects, counted when rows wait in the buffer.
    main_keys: std::collections::HashSet<Key>,
}

impl RowReader<'_> {
    /// Reads one row; true when it made a subquery load due.
    fn read<R: RowValues + ?Sized>(&mut self, session: &mut Session<'_>, row: &R) -> Result<bool> {
        let key = row_key(row, self.key_columns)?;
        let before: Vec<usize> = if self.subqueries.is_empty() {
            Vec::new()
        } else {
            self.loaded_at.iter().map(Vec::len).collect()
        };
        let obj = session.materialize(
            &self.prepared.main,
            row,
            self.load,
            self.segment,
            self.prepared.repeats_children,
            &mut self.loaded_at,
            0,
        )?;
        self.rows.push((key, obj));
        if self.subqueries.is_empty() {
            return Ok(false);
        }
        if let Some(o) = obj {
            self.main_keys.insert(session.object(o).key.clone());
        }
        let mut due = false;
        for i in 0..self.subqueries.len() {
            let slot = self.subqueries[i].slot;
            let object = if slot == 0 {
                obj
            } else {
                self.loaded_at
                    .get(slot - 1)
                    .filter(|at| at.len() > before.get(slot - 1).copied().unwrap_or(0))
                    .and_then(|at| at.last().copied())
            };
            let Some(o) = object else {
                continue;
            };
            let subquery = &mut self.subqueries[i];
            if subquery.fetched.is_some() {
                self.hand_over(session, i, o);
            } else if !subquery.due
                // SQLAlchemy's populator asks for the subquery's data when
                // the attribute is not loaded, and (outside a lazy load)
                // for an object already in the identity map whatever its
                // state.
                && (!session.is_loaded(o, subquery.rel)
                    || (!self.lazy && session.object(o).created != self.load))
            {
                subquery.due = true;
                due = true;
            }
        }
        Ok(due)
    }

    /// Runs the subquery loads that are due, and hands their results to
    /// the objects read so far.
    fn fetch_due(
        &mut self,
        session: &mut Session<'_>,
        slots: &[(NodeId, LoadOrigin)],
    ) -> Result<()> {
        for i in 0..self.subqueries.len() {
            if !self.subqueries[i].due {
                continue;
            }
            let (slot, node) = (self.subqueries[i].slot, self.subqueries[i].node);
            self.subqueries[i].due = false;
            let fetched = loader::subquery::fetch(session, node, self.segment, &slots[slot].1)?;
            self.subqueries[i].fetched = Some((fetched, Default::default()));
            let objects: Vec<ObjId> = if slot == 0 {
                self.rows.iter().filter_map(|(_, o)| *o).collect()
            } else {
                self.loaded_at.get(slot - 1).cloned().unwrap_or_default()
            };
            for o in objects {
                self.hand_over(session, i, o);
            }
        }
        Ok(())
    }

    /// Gives an object its part of a subquery load's result the first time
    /// the rows hold it there, as SQLAlchemy's populators do: always if the
    /// statement created it there (`new`), otherwise only if the attribute
    /// is not loaded (an object from the identity map, or one met first on
    /// another path of the same rows: `existing`).
    fn hand_over(&mut self, session: &mut Session<'_>, index: usize, object: ObjId) {
        let subquery = &mut self.subqueries[index];
        let Some((fetched, handed)) = subquery.fetched.as_mut() else {
            return;
        };
        if !handed.insert(object) {
            return;
        }
        let o = session.object(object);
        let new_here = o.created == self.load && o.seen_at == subquery.parents;
        if new_here || !session.is_loaded(object, subquery.rel) {
            fetched.assign(session, subquery.node, &[object]);
        }
    }
}

fn count_slots(slot: &Slot) -> usize {
    slot.joined.iter().map(|(_, s)| 1 + count_slots(s)).sum()
}
