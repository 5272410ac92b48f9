//! The `extract` stage: main text out of HTML (WARC responses, or an input's `html_field`).

use serde::{Deserialize, Serialize};

use super::{StageAt, StageParams};
use crate::job::{JobError, invalid};

/// What extraction favours when a block could go either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Favor {
    /// Keep less but cleaner (FineWeb runs trafilatura with `favor_precision=True`).
    Precision,
    /// jusText's thresholds.
    #[default]
    Balanced,
    /// Keep more, accepting some boilerplate.
    Recall,
}

/// Parameters of the `extract` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSpec {
    /// Stage name (default `extract`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Precision, balanced or recall.
    #[serde(default)]
    pub favor: Favor,
    /// Keep data tables as rows (`cell | cell`); layout tables are read as blocks either way.
    #[serde(default = "yes")]
    pub keep_tables: bool,
    /// Pages whose main text has fewer non-space characters are removed (`extract_empty`).
    #[serde(default = "one")]
    pub min_text_chars: usize,
    /// Put the page `<title>` first when the text does not start with it.
    #[serde(default)]
    pub with_title: bool,
    /// Open elements tracked per page; deeper nesting is read as inline (bounded memory).
    #[serde(default = "max_depth")]
    pub max_depth: usize,
    /// Pages whose decoding has a larger share of replacement characters are removed
    /// (`bad_charset`) rather than kept as mojibake.
    #[serde(default = "max_replacement_share")]
    pub max_replacement_share: f64,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn max_depth() -> usize {
    256
}
fn max_replacement_share() -> f64 {
    0.01
}

impl Default for ExtractSpec {
    fn default() -> Self {
        ExtractSpec {
            name: None,
            favor: Favor::default(),
            keep_tables: true,
            min_text_chars: 1,
            with_title: false,
            max_depth: max_depth(),
            max_replacement_share: max_replacement_share(),
        }
    }
}

impl StageParams for ExtractSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        if at.index != 0 {
            return Err(invalid(
                format!("{}.kind", at.key),
                "`extract` reads the raw HTML of the inputs: it must be the first stage",
            ));
        }
        if !(4..=100_000).contains(&self.max_depth) {
            return Err(invalid(
                format!("{}.max_depth", at.key),
                "must be 4..=100000",
            ));
        }
        if !(0.0..=1.0).contains(&self.max_replacement_share) {
            return Err(invalid(
                format!("{}.max_replacement_share", at.key),
                "must be between 0 and 1",
            ));
        }
        Ok(())
    }
}
