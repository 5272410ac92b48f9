//! What the mix stage hands to the stages after it: the `mix.source` and `mix.copies`
//! columns and the plan file in its folder. Both `mix` and `tokenize` use this module;
//! neither uses the other.

use std::path::Path;

use arrow::array::{Int32Array, RecordBatch, StringArray};
use taojin_schemas::manifest::MixPlan;

use super::spill::read_file;
use crate::engine::stage_dir::corrupt;
use crate::error::Result;

/// Column with the source a document was mixed under.
pub const MIX_SOURCE: &str = "mix.source";
/// Column with how many times the document goes into the shards.
pub const MIX_COPIES: &str = "mix.copies";
/// File name of the plan inside the mix stage folder.
pub const PLAN_FILE: &str = "mix_plan.json";

/// Reads the mix plan a finished mix stage wrote into its folder.
pub fn read_plan(stage_dir: &Path) -> Result<Option<MixPlan>> {
    let path = stage_dir.join(PLAN_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = read_file(&path)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| corrupt(&path, e))
}

/// Reads the copies and mix source of a batch's documents, when a mix came before.
pub fn batch_mix(batch: &RecordBatch) -> (Option<&Int32Array>, Option<&StringArray>) {
    (
        batch
            .column_by_name(MIX_COPIES)
            .and_then(|c| c.as_any().downcast_ref::<Int32Array>()),
        batch
            .column_by_name(MIX_SOURCE)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>()),
    )
}
