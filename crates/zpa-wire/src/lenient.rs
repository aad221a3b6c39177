//! Serde helpers for ZPA's loose typing: numbers that arrive as strings (or not).

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
use serde_json::Value;

fn number_from(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A count written as a string, read from a string or a number.
pub mod u64_as_string {
    use super::*;

    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    /// `null` reads as 0, like an absent count.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.is_null() {
            return Ok(0);
        }
        number_from(&value).ok_or_else(|| D::Error::custom("expected a count (a whole number, or one as a string)"))
    }
}

/// An optional count written as a string, read from a string or a number.
pub mod opt_u64_as_string {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_str(&v.to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
        let value = Option::<Value>::deserialize(deserializer)?;
        Ok(value.as_ref().and_then(number_from))
    }
}

/// Text that some responses send as a number (epoch times, `priority`, `expires_in`).
pub mod opt_string_or_number {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_str(v),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(deserializer)? {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        })
    }
}

/// A list of texts whose items may arrive as numbers (error `params`).
pub mod opt_strings {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Vec<String>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(items) => serializer.collect_seq(items),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
        Ok(match Option::<Value>::deserialize(deserializer)? {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
            ),
            Some(Value::String(s)) => Some(vec![s]),
            Some(other) => Some(vec![other.to_string()]),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Page;

    #[test]
    fn page_counts_accept_strings_and_numbers() {
        let a: Page<serde_json::Value> = serde_json::from_str(r#"{"totalPages":"3","list":[1]}"#).unwrap();
        let b: Page<serde_json::Value> = serde_json::from_str(r#"{"totalPages":3,"totalCount":7}"#).unwrap();
        assert_eq!(a.total_pages, 3);
        assert_eq!(b.total_pages, 3);
        assert_eq!(b.total_count, Some(7));
        assert!(b.list.is_empty(), "a missing list is an empty list");
        let written = serde_json::to_value(&b).unwrap();
        assert_eq!(written["totalPages"], "3");
        assert_eq!(written["totalCount"], "7");
        assert!(written.get("currentCount").is_none());
    }
}
