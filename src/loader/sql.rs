//! SQL text in SQLAlchemy 2.x's shape for SQLite: qualified column lists in
//! table order, anonymous aliases (`posts_1`, `anon_1`), labels only where
//! a name repeats (`posts_1.id AS id_1`), and `LIMIT ? OFFSET ?`.
//!
//! Loaders describe a statement with [`SelectSpec`]; [`SelectSpec::render`]
//! adds the joined eager loads below it and returns the text together with
//! the [`Slot`]s that say which result column feeds which object.

use crate::dialect::{Bind, Dialect, constants_in, ident, qualified};
use crate::model::{Direction, EntityId, Join, Model, OrderTerm, RelId};
use crate::plan::NodeId;

/// How result columns are labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelStyle {
    /// 2.x `select()`: a label only when a name repeats (`id_1`).
    Disambiguate,
    /// Never a label (selectin's statements).
    Plain,
    /// The legacy `Query` style: `posts.id AS posts_id` (dynamic, subquery).
    TablenamePlusCol,
}

/// Builds a select list and hands out anonymous names (`posts_1`, `id_1`,
/// `anon_1`). As in SQLAlchemy, an anonymous name is only a placeholder
/// until the statement is complete; [`SelectBuilder::finish`] then numbers
/// them per name from 1 in the order they first appear in the text, as
/// SQLAlchemy's compiler does. So the alias of a nested join whose columns
/// come first in the select list is `users_1`, its parent's `users_2`.
pub struct SelectBuilder {
    dialect: &'static dyn Dialect,
    style: LabelStyle,
    columns: Vec<(String, String)>,
    rendered: Vec<String>,
    /// The name of each placeholder handed out, by index.
    anonymous: Vec<String>,
}

impl SelectBuilder {
    pub fn new(style: LabelStyle, dialect: &'static dyn Dialect) -> SelectBuilder {
        SelectBuilder {
            dialect,
            style,
            columns: Vec::new(),
            rendered: Vec::new(),
            anonymous: Vec::new(),
        }
    }

    /// A fresh anonymous name for `base` (numbered by [`Self::finish`]).
    fn anon(&mut self, base: &str) -> String {
        self.anonymous.push(base.to_string());
        format!(
            "{}{}{}",
            crate::dialect::ANON_START,
            self.anonymous.len() - 1,
            crate::dialect::ANON_END
        )
    }

    /// A fresh alias: `posts_1`, then `posts_2`.
    pub fn alias(&mut self, base: &str) -> String {
        self.anon(base)
    }

    /// Replaces the placeholders in `sql` by `name_N`, numbered per name in
    /// the order of their first appearance (binds' names included), then
    /// spells every identifier and parameter as the dialect does.
    pub fn finish(&self, sql: &str) -> (String, Vec<Bind>) {
        crate::dialect::render_named(self.dialect, sql, &self.anonymous)
    }

    /// The statement's dialect.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    /// Adds `qualifier.column` once; returns its result index.
    pub fn column(&mut self, qualifier: &str, column: &str) -> usize {
        if let Some(i) = self
            .columns
            .iter()
            .position(|(q, c)| q == qualifier && c == column)
        {
            return i;
        }
        let name = qualified(qualifier, column);
        let text = match self.style {
            LabelStyle::Plain => name,
            LabelStyle::TablenamePlusCol => {
                format!("{name} AS {}", ident(&format!("{qualifier}_{column}")))
            }
            LabelStyle::Disambiguate => {
                if self.columns.iter().any(|(_, c)| c == column) {
                    let label = self.anon(column);
                    format!("{name} AS {}", ident(&label))
                } else {
                    name
                }
            }
        };
        self.columns
            .push((qualifier.to_string(), column.to_string()));
        self.rendered.push(text);
        self.columns.len() - 1
    }

    pub fn select_list(&self) -> String {
        self.rendered.join(", ")
    }
}

/// A relationship loaded by a JOIN inside another statement.
#[derive(Clone, Debug)]
pub struct JoinedNode {
    pub rel: RelId,
    pub node: NodeId,
    pub inner: bool,
    pub children: Vec<JoinedNode>,
}

impl JoinedNode {
    fn has_collection(&self, model: &Model) -> bool {
        model.rel(self.rel).is_collection() || self.children.iter().any(|c| c.has_collection(model))
    }

