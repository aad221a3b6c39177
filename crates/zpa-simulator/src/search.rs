//! ZPA's `search` parameter and the Microtenant search body filters.
//!
//! `search` takes a filter expression `<field>+<OP>+<value>` (the `+` arrives
//! percent-encoded as `%2B`; see [`super::query`]). A plain single word matches
//! names containing it; a plain string with spaces is refused with
//! `filtering.input.invalid.operand`, as the real API does.

use serde_json::Value;

use super::error::ApiError;
use zpa_wire::error::ids;
use zpa_wire::mgmt::Filter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim().to_ascii_uppercase().as_str() {
            "EQ" => Op::Eq,
            "NE" => Op::Ne,
            "CONTAINS" => Op::Contains,
            "STARTSWITH" => Op::StartsWith,
            "ENDSWITH" => Op::EndsWith,
            "GT" => Op::Gt,
            "LT" => Op::Lt,
            "GE" => Op::Ge,
            "LE" => Op::Le,
            _ => return None,
        })
    }

    /// Operators of the `POST .../microtenants/search` body.
    fn parse_body_operator(raw: &str) -> Option<Self> {
        Some(match raw.trim().to_ascii_uppercase().as_str() {
            "EQ" | "EQUALS" => Op::Eq,
            "LIKE" | "CONTAINS" => Op::Contains,
            "NQ" | "NE" | "NOT_EQUALS" => Op::Ne,
            "STARTSWITH" => Op::StartsWith,
            "ENDSWITH" => Op::EndsWith,
            _ => return None,
        })
    }
}

/// One condition: a field, an operator and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    /// Any of these values satisfies the condition (all of them for `NE`).
    pub values: Vec<String>,
}

/// A parsed `search` parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    All,
    Condition(Condition),
}

fn invalid(reason: impl Into<String>) -> ApiError {
    ApiError::bad_request(ids::FILTERING_INVALID, reason)
}

impl Search {
    /// Parses the decoded `search` value.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let text = raw.unwrap_or_default().trim();
        if text.is_empty() {
            return Ok(Search::All);
        }
        if text.contains('+') {
            let mut parts = text.splitn(3, '+');
            let field = parts.next().unwrap_or_default().trim();
            let op = parts.next().unwrap_or_default();
            let value = parts.next();
            let (Some(op), Some(value)) = (Op::parse(op), value) else {
                return Err(invalid(format!("Invalid filter expression '{text}': expected <field>+<OP>+<value>.")));
            };
            if field.is_empty() || field.contains(char::is_whitespace) {
                return Err(invalid(format!("Invalid filter field in '{text}'.")));
            }
            return Ok(Search::Condition(Condition { field: field.to_owned(), op, values: vec![value.to_owned()] }));
        }
        if text.contains(char::is_whitespace) {
            return Err(invalid(format!(
                "Invalid search operand '{text}': use a filter expression such as name+EQ+<value>."
            )));
        }
        Ok(Search::Condition(Condition { field: "name".to_owned(), op: Op::Contains, values: vec![text.to_owned()] }))
    }

    /// The name a `name+EQ+<name>` search asks for: the one search a store
    /// can answer from its name index (`matches` still decides).
    pub fn name_equals(&self) -> Option<&str> {
        match self {
            Search::Condition(Condition { field, op: Op::Eq, values }) if field == "name" && values.len() == 1 => {
                values.first().map(String::as_str)
            }
            _ => None,
        }
    }

    pub fn matches(&self, object: &Value) -> bool {
        match self {
            Search::All => true,
            Search::Condition(condition) => condition.matches(object),
        }
    }
}

/// Parses the filters of a search body; all must match (AND).
pub fn body_conditions(filters: &[&Filter]) -> Result<Vec<Condition>, ApiError> {
    filters
        .iter()
        .map(|filter| {
            let op = Op::parse_body_operator(&filter.operator)
                .ok_or_else(|| invalid(format!("Unsupported filter operator '{}'.", filter.operator)))?;
            if filter.filter_name.trim().is_empty() {
                return Err(invalid("A filter needs a filterName."));
            }
            let values: Vec<String> = filter.all_values().into_iter().map(str::to_owned).collect();
            Ok(Condition { field: filter.filter_name.trim().to_owned(), op, values })
        })
        .collect()
}

impl Condition {
    pub fn matches(&self, object: &Value) -> bool {
        let field_values = field_values(object, &self.field);
        if self.values.is_empty() {
            return true;
        }
        match self.op {
            Op::Ne => self.values.iter().all(|wanted| field_values.iter().all(|have| !compare(Op::Eq, have, wanted))),
            op => self.values.iter().any(|wanted| field_values.iter().any(|have| compare(op, have, wanted))),
        }
    }
}

