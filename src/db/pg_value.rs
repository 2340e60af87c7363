//! PostgreSQL values as loadscope shows them: integers and floats as
//! numbers, every other type in PostgreSQL's own text form (`12.50`,
//! `2024-03-01 09:30:00`, `t`/`f` as `true`/`false`, a uuid hyphenated,
//! json as written), decoded from the binary form the server sends.

use postgres::types::{FromSql, Kind, Type};
use rusqlite::types::Value;
use std::fmt::Write as _;

type Error = Box<dyn std::error::Error + Sync + Send>;

/// One column's value of a result row.
pub struct PgValue(pub Value);

impl<'a> FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Error> {
        decode(ty, raw).map(PgValue)
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Error> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// The value of `raw`, the binary form of a value of type `ty`.
pub fn decode(ty: &Type, raw: &[u8]) -> Result<Value, Error> {
    if let Kind::Domain(base) = ty.kind() {
        return decode(base, raw);
    }
    if let Kind::Array(element) = ty.kind() {
        return Ok(Value::Text(array_text(element, raw)?));
    }
    if let Kind::Enum(_) = ty.kind() {
        return Ok(Value::Text(std::str::from_utf8(raw)?.to_string()));
    }
    Ok(match *ty {
        Type::INT2 => Value::Integer(i16::from_be_bytes(fixed(raw)?).into()),
        Type::INT4 => Value::Integer(i32::from_be_bytes(fixed(raw)?).into()),
        Type::INT8 => Value::Integer(i64::from_be_bytes(fixed(raw)?)),
        Type::OID => Value::Integer(u32::from_be_bytes(fixed(raw)?).into()),
        Type::FLOAT4 => Value::Real(f32::from_be_bytes(fixed(raw)?).into()),
        Type::FLOAT8 => Value::Real(f64::from_be_bytes(fixed(raw)?)),
        Type::BOOL => Value::Text(
            if raw.first() == Some(&1) {
                "true"
            } else {
                "false"
            }
            .into(),
        ),
        Type::BYTEA => Value::Blob(raw.to_vec()),
        Type::NUMERIC => Value::Text(numeric_text(raw)?),
        Type::UUID => Value::Text(uuid_text(raw)?),
        Type::DATE => Value::Text(date_text(i32::from_be_bytes(fixed(raw)?))),
        Type::TIME => Value::Text(time_text(i64::from_be_bytes(fixed(raw)?))),
        Type::TIMESTAMP => Value::Text(timestamp_text(i64::from_be_bytes(fixed(raw)?))),
        Type::TIMESTAMPTZ => {
            // Shown in UTC, as the server shows it with TimeZone=UTC.
            let mut text = timestamp_text(i64::from_be_bytes(fixed(raw)?));
            text.push_str("+00");
            Value::Text(text)
        }
        Type::INTERVAL => Value::Text(interval_text(raw)?),
        Type::JSONB => Value::Text(std::str::from_utf8(raw.get(1..).unwrap_or_default())?.into()),
        Type::INET | Type::CIDR => Value::Text(inet_text(raw)?),
        _ if is_text_like(ty) => Value::Text(std::str::from_utf8(raw)?.to_string()),
        // A type loadscope cannot read the binary form of.
        _ => Value::Text(format!("({} value, {} bytes)", ty.name(), raw.len())),
    })
}

/// Types whose binary form is their text: the character types, json,
/// xml, and types of extensions (citext, ltree, ...) that send text.
fn is_text_like(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::CHAR
            | Type::JSON
            | Type::XML
            | Type::UNKNOWN
    ) || ty.oid() >= 16384
}

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], Error> {
    raw.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", raw.len()).into())
}

fn be_i16(raw: &[u8], at: usize) -> Result<i16, Error> {
    Ok(i16::from_be_bytes(fixed(
        raw.get(at..at + 2).ok_or("value cut short")?,
    )?))
}

fn be_i32(raw: &[u8], at: usize) -> Result<i32, Error> {
    Ok(i32::from_be_bytes(fixed(
        raw.get(at..at + 4).ok_or("value cut short")?,
    )?))
}

