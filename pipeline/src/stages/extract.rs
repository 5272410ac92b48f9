//! The `extract` stage: the `html` column becomes `text` (charset decoding, then main-text
//! extraction, both in `taojin-web`), with the page's title and three signals.
//!
//! Removed with a reason, the raw HTML kept in `removed/`'s `raw` column:
//! `not_html` (binary served as HTML), `bad_charset` (decodes with too many replacement
//! characters), `extract_empty` (no main text). Rows without HTML (a WET file, or a JSONL
//! input without `html_field`) pass through untouched.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, Float32Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use taojin_schemas::{ExtractSpec, Favor, TaskStats, columns};
use taojin_web::{charset, extract};

use super::MapStage;
use crate::batch::{Processed, partition, text_column, with_columns};
use crate::error::{PipelineError, Result};

/// Reason: bytes that are not text (an image or archive served as `text/html`).
pub const REASON_NOT_HTML: &str = "not_html";
/// Reason: the page decodes with more replacement characters than allowed.
pub const REASON_BAD_CHARSET: &str = "bad_charset";
/// Reason: no main text, or less than `min_text_chars`.
pub const REASON_EMPTY: &str = "extract_empty";

/// The page title.
pub const TITLE: &str = "title";
/// The encoding used and how it was decided, e.g. `GBK (meta)`.
pub const CHARSET: &str = "html.charset";
/// Bytes of extracted text over bytes of HTML.
pub const TEXT_RATIO: &str = "html.text_ratio";
/// Link characters over visible characters of the page.
pub const LINK_DENSITY: &str = "html.link_density";
/// Visible characters not kept as main text.
pub const BOILERPLATE_FRAC: &str = "html.boilerplate_frac";

struct ExtractStage {
    spec: ExtractSpec,
    opts: extract::Options,
}

fn new_fields() -> Vec<Field> {
    vec![
        Field::new(TITLE, DataType::Utf8, true),
        Field::new(CHARSET, DataType::Utf8, true),
        Field::new(TEXT_RATIO, DataType::Float32, true),
        Field::new(LINK_DENSITY, DataType::Float32, true),
        Field::new(BOILERPLATE_FRAC, DataType::Float32, true),
    ]
}

/// What one page became.
#[derive(Default)]
struct Page {
    text: Option<String>,
    reason: Option<&'static str>,
    title: Option<String>,
    charset: Option<String>,
    encoding: Option<&'static str>,
    text_ratio: Option<f32>,
    link_density: Option<f32>,
    boilerplate: Option<f32>,
    replacements: usize,
}

impl ExtractStage {
    fn page(&self, html: &[u8], content_type: Option<&str>, url: Option<&str>) -> Page {
        if charset::looks_binary(html) {
            return Page {
                reason: Some(REASON_NOT_HTML),
                ..Page::default()
            };
        }
        let decoded = charset::decode(html, content_type, url);
        let mut page = Page {
            charset: Some(decoded.label()),
            encoding: Some(decoded.encoding),
            replacements: decoded.replacements,
            ..Page::default()
        };
        if decoded.replacement_share() > self.spec.max_replacement_share {
            page.reason = Some(REASON_BAD_CHARSET);
            return page;
        }
        let e = extract::extract(&decoded.text, &self.opts);
        page.title = e.title.clone();
        page.text_ratio = Some(e.text.len() as f32 / html.len().max(1) as f32);
        page.link_density = Some(e.link_density());
        page.boilerplate = Some(e.boilerplate_frac());
        let chars = e.text.chars().filter(|c| !c.is_whitespace()).count();
        if chars < self.spec.min_text_chars.max(1) {
            page.reason = Some(REASON_EMPTY);
        } else {
            page.text = Some(e.text);
        }
        page
    }
}

