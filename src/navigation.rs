//! A navigation: load the root entity's rows, then touch the expanded
//! relationship paths of every object, depth first, in primary-key order,
//! as application code would (`for u in users: for p in u.posts: p.comments`).
//! `trace`, `compare` and the explorer's replay all run one.

use crate::db::value::value_to_json;
use crate::db::{Key, QueryLog, Step, TracedConnection};
use crate::loader::dynamic::DynamicQuery;
use crate::model::{EntityId, Model};
use crate::plan::{LoadPlan, NodeId};
use crate::session::{Access, ObjId, Related, RootQuery, Session};
use crate::strategy::{Attribute, Strategy, option_on_query_attribute};
use anyhow::{Result, bail};
use rusqlite::types::Value;
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Navigation {
    pub root: EntityId,
    pub limit: Option<i64>,
    /// Relationship paths to touch (`posts`, `posts.comments`).
    pub expand: Vec<String>,
    /// A strategy chosen for a path, like a loader option; other paths
    /// use the model's `lazy`.
    pub strategies: Vec<(String, Strategy)>,
    /// What a dynamic path's query adds (`user.posts.filter(...)`).
    pub queries: Vec<(String, DynamicQuery)>,
}

impl Navigation {
    /// The default navigation: every relationship of the root, one level.
    pub fn default_for(model: &Model, root: EntityId, limit: Option<i64>) -> Navigation {
        Navigation {
            root,
            limit,
            expand: model
                .entity(root)
                .relationships
                .iter()
                .map(|r| model.rel(*r).name.clone())
                .collect(),
            strategies: Vec::new(),
            queries: Vec::new(),
        }
    }

    /// The same navigation with one strategy on every expanded path.
    pub fn with_strategy(&self, strategy: Strategy) -> Navigation {
        Navigation {
            strategies: self.paths().into_iter().map(|p| (p, strategy)).collect(),
            ..self.clone()
        }
    }

    /// Every path the navigation touches: the expanded ones and the paths
    /// on the way to them (`posts.tags` touches `posts` first), each once.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = Vec::new();
        for path in &self.expand {
            let steps: Vec<&str> = path.split('.').collect();
            for i in 1..=steps.len() {
                let prefix = steps[..i].join(".");
                if !paths.contains(&prefix) {
                    paths.push(prefix);
                }
            }
        }
        paths
    }
}

/// An object as the navigation saw it, with the relationships it touched.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphNode {
    pub entity: Arc<str>,
    pub pk: Key,
    pub label: Option<Value>,
    pub relations: Vec<(Arc<str>, GraphRelated)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum GraphRelated {
    Many(Vec<GraphNode>),
    One(Option<Box<GraphNode>>),
}

/// A relationship that refused to load (raise, write_only iteration).
#[derive(Clone, Debug, PartialEq)]
pub struct AccessError {
    pub path: String,
    pub parent_pk: Key,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub root: String,
    pub limit: Option<i64>,
    /// Each expanded path with the strategy that actually loaded it.
    pub strategies: Vec<(String, Strategy)>,
    /// Each expanded path's relationship as SQLAlchemy names it
    /// (`posts.comments` → `Post.comments`).
    pub relationships: Vec<(String, String)>,
    pub log: QueryLog,
    pub graph: Vec<GraphNode>,
    pub errors: Vec<AccessError>,
}

struct Walker<'s, 'a> {
    session: &'s mut Session<'a>,
    /// Names shared by every graph node, not copied into each.
    entity_names: Vec<Arc<str>>,
    rel_names: Vec<Arc<str>>,
    expanded: HashSet<NodeId>,
    errors: Vec<AccessError>,
    /// Build the object graph (a report) while walking, or only walk.
    graph: bool,
}

/// Runs a navigation in a fresh session and returns what happened.
pub fn run(model: &Model, conn: &TracedConnection, nav: &Navigation) -> Result<Outcome> {
    run_walk(model, conn, nav, true)
}