    fn collections(&self, model: &Model) -> usize {
        usize::from(model.rel(self.rel).is_collection())
            + self
                .children
                .iter()
                .map(|c| c.collections(model))
                .sum::<usize>()
    }
}

/// Where one entity's columns sit in a result row.
#[derive(Clone, Debug)]
pub struct Slot {
    pub entity: EntityId,
    pub node: NodeId,
    /// Result index of each of the entity's columns, in table order.
    pub columns: Vec<usize>,
    /// Joined eager loads populated from the same rows.
    pub joined: Vec<(RelId, Slot)>,
}

/// One ORDER BY term before qualification.
#[derive(Clone, Debug)]
pub struct Order {
    pub qualifier: String,
    pub column: String,
    pub descending: bool,
}

impl Order {
    pub fn render(&self) -> String {
        let dir = if self.descending { " DESC" } else { "" };
        format!("{}{dir}", qualified(&self.qualifier, &self.column))
    }

    /// A relationship's `order_by`, written against `target` (the target
    /// table's name or alias) and `link` (the secondary's).
    pub fn from_terms(
        terms: &[OrderTerm],
        target_table: &str,
        target: &str,
        link: Option<(&str, &str)>,
    ) -> Vec<Order> {
        terms
            .iter()
            .map(|t| Order {
                qualifier: match link {
                    Some((table, alias)) if t.table == table && t.table != target_table => {
                        alias.to_string()
                    }
                    _ => target.to_string(),
                },
                column: t.column.clone(),
                descending: t.descending,
            })
            .collect()
    }
}

/// A statement that loads one entity (plus whatever is joined to it).
pub struct SelectSpec {
    pub entity: EntityId,
    pub node: NodeId,
    pub style: LabelStyle,
    /// Columns before the entity's own (selectin's foreign key).
    pub lead: Vec<(String, String)>,
    /// The FROM clause without joined eager loads, identifiers marked.
    pub from: String,
    /// The FROM a `subquery` load re-states, where it differs from `from`.
    pub base_from: Option<String>,
    /// The name the entity's columns are qualified with.
    pub qualifier: String,
    pub distinct: bool,
    /// Parameters marked (`dialect::arg`, `dialect::constant`).
    pub where_clause: Option<String>,
    /// The class criterion of an entity in the FROM list itself (see
    /// [`class_criterion`]): SQLAlchemy adds it after the WHERE criteria
    /// when it compiles the statement.
    pub criterion: Option<String>,
    pub order_by: Vec<Order>,
    /// An ORDER BY typed by a user (a dynamic query), before `order_by`.
    pub order_text: Option<String>,
    /// `.limit(K)`: renders the dialect's LIMIT (SQLite: `LIMIT ? OFFSET ?`
    /// with `[K, 0]`).
    pub limit: Option<i64>,
    /// Text after everything (a dynamic query's own LIMIT and OFFSET).
    pub suffix: Option<String>,
    /// Columns after the entity's own (subquery's parent key).
    pub trail: Vec<(String, String)>,
    pub joined: Vec<JoinedNode>,
    /// A joined collection was considered, even if not joined: with a
    /// LIMIT and some join, the statement is wrapped as `anon_1` (see
    /// `Session::joined_tree`).
    pub multi_row: bool,
}

pub struct Rendered {
    pub sql: String,
    /// The parameters, in text order.
    pub binds: Vec<Bind>,
    pub main: Slot,
    pub lead: Vec<usize>,
    pub trail: Vec<usize>,
    /// More than one collection is joined: a child can repeat for a parent
    /// across rows that are not adjacent.
    pub repeats_children: bool,
}

impl SelectSpec {
    pub fn new(entity: EntityId, node: NodeId, style: LabelStyle, table: &str) -> SelectSpec {
        SelectSpec {
            entity,
            node,
            style,
            lead: Vec::new(),
            from: ident(table),
            base_from: None,
            qualifier: table.to_string(),
            distinct: false,
            where_clause: None,
            criterion: None,
            order_by: Vec::new(),
            order_text: None,
            limit: None,
            suffix: None,
            trail: Vec::new(),
            joined: Vec::new(),
            multi_row: false,
        }
    }

