//! The Arrow schema of one document row, as every stage reads and writes it.
//!
//! Stages only ever append columns (signals) to this base; they never rename or drop
//! one, so a later stage or a SQL query can rely on the names below. The one exception is
//! `html` (web inputs): the `extract` stage consumes it into `text`, so raw pages are not
//! carried through every later stage (removed pages keep it in `raw`).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// Column names of the document contract (see DESIGN.md, "The data contract").
pub mod columns {
    /// Unique document id within a job: from the input, or derived `source/file/line`.
    pub const ID: &str = "id";
    /// The UTF-8 document text.
    pub const TEXT: &str = "text";
    /// Name of the job input the document came from: the unit of mixing.
    pub const SOURCE: &str = "source";
    /// Source URL, when the input had one.
    pub const URL: &str = "url";
    /// Input fields taojin does not model, passed through verbatim as a JSON object.
    pub const META: &str = "meta";
    /// Language label written by the `langid` stage.
    pub const LANG: &str = "lang";
    /// Probability of `lang`.
    pub const LANG_SCORE: &str = "lang_score";
    /// Near-duplicate cluster id (hash of the surviving document's id), from `minhash_dedup`.
    pub const DUP_CLUSTER: &str = "dup_cluster";
    /// Number of documents in the near-duplicate cluster (1 for unique documents).
    pub const DUP_CLUSTER_SIZE: &str = "dup_cluster_size";
    /// Why a document was removed (removed files only), e.g. `empty`, `bad_record`.
    pub const REASON: &str = "reason";
    /// Human-readable detail of a removal (bad records: what was wrong, file and line).
    pub const DETAIL: &str = "detail";
    /// The raw bytes of a record that could not be parsed (bad records only).
    pub const RAW: &str = "raw";
    /// Raw HTML bytes, as served (web inputs, until the `extract` stage consumes them).
    pub const HTML: &str = "html";
    /// `WARC-Date` of the record.
    pub const WARC_DATE: &str = "warc.date";
    /// The WARC file the record came from (its name relative to the input).
    pub const WARC_FILENAME: &str = "warc.filename";
    /// Byte offset of the record (of its gzip member) in that file: fetch it again from there.
    pub const WARC_OFFSET: &str = "warc.offset";
    /// The HTTP `Content-Type` header of the response.
    pub const HTTP_CONTENT_TYPE: &str = "http.content_type";
}

/// The columns web inputs add to the base schema when the job starts with `extract`:
/// the raw `html` (which `extract` replaces by `text`) and where the page came from.
pub fn web_fields() -> Vec<Field> {
    vec![
        Field::new(columns::HTML, DataType::Binary, true),
        Field::new(columns::WARC_DATE, DataType::Utf8, true),
        Field::new(columns::WARC_FILENAME, DataType::Utf8, true),
        Field::new(columns::WARC_OFFSET, DataType::UInt64, true),
        Field::new(columns::HTTP_CONTENT_TYPE, DataType::Utf8, true),
    ]
}

/// The schema readers write: the base schema, plus [`web_fields`] when `web`.
pub fn read_schema(web: bool) -> SchemaRef {
    if !web {
        return document_schema();
    }
    let mut fields: Vec<Field> = document_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(web_fields());
    Arc::new(Schema::new(fields))
}

/// The base schema every stage's kept output starts from.
///
/// `source` is plain `Utf8` in memory; Parquet dictionary-encodes it on disk, which
/// gives the space saving of a dictionary column without its cost in every kernel.
pub fn document_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(columns::ID, DataType::Utf8, false),
        Field::new(columns::TEXT, DataType::Utf8, false),
        Field::new(columns::SOURCE, DataType::Utf8, false),
        Field::new(columns::URL, DataType::Utf8, true),
        Field::new(columns::META, DataType::Utf8, true),
    ]))
}

/// The schema of a stage's `removed/` files: the kept schema plus `reason`, `detail`
/// and `raw` (the unparsed bytes of a bad record), so nothing removed is ever lost.
pub fn removed_schema(kept: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = kept.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(columns::REASON, DataType::Utf8, false));
    fields.push(Field::new(columns::DETAIL, DataType::Utf8, true));
    fields.push(Field::new(columns::RAW, DataType::Binary, true));
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_schema_extends_kept() {
        let kept = document_schema();
        let removed = removed_schema(&kept);
        assert_eq!(removed.fields().len(), kept.fields().len() + 3);
        assert!(removed.field_with_name(columns::REASON).is_ok());
        assert_eq!(removed.field(0).name(), columns::ID);
    }
}
