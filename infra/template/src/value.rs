//! The template as a tree of [`Value`]s in which CloudFormation's intrinsic functions are
//! values of their own ([`Intrinsic`]), whichever way they were written: the short-form tags
//! (`!Ref Api`, `!GetAtt Fn.Arn`) and the long form (`{Ref: Api}`, `{"Fn::GetAtt": [Fn, Arn]}`)
//! read the same.

use serde_norway::Value as Yaml;

use crate::{TemplateError, error::invalid};

/// A node of the template.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Sequence(Vec<Value>),
    /// Keys in the order the template wrote them.
    Mapping(Vec<(String, Value)>),
    Intrinsic(Box<Intrinsic>),
}

/// A CloudFormation intrinsic function, left unevaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum Intrinsic {
    /// `!Ref Name`: a parameter, a resource or a pseudo parameter (`AWS::Region`).
    Ref(String),
    /// `!GetAtt Resource.Attribute` (the attribute may itself contain dots).
    GetAtt { resource: String, attribute: String },
    /// `!Sub "text ${Var}"`, or `!Sub [text, {Var: value}]`.
    Sub {
        template: String,
        variables: Vec<(String, Value)>,
    },
    /// `!Join [delimiter, values]`; `values` is a list or an intrinsic giving one.
    Join { delimiter: String, values: Value },
    /// `!If [condition, value_if_true, value_if_false]`.
    If {
        condition: String,
        then: Value,
        otherwise: Value,
    },
    /// Any other function (`Fn::Select`, `Fn::Split`, `Condition`, ...) with its arguments.
    Other { function: String, arguments: Value },
}

/// The functions with a short form besides those [`Intrinsic`] names; each is `Fn::<name>`,
/// except `Condition`.
const OTHER_FUNCTIONS: &[&str] = &[
    "And",
    "Base64",
    "Cidr",
    "Condition",
    "Equals",
    "FindInMap",
    "ForEach",
    "GetAZs",
    "ImportValue",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "ToJsonString",
    "Transform",
];

impl Value {
    /// Reads YAML text into a tree.
    ///
    /// # Errors
    /// [`TemplateError::Yaml`] for text that is not YAML; [`TemplateError::Invalid`] for an
    /// unknown tag, a malformed intrinsic function or a mapping key that is not a string.
    pub fn from_yaml(text: &str) -> Result<Self, TemplateError> {
        let yaml: Yaml =
            serde_norway::from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
        convert(yaml, "")
    }

    /// The text of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// The value under `key` of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Mapping(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The intrinsic function this node is, if it is one.
    pub fn as_intrinsic(&self) -> Option<&Intrinsic> {
        match self {
            Self::Intrinsic(function) => Some(function),
            _ => None,
        }
    }

    /// What kind of node this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "nothing",
            Self::Bool(_) => "a boolean",
            Self::Integer(_) | Self::Float(_) => "a number",
            Self::String(_) => "a string",
            Self::Sequence(_) => "a list",
            Self::Mapping(_) => "a mapping",
            Self::Intrinsic(_) => "an intrinsic function",
        }
    }
}

fn child(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

fn convert(yaml: Yaml, at: &str) -> Result<Value, TemplateError> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Sequence(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| convert(item, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut entries = Vec::with_capacity(mapping.len());
            for (key, value) in mapping {
                let Yaml::String(key) = key else {
                    return Err(invalid(
                        at,
                        format!("a mapping key is not a string: {key:?}"),
                    ));
                };
                let value = convert(value, &child(at, &key))?;
                entries.push((key, value));
            }
            long_form(entries, at)?
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let function = match name {
                "Ref" | "Condition" => name.to_owned(),
                _ if name == "GetAtt"
                    || name == "Sub"
                    || name == "Join"
                    || name == "If"
                    || OTHER_FUNCTIONS.contains(&name) =>
                {
                    format!("Fn::{name}")
                }
                _ => return Err(invalid(at, format!("unknown tag {tag}"))),
            };
            let arguments = convert(tagged.value, at)?;
            Value::Intrinsic(Box::new(intrinsic(&function, arguments, at)?))
        }
    })
}

/// A one-key mapping whose key is `Ref` or `Fn::…` is the long form of a function.
fn long_form(mut entries: Vec<(String, Value)>, at: &str) -> Result<Value, TemplateError> {
    let is_function = matches!(
        entries.as_slice(),
        [(key, _)] if key == "Ref" || key.starts_with("Fn::")
    );
    if is_function && let Some((function, arguments)) = entries.pop() {
        let at = child(at, &function);
        return Ok(Value::Intrinsic(Box::new(intrinsic(
            &function, arguments, &at,
        )?)));
    }
    Ok(Value::Mapping(entries))
}

