//! An event source mapping's `FilterCriteria`, applied to records as Lambda applies them: a
//! record reaches the function when it matches any of the patterns. A pattern is EventBridge's
//! content filtering; the subset here is what templates filter streams with: exact values,
//! `prefix`, `exists` and `anything-but`, nested to any depth.

use serde_json::Value;

/// One parsed `Pattern`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern(Vec<(String, Rule)>);

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    /// The field matches one of these.
    AnyOf(Vec<Matcher>),
    /// A nested object.
    Nested(Pattern),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exactly(Value),
    Prefix(String),
    Exists(bool),
    AnythingBut(Vec<Value>),
}

impl Pattern {
    /// Parses a pattern's JSON text.
    ///
    /// # Errors
    /// What the text is not: JSON, an object of fields, or an operator emulated here.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text}"))?;
        Self::from_value(&value)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        let Value::Object(fields) = value else {
            return Err(format!("a pattern is an object, not {value}"));
        };
        fields
            .iter()
            .map(|(key, rule)| {
                let rule = match rule {
                    Value::Array(items) => {
                        Rule::AnyOf(items.iter().map(matcher).collect::<Result<_, _>>()?)
                    }
                    Value::Object(_) => Rule::Nested(Self::from_value(rule)?),
                    other => {
                        return Err(format!(
                            "`{key}`: expected a list or an object, not {other}"
                        ));
                    }
                };
                Ok((key.clone(), rule))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `record` (the event's JSON, as the function would receive it) matches.
    pub fn matches(&self, record: &Value) -> bool {
        self.0.iter().all(|(key, rule)| {
            let field = record.get(key);
            match rule {
                Rule::Nested(inner) => field.is_some_and(|f| inner.matches(f)),
                Rule::AnyOf(matchers) => matchers.iter().any(|m| m.matches(field)),
            }
        })
    }
}

/// Whether `record` passes `patterns` (no patterns: everything passes).
pub fn passes(patterns: &[Pattern], record: &Value) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(record))
}

fn matcher(value: &Value) -> Result<Matcher, String> {
    let Value::Object(operator) = value else {
        return Ok(Matcher::Exactly(value.clone()));
    };
    let [(name, argument)] = operator.iter().collect::<Vec<_>>()[..] else {
        return Err(format!("an operator is an object of one key, not {value}"));
    };
    match (name.as_str(), argument) {
        ("prefix", Value::String(prefix)) => Ok(Matcher::Prefix(prefix.clone())),
        ("exists", Value::Bool(exists)) => Ok(Matcher::Exists(*exists)),
        ("anything-but", Value::Array(values)) => Ok(Matcher::AnythingBut(values.clone())),
        ("anything-but", scalar) if !scalar.is_object() => {
            Ok(Matcher::AnythingBut(vec![scalar.clone()]))
        }
        _ => Err(format!(
            "the filter operator {value} is not emulated locally"
        )),
    }
}

impl Matcher {
    fn matches(&self, field: Option<&Value>) -> bool {
        match (self, field) {
            (Self::Exists(wanted), field) => field.is_some() == *wanted,
            (_, None) => false,
            // A list field matches when one of its elements does.
            (_, Some(Value::Array(items))) => items.iter().any(|item| self.matches(Some(item))),
            (Self::Exactly(expected), Some(found)) => expected == found,
            (Self::Prefix(prefix), Some(Value::String(found))) => found.starts_with(prefix),
            (Self::Prefix(_), Some(_)) => false,
            (Self::AnythingBut(excluded), Some(found)) => !excluded.contains(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Pattern, passes};

    const OUTBOX: &str = r#"{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["event", "resend"]}}}}"#;

    fn record(event_name: &str, kind: &str) -> serde_json::Value {
        json!({"eventName": event_name, "dynamodb": {"NewImage": {"pk": {"S": "EVENT#evt_1"}, "type": {"S": kind}}}})
    }

    #[test]
    fn the_outbox_filter_passes_inserted_events_and_resends_only() {
        let outbox = [Pattern::parse(OUTBOX).expect("parses")];
        assert!(passes(&outbox, &record("INSERT", "event")));
        assert!(passes(&outbox, &record("INSERT", "resend")));
        assert!(!passes(&outbox, &record("MODIFY", "event")));
        assert!(!passes(&outbox, &record("INSERT", "delivery")));
        assert!(!passes(&outbox, &record("INSERT", "payment")));
        assert!(!passes(
            &outbox,
            &json!({"eventName": "INSERT", "dynamodb": {}})
        ));
        assert!(!passes(&outbox, &json!({"eventName": "REMOVE"})));
        assert!(passes(&[], &json!({"anything": 1})));
    }

    #[test]
    fn operators_and_alternatives() {
        let any = [
            Pattern::parse(r#"{"pk": [{"prefix": "EVENT#"}], "gone": [{"exists": false}]}"#)
                .unwrap(),
            Pattern::parse(r#"{"n": [{"anything-but": [1, 2]}]}"#).unwrap(),
        ];
        assert!(passes(&any, &json!({"pk": "EVENT#x"})));
        assert!(!passes(&any, &json!({"pk": "EVENT#x", "gone": 1})));
        assert!(!passes(&any, &json!({"pk": "PAY#x", "n": 2})));
        assert!(passes(&any, &json!({"pk": "PAY#x", "n": 3})));
        assert!(passes(&any, &json!({"pk": ["PAY#x", "EVENT#y"]})));
        assert!(Pattern::parse(r#"{"n": [{"numeric": [">", 1]}]}"#).is_err());
        assert!(Pattern::parse("[1]").is_err());
        assert!(Pattern::parse(r#"{"n": 1}"#).is_err());
    }
}