/// The same navigation without building the object graph: what the
/// engine itself costs (the engine benchmark measures this).
pub fn run_without_graph(
    model: &Model,
    conn: &TracedConnection,
    nav: &Navigation,
) -> Result<Outcome> {
    run_walk(model, conn, nav, false)
}

fn run_walk(
    model: &Model,
    conn: &TracedConnection,
    nav: &Navigation,
    build_graph: bool,
) -> Result<Outcome> {
    let mut plan = LoadPlan::new(nav.root);
    let mut expanded = HashSet::new();
    for path in &nav.expand {
        let mut node = NodeId::ROOT;
        // Every prefix of an expanded path is touched on the way.
        for (i, _) in path.split('.').enumerate() {
            let prefix: Vec<&str> = path.split('.').take(i + 1).collect();
            node = plan.add_path(model, &prefix.join("."))?;
            expanded.insert(node);
        }
        let _ = node;
    }
    for (path, strategy) in &nav.strategies {
        let node = plan.add_path(model, path)?;
        let rel = model.rel(plan.node(node).rel.expect("relationship"));
        // On a dynamic or write-only mapping an option is left out or
        // refused, as SQLAlchemy does.
        match option_on_query_attribute(rel.lazy, *strategy, &model.rel_display(rel.id)) {
            Some(Ok(())) => continue,
            Some(Err(refusal)) => bail!(refusal),
            None => plan.set_strategy(node, Some(*strategy)),
        }
    }
    for (path, strategy) in &nav.strategies {
        let node = plan.find_path(model, path).expect("added above");
        let rel = model.rel(plan.node(node).rel.expect("relationship"));
        if !rel.is_collection() && strategy.attribute().needs_collection() {
            bail!(crate::strategy::scalar_refusal(&model.rel_display(rel.id)));
        }
    }
    let strategies: Vec<(String, Strategy)> = nav
        .paths()
        .iter()
        .map(|p| {
            let node = plan.find_path(model, p).expect("added above");
            (p.clone(), plan.strategy_of(model, node, NodeId::ROOT))
        })
        .collect();
    let relationships: Vec<(String, String)> = nav
        .paths()
        .iter()
        .filter_map(|p| {
            let node = plan.find_path(model, p)?;
            Some((p.clone(), model.rel_display(plan.node(node).rel?)))
        })
        .collect();

    // A query's filter or order applies to a dynamic relationship only.
    let mut queries = Vec::new();
    for (path, query) in &nav.queries {
        let node = plan.add_path(model, path)?;
        let strategy = plan.strategy_of(model, node, NodeId::ROOT);
        if strategy != Strategy::Dynamic {
            bail!(
                "--filter and --order-by shape a dynamic relationship's query; `{path}` loads with \
                 {strategy} (add --strategy {path}=dynamic)"
            );
        }
        queries.push((node, query.clone()));
    }
    let mut session = Session::new(model, conn, plan);
    session.queries.extend(queries);
    let entity = model.entity(nav.root);
    conn.begin_step(match nav.limit {
        Some(k) => format!("load {} rows (limit {k})", entity.name),
        None => format!("load every {} row", entity.name),
    });
    let roots = session.load_root(&RootQuery {
        limit: nav.limit,
        ..RootQuery::default()
    })?;
    let mut walker = Walker {
        entity_names: model
            .entities
            .iter()
            .map(|e| e.name.as_str().into())
            .collect(),
        rel_names: model
            .relationships
            .iter()
            .map(|r| r.name.as_str().into())
            .collect(),
        session: &mut session,
        expanded,
        errors: Vec::new(),
        graph: build_graph,
    };
    let mut graph = Vec::with_capacity(if build_graph { roots.len() } else { 0 });
    for root in roots {
        graph.extend(walker.visit(root, NodeId::ROOT)?);
    }
    let errors = walker.errors;
    drop(session);
    Ok(Outcome {
        root: entity.name.clone(),
        limit: nav.limit,
        strategies,
        relationships,
        log: conn.take_log(),
        graph,
        errors,
    })
}