    pub fn render(self, model: &Model, builder: &mut SelectBuilder) -> Rendered {
        let entity = model.entity(self.entity);
        // SQLAlchemy wraps when it added a join and counted a collection
        // (`_should_nest_selectable`).
        let wrap = self.limit.is_some()
            && !self.joined.is_empty()
            && (self.multi_row || self.joined.iter().any(|j| j.has_collection(model)));
        // A collection joined below a many-to-one belongs to an object
        // that recurs in the rows of different parents (`manager.posts`).
        let repeats_children = self
            .joined
            .iter()
            .map(|j| j.collections(model))
            .sum::<usize>()
            > 1
            || self
                .joined
                .iter()
                .any(|j| !model.rel(j.rel).is_collection() && j.has_collection(model));
        let mut from = self.from;
        let mut qualifier = self.qualifier;
        let mut order = self.order_by;
        let mut tail = String::new();
        let where_clause = match (self.where_clause, self.criterion) {
            (Some(w), Some(c)) => Some(format!("{w} AND {c}")),
            (w, c) => w.or(c),
        };

        if wrap {
            // SQLAlchemy keeps LIMIT on the parents: the parent query becomes
            // a subquery and the joins go outside it.
            let inner_cols: Vec<String> = entity
                .columns
                .iter()
                .map(|c| format!("{} AS {}", qualified(&qualifier, c), ident(c)))
                .collect();
            let mut inner = format!("SELECT {} FROM {from}", inner_cols.join(", "));
            if let Some(w) = &where_clause {
                inner.push_str(&format!(" WHERE {w}"));
            }
            if !order.is_empty() {
                inner.push_str(&format!(" ORDER BY {}", render_order(&order)));
            }
            inner.push_str(&builder.dialect().limit_offset(self.limit, None));
            let anon = builder.alias("anon");
            from = format!("({inner}) AS {}", ident(&anon));
            for o in &mut order {
                o.qualifier = anon.clone();
            }
            qualifier = anon;
        }

        let lead: Vec<usize> = self
            .lead
            .iter()
            .map(|(q, c)| builder.column(q, c))
            .collect();
        let main_columns: Vec<usize> = entity
            .columns
            .iter()
            .map(|c| builder.column(&qualifier, c))
            .collect();
        // The subquery loader's parent key comes right after the entity's
        // own columns, before those of its joined eager loads.
        let trail: Vec<usize> = self
            .trail
            .iter()
            .map(|(q, c)| builder.column(q, c))
            .collect();
        let mut joined_slots = Vec::new();
        let mut join_order = Vec::new();
        for j in &self.joined {
            let (slot, chain, tail) =
                render_join(model, builder, &qualifier, j, false, &mut join_order);
            from.push_str(&chain);
            from.push_str(&tail);
            joined_slots.push((j.rel, slot));
        }
        order.extend(join_order);

        let distinct = if self.distinct { "DISTINCT " } else { "" };
        let mut sql = format!("SELECT {distinct}{} FROM {from}", builder.select_list());
        if !wrap && let Some(w) = &where_clause {
            sql.push_str(&format!(" WHERE {w}"));
        }
        let mut order_terms: Vec<String> = self.order_text.into_iter().collect();
        order_terms.extend(order.iter().map(Order::render));
        if !order_terms.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", order_terms.join(", ")));
        }
        if !wrap && self.limit.is_some() {
            tail.push_str(&builder.dialect().limit_offset(self.limit, None));
        }
        tail.extend(self.suffix);
        sql.push_str(&tail);
        let (sql, binds) = builder.finish(&sql);
        Rendered {
            sql,
            binds,
            main: Slot {
                entity: self.entity,
                node: self.node,
                columns: main_columns,
                joined: joined_slots,
            },
            lead,
            trail,
            repeats_children,
        }
    }
}

/// `vehicles.kind IN (?, ?)`: the rows of a single-table subclass among
/// its table's (SQLAlchemy's `_single_table_criterion`, the identities of
/// the class and the classes below it); `None` for any other entity.
pub fn class_criterion(model: &Model, entity: EntityId, qualifier: &str) -> Option<String> {
    let e = model.entity(entity);
    let poly = e.polymorphic.as_ref()?;
    let on = poly.on?;
    if poly.criterion.is_empty() {
        return None;
    }
    Some(format!(
        "{} IN ({})",
        qualified(qualifier, &e.columns[on]),
        constants_in(
            &e.columns[on],
            model.column_type(&e.table, &e.columns[on]),
            &poly.criterion
        )
    ))
}

