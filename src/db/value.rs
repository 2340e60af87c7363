//! Values as they come out of SQLite, and the hashable key that identifies a
//! row in the identity map.

use rusqlite::types::{Value, ValueRef};
use std::fmt;

/// A primary-key (or foreign-key) value. SQLite keys are integers or text in
/// practice; REAL and BLOB keys are kept by their bytes so they still hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Int(i64),
    Text(Box<str>),
    Bytes(Box<[u8]>),
    /// A composite key, one part per key column in key order.
    Tuple(Box<[Key]>),
}

impl Key {
    /// `None` for SQL NULL: a NULL foreign key points at nothing.
    pub fn from_ref(value: ValueRef<'_>) -> Option<Key> {
        match value {
            ValueRef::Null => None,
            ValueRef::Integer(i) => Some(Key::Int(i)),
            ValueRef::Real(f) => Some(Key::Bytes(f.to_be_bytes().into())),
            ValueRef::Text(t) => Some(Key::Text(String::from_utf8_lossy(t).into())),
            ValueRef::Blob(b) => Some(Key::Bytes(b.into())),
        }
    }

    pub fn from_value(value: &Value) -> Option<Key> {
        Key::from_ref(ValueRef::from(value))
    }

    /// The key of several columns: a scalar key for one, a tuple for more;
    /// `None` when any part is NULL (SQLAlchemy's identity key of a row with
    /// a NULL key column is no identity; a foreign key with a NULL part
    /// points at nothing).
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<Key> {
        Key::compose(values.into_iter().map(Key::from_value))
    }

    /// The key of its parts, as `from_values`.
    pub fn compose(parts: impl IntoIterator<Item = Option<Key>>) -> Option<Key> {
        let mut parts: Vec<Key> = parts.into_iter().collect::<Option<_>>()?;
        match parts.len() {
            1 => parts.pop(),
            _ => Some(Key::Tuple(parts.into())),
        }
    }

    /// Appends the values bound as statement parameters: one per key
    /// column.
    pub fn push_params(&self, params: &mut Vec<Value>) {
        match self {
            Key::Int(i) => params.push(Value::Integer(*i)),
            Key::Text(t) => params.push(Value::Text(t.to_string())),
            Key::Bytes(b) => params.push(Value::Blob(b.to_vec())),
            Key::Tuple(parts) => parts.iter().for_each(|p| p.push_params(params)),
        }
    }

    /// The statement parameters of one key.
    pub fn params(&self) -> Vec<Value> {
        let mut params = Vec::new();
        self.push_params(&mut params);
        params
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Key::Int(i) => serde_json::Value::from(*i),
            Key::Text(t) => serde_json::Value::from(t.as_ref()),
            Key::Bytes(b) => serde_json::Value::from(hex(b)),
            Key::Tuple(parts) => parts.iter().map(Key::to_json).collect(),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(i) => write!(f, "{i}"),
            Key::Text(t) => f.write_str(t),
            Key::Bytes(b) => write!(f, "x'{}'", hex(b)),
            Key::Tuple(parts) => {
                f.write_str("(")?;
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{part}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value for JSON output; text that is not UTF-8 is shown lossily and
/// blobs as hex, so output is always valid JSON.
pub fn value_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Real(f) => serde_json::Value::from(*f),
        Value::Text(t) => serde_json::Value::from(t.as_str()),
        Value::Blob(b) => serde_json::Value::from(format!("x'{}'", hex(b))),
    }
}

/// A value as a short human-readable text, for labels and parameter lists.
pub fn value_to_text(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

/// A statement's parameters as shown, at most 12: `[1, 2]`, or by name
/// where the statement names its binds (`{param_1: 1, param_2: 0}`).
pub fn params_shown(sql: &str, params: &[Value]) -> String {
    const SHOWN: usize = 12;
    let names = crate::dialect::param_names(sql);
    let named = !names.is_empty() && names.len() == params.len();
    let shown: Vec<String> = params
        .iter()
        .take(SHOWN)
        .enumerate()
        .map(|(i, value)| match named {
            true => format!("{}: {}", names[i], value_to_text(value)),
            false => value_to_text(value),
        })
        .collect();
    let more = if params.len() > SHOWN {
        format!(", … {} more", params.len() - SHOWN)
    } else {
        String::new()
    };
    let (open, close) = if named { ('{', '}') } else { ('[', ']') };
    format!("{open}{}{more}{close}", shown.join(", "))
}

/// Reads a column as an owned value; text that is not valid UTF-8 is kept
/// lossily instead of failing the whole load.
pub fn owned(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        // Valid UTF-8 (the common case) is copied once; anything else is
        // kept lossily rather than failing the load.
        ValueRef::Text(t) => Value::Text(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}