impl Walker<'_, '_> {
    /// Touches the expanded relationships below `object`; returns its
    /// graph node when the walk builds the graph.
    fn visit(&mut self, object: ObjId, node: NodeId) -> Result<Option<GraphNode>> {
        let o = self.session.object(object);
        let entity = self.entity_names[o.entity.0].clone();
        let pk = o.key.clone();
        let mut relations = Vec::new();
        // By index: touching a relationship may add plan nodes (never
        // before the ones that exist).
        let count = self.session.plan.node(node).children.len();
        for index in 0..count {
            let child = self.session.plan.node(node).children[index];
            if !self.expanded.contains(&child) {
                continue;
            }
            let rel = self
                .session
                .plan
                .node(child)
                .rel
                .expect("relationship node");
            let strategy = self.session.strategy_for(object, rel);
            self.session.conn.begin_step(Step::Touch {
                relationship: self.rel_names[rel.0].clone(),
                entity: entity.clone(),
                pk: pk.clone(),
            });
            let related = if strategy.attribute() == Attribute::WriteOnly {
                // What `trace` does for write-only: the explicit select().
                Related::Many(self.session.select_write_only(object, rel)?)
            } else {
                match self.session.access(object, rel)? {
                    Access::Loaded(related) => related,
                    Access::Refused(message) => {
                        self.errors.push(AccessError {
                            path: self.session.plan.node(child).path.clone(),
                            parent_pk: pk.clone(),
                            message,
                        });
                        continue;
                    }
                }
            };
            let value = match related {
                Related::Many(items) => {
                    let mut nodes = Vec::with_capacity(if self.graph { items.len() } else { 0 });
                    for item in items {
                        nodes.extend(self.visit(item, child)?);
                    }
                    GraphRelated::Many(nodes)
                }
                Related::One(item) => GraphRelated::One(match item {
                    Some(c) => self.visit(c, child)?.map(Box::new),
                    None => None,
                }),
            };
            if self.graph {
                relations.push((self.rel_names[rel.0].clone(), value));
            }
        }
        Ok(self.graph.then(|| GraphNode {
            entity,
            pk,
            label: self.session.label(object).cloned(),
            relations,
        }))
    }
}

/// The same object as [`GraphNode::to_json`], written as it is serialized.
impl serde::Serialize for GraphNode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3 + self.relations.len()))?;
        map.serialize_entry("entity", &*self.entity)?;
        map.serialize_entry("pk", &KeyJson(&self.pk))?;
        map.serialize_entry(
            "label",
            &self.label.as_ref().map(crate::cli::report::JsonScalar),
        )?;
        for (name, related) in &self.relations {
            match related {
                GraphRelated::Many(items) => map.serialize_entry(&**name, items)?,
                GraphRelated::One(item) => map.serialize_entry(&**name, item)?,
            }
        }
        map.end()
    }
}

/// A key as JSON (`Key::to_json`'s forms), written as it is serialized.
struct KeyJson<'a>(&'a Key);

impl serde::Serialize for KeyJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Key::Int(i) => serializer.serialize_i64(*i),
            Key::Text(t) => serializer.serialize_str(t),
            Key::Tuple(parts) => serializer.collect_seq(parts.iter().map(KeyJson)),
            other => other.to_json().serialize(serializer),
        }
    }
}

impl GraphNode {
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("entity".into(), self.entity.as_ref().into());
        map.insert("pk".into(), self.pk.to_json());
        map.insert(
            "label".into(),
            self.label
                .as_ref()
                .map_or(serde_json::Value::Null, value_to_json),
        );
        for (name, related) in &self.relations {
            let value = match related {
                GraphRelated::Many(items) => {
                    serde_json::Value::Array(items.iter().map(GraphNode::to_json).collect())
                }
                GraphRelated::One(item) => item
                    .as_ref()
                    .map_or(serde_json::Value::Null, |n| n.to_json()),
            };
            map.insert(name.to_string(), value);
        }
        serde_json::Value::Object(map)
    }
}
