//! SAM's `Globals` section: properties every function (or API) of the template shares. They are
//! merged into each resource's own properties the way SAM does it: mappings merge key by key,
//! lists are the global items followed by the resource's, and any other value of the resource
//! replaces the global one.

use crate::{TemplateError, node::Node, value::Value};

#[derive(Debug, Clone, Default)]
pub(crate) struct Globals {
    function: Option<Value>,
    api: Option<Value>,
}

impl Globals {
    pub(crate) fn parse(root: &Node<'_>) -> Result<Self, TemplateError> {
        let Some(globals) = root.field("Globals")? else {
            return Ok(Self::default());
        };
        let section = |name: &str| -> Result<Option<Value>, TemplateError> {
            match globals.field(name)? {
                Some(node) => {
                    node.entries()?;
                    Ok(Some(node.value().clone()))
                }
                None => Ok(None),
            }
        };
        Ok(Self {
            function: section("Function")?,
            api: section("Api")?,
        })
    }

    /// A function's properties with `Globals.Function` merged in.
    pub(crate) fn function(&self, properties: Option<&Value>) -> Value {
        with_globals(self.function.as_ref(), properties)
    }

    /// An API's properties with `Globals.Api` merged in.
    pub(crate) fn api(&self, properties: Option<&Value>) -> Value {
        with_globals(self.api.as_ref(), properties)
    }
}

fn with_globals(global: Option<&Value>, local: Option<&Value>) -> Value {
    match (global, local) {
        (Some(global), Some(local)) => merge(global, local),
        (Some(only), None) | (None, Some(only)) => only.clone(),
        (None, None) => Value::Mapping(Vec::new()),
    }
}

fn merge(global: &Value, local: &Value) -> Value {
    match (global, local) {
        (Value::Mapping(global), Value::Mapping(local)) => {
            let mut merged = global.clone();
            for (key, value) in local {
                match merged.iter_mut().find(|(k, _)| k == key) {
                    Some((_, existing)) => *existing = merge(existing, value),
                    None => merged.push((key.clone(), value.clone())),
                }
            }
            Value::Mapping(merged)
        }
        (Value::Sequence(global), Value::Sequence(local)) => {
            Value::Sequence(global.iter().chain(local).cloned().collect())
        }
        (_, local) => local.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_merge_lists_append_and_scalars_of_the_resource_win() {
        let global = Value::from_yaml(
            "Timeout: 3\nEnvironment: {Variables: {A: '1', B: '2'}}\nLayers: [g]\n",
        )
        .unwrap();
        let local =
            Value::from_yaml("Timeout: 10\nEnvironment: {Variables: {B: '3'}}\nLayers: [l]\n")
                .unwrap();
        let expected = Value::from_yaml(
            "Timeout: 10\nEnvironment: {Variables: {A: '1', B: '3'}}\nLayers: [g, l]\n",
        )
        .unwrap();
        assert_eq!(merge(&global, &local), expected);
    }
}
