//! The `read` stage: the inputs as documents, every one kept.

use serde::{Deserialize, Serialize};

use super::StageParams;

/// Parameters of the `read` stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    /// Stage name (default `read`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl StageParams for ReadSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}
