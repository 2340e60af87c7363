//! The load plan: a tree of relationship paths from the root entity
//! (`posts`, `posts.comments`), each with the strategy chosen for it, like
//! SQLAlchemy's loader options (`selectinload(User.posts).joinedload(Post.comments)`).
//! Paths without a chosen strategy use the relationship's `lazy` from the model.

use crate::loader::Strategy;
use crate::model::{EntityId, Model, RelId, diagnostic::did_you_mean};
use anyhow::{Result, bail};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub const ROOT: NodeId = NodeId(0);
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
        if let Some(strategy) = n.strategy {
            return strategy;
        }
        let rel = model.rel(n.rel.expect("the root has no strategy"));
        if rel.lazy.is_eager()
            && self.path_contains(n.parent.expect("non-root"), segment, rel.target)
        {
            return Strategy::Select;
        }
        rel.lazy
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
            None => {
                let r = model.rel(rel);
                if r.lazy.is_eager() && self.path_contains(node, segment, r.target) {
                    Strategy::Select
                } else {
                    r.lazy
                }
            }
        }
    }

    /// Whether `entity` is on the path from `segment` down to `node`. A
    /// segment begun by a lazy load also counts the entity it was loaded
    /// from: SQLAlchemy's lazy load runs with the path `Comment.author`.
    fn path_contains(&self, mut node: NodeId, segment: NodeId, entity: EntityId) -> bool {
        loop {
            let n = self.node(node);
            if n.entity == entity {
                return true;
            }
            if node == segment {
                return n.parent.is_some_and(|p| self.node(p).entity == entity);
            }
            match n.parent {
                Some(parent) => node = parent,
                None => return false,
            }
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