fn intrinsic(function: &str, arguments: Value, at: &str) -> Result<Intrinsic, TemplateError> {
    let malformed = |expected: &str| invalid(at, format!("{function} takes {expected}"));
    Ok(match function {
        "Ref" => match arguments {
            Value::String(name) if !name.is_empty() => Intrinsic::Ref(name),
            _ => return Err(malformed("a name")),
        },
        "Fn::GetAtt" => {
            let (resource, attribute) = match arguments {
                Value::String(dotted) => match dotted.split_once('.') {
                    Some((resource, attribute)) => (resource.to_owned(), attribute.to_owned()),
                    None => return Err(malformed("`Resource.Attribute`")),
                },
                Value::Sequence(parts) => match <[Value; 2]>::try_from(parts) {
                    Ok([Value::String(resource), Value::String(attribute)]) => {
                        (resource, attribute)
                    }
                    _ => return Err(malformed("`Resource.Attribute` or [Resource, Attribute]")),
                },
                _ => return Err(malformed("`Resource.Attribute` or [Resource, Attribute]")),
            };
            if resource.is_empty() || attribute.is_empty() {
                return Err(malformed("`Resource.Attribute`"));
            }
            Intrinsic::GetAtt {
                resource,
                attribute,
            }
        }
        "Fn::Sub" => match arguments {
            Value::String(template) => Intrinsic::Sub {
                template,
                variables: Vec::new(),
            },
            Value::Sequence(parts) => match <[Value; 2]>::try_from(parts) {
                Ok([Value::String(template), Value::Mapping(variables)]) => Intrinsic::Sub {
                    template,
                    variables,
                },
                _ => return Err(malformed("a string, or [string, {variables}]")),
            },
            _ => return Err(malformed("a string, or [string, {variables}]")),
        },
        "Fn::Join" => match arguments {
            Value::Sequence(parts) => match <[Value; 2]>::try_from(parts) {
                Ok([Value::String(delimiter), values]) => Intrinsic::Join { delimiter, values },
                _ => return Err(malformed("[delimiter, [values]]")),
            },
            _ => return Err(malformed("[delimiter, [values]]")),
        },
        "Fn::If" => match arguments {
            Value::Sequence(parts) => match <[Value; 3]>::try_from(parts) {
                Ok([Value::String(condition), then, otherwise]) => Intrinsic::If {
                    condition,
                    then,
                    otherwise,
                },
                _ => return Err(malformed("[condition, value if true, value if false]")),
            },
            _ => return Err(malformed("[condition, value if true, value if false]")),
        },
        _ => Intrinsic::Other {
            function: function.to_owned(),
            arguments,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        Value::from_yaml(text).unwrap()
    }

    fn function(value: &Value, key: &str) -> Intrinsic {
        value
            .get(key)
            .and_then(Value::as_intrinsic)
            .cloned()
            .unwrap()
    }

    #[test]
    fn short_and_long_forms_read_the_same() {
        let doc = parse(
            "a: !Ref Api\n\
             b: {Ref: Api}\n\
             c: !GetAtt Fn.Arn\n\
             d: {'Fn::GetAtt': [Fn, Arn]}\n\
             e: !GetAtt [Db, Endpoint.Address]\n",
        );
        assert_eq!(function(&doc, "a"), Intrinsic::Ref("Api".into()));
        assert_eq!(function(&doc, "a"), function(&doc, "b"));
        let get_att = Intrinsic::GetAtt {
            resource: "Fn".into(),
            attribute: "Arn".into(),
        };
        assert_eq!(function(&doc, "c"), get_att);
        assert_eq!(function(&doc, "d"), get_att);
        assert_eq!(
            function(&doc, "e"),
            Intrinsic::GetAtt {
                resource: "Db".into(),
                attribute: "Endpoint.Address".into()
            }
        );
    }

    #[test]
    fn sub_join_if_and_the_rest_keep_their_arguments() {
        let doc = parse(
            "sub: !Sub '${AWS::StackName}-plan'\n\
             sub_vars: !Sub ['${A}', {A: !Ref B}]\n\
             join: !Join ['', [a, !Ref B]]\n\
             if: !If [IsProd, 1, !Ref AWS::NoValue]\n\
             select: !Select [0, !GetAZs '']\n",
        );
        assert_eq!(
            function(&doc, "sub"),
            Intrinsic::Sub {
                template: "${AWS::StackName}-plan".into(),
                variables: vec![],
            }
        );
        assert_eq!(
            function(&doc, "sub_vars"),
            Intrinsic::Sub {
                template: "${A}".into(),
                variables: vec![(
                    "A".into(),
                    Value::Intrinsic(Box::new(Intrinsic::Ref("B".into())))
                )],
            }
        );
        let Intrinsic::Join { delimiter, values } = function(&doc, "join") else {
            panic!("a join")
        };
        assert_eq!(delimiter, "");
        assert!(matches!(values, Value::Sequence(ref v) if v.len() == 2));
        let Intrinsic::If {
            condition, then, ..
        } = function(&doc, "if")
        else {
            panic!("an if")
        };
        assert_eq!((condition.as_str(), then), ("IsProd", Value::Integer(1)));
        let Intrinsic::Other { function: name, .. } = function(&doc, "select") else {
            panic!("another function")
        };
        assert_eq!(name, "Fn::Select");
    }

    #[test]
    fn malformed_functions_and_unknown_tags_are_named_with_their_place() {
        let error = |text: &str| Value::from_yaml(text).unwrap_err().to_string();
        assert_eq!(
            error("Resources:\n  X:\n    Arn: !GetAtt NoDot\n"),
            "Resources.X.Arn: Fn::GetAtt takes `Resource.Attribute`"
        );
        assert_eq!(error("a:\n  - !Bogus x\n"), "a[0]: unknown tag !Bogus");
        assert_eq!(
            error("a: !If [c, 1]\n"),
            "a: Fn::If takes [condition, value if true, value if false]"
        );
        assert!(error("a: [unclosed\n").starts_with("the template is not valid YAML"));
    }
}
