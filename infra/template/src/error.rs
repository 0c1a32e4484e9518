//! What can be wrong with a template. Every message names the place in the template
//! (`Resources.AccountsTable.Properties.KeySchema[0].KeyType`) and what is missing or malformed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the template is not valid YAML: {0}")]
    Yaml(String),
    /// Something the model needs is not there.
    #[error("{at} is missing")]
    Missing { at: String },
    /// Something is there but not in a form the model understands.
    #[error("{at}: {problem}")]
    Invalid { at: String, problem: String },
}

/// The place of the document's root in messages.
const ROOT: &str = "the template";

fn place(at: &str) -> String {
    if at.is_empty() {
        ROOT.to_owned()
    } else {
        at.to_owned()
    }
}

pub(crate) fn invalid(at: &str, problem: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        at: place(at),
        problem: problem.into(),
    }
}

pub(crate) fn missing(at: &str) -> TemplateError {
    TemplateError::Missing { at: place(at) }
}