/// `numeric`: base-10000 digits with a weight, a sign and a display scale.
fn numeric_text(raw: &[u8]) -> Result<String, Error> {
    let ndigits = be_i16(raw, 0)? as usize;
    let weight = be_i16(raw, 2)? as i32;
    let sign = be_i16(raw, 4)? as u16;
    let dscale = be_i16(raw, 6)? as usize;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<i16> = (0..ndigits)
        .map(|i| be_i16(raw, 8 + 2 * i))
        .collect::<Result<_, _>>()?;
    let digit = |position: i32| -> i16 {
        // Position 0 is the group of units; weight counts groups.
        let index = weight - position;
        if index < 0 {
            0
        } else {
            digits.get(index as usize).copied().unwrap_or(0)
        }
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for position in (0..=weight).rev() {
            if position == weight {
                let _ = write!(out, "{}", digit(position));
            } else {
                let _ = write!(out, "{:04}", digit(position));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut fraction = String::new();
        let mut position = -1;
        while fraction.len() < dscale {
            let _ = write!(fraction, "{:04}", digit(position));
            position -= 1;
        }
        fraction.truncate(dscale);
        out.push_str(&fraction);
    }
    Ok(out)
}

fn uuid_text(raw: &[u8]) -> Result<String, Error> {
    let bytes: [u8; 16] = fixed(raw)?;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    Ok(out)
}

/// Days since 2000-01-01 as `YYYY-MM-DD` (proleptic Gregorian).
fn date_text(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days) + 10_957);
    if y <= 0 {
        format!("{:04}-{m:02}-{d:02} BC", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Microseconds since midnight as `HH:MM:SS[.ffffff]`.
fn time_text(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let mut out = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    push_fraction(&mut out, fraction);
    out
}

/// `.5`, `.123456`: PostgreSQL drops trailing zeros, and the point with
/// no fraction.
fn push_fraction(out: &mut String, micros: i64) {
    if micros != 0 {
        let digits = format!("{micros:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Microseconds since 2000-01-01 00:00 as `YYYY-MM-DD HH:MM:SS[.ffffff]`.
fn timestamp_text(micros: i64) -> String {
    match micros {
        i64::MAX => return "infinity".into(),
        i64::MIN => return "-infinity".into(),
        _ => {}
    }
    let day = micros.div_euclid(86_400_000_000);
    let time = micros.rem_euclid(86_400_000_000);
    let date = date_text(day as i32);
    match date.strip_suffix(" BC") {
        Some(date) => format!("{date} {} BC", time_text(time)),
        None => format!("{date} {}", time_text(time)),
    }
}

/// `1 year 2 mons 3 days 04:05:06`, PostgreSQL's `postgres` style.
fn interval_text(raw: &[u8]) -> Result<String, Error> {
    let micros = i64::from_be_bytes(fixed(raw.get(0..8).ok_or("value cut short")?)?);
    let days = be_i32(raw, 8)?;
    let months = be_i32(raw, 12)?;
    let mut parts = Vec::new();
    let plural =
        |n: i32, one: &str, many: &str| format!("{n} {}", if n.abs() == 1 { one } else { many });
    if months / 12 != 0 {
        parts.push(plural(months / 12, "year", "years"));
    }
    if months % 12 != 0 {
        parts.push(plural(months % 12, "mon", "mons"));
    }
    if days != 0 {
        parts.push(plural(days, "day", "days"));
    }
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else { "" };
        parts.push(format!("{sign}{}", time_text(micros.abs())));
    }
    Ok(parts.join(" "))
}

/// `inet`/`cidr`: family, bits, is-cidr, length, address.
fn inet_text(raw: &[u8]) -> Result<String, Error> {
    let family = *raw.first().ok_or("value cut short")?;
    let bits = *raw.get(1).ok_or("value cut short")?;
    let address = raw.get(4..).ok_or("value cut short")?;
    let (text, full) = if family == 3 || address.len() == 16 {
        let octets: [u8; 16] = fixed(address)?;
        (std::net::Ipv6Addr::from(octets).to_string(), 128)
    } else {
        let octets: [u8; 4] = fixed(address)?;
        (std::net::Ipv4Addr::from(octets).to_string(), 32)
    };
    let is_cidr = raw.get(2) == Some(&1);
    Ok(if bits == full && !is_cidr {
        text
    } else {
        format!("{text}/{bits}")
    })
}

/// An array in PostgreSQL's text form: `{1,2,3}`, `{{a,b},{c,d}}`,
/// elements quoted where needed, `NULL` for a null element.
fn array_text(element: &Type, raw: &[u8]) -> Result<String, Error> {
    let dimensions = be_i32(raw, 0)?.max(0) as usize;
    let mut lengths = Vec::with_capacity(dimensions);
    for d in 0..dimensions {
        lengths.push(be_i32(raw, 12 + 8 * d)?.max(0) as usize);
    }
    let mut at = 12 + 8 * dimensions;
    let mut elements = Vec::new();
    let total: usize = if dimensions == 0 {
        0
    } else {
        lengths.iter().product()
    };
    for _ in 0..total {
        let len = be_i32(raw, at)?;
        at += 4;
        if len < 0 {
            elements.push("NULL".to_string());
            continue;
        }
        let bytes = raw.get(at..at + len as usize).ok_or("value cut short")?;
        at += len as usize;
        let text = match decode(element, bytes)? {
            Value::Integer(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Text(t) => t,
            Value::Blob(b) => format!(
                "\\\\x{}",
                b.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
            Value::Null => "NULL".to_string(),
        };
        elements.push(quote_element(text));
    }
    if dimensions == 0 {
        return Ok("{}".into());
    }
    Ok(nest(&elements, &lengths))
}

fn nest(elements: &[String], lengths: &[usize]) -> String {
    match lengths {
        [] | [_] => format!("{{{}}}", elements.join(",")),
        [outer, inner @ ..] => {
            let size = elements.len() / (*outer).max(1);
            let parts: Vec<String> = elements
                .chunks(size.max(1))
                .map(|chunk| nest(chunk, inner))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

fn quote_element(text: String) -> String {
    let needs = text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text
            .chars()
            .any(|c| matches!(c, ',' | '{' | '}' | '"' | '\\') || c.is_whitespace());
    if !needs {
        return text;
    }
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Howard Hinnant's civil-from-days: days since 1970-01-01 to (y, m, d).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for v in [ndigits, weight, sign as i16, dscale] {
            raw.extend_from_slice(&v.to_be_bytes());
        }
        for d in digits {
            raw.extend_from_slice(&d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numerics_read_as_postgresql_writes_them() {
        assert_eq!(
            numeric_text(&numeric(2, 0, 0, 2, &[12, 5000])).unwrap(),
            "12.50"
        );
        assert_eq!(
            numeric_text(&numeric(2, 1, 0x4000, 0, &[1, 2345])).unwrap(),
            "-12345"
        );
        assert_eq!(numeric_text(&numeric(1, -1, 0, 3, &[50])).unwrap(), "0.005");
        assert_eq!(numeric_text(&numeric(0, 0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(
            numeric_text(&numeric(1, 2, 0, 0, &[7])).unwrap(),
            "700000000"
        );
    }

    #[test]
    fn times_read_as_postgresql_writes_them() {
        assert_eq!(date_text(0), "2000-01-01");
        assert_eq!(date_text(-1), "1999-12-31");
        assert_eq!(date_text(8826), "2024-03-01");
        let micros = (8826 * 86_400 + 9 * 3600 + 30 * 60) * 1_000_000 + 500_000;
        assert_eq!(timestamp_text(micros), "2024-03-01 09:30:00.5");
        assert_eq!(time_text(3_723_000_001), "01:02:03.000001");
        let mut raw = 3_723_000_000i64.to_be_bytes().to_vec();
        raw.extend_from_slice(&3i32.to_be_bytes());
        raw.extend_from_slice(&14i32.to_be_bytes());
        assert_eq!(
            interval_text(&raw).unwrap(),
            "1 year 2 mons 3 days 01:02:03"
        );
    }

    #[test]
    fn other_types_read_as_text() {
        let uuid = [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7,
        ];
        assert_eq!(
            decode(&Type::UUID, &uuid).unwrap(),
            Value::Text("12345678-9abc-def0-0001-020304050607".into())
        );
        assert_eq!(
            decode(&Type::BOOL, &[1]).unwrap(),
            Value::Text("true".into())
        );
        assert_eq!(
            decode(&Type::JSONB, b"\x01{\"a\": 1}").unwrap(),
            Value::Text("{\"a\": 1}".into())
        );
        assert_eq!(
            decode(&Type::INET, &[2, 32, 0, 4, 10, 0, 0, 1]).unwrap(),
            Value::Text("10.0.0.1".into())
        );
        // int4[] {1,NULL}
        let mut raw = Vec::new();
        for v in [1i32, 1, 23, 2, 1] {
            raw.extend_from_slice(&v.to_be_bytes());
        }
        raw.extend_from_slice(&4i32.to_be_bytes());
        raw.extend_from_slice(&1i32.to_be_bytes());
        raw.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            decode(&Type::INT4_ARRAY, &raw).unwrap(),
            Value::Text("{1,NULL}".into())
        );
    }
}
