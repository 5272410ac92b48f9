//! The `classifier` stage: a learned quality score.

use serde::{Deserialize, Serialize};

use super::{StageMode, StageParams};

/// Parameters of the `classifier` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierSpec {
    /// Stage name (default `classifier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` removes documents under `min_score`; `annotate` (default) only scores.
    #[serde(default = "annotate")]
    pub mode: StageMode,
    /// The model file; relative to the job file.
    pub model: String,
    /// Column the score goes to.
    #[serde(default = "default_score_column")]
    pub column: String,
    /// In `drop` mode, documents scoring below this are removed as `classifier:low_score`.
    #[serde(default = "half_f32")]
    pub min_score: f32,
}

fn annotate() -> StageMode {
    StageMode::Annotate
}
fn default_score_column() -> String {
    "quality.score".into()
}
fn half_f32() -> f32 {
    0.5
}

impl StageParams for ClassifierSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}
