//! Which WARC records are web pages: `response` (or `resource`) records with an HTML
//! payload and a 2xx status. Everything else is named by a reason the reader counts.

use std::borrow::Cow;

use crate::http::{self, Response};
use crate::warc::Record;

/// An HTML page found in a record.
#[derive(Debug)]
pub struct Page<'a> {
    /// The payload, transfer and content encodings undone.
    pub payload: Cow<'a, [u8]>,
    /// The HTTP `Content-Type` header.
    pub content_type: Option<String>,
}

/// Why a record is not a page.
#[derive(Debug, PartialEq, Eq)]
pub enum NotPage {
    /// Not meant to be one (a request, an image, a redirect): the reason to count.
    Skip(&'static str),
    /// Meant to be one but unreadable (what is wrong).
    Bad(String),
}

/// The HTML page of `rec`, at most `max_bytes` of payload.
pub fn html_page(rec: &Record, max_bytes: u64) -> Result<Page<'_>, NotPage> {
    if rec.header("WARC-Truncated").is_some() {
        return Err(NotPage::Skip("truncated"));
    }
    let kind = rec.warc_type().to_ascii_lowercase();
    let (payload, content_type) = match kind.as_str() {
        "response" => {
            let resp = Response::parse(&rec.block).ok_or(NotPage::Skip("not_http"))?;
            match resp.status {
                200..=299 => {}
                300..=399 => return Err(NotPage::Skip("redirect")),
                400..=499 => return Err(NotPage::Skip("status_4xx")),
                500..=599 => return Err(NotPage::Skip("status_5xx")),
                _ => return Err(NotPage::Skip("status_other")),
            }
            let ct = resp.header("Content-Type").map(str::to_string);
            let payload = resp
                .payload(max_bytes)
                .map_err(|e| NotPage::Bad(format!("payload cannot be decoded: {e}")))?;
            (payload, ct)
        }
        "resource" => (
            Cow::Borrowed(&rec.block[..]),
            rec.header("Content-Type").map(str::to_string),
        ),
        other => return Err(NotPage::Skip(type_reason(other))),
    };
    let media = http::media_type(content_type.as_deref().unwrap_or(""));
    let html = if http::is_html_type(&media) {
        true
    } else if http::is_unreliable_type(&media) {
        http::sniff_html(&payload)
    } else {
        false
    };
    if !html {
        return Err(NotPage::Skip(media_reason(&media)));
    }
    if payload.len() as u64 > max_bytes {
        return Err(NotPage::Bad(format!(
            "HTML of {} bytes exceeds max_doc_bytes = {max_bytes}",
            payload.len()
        )));
    }
    Ok(Page {
        payload,
        content_type,
    })
}

/// The text of a WET `conversion` record, at most `max_bytes`.
pub fn wet_text(rec: &Record, max_bytes: u64) -> Result<&str, NotPage> {
    if rec.header("WARC-Truncated").is_some() {
        return Err(NotPage::Skip("truncated"));
    }
    let kind = rec.warc_type().to_ascii_lowercase();
    if kind != "conversion" {
        return Err(NotPage::Skip(type_reason(&kind)));
    }
    if rec.block.len() as u64 > max_bytes {
        return Err(NotPage::Bad(format!(
            "text of {} bytes exceeds max_doc_bytes = {max_bytes}",
            rec.block.len()
        )));
    }
    std::str::from_utf8(&rec.block)
        .map_err(|e| NotPage::Bad(format!("WET text is not UTF-8 at byte {}", e.valid_up_to())))
}

/// The counter name of a record type that is not a page.
pub fn type_reason(kind: &str) -> &'static str {
    match kind {
        "warcinfo" => "warcinfo",
        "request" => "request",
        "metadata" => "metadata",
        "revisit" => "revisit",
        "conversion" => "conversion",
        "continuation" => "continuation",
        "response" => "response",
        "resource" => "resource",
        _ => "other_type",
    }
}

fn media_reason(media: &str) -> &'static str {
    match media.split('/').next().unwrap_or("") {
        "image" => "image",
        "video" | "audio" => "media",
        _ if media == "application/pdf" => "pdf",
        _ if media.contains("json") || media.contains("javascript") => "script_or_json",
        _ if media.contains("xml") => "xml",
        "text" => "other_text",
        _ => "not_html",
    }
}
