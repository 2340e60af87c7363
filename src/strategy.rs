//! The loader strategies: SQLAlchemy's `lazy=` values.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    Select,
    Immediate,
    Joined,
    /// `lazy="joined", innerjoin=True`
    JoinedInner,
    Subquery,
    Selectin,
    Raise,
    RaiseOnSql,
    NoLoad,
    Dynamic,
    WriteOnly,
}

/// What a relationship attribute is, by its strategy (SQLAlchemy's
/// attribute implementation for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// The related objects themselves, loaded once (a list or an object).
    Loaded,
    /// A query run each time it is read (`dynamic`'s `AppenderQuery`).
    Query,
    /// A handle that is never iterated; its `select()` is run explicitly
    /// (`write_only`'s `WriteOnlyCollection`).
    WriteOnly,
}

impl Attribute {
    /// Only a collection can be a query or a write-only handle.
    pub fn needs_collection(self) -> bool {
        self != Attribute::Loaded
    }
}

impl Strategy {
    /// Every strategy, in the order pickers and `compare` show them.
    pub const ALL: [Strategy; 11] = [
        Strategy::Select,
        Strategy::Immediate,
        Strategy::Joined,
        Strategy::JoinedInner,
        Strategy::Subquery,
        Strategy::Selectin,
        Strategy::Raise,
        Strategy::RaiseOnSql,
        Strategy::NoLoad,
        Strategy::Dynamic,
        Strategy::WriteOnly,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Select => "select",
            Strategy::Immediate => "immediate",
            Strategy::Joined => "joined",
            Strategy::JoinedInner => "joined+innerjoin",
            Strategy::Subquery => "subquery",
            Strategy::Selectin => "selectin",
            Strategy::Raise => "raise",
            Strategy::RaiseOnSql => "raise_on_sql",
            Strategy::NoLoad => "noload",
            Strategy::Dynamic => "dynamic",
            Strategy::WriteOnly => "write_only",
        }
    }

    /// What the attribute holds under this strategy.
    pub fn attribute(self) -> Attribute {
        match self {
            Strategy::Dynamic => Attribute::Query,
            Strategy::WriteOnly => Attribute::WriteOnly,
            _ => Attribute::Loaded,
        }
    }

    /// The `lazy=` value SQLAlchemy spells (innerjoin is a separate flag).
    pub fn lazy_value(self) -> &'static str {
        match self {
            Strategy::JoinedInner => "joined",
            other => other.name(),
        }
    }

    /// When it queries, in one line (pickers, help, `compare`).
    pub fn description(self) -> &'static str {
        match self {
            Strategy::Select => "lazy: one SELECT per parent on first access (the N+1)",
            Strategy::Immediate => "the same per-parent SELECTs, fired as soon as the parents load",
            Strategy::Joined => "LEFT OUTER JOIN in the parent query: one statement",
            Strategy::JoinedInner => {
                "inner JOIN in the parent query: parents without children vanish"
            }
            Strategy::Subquery => {
                "re-runs the parent query as a subquery joined to the children (legacy)"
            }
            Strategy::Selectin => {
                "one SELECT ... WHERE fk IN (...) per 500 parents, right after them"
            }
            Strategy::Raise => "never loads: access is an error (catches N+1 in tests)",
            Strategy::RaiseOnSql => {
                "errors only if loading needs SQL; identity-map hits are allowed"
            }
            Strategy::NoLoad => {
                "never loads: collections stay empty (deprecated in SQLAlchemy 2.1)"
            }
            Strategy::Dynamic => {
                "a query object: every access runs a SELECT (filter, order, limit)"
            }
            Strategy::WriteOnly => "never loads implicitly: only an explicit select() runs SQL",
        }
    }

    /// Deprecated by SQLAlchemy 2.1 ("produces incorrect results").
    pub fn is_deprecated(self) -> bool {
        self == Strategy::NoLoad
    }

    /// Strategy names as `--strategy` and model files accept them.
    pub fn parse(name: &str) -> Option<Strategy> {
        let name = name.trim();
        Strategy::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .or(match name {
                "lazy" | "True" | "true" => Some(Strategy::Select),
                "innerjoin" | "joined_innerjoin" | "joined:innerjoin" => {
                    Some(Strategy::JoinedInner)
                }
                "False" | "false" => Some(Strategy::Joined),
                "None" | "none" => Some(Strategy::NoLoad),
                _ => None,
            })
    }

    /// A model's `lazy=` value (innerjoin is given separately there).
    pub fn parse_lazy(value: &str) -> Option<Strategy> {
        Strategy::parse(value)
            .filter(|s| *s != Strategy::JoinedInner || value != "joined+innerjoin")
    }

    /// The `lazy=` values a model file accepts.
    pub fn lazy_names() -> Vec<&'static str> {
        Strategy::ALL
            .into_iter()
            .filter(|s| *s != Strategy::JoinedInner)
            .map(Strategy::name)
            .collect()
    }

    pub fn names() -> Vec<&'static str> {
        Strategy::ALL.into_iter().map(Strategy::name).collect()
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SQLAlchemy's refusal of a `dynamic` or `write_only` loader on a
/// relationship that holds one object (many-to-one, or `uselist=False`).
pub fn scalar_refusal(display: &str) -> String {
    format!(
        "On relationship {display}, 'dynamic' loaders cannot be used with \
         many-to-one/one-to-one relationships and/or uselist=False."
    )
}

/// What a loader option does to a relationship whose mapping's `lazy=`
/// makes its attribute a query or a write-only handle (SQLAlchemy 2.1.9):
/// a lazy-style option (`lazyload`, `raiseload`) leaves the attribute as
/// it is; an eager one is refused when the rows come in (loadscope
/// refuses it before any statement; SQLAlchemy sends the parents' first).
/// `None` when the option applies as given.
pub fn option_on_query_attribute(
    mapping: Strategy,
    option: Strategy,
    display: &str,
) -> Option<Result<(), String>> {
    if !mapping.attribute().needs_collection() || option.attribute().needs_collection() {
        return None;
    }
    Some(match option {
        Strategy::Select | Strategy::Raise | Strategy::RaiseOnSql => Ok(()),
        // SQLAlchemy runs the dynamic query once per row as it reads the
        // parents, then again when it is read: not reproduced.
        Strategy::NoLoad => Err(format!(
            "noload() on {display}, whose lazy= is {}, is not supported: SQLAlchemy 2.1.9 runs its query once per parent row while loading the parents",
            mapping.lazy_value()
        )),
        Strategy::Immediate => {
            Err("Dynamic attributes don't support collection population.".to_string())
        }
        _ => Err(format!(
            "'{display}' does not support object population - eager loading cannot be applied."
        )),
    })
}
