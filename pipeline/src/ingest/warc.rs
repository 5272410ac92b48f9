//! WARC and WET files: which records become documents, and the counters of the rest.
//!
//! WARC: `response` (and `resource`) records with an HTML payload and a 2xx status become
//! documents whose `html` column the `extract` stage decodes. WET: `conversion` records
//! become documents with their text. Every other record is counted under
//! `warc.skipped.<reason>`, so a user sees what a file held; damaged stretches go to the
//! sink as bad records named by file and byte offset.

use std::borrow::Cow;

use taojin_web::crawl::NotPage;
use taojin_web::warc::{Codec, Item, Limits, Record, WarcReader};

use super::{BadRecord, Doc, FileFormat, InputFile, ReadContext, RecordSink, WebDoc};
use crate::error::{PipelineError, Result};

/// Slack for WARC and HTTP headers on top of `max_doc_bytes` per record.
const HEADER_SLACK: u64 = 1 << 20;

/// Reads one WARC or WET file into `sink`.
pub(super) fn read(
    f: Box<dyn super::Source>,
    file: &InputFile,
    codec: Codec,
    ctx: &ReadContext<'_>,
    sink: &mut dyn RecordSink,
) -> Result<()> {
    let wet = matches!(file.format, FileFormat::Wet(_));
    let limits = Limits {
        max_record_bytes: ctx.max_doc_bytes.saturating_add(HEADER_SLACK),
        ..Limits::default()
    };
    let mut reader = WarcReader::new(f, codec, limits);
    let mut records = 0u64;
    while let Some(item) = reader.next_item().map_err(PipelineError::io(&file.path))? {
        match item {
            Item::Bad(b) => {
                let bad = BadRecord {
                    id: format!("{}/{}@{}", ctx.input.name, file.name, b.offset),
                    file: file.path.display().to_string(),
                    line: 0,
                    detail: format!("at byte {}: {}", b.offset, b.detail),
                    raw: b.raw,
                    raw_len: b.raw_len,
                };
                sink.bad(bad)?;
            }
            Item::Record(rec) => {
                records += 1;
                match document(&rec, file, ctx, wet) {
                    Ok(doc) => sink.doc(doc)?,
                    Err(NotPage::Skip(reason)) => sink.count(&format!("warc.skipped.{reason}"), 1),
                    Err(NotPage::Bad(detail)) => {
                        let id = rec.record_id().map_or_else(
                            || format!("{}/{}@{}", ctx.input.name, file.name, rec.offset),
                            str::to_string,
                        );
                        let mut raw = rec.block;
                        let raw_len = raw.len() as u64;
                        raw.truncate(super::MAX_RAW_KEPT);
                        sink.bad(BadRecord {
                            id,
                            file: file.path.display().to_string(),
                            line: 0,
                            detail: format!("at byte {}: {detail}", rec.offset),
                            raw,
                            raw_len,
                        })?;
                    }
                }
            }
        }
    }
    sink.count("warc.records", records);
    Ok(())
}

fn document<'r>(
    rec: &'r Record,
    file: &InputFile,
    ctx: &ReadContext<'_>,
    wet: bool,
) -> std::result::Result<Doc<'r>, NotPage> {
    let id = rec
        .record_id()
        .ok_or(NotPage::Bad("record has no WARC-Record-ID".into()))?;
    let mut web = WebDoc {
        date: rec.header("WARC-Date").map(str::to_string),
        filename: Some(file.name.clone()),
        offset: Some(rec.offset),
        ..WebDoc::default()
    };
    let url = rec.target_uri().map(Cow::Borrowed);
    if wet {
        let text = taojin_web::crawl::wet_text(rec, ctx.max_doc_bytes)?;
        web.content_type = rec.header("Content-Type").map(str::to_string);
        return Ok(Doc {
            id: Cow::Borrowed(id),
            text: Cow::Borrowed(text),
            url,
            meta: None,
            web: Some(web),
        });
    }
    let page = taojin_web::crawl::html_page(rec, ctx.max_doc_bytes)?;
    web.content_type = page.content_type;
    web.html = Some(page.payload);
    Ok(Doc {
        id: Cow::Borrowed(id),
        text: Cow::Borrowed(""),
        url,
        meta: None,
        web: Some(web),
    })
}
