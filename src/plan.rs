//! The load plan: a tree of relationship paths from the root entity
//! (`posts`, `posts.comments`), each with the strategy chosen for it, like
//! SQLAlchemy's loader options (`selectinload(User.posts).joinedload(Post.comments)`).
//! Paths without a chosen strategy use the relationship's `lazy` from the model.

use crate::model::{Direction, EntityId, Model, RelId, diagnostic::did_you_mean};
use crate::strategy::Strategy;
use anyhow::{Result, bail};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub const ROOT: NodeId = NodeId(0);
}

/// What a statement's joined loading does with a relationship.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinedBelow {
    Join(Strategy),
    /// The model's joined loader stopped at a cycle (after SQLAlchemy had
    /// already counted a collection among the statement's joined loads).
    Stopped,
    No,
}

#[derive(Clone, Debug)]
pub struct PlanNode {
    pub parent: Option<NodeId>,
    /// The relationship that leads here; `None` for the root.
    pub rel: Option<RelId>,
    pub entity: EntityId,
    /// Chosen for this path (a loader option); `None`: the model's `lazy`.
    pub strategy: Option<Strategy>,
    pub children: Vec<NodeId>,
    /// `posts.comments`; empty for the root.
    pub path: String,
}

#[derive(Clone, Debug)]
pub struct LoadPlan {
    nodes: Vec<PlanNode>,
    /// The detached roots made by `restart`, by the node they restart.
    restarted: Vec<(NodeId, NodeId)>,
}

impl LoadPlan {
    pub fn new(root: EntityId) -> LoadPlan {
        LoadPlan {
            nodes: vec![PlanNode {
                parent: None,
                rel: None,
                entity: root,
                strategy: None,
                children: Vec::new(),
                path: String::new(),
            }],
            restarted: Vec::new(),
        }
    }

    pub fn root_entity(&self) -> EntityId {
        self.nodes[0].entity
    }

    pub fn node(&self, id: NodeId) -> &PlanNode {
        &self.nodes[id.0 as usize]
    }

    pub fn child(&self, node: NodeId, rel: RelId) -> Option<NodeId> {
        self.node(node)
            .children
            .iter()
            .copied()
            .find(|c| self.node(*c).rel == Some(rel))
    }

    pub fn child_or_insert(&mut self, model: &Model, node: NodeId, rel: RelId) -> NodeId {
        if let Some(child) = self.child(node, rel) {
            return child;
        }
        let id = NodeId(self.nodes.len() as u32);
        let parent_path = &self.node(node).path;
        let name = &model.rel(rel).name;
        let path = if parent_path.is_empty() {
            name.clone()
        } else {
            format!("{parent_path}.{name}")
        };
        self.nodes.push(PlanNode {
            parent: Some(node),
            rel: Some(rel),
            entity: model.rel(rel).target,
            strategy: None,
            children: Vec::new(),
            path,
        });
        self.nodes[node.0 as usize].children.push(id);
        id
    }

    /// Where a path begins afresh at the entity of `node`: the root if it is
    /// the root entity, otherwise a detached root (no parent, so no chosen
    /// strategy below it; it shows `node`'s path).
    ///
    /// SQLAlchemy's subquery loader does this when the statement that fires
    /// it is not the root query (nor a subquery load): it builds its path
    /// from that statement's entity, not from the root, so loader options
    /// below it match as if that entity were the root (`_SubqueryLoader.
    /// _setup_query_from_rowproc`: `subq_path = root + path`).
    pub fn restart(&mut self, node: NodeId) -> NodeId {
        let entity = self.node(node).entity;
        if entity == self.root_entity() {
            return NodeId::ROOT;
        }
        if let Some((_, root)) = self.restarted.iter().find(|(n, _)| *n == node) {
            return *root;
        }
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(PlanNode {
            parent: None,
            rel: None,
            entity,
            strategy: None,
            children: Vec::new(),
            path: self.node(node).path.clone(),
        });
        self.restarted.push((node, id));
        id
    }