/// `condition`, with the class criterion of `entity` (see
/// [`class_criterion`]) `AND`ed after it: SQLAlchemy adds it to the ON
/// clause of the join that brings the entity in, or to the WHERE clause
/// when the entity is in the FROM list itself.
pub fn and_class_criterion(
    condition: String,
    model: &Model,
    entity: EntityId,
    qualifier: &str,
) -> String {
    match class_criterion(model, entity, qualifier) {
        Some(criterion) if condition.is_empty() => criterion,
        Some(criterion) => format!("{condition} AND {criterion}"),
        None => condition,
    }
}

pub fn render_order(order: &[Order]) -> String {
    order
        .iter()
        .map(Order::render)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ON condition, referenced side first as SQLAlchemy writes it:
/// `users.id = posts_1.user_id`, `users_1.id = posts.user_id`; a composite
/// key `AND`s its pairs in primaryjoin order.
pub fn direct_condition(model: &Model, rel: RelId, parent: &str, target: &str) -> String {
    let r = model.rel(rel);
    let Join::Direct { pairs } = &r.join else {
        unreachable!("direct_condition on a secondary join")
    };
    let parent_columns = &model.entity(r.parent).columns;
    let target_columns = &model.entity(r.target).columns;
    let terms: Vec<String> = pairs
        .iter()
        .map(|(p, t)| {
            let p = qualified(parent, &parent_columns[*p]);
            let t = qualified(target, &target_columns[*t]);
            match r.direction {
                Direction::OneToMany => format!("{p} = {t}"),
                _ => format!("{t} = {p}"),
            }
        })
        .collect();
    terms.join(" AND ")
}

/// `entity = link`, or `link = entity` where the model's condition was
/// written link column first (SQLAlchemy keeps the written order).
pub fn link_equality(entity: String, link: String, link_first: bool) -> String {
    if link_first {
        format!("{link} = {entity}")
    } else {
        format!("{entity} = {link}")
    }
}

/// `entity.col = link.col AND ...` over a link table's pairs (`entity` is
/// the qualifier of the entity's side), or `link.col = entity.col` where
/// the model's condition was written that way.
pub fn link_condition(
    columns: &[String],
    entity: &str,
    pairs: &[(usize, String)],
    link: &str,
    link_first: bool,
) -> String {
    let terms: Vec<String> = pairs
        .iter()
        .map(|(c, l)| {
            link_equality(
                qualified(entity, &columns[*c]),
                qualified(link, l),
                link_first,
            )
        })
        .collect();
    terms.join(" AND ")
}

/// Renders one joined eager load (and its own joined children): its
/// columns go into `builder` after its children's, as SQLAlchemy orders
/// them; its ORDER BY terms go into `order` before its children's.
///
/// Returns its join (with the inner joins spliced into it) and the joins
/// that follow at the top level. SQLAlchemy splices an inner join below an
/// outer one into the outer join's group, so that it cannot drop the outer
/// rows (`LEFT OUTER JOIN (posts JOIN comments ...) ON ...`), and so are
/// inner joins below a spliced one (`in_group`); every other join is added
/// to the top level in the order loaders run, outer joins below a spliced
/// one included (`... ON ... LEFT OUTER JOIN users AS users_1 ...`).
fn render_join(
    model: &Model,
    builder: &mut SelectBuilder,
    parent: &str,
    node: &JoinedNode,
    in_group: bool,
    order: &mut Vec<Order>,
) -> (Slot, String, String) {
    let rel = model.rel(node.rel);
    let target = model.entity(rel.target);
    let alias = builder.alias(&target.table);
    let link = match &rel.join {
        Join::Secondary { table, .. } => Some((table.clone(), builder.alias(table))),
        Join::Direct { .. } => None,
    };
    order.extend(Order::from_terms(
        &rel.order_by,
        &target.table,
        &alias,
        link.as_ref().map(|(t, a)| (t.as_str(), a.as_str())),
    ));

    // Spliced into this join's own group (an outer join), or right after
    // this join in the group it is spliced into; then the top level.
    let mut nested = String::new();
    let mut after = String::new();
    let mut tail = String::new();
    let mut child_slots = Vec::new();
    // The select list follows the mapper's properties: the relationships
    // the class declares (their columns) before its own columns, those a
    // backref made after them.
    let mut columns = Vec::new();
    let push_columns = |builder: &mut SelectBuilder, columns: &mut Vec<usize>| {
        columns.extend(target.columns.iter().map(|c| builder.column(&alias, c)));
    };
    for child in &node.children {
        if columns.is_empty() && model.rel(child.rel).after_columns {
            push_columns(builder, &mut columns);
        }
        let spliced = child.inner && (!node.inner || in_group);
        let (slot, chain, child_tail) = render_join(model, builder, &alias, child, spliced, order);
        match (spliced, node.inner) {
            (true, false) => nested.push_str(&chain),
            (true, true) => after.push_str(&chain),
            (false, _) => tail.push_str(&chain),
        }
        tail.push_str(&child_tail);
        child_slots.push((child.rel, slot));
    }
    if columns.is_empty() {
        push_columns(builder, &mut columns);
    }

    let mut target_expr = format!("{} AS {}", ident(&target.table), ident(&alias));
    if !nested.is_empty() && matches!(rel.join, Join::Direct { .. }) {
        target_expr = format!("({target_expr}{nested})");
    }
    let kind = if node.inner {
        "JOIN"
    } else {
        "LEFT OUTER JOIN"
    };
    let fragment = match (&rel.join, link) {
        (Join::Direct { .. }, _) => {
            let on = direct_condition(model, node.rel, parent, &alias);
            let on = and_class_criterion(on, model, rel.target, &alias);
            format!(" {kind} {target_expr} ON {on}")
        }
        (
            Join::Secondary {
                parent: parent_pairs,
                target: target_pairs,
                link_first,
                ..
            },
            Some((link_table, link_alias)),
        ) => {
            let parent_columns = &model.entity(rel.parent).columns;
            let parent_on = link_condition(
                parent_columns,
                parent,
                parent_pairs,
                &link_alias,
                link_first[0],
            );
            let target_on = link_condition(
                &target.columns,
                &alias,
                target_pairs,
                &link_alias,
                link_first[1],
            );
            let target_on = and_class_criterion(target_on, model, rel.target, &alias);
            let link_expr = format!("{} AS {}", ident(&link_table), ident(&link_alias));
            if node.inner {
                format!(" JOIN {link_expr} ON {parent_on} JOIN {target_expr} ON {target_on}")
            } else {
                // The outer join of a many-to-many is already a group; inner
                // joins below it go inside that group, flat:
                // `LEFT OUTER JOIN (post_tags AS post_tags_1 JOIN tags AS tags_1
                // ON ... JOIN post_tags AS post_tags_2 ...) ON ...`.
                format!(
                    " LEFT OUTER JOIN ({link_expr} JOIN {target_expr} ON {target_on}{nested}) ON {parent_on}"
                )
            }
        }
        (Join::Secondary { .. }, None) => unreachable!("secondary joins have a link alias"),
    };
    let slot = Slot {
        entity: rel.target,
        node: node.node,
        columns,
        joined: child_slots,
    };
    (slot, format!("{fragment}{after}"), tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_names_are_numbered_in_order_of_appearance() {
        let mut builder = SelectBuilder::new(LabelStyle::Plain, &crate::dialect::SQLITE);
        let outer = builder.alias("users");
        let inner = builder.alias("users");
        let posts = builder.alias("posts");
        // The inner alias shows first (its columns lead the select list).
        let sql = format!("SELECT {inner}.id, {posts}.id FROM {outer} JOIN {inner} JOIN {posts}");
        assert_eq!(
            builder.finish(&sql).0,
            "SELECT users_1.id, posts_1.id FROM users_2 JOIN users_1 JOIN posts_1"
        );
    }

    #[test]
    fn typed_delimiters_are_left_alone() {
        let mut builder = SelectBuilder::new(LabelStyle::Plain, &crate::dialect::SQLITE);
        let alias = builder.alias("posts");
        let sql = format!("SELECT {alias}.id WHERE x = '\u{1}9\u{2}' OR y = '\u{1}'");
        assert_eq!(
            builder.finish(&sql).0,
            "SELECT posts_1.id WHERE x = '\u{1}9\u{2}' OR y = '\u{1}'"
        );
    }
}