impl MapStage for ExtractStage {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        let kept: Vec<Field> = input
            .fields()
            .iter()
            .filter(|f| f.name() != columns::HTML)
            .map(|f| f.as_ref().clone())
            .collect();
        crate::batch::with_fields(&Arc::new(Schema::new(kept)), &new_fields())
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let html: Option<&BinaryArray> = batch
            .column_by_name(columns::HTML)
            .map(|c| {
                c.as_binary_opt::<i32>()
                    .ok_or_else(|| PipelineError::Internal("`html` is not a binary column".into()))
            })
            .transpose()?;
        let strings = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
        };
        let content_type = strings(columns::HTTP_CONTENT_TYPE);
        let url = strings(columns::URL);
        fn get(a: Option<&StringArray>, i: usize) -> Option<&str> {
            a.filter(|a| a.is_valid(i)).map(|a| a.value(i))
        }
        let n = batch.num_rows();
        let pages: Vec<Page> = (0..n)
            .into_par_iter()
            .map(|i| match html.filter(|h| h.is_valid(i)) {
                Some(h) => self.page(h.value(i), get(content_type, i), get(url, i)),
                None => Page::default(),
            })
            .collect();
        let mut out_text = Vec::with_capacity(n);
        let mut reasons = Vec::with_capacity(n);
        for (i, p) in pages.iter().enumerate() {
            let old = text.value(i);
            reasons.push(p.reason);
            match (&p.text, p.reason) {
                (Some(t), None) => {
                    stats.bytes_edit_delta += t.len() as i64 - old.len() as i64;
                    out_text.push(t.as_str());
                }
                _ => out_text.push(old),
            }
            if let Some(h) = html.filter(|h| h.is_valid(i)) {
                stats.count("html_pages", 1);
                stats.count("html_bytes", h.value(i).len() as u64);
            }
            if let Some(enc) = p.encoding {
                stats.count(&format!("charset.{}", enc.to_ascii_lowercase()), 1);
                if p.replacements > 0 {
                    stats.count("charset.pages_with_replacements", 1);
                }
            }
        }
        let f32_col = |f: fn(&Page) -> Option<f32>| -> ArrayRef {
            Arc::new(Float32Array::from_iter(pages.iter().map(f)))
        };
        let new_cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter(
                pages.iter().map(|p| p.title.as_deref()),
            )),
            Arc::new(StringArray::from_iter(
                pages.iter().map(|p| p.charset.as_deref()),
            )),
            f32_col(|p| p.text_ratio),
            f32_col(|p| p.link_density),
            f32_col(|p| p.boilerplate),
        ];
        let with_text = crate::batch::replace_column(
            batch,
            columns::TEXT,
            Arc::new(StringArray::from_iter_values(out_text)),
        )?;
        let without_html = match with_text.schema().index_of(columns::HTML) {
            Ok(i) => {
                let mut b = with_text.clone();
                b.remove_column(i);
                b
            }
            Err(_) => with_text,
        };
        let out = with_columns(&without_html, &new_fields(), new_cols)?;
        let mut processed = partition(&out, &reasons)?;
        // Removed pages keep their raw HTML in `raw`: nothing removed is lost.
        if let (Some(removed), Some(h)) = (processed.removed.as_mut(), html) {
            let mut raw = BinaryBuilder::new();
            for (i, r) in reasons.iter().enumerate() {
                if r.is_some() {
                    raw.append_option(h.is_valid(i).then(|| h.value(i)));
                }
            }
            *removed = crate::batch::replace_column(removed, columns::RAW, Arc::new(raw.finish()))?;
        }
        Ok(processed)
    }
}

/// The `extract` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<ExtractSpec> for Kind {
    fn build(
        &self,
        spec: &ExtractSpec,
        _job: &crate::job::LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        let opts = extract::Options {
            favor: match spec.favor {
                Favor::Precision => extract::Favor::Precision,
                Favor::Balanced => extract::Favor::Balanced,
                Favor::Recall => extract::Favor::Recall,
            },
            keep_tables: spec.keep_tables,
            with_title: spec.with_title,
            max_depth: spec.max_depth,
        };
        Ok(crate::registry::Built::Map(Box::new(ExtractStage {
            spec: spec.clone(),
            opts,
        })))
    }
}