    /// Adds a dotted path (`posts.comments`), creating its nodes.
    pub fn add_path(&mut self, model: &Model, path: &str) -> Result<NodeId> {
        let mut node = NodeId::ROOT;
        for name in path.split('.') {
            let entity = self.node(node).entity;
            let Some(rel) = model.rel_by_name(entity, name.trim()) else {
                let names: Vec<&str> = model
                    .entity(entity)
                    .relationships
                    .iter()
                    .map(|r| model.rel(*r).name.as_str())
                    .collect();
                bail!(
                    "unknown relationship `{}` in path `{path}`; relationships of {}: {}{}",
                    name.trim(),
                    model.entity(entity).name,
                    if names.is_empty() {
                        "(none)".to_string()
                    } else {
                        names.join(", ")
                    },
                    did_you_mean(name.trim(), names.iter().copied())
                );
            };
            node = self.child_or_insert(model, node, rel);
        }
        Ok(node)
    }

    pub fn set_strategy(&mut self, node: NodeId, strategy: Option<Strategy>) {
        self.nodes[node.0 as usize].strategy = strategy;
    }

    /// The path of a node, if any; finds it without creating it.
    pub fn find_path(&self, model: &Model, path: &str) -> Option<NodeId> {
        let mut node = NodeId::ROOT;
        for name in path.split('.') {
            let rel = model.rel_by_name(self.node(node).entity, name)?;
            node = self.child(node, rel)?;
        }
        Some(node)
    }

    /// The strategy that loads `node` for objects whose load began a new
    /// query at `segment` (the root, or the node of a lazy load).
    ///
    /// A chosen strategy always applies. The model's eager `lazy` does not
    /// when the target entity already appears on the path since `segment`:
    /// SQLAlchemy stops eager loading there (a self-referential
    /// `lazy="joined"` without `join_depth` loads lazily).
    pub fn strategy_of(&self, model: &Model, node: NodeId, segment: NodeId) -> Strategy {
        let n = self.node(node);
        let parent = n.parent.expect("the root has no strategy");
        let rel = n.rel.expect("the root has no strategy");
        self.strategy_at(model, parent, rel, n.strategy, segment)
    }

    /// The strategy for `rel` below `node`, without creating a node.
    pub fn strategy_below(
        &self,
        model: &Model,
        node: NodeId,
        rel: RelId,
        segment: NodeId,
    ) -> Strategy {
        match self.child(node, rel) {
            Some(child) => self.strategy_of(model, child, segment),
            None => self.strategy_at(model, node, rel, None, segment),
        }
    }

    fn strategy_at(
        &self,
        model: &Model,
        node: NodeId,
        rel: RelId,
        chosen: Option<Strategy>,
        segment: NodeId,
    ) -> Strategy {
        if self.lazy_reverse(model, node, rel, segment) {
            return Strategy::Select;
        }
        if let Some(strategy) = chosen {
            return strategy;
        }
        let r = model.rel(rel);
        // An eager loader stops where its target is already on the path,
        // except one that goes on (immediate: see `immediate_no_fetch`).
        let loader = crate::loader::for_strategy(r.lazy);
        if loader.load_time() != crate::loader::LoadTime::OnAccess
            && !loader.goes_on_at_loops()
            && self.path_contains(model, node, segment, rel)
        {
            return Strategy::Select;
        }
        r.lazy
    }

    /// Whether the model's `immediate` for `rel` below `node` has reached
    /// an entity already on the path. SQLAlchemy does not stop it there:
    /// it loads with no-fetch flags, so a collection still loads (a
    /// self-referential one down the whole tree) while a many-to-one only
    /// takes what the identity map has.
    pub fn immediate_no_fetch(
        &self,
        model: &Model,
        node: NodeId,
        rel: RelId,
        segment: NodeId,
    ) -> bool {
        let r = model.rel(rel);
        crate::loader::for_strategy(r.lazy).goes_on_at_loops()
            && self
                .child(node, rel)
                .is_none_or(|c| self.node(c).strategy.is_none())
            && self.path_contains(model, node, segment, rel)
    }

