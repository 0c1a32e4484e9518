//! A [`Value`] together with its place in the template, so that every accessor can say where
//! something is missing or has the wrong shape.

use crate::{
    TemplateError,
    error::{invalid, missing},
    value::{Intrinsic, Value},
};

#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    value: &'a Value,
    at: String,
}

impl<'a> Node<'a> {
    pub(crate) fn new(value: &'a Value, at: impl Into<String>) -> Self {
        Self {
            value,
            at: at.into(),
        }
    }

    pub(crate) fn value(&self) -> &'a Value {
        self.value
    }

    pub(crate) fn at(&self) -> &str {
        &self.at
    }

    fn child(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    fn wrong(&self, expected: &str) -> TemplateError {
        invalid(
            &self.at,
            format!("expected {expected}, found {}", self.value.kind()),
        )
    }

    /// The value under `key`; `None` when the mapping has no such key (or it is null).
    pub(crate) fn field(&self, key: &str) -> Result<Option<Node<'a>>, TemplateError> {
        match self.value {
            Value::Mapping(_) => Ok(self
                .value
                .get(key)
                .filter(|v| **v != Value::Null)
                .map(|v| Node::new(v, self.child(key)))),
            _ => Err(self.wrong("a mapping")),
        }
    }

    pub(crate) fn required(&self, key: &str) -> Result<Node<'a>, TemplateError> {
        self.field(key)?.ok_or_else(|| missing(&self.child(key)))
    }

    /// The entries of a mapping, in template order.
    pub(crate) fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>, TemplateError> {
        match self.value {
            Value::Mapping(entries) => Ok(entries
                .iter()
                .map(|(k, v)| (k.as_str(), Node::new(v, self.child(k))))
                .collect()),
            _ => Err(self.wrong("a mapping")),
        }
    }

    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, TemplateError> {
        match self.value {
            Value::Sequence(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| Node::new(v, format!("{}[{i}]", self.at)))
                .collect()),
            _ => Err(self.wrong("a list")),
        }
    }

    pub(crate) fn str(&self) -> Result<&'a str, TemplateError> {
        match self.value {
            Value::String(text) if !text.is_empty() => Ok(text),
            Value::String(_) => Err(invalid(&self.at, "must not be empty")),
            _ => Err(self.wrong("a string")),
        }
    }

    pub(crate) fn strings(&self) -> Result<Vec<String>, TemplateError> {
        self.items()?
            .iter()
            .map(|item| item.str().map(str::to_owned))
            .collect()
    }

    /// A boolean; CloudFormation also accepts the strings `true` and `false`.
    pub(crate) fn bool(&self) -> Result<bool, TemplateError> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.wrong("true or false")),
        }
    }

    /// A whole number ≥ 0, written as a number or a numeric string.
    pub(crate) fn u64(&self) -> Result<u64, TemplateError> {
        let parsed = match self.value {
            Value::Integer(i) => u64::try_from(*i).ok(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| self.wrong("a whole number ≥ 0"))
    }

    /// A number ≥ 0, written as a number or a numeric string.
    pub(crate) fn f64(&self) -> Result<f64, TemplateError> {
        let parsed = match self.value {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| self.wrong("a number ≥ 0"))
    }

    /// The name a `!Ref` names.
    pub(crate) fn reference(&self) -> Result<&'a str, TemplateError> {
        match self.value.as_intrinsic() {
            Some(Intrinsic::Ref(name)) => Ok(name),
            _ => Err(self.wrong("!Ref <logical id>")),
        }
    }
}

/// The template's parameters with their defaults, which stand in for `!Ref Parameter` wherever
/// the model needs plain text (a stage name, a schedule expression).
#[derive(Debug, Clone, Default)]
pub(crate) struct Parameters(pub(crate) Vec<(String, Option<String>)>);

impl Parameters {
    pub(crate) fn parse(root: &Node<'_>) -> Result<Self, TemplateError> {
        let Some(parameters) = root.field("Parameters")? else {
            return Ok(Self::default());
        };
        let mut all = Vec::new();
        for (name, parameter) in parameters.entries()? {
            let default = match parameter.field("Default")? {
                None => None,
                Some(default) => Some(scalar(&default)?),
            };
            all.push((name.to_owned(), default));
        }
        Ok(Self(all))
    }

    /// Plain text: a string or number, or `!Ref` to a parameter that has a default.
    pub(crate) fn text(&self, node: &Node<'_>) -> Result<String, TemplateError> {
        match node.value().as_intrinsic() {
            Some(Intrinsic::Ref(name)) => self.default_of(name, node.at()),
            _ => scalar(node),
        }
    }

    /// The `Default` of the parameter `name`, referred to at `at`.
    pub(crate) fn default_of(&self, name: &str, at: &str) -> Result<String, TemplateError> {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((_, Some(default))) => Ok(default.clone()),
            Some((_, None)) => Err(invalid(
                at,
                format!("!Ref {name}: the parameter has no Default to stand for it"),
            )),
            None => Err(invalid(
                at,
                format!("!Ref {name}: expected a parameter with a Default"),
            )),
        }
    }

    /// Whether the template declares a parameter `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// A whole number ≥ 0: written as one, or `!Ref` to a parameter whose `Default` is one.
    pub(crate) fn u64(&self, node: &Node<'_>) -> Result<u64, TemplateError> {
        match node.value().as_intrinsic() {
            Some(Intrinsic::Ref(name)) => {
                let default = self.text(node)?;
                default.trim().parse().map_err(|_| {
                    invalid(
                        node.at(),
                        format!(
                            "!Ref {name}: the parameter's Default `{default}` is not a whole \
                             number ≥ 0"
                        ),
                    )
                })
            }
            _ => node.u64(),
        }
    }
}

fn scalar(node: &Node<'_>) -> Result<String, TemplateError> {
    match node.value() {
        Value::String(text) => Ok(text.clone()),
        Value::Integer(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(invalid(
            node.at(),
            format!(
                "expected text or !Ref to a parameter with a Default, found {}",
                other.kind()
            ),
        )),
    }
}
