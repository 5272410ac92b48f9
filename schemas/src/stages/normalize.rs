//! The `normalize` stage: Unicode and whitespace normalization.

use serde::{Deserialize, Serialize};

use super::StageParams;

/// Parameters of the `normalize` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeSpec {
    /// Stage name (default `normalize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Remove ANSI terminal escape sequences (`ESC [ … m`) along with control characters.
    #[serde(default = "yes")]
    pub strip_ansi: bool,
    /// Map exotic spaces (no-break, thin, en/em …) to ASCII space. The ideographic space
    /// U+3000 is kept: it is Chinese typography, not noise.
    #[serde(default = "yes")]
    pub unify_spaces: bool,
    /// Collapse runs of spaces and tabs inside a line to one space (off by default: it
    /// destroys code and table layout).
    #[serde(default)]
    pub collapse_spaces: bool,
    /// Longest run of blank lines kept.
    #[serde(default = "one")]
    pub max_blank_lines: usize,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}

impl Default for NormalizeSpec {
    fn default() -> Self {
        NormalizeSpec {
            name: None,
            strip_ansi: true,
            unify_spaces: true,
            collapse_spaces: false,
            max_blank_lines: 1,
        }
    }
}

impl StageParams for NormalizeSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}