    /// Whether `rel` is the many-to-one way back of the relationship whose
    /// lazy load put objects at `node`. SQLAlchemy's lazy load loads that
    /// way back lazily, whatever the model says, as the objects it would
    /// load are the parents it came from (`_LazyLoader._lazyload_reverse`;
    /// only where the model's own loader for it is not a lazy one).
    fn lazy_reverse(&self, model: &Model, node: NodeId, rel: RelId, segment: NodeId) -> bool {
        let Some(own) = self.node(node).rel else {
            return false;
        };
        let (own_rel, r) = (model.rel(own), model.rel(rel));
        r.direction == Direction::ManyToOne
            && crate::loader::for_strategy(r.lazy).on_first_sight()
                != crate::loader::FirstSight::LazyCallable
            && r.parent == own_rel.target
            && r.target == own_rel.parent
            && (own_rel.back_populates.as_deref() == Some(r.name.as_str())
                || r.back_populates.as_deref() == Some(own_rel.name.as_str()))
            && crate::loader::for_strategy(self.strategy_of(model, node, segment))
                .loads_per_parent()
    }

    /// Whether the relationship `rel` below `node` is joined in a statement
    /// whose own objects are at `statement`. The model's eager `lazy` stops
    /// where the target entity already appears on the path within that
    /// statement: SQLAlchemy's joined loader checks the statement's own
    /// path, not the path that led to the statement (as post-loads do).
    pub fn joined_below(
        &self,
        model: &Model,
        node: NodeId,
        rel: RelId,
        statement: NodeId,
    ) -> JoinedBelow {
        if self.lazy_reverse(model, node, rel, statement) {
            return JoinedBelow::No;
        }
        let strategy = match self.child(node, rel).and_then(|c| self.node(c).strategy) {
            Some(chosen) => chosen,
            None => {
                let r = model.rel(rel);
                let mut at = node;
                let mut natural = r.parent;
                loop {
                    if model.is_a(natural, r.target) && crate::loader::is_joined(r.lazy) {
                        return JoinedBelow::Stopped;
                    }
                    let n = self.node(at);
                    match (n.parent, n.rel) {
                        (Some(parent), Some(way_in)) if at != statement => {
                            natural = model.rel(way_in).parent;
                            at = parent;
                        }
                        _ => break,
                    }
                }
                r.lazy
            }
        };
        if crate::loader::is_joined(strategy) {
            JoinedBelow::Join(strategy)
        } else {
            JoinedBelow::No
        }
    }

    /// Whether the target of `rel` (from `node`) is on the path from
    /// `segment` down to `node`. A segment begun by a lazy load also counts
    /// the entity it was loaded from: SQLAlchemy's lazy load runs with the
    /// path `Comment.author`. As in SQLAlchemy's `contains_mapper`, the
    /// path holds the classes that define each relationship on it (its
    /// "natural path": `Vehicle.shop` from a `Car`), and a class counts when
    /// it is the target or inherits from it.
    fn path_contains(&self, model: &Model, mut node: NodeId, segment: NodeId, rel: RelId) -> bool {
        let target = model.rel(rel).target;
        let mut natural = model.rel(rel).parent;
        loop {
            if model.is_a(natural, target) {
                return true;
            }
            let n = self.node(node);
            let (Some(parent), Some(way_in)) = (n.parent, n.rel) else {
                return false;
            };
            natural = model.rel(way_in).parent;
            if node == segment {
                return model.is_a(natural, target);
            }
            node = parent;
        }
    }

    /// Whether any path has a chosen strategy. Objects loaded under loader
    /// options carry their whole load path into later lazy loads.
    pub fn has_options(&self) -> bool {
        self.nodes.iter().any(|n| n.strategy.is_some())
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &PlanNode)> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (NodeId(i as u32), n))
    }
}
