//! `AWS::DynamoDB::Table` resources: keys, attribute definitions, secondary indexes, TTL,
//! stream and billing mode, checked for consistency (every key attribute is defined, every definition is
//! used by a key), as DynamoDB itself would insist.

use crate::{TemplateError, error::invalid, node::Node};

/// One table as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub logical_id: String,
    pub billing_mode: BillingMode,
    /// `AttributeDefinitions`, in template order.
    pub attributes: Vec<AttributeDefinition>,
    pub key: KeySchema,
    pub global_indexes: Vec<SecondaryIndex>,
    pub local_indexes: Vec<SecondaryIndex>,
    /// The TTL attribute, when `TimeToLiveSpecification` enables one.
    pub ttl_attribute: Option<String>,
    /// `StreamSpecification.StreamViewType`, when the table has a stream.
    pub stream: Option<StreamViewType>,
}

impl Table {
    /// The global secondary index called `name`.
    pub fn global_index(&self, name: &str) -> Option<&SecondaryIndex> {
        self.global_indexes.iter().find(|index| index.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingMode {
    /// On demand (`PAY_PER_REQUEST`).
    PayPerRequest,
    /// `PROVISIONED`, also CloudFormation's default when `BillingMode` is absent.
    Provisioned,
}

/// What each record of a table's stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamViewType {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamViewType {
    /// The spelling of CloudFormation and of the DynamoDB API (`NEW_IMAGE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::NewImage => "NEW_IMAGE",
            Self::OldImage => "OLD_IMAGE",
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDefinition {
    pub name: String,
    pub kind: AttributeType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// `S`
    String,
    /// `N`
    Number,
    /// `B`
    Binary,
}

/// A hash key and an optional range key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    pub hash: String,
    pub range: Option<String>,
}

impl KeySchema {
    /// `(hash, None)` or `(hash, Some(range))`, convenient in assertions.
    pub fn names(&self) -> (&str, Option<&str>) {
        (&self.hash, self.range.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryIndex {
    pub name: String,
    pub key: KeySchema,
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    /// The keys plus these attributes.
    Include(Vec<String>),
}

pub(crate) fn parse(logical_id: &str, resource: &Node<'_>) -> Result<Table, TemplateError> {
    let properties = resource.required("Properties")?;
    let billing_mode = match properties.field("BillingMode")? {
        None => BillingMode::Provisioned,
        Some(mode) => match mode.str()? {
            "PAY_PER_REQUEST" => BillingMode::PayPerRequest,
            "PROVISIONED" => BillingMode::Provisioned,
            other => {
                return Err(invalid(
                    mode.at(),
                    format!("unknown billing mode `{other}` (PAY_PER_REQUEST or PROVISIONED)"),
                ));
            }
        },
    };
    let attributes = properties
        .required("AttributeDefinitions")?
        .items()?
        .iter()
        .map(attribute)
        .collect::<Result<Vec<_>, _>>()?;
    let key = key_schema(&properties.required("KeySchema")?)?;
    let global_indexes = indexes(&properties, "GlobalSecondaryIndexes")?;
    let local_indexes = indexes(&properties, "LocalSecondaryIndexes")?;
    let ttl_attribute = match properties.field("TimeToLiveSpecification")? {
        None => None,
        Some(ttl) => {
            let enabled = ttl.field("Enabled")?.map(|e| e.bool()).transpose()?;
            let name = ttl.required("AttributeName")?.str()?.to_owned();
            enabled.unwrap_or(false).then_some(name)
        }
    };
    let stream = match properties.field("StreamSpecification")? {
        None => None,
        Some(spec) => {
            let kind = spec.required("StreamViewType")?;
            let views = [
                StreamViewType::KeysOnly,
                StreamViewType::NewImage,
                StreamViewType::OldImage,
                StreamViewType::NewAndOldImages,
            ];
            let name = kind.str()?;
            Some(views.into_iter().find(|v| v.as_str() == name).ok_or_else(|| {
                invalid(
                    kind.at(),
                    format!(
                        "unknown stream view type `{name}` (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or \
                         NEW_AND_OLD_IMAGES)"
                    ),
                )
            })?)
        }
    };
    let table = Table {
        logical_id: logical_id.to_owned(),
        billing_mode,
        attributes,
        key,
        global_indexes,
        local_indexes,
        ttl_attribute,
        stream,
    };
    check_definitions(&table, &properties)?;
    Ok(table)
}

fn attribute(node: &Node<'_>) -> Result<AttributeDefinition, TemplateError> {
    let kind = node.required("AttributeType")?;
    Ok(AttributeDefinition {
        name: node.required("AttributeName")?.str()?.to_owned(),
        kind: match kind.str()? {
            "S" => AttributeType::String,
            "N" => AttributeType::Number,
            "B" => AttributeType::Binary,
            other => {
                return Err(invalid(
                    kind.at(),
                    format!("unknown attribute type `{other}` (S, N or B)"),
                ));
            }
        },
    })
}

fn key_schema(node: &Node<'_>) -> Result<KeySchema, TemplateError> {
    let mut hash = None;
    let mut range = None;
    for element in node.items()? {
        let name = element.required("AttributeName")?.str()?.to_owned();
        let key_type = element.required("KeyType")?;
        let slot = match key_type.str()? {
            "HASH" => &mut hash,
            "RANGE" => &mut range,
            other => {
                return Err(invalid(
                    key_type.at(),
                    format!("unknown key type `{other}` (HASH or RANGE)"),
                ));
            }
        };
        if slot.replace(name).is_some() {
            return Err(invalid(
                element.at(),
                "a key schema has one HASH and at most one RANGE element",
            ));
        }
    }
    let hash = hash.ok_or_else(|| invalid(node.at(), "no HASH key"))?;
    Ok(KeySchema { hash, range })
}

fn indexes(properties: &Node<'_>, field: &str) -> Result<Vec<SecondaryIndex>, TemplateError> {
    let Some(list) = properties.field(field)? else {
        return Ok(Vec::new());
    };
    list.items()?
        .iter()
        .map(|index| {
            let projection = index.required("Projection")?;
            let kind = projection.required("ProjectionType")?;
            let non_key = projection.field("NonKeyAttributes")?;
            Ok(SecondaryIndex {
                name: index.required("IndexName")?.str()?.to_owned(),
                key: key_schema(&index.required("KeySchema")?)?,
                projection: match (kind.str()?, non_key) {
                    ("ALL", None) => Projection::All,
                    ("KEYS_ONLY", None) => Projection::KeysOnly,
                    ("INCLUDE", Some(attributes)) => Projection::Include(attributes.strings()?),
                    ("INCLUDE", None) => {
                        return Err(invalid(projection.at(), "INCLUDE needs NonKeyAttributes"));
                    }
                    ("ALL" | "KEYS_ONLY", Some(_)) => {
                        return Err(invalid(
                            projection.at(),
                            "NonKeyAttributes go only with ProjectionType INCLUDE",
                        ));
                    }
                    (other, _) => {
                        return Err(invalid(
                            kind.at(),
                            format!("unknown projection `{other}` (ALL, KEYS_ONLY or INCLUDE)"),
                        ));
                    }
                },
            })
        })
        .collect()
}

/// Every key attribute (of the table and its indexes) is defined, and every definition is used.
fn check_definitions(table: &Table, properties: &Node<'_>) -> Result<(), TemplateError> {
    let keys: Vec<&str> = std::iter::once(&table.key)
        .chain(table.global_indexes.iter().map(|i| &i.key))
        .chain(table.local_indexes.iter().map(|i| &i.key))
        .flat_map(|key| std::iter::once(key.hash.as_str()).chain(key.range.as_deref()))
        .collect();
    let defined = |name: &str| table.attributes.iter().any(|a| a.name == name);
    if let Some(undefined) = keys.iter().find(|name| !defined(name)) {
        return Err(invalid(
            properties.at(),
            format!("the key attribute `{undefined}` is not in AttributeDefinitions"),
        ));
    }
    if let Some(unused) = table
        .attributes
        .iter()
        .find(|a| !keys.contains(&a.name.as_str()))
    {
        return Err(invalid(
            properties.at(),
            format!(
                "AttributeDefinitions lists `{}`, which no key uses",
                unused.name
            ),
        ));
    }
    Ok(())
}