/// The values of `field` (case-insensitive key, snake_case accepted) as text;
/// arrays give one entry per element, a missing field gives `""`.
fn field_values(object: &Value, field: &str) -> Vec<String> {
    let wanted: String = field.chars().filter(|c| *c != '_').collect();
    let found = object
        .as_object()
        .and_then(|map| map.iter().find(|(key, _)| key.eq_ignore_ascii_case(&wanted)).map(|(_, value)| value));
    match found {
        None | Some(Value::Null) => vec![String::new()],
        Some(Value::Array(items)) => items.iter().map(text_of).collect(),
        Some(value) => vec![text_of(value)],
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) => map.get("name").map(text_of).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn compare(op: Op, have: &str, wanted: &str) -> bool {
    let have_l = have.to_lowercase();
    let wanted_l = wanted.to_lowercase();
    let ordering = || match (have.trim().parse::<f64>(), wanted.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b),
        _ => Some(have_l.cmp(&wanted_l)),
    };
    match op {
        Op::Eq => have_l == wanted_l,
        Op::Ne => have_l != wanted_l,
        Op::Contains => have_l.contains(&wanted_l),
        Op::StartsWith => have_l.starts_with(&wanted_l),
        Op::EndsWith => have_l.ends_with(&wanted_l),
        Op::Gt => ordering().is_some_and(|o| o.is_gt()),
        Op::Lt => ordering().is_some_and(|o| o.is_lt()),
        Op::Ge => ordering().is_some_and(|o| o.is_ge()),
        Op::Le => ordering().is_some_and(|o| o.is_le()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use zpa_wire::mgmt::SearchRequest;

    fn search(raw: &str) -> Search {
        Search::parse(Some(raw)).unwrap()
    }

    #[test]
    fn expressions_match_case_insensitively() {
        let obj =
            json!({"name": "Service Edge", "enabled": true, "criteriaAttributeValues": ["a.example.com", "b.org"]});
        assert!(search("name+EQ+service edge").matches(&obj));
        assert!(!search("name+EQ+service").matches(&obj));
        assert!(search("name+NE+other").matches(&obj));
        assert!(search("NAME+contains+EDGE").matches(&obj));
        assert!(search("name+STARTSWITH+serv").matches(&obj));
        assert!(search("name+ENDSWITH+dge").matches(&obj));
        assert!(search("enabled+EQ+true").matches(&obj));
        assert!(search("criteriaAttributeValues+EQ+b.org").matches(&obj));
        assert!(search("criteria_attribute_values+ENDSWITH+example.com").matches(&obj));
        assert!(!search("description+EQ+x").matches(&obj), "a missing field is empty");
    }

    #[test]
    fn the_value_keeps_later_plus_signs() {
        let parsed = search("name+EQ+a+b");
        assert_eq!(
            parsed,
            Search::Condition(Condition { field: "name".into(), op: Op::Eq, values: vec!["a+b".into()] })
        );
    }

    #[test]
    fn a_plain_word_matches_names_containing_it() {
        assert!(search("edge").matches(&json!({"name": "Service Edge"})));
        assert!(!search("edge").matches(&json!({"name": "Connector"})));
        assert!(search("  ").matches(&json!({"name": "x"})));
    }

    #[test]
    fn plain_multi_word_strings_and_bad_operators_are_refused() {
        for bad in ["Service Edge", "name EQ foo", "name+XX+foo", "name+EQ", "+EQ+x"] {
            let err = Search::parse(Some(bad)).unwrap_err();
            assert_eq!(err.id(), ids::FILTERING_INVALID, "{bad}");
        }
    }

    #[test]
    fn numeric_comparisons() {
        let obj = json!({"creationTime": "1700000000"});
        assert!(search("creationTime+GT+999").matches(&obj));
        assert!(search("creationTime+LE+1700000000").matches(&obj));
        assert!(!search("creationTime+LT+1700000000").matches(&obj));
    }

    #[test]
    fn body_filters_in_both_shapes() {
        let docs: SearchRequest = serde_json::from_value(json!({
            "filterBy": [{"filterName": "criteriaAttributeValues", "operator": "LIKE", "values": ["dummy"]}]
        }))
        .unwrap();
        let go: SearchRequest = serde_json::from_value(json!({
            "filterBy": {"filterGroups": [{"filters": [{"filterName": "name", "operator": "NQ", "value": "x"}]}]}
        }))
        .unwrap();
        let obj = json!({"name": "y", "criteriaAttributeValues": ["dummytest.com"]});
        for request in [docs, go] {
            let filter_by = request.filter_by.unwrap();
            let conditions = body_conditions(&filter_by.filters()).unwrap();
            assert!(conditions.iter().all(|c| c.matches(&obj)));
        }
        let bad = Filter { filter_name: "name".into(), operator: "REGEX".into(), values: None, value: None };
        assert_eq!(body_conditions(&[&bad]).unwrap_err().id(), ids::FILTERING_INVALID);
    }
}
