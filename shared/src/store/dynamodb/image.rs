//! DynamoDB JSON (`{"S": "…"}`, `{"N": "12"}`, `{"M": {…}}` …), the form in which a DynamoDB
//! stream's Lambda event carries item images, to and from the SDK's [`AttributeValue`]: the
//! `notify` function reads `NewImage` with [`item_from_json`]; the local gateway's `--upstream`
//! mode writes stream batches with [`item_to_json`].

use std::collections::HashMap;

use aws_sdk_dynamodb::{primitives::Blob, types::AttributeValue};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Map, Value};

/// An item: attribute name to value.
pub type Item = HashMap<String, AttributeValue>;

/// A value that is not DynamoDB JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a DynamoDB JSON {0}")]
pub struct InvalidImage(&'static str);

/// An item image in DynamoDB JSON (an object of typed values).
///
/// # Errors
/// [`InvalidImage`] naming what is malformed.
pub fn item_from_json(image: &Value) -> Result<Item, InvalidImage> {
    let Value::Object(attributes) = image else {
        return Err(InvalidImage("image (an object)"));
    };
    attributes
        .iter()
        .map(|(name, value)| Ok((name.clone(), value_from_json(value)?)))
        .collect()
}

/// One typed value: exactly one of `S N B BOOL NULL M L SS NS BS`.
fn value_from_json(value: &Value) -> Result<AttributeValue, InvalidImage> {
    let invalid = InvalidImage("attribute value");
    let Value::Object(typed) = value else {
        return Err(invalid);
    };
    let mut entries = typed.iter();
    let (Some((kind, inner)), None) = (entries.next(), entries.next()) else {
        return Err(invalid);
    };
    fn string(v: &Value) -> Result<String, InvalidImage> {
        v.as_str()
            .map(str::to_owned)
            .ok_or(InvalidImage("attribute value"))
    }
    fn blob(v: &Value) -> Result<Blob, InvalidImage> {
        let text = v.as_str().ok_or(InvalidImage("attribute value"))?;
        STANDARD
            .decode(text)
            .map(Blob::new)
            .map_err(|_| InvalidImage("attribute value"))
    }
    fn list(v: &Value) -> Result<&Vec<Value>, InvalidImage> {
        v.as_array().ok_or(InvalidImage("attribute value"))
    }
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(string(inner)?),
        "N" => AttributeValue::N(string(inner)?),
        "B" => AttributeValue::B(blob(inner)?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or(invalid)?),
        "NULL" => AttributeValue::Null(inner.as_bool().ok_or(invalid)?),
        "M" => AttributeValue::M(item_from_json(inner)?),
        "L" => AttributeValue::L(
            list(inner)?
                .iter()
                .map(value_from_json)
                .collect::<Result<_, _>>()?,
        ),
        "SS" => AttributeValue::Ss(list(inner)?.iter().map(string).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(list(inner)?.iter().map(string).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(list(inner)?.iter().map(blob).collect::<Result<_, _>>()?),
        _ => return Err(invalid),
    })
}

/// An item in DynamoDB JSON, as a stream event carries it.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), value_to_json(value)))
            .collect(),
    )
}

fn value_to_json(value: &AttributeValue) -> Value {
    let typed = |kind: &str, inner: Value| {
        let mut object = Map::new();
        object.insert(kind.to_owned(), inner);
        Value::Object(object)
    };
    let strings = |items: &[String]| Value::from(items.to_vec());
    let blob = |b: &Blob| Value::from(STANDARD.encode(b.as_ref()));
    match value {
        AttributeValue::S(s) => typed("S", Value::from(s.as_str())),
        AttributeValue::N(n) => typed("N", Value::from(n.as_str())),
        AttributeValue::B(b) => typed("B", blob(b)),
        AttributeValue::Bool(b) => typed("BOOL", Value::from(*b)),
        AttributeValue::Null(b) => typed("NULL", Value::from(*b)),
        AttributeValue::M(m) => typed("M", item_to_json(m)),
        AttributeValue::L(l) => typed("L", l.iter().map(value_to_json).collect()),
        AttributeValue::Ss(ss) => typed("SS", strings(ss)),
        AttributeValue::Ns(ns) => typed("NS", strings(ns)),
        AttributeValue::Bs(bs) => typed("BS", bs.iter().map(blob).collect()),
        // A type newer than this SDK: kept visible rather than silently dropped.
        _ => typed("NULL", Value::from(true)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_type_round_trips() {
        let image = json!({
            "pk": {"S": "EVENT#evt_01"},
            "amount": {"N": "1250"},
            "raw": {"B": "AAEC"},
            "flag": {"BOOL": true},
            "none": {"NULL": true},
            "nested": {"M": {"a": {"S": "x"}, "b": {"L": [{"N": "1"}, {"S": "y"}]}}},
            "tags": {"SS": ["a", "b"]},
            "nums": {"NS": ["1", "2.5"]},
            "blobs": {"BS": ["AAE="]}
        });
        let item = item_from_json(&image).unwrap();
        assert_eq!(item["pk"], AttributeValue::S("EVENT#evt_01".to_owned()));
        assert_eq!(item["amount"], AttributeValue::N("1250".to_owned()));
        assert_eq!(item["raw"], AttributeValue::B(Blob::new(vec![0, 1, 2])));
        assert_eq!(item["flag"], AttributeValue::Bool(true));
        assert_eq!(item_to_json(&item), image);
    }

    #[test]
    fn malformed_images_are_refused() {
        for bad in [
            json!([]),
            json!({"pk": "EVENT#x"}),
            json!({"pk": {"S": 1}}),
            json!({"pk": {"S": "a", "N": "1"}}),
            json!({"pk": {}}),
            json!({"pk": {"X": "a"}}),
            json!({"pk": {"B": "not base64!"}}),
            json!({"pk": {"M": {"a": {"Q": 1}}}}),
        ] {
            assert!(item_from_json(&bad).is_err(), "{bad}");
        }
    }
}
