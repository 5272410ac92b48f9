//! JSON Lines: plain, `.zst` or `.gz`; plain files can be read as byte-range pieces.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use super::json_scan::{Token, object_fields, unescape};
use super::{
    CappedLine, CappedLineReader, Compression, Doc, InputFile, Piece, ReadContext, RecordSink,
};
use crate::error::{PipelineError, Result};

const READ_BUFFER: usize = 1 << 20;

enum FieldValue<'a> {
    Missing,
    Null,
    Str(Cow<'a, str>),
    Number(&'a str),
    Other,
}

fn field_value(token: Option<Token<'_>>) -> FieldValue<'_> {
    let Some(Token {
        raw,
        escaped,
        decoded,
    }) = token
    else {
        return FieldValue::Missing;
    };
    match raw.as_bytes().first() {
        Some(b'"') => match (decoded, escaped) {
            (Some(value), _) => FieldValue::Str(Cow::Owned(value)),
            // A string without escapes is its body as is.
            (None, false) => match raw.get(1..raw.len() - 1) {
                Some(body) => FieldValue::Str(Cow::Borrowed(body)),
                None => FieldValue::Other,
            },
            (None, true) => match unescape(raw) {
                Some(v) => FieldValue::Str(v),
                None => FieldValue::Other,
            },
        },
        Some(b'n') => FieldValue::Null,
        Some(b'-' | b'0'..=b'9') => FieldValue::Number(raw),
        _ => FieldValue::Other,
    }
}

/// Parses one non-blank line into a document, or says what is wrong with it.
fn parse_record<'a>(
    line: &'a str,
    ctx: &ReadContext<'_>,
    file: &InputFile,
    line_no: u64,
) -> Result<Doc<'a>, String> {
    // A UTF-8 byte-order mark may open a file.
    let line = match line_no {
        1 => line.strip_prefix('\u{feff}').unwrap_or(line),
        _ => line,
    };
    let spec = ctx.input;
    let html_field = spec.html_field.as_deref();
    // The document's own fields are decoded by the scan; the others go to `meta` as written.
    let wanted = |key: &str| {
        key == spec.text_field
            || key == spec.id_field
            || key == spec.url_field
            || Some(key) == html_field
    };
    let fields = object_fields(line, &wanted).map_err(|e| format!("malformed JSON: {e}"))?;
    let (mut text, mut id, mut url, mut html) = (None, None, None, None);
    let mut meta = String::new();
    for (key, value) in fields {
        let key = key.as_ref();
        if key == spec.text_field && text.is_none() {
            text = Some(value);
        } else if key == spec.id_field && id.is_none() {
            id = Some(value);
        } else if key == spec.url_field && url.is_none() {
            url = Some(value);
        } else if Some(key) == html_field && html.is_none() {
            html = Some(value);
        } else {
            meta.push(if meta.is_empty() { '{' } else { ',' });
            // Writing a string into a String cannot fail.
            meta.push_str(&serde_json::to_string(key).unwrap_or_default());
            meta.push(':');
            meta.push_str(value.raw);
        }
    }
    // With an `html_field`, the HTML is the document and `text` is optional.
    let html = match (html_field, field_value(html)) {
        (None, _) => None,
        (Some(_), FieldValue::Str(h)) => Some(h),
        (Some(f), FieldValue::Missing | FieldValue::Null) if text.is_none() => {
            return Err(format!("missing html field `{f}`"));
        }
        (Some(_), FieldValue::Missing | FieldValue::Null) => None,
        (Some(f), _) => return Err(format!("html field `{f}` is not a string")),
    };
    if let Some(h) = &html
        && h.len() as u64 > ctx.max_doc_bytes
    {
        return Err(format!(
            "html of {} bytes exceeds max_doc_bytes = {}",
            h.len(),
            ctx.max_doc_bytes
        ));
    }
    let text = match field_value(text) {
        FieldValue::Str(t) => t,
        FieldValue::Missing if html.is_some() => Cow::Borrowed(""),
        FieldValue::Missing => return Err(format!("missing text field `{}`", spec.text_field)),
        FieldValue::Null => return Err(format!("text field `{}` is null", spec.text_field)),
        _ => return Err(format!("text field `{}` is not a string", spec.text_field)),
    };
    if text.len() as u64 > ctx.max_doc_bytes {
        return Err(format!(
            "document text of {} bytes exceeds max_doc_bytes = {}",
            text.len(),
            ctx.max_doc_bytes
        ));
    }
    let id = match field_value(id) {
        FieldValue::Str(s) => s,
        FieldValue::Number(n) => Cow::Borrowed(n),
        FieldValue::Missing | FieldValue::Null => Cow::Owned(ctx.derived_id(file, line_no)),
        FieldValue::Other => {
            return Err(format!(
                "id field `{}` is not a string or number",
                spec.id_field
            ));
        }
    };
    let url = match field_value(url) {
        FieldValue::Str(s) => Some(s),
        FieldValue::Missing | FieldValue::Null => None,
        _ => return Err(format!("url field `{}` is not a string", spec.url_field)),
    };
    if !meta.is_empty() {
        meta.push('}');
    }
    let web = html.map(|h| super::WebDoc {
        html: Some(match h {
            Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
            Cow::Owned(o) => Cow::Owned(o.into_bytes()),
        }),
        ..Default::default()
    });
    Ok(Doc {
        id,
        text,
        url,
        meta: (!meta.is_empty()).then_some(Cow::Owned(meta)),
        web,
    })
}

fn open(
    mut f: Box<dyn super::Source>,
    file: &InputFile,
    compression: Compression,
    piece: &Piece,
) -> Result<(Box<dyn BufRead>, u64)> {
    Ok(match (compression, piece) {
        (
            Compression::None,
            Piece::Lines {
                start,
                end,
                first_line,
            },
        ) => {
            f.seek(SeekFrom::Start(*start))
                .map_err(PipelineError::io(&file.path))?;
            (
                Box::new(BufReader::with_capacity(READ_BUFFER, f.take(end - start))),
                *first_line,
            )
        }
        (Compression::None, _) => (Box::new(BufReader::with_capacity(READ_BUFFER, f)), 1),
        (Compression::Zstd, _) => {
            let decoder = zstd::Decoder::new(f).map_err(PipelineError::io(&file.path))?;
            (Box::new(BufReader::with_capacity(READ_BUFFER, decoder)), 1)
        }
        (Compression::Gzip, _) => {
            let decoder =
                flate2::read::MultiGzDecoder::new(BufReader::with_capacity(READ_BUFFER, f));
            (Box::new(BufReader::with_capacity(READ_BUFFER, decoder)), 1)
        }
    })
}

/// Longest line kept in memory: twice the document limit (JSON escapes, other fields)
/// plus 1 MiB.
fn line_cap(max_doc_bytes: u64) -> usize {
    usize::try_from(max_doc_bytes.saturating_mul(2).saturating_add(1 << 20)).unwrap_or(usize::MAX)
}

pub(super) fn read(
    f: Box<dyn super::Source>,
    file: &InputFile,
    compression: Compression,
    piece: &Piece,
    ctx: &ReadContext<'_>,
    sink: &mut dyn RecordSink,
) -> Result<()> {
    let (reader, first_line) = open(f, file, compression, piece)?;
    let cap = line_cap(ctx.max_doc_bytes);
    let mut lines = CappedLineReader::new(reader, cap);
    let mut line_no = first_line - 1;
    let mut buf = Vec::new();
    loop {
        let (status, line) = match lines.next_line(&mut buf) {
            Ok(Some(next)) => next,
            Ok(None) => break,
            // The store failed (after its retries): an error of the run, never a bad record.
            Err(e) if crate::storage::is_storage_error(&e) => {
                return Err(PipelineError::Storage(e.to_string()));
            }
            Err(e) if compression != Compression::None => {
                let what = if compression == Compression::Zstd {
                    "zstd"
                } else {
                    "gzip"
                };
                let detail =
                    format!("corrupt or truncated {what} stream after line {line_no}: {e}");
                return sink.bad(ctx.bad(file, line_no + 1, detail, &buf));
            }
            Err(e) => {
                return Err(PipelineError::Io {
                    path: file.path.clone(),
                    source: e,
                });
            }
        };
        line_no += 1;
        if let CappedLine::TooLong { len } = status {
            let detail = format!(
                "record of {len} bytes exceeds the {cap}-byte line limit (2 × max_doc_bytes + 1 MiB)"
            );
            sink.bad(ctx.bad(file, line_no, detail, line))?;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            sink.blank_line();
            continue;
        }
        let text = match simdutf8::basic::from_utf8(line) {
            Ok(text) => text,
            // The fast check says only "invalid"; the standard one says where.
            Err(_) => {
                let at = std::str::from_utf8(line)
                    .err()
                    .map_or(0, |e| e.valid_up_to());
                sink.bad(ctx.bad(file, line_no, format!("invalid UTF-8 at byte {at}"), line))?;
                continue;
            }
        };
        match parse_record(text, ctx, file, line_no) {
            Ok(doc) => sink.doc(doc)?,
            Err(detail) => sink.bad(ctx.bad(file, line_no, detail, line))?,
        }
    }
    if lines.consumed == 0 && matches!(piece, Piece::Whole) {
        sink.bad(ctx.bad(file, 1, "empty file", &[]))?;
    }
    Ok(())
}

/// Splits an uncompressed JSONL file into pieces of about `split_bytes`, cut at line
/// starts, with the line number at each cut. Reads the file once (newline counting runs
/// at memory speed), so ids and error messages carry true line numbers.
pub fn split_lines(file: &InputFile, split_bytes: u64) -> Result<Vec<Piece>> {
    // An S3 object is not scanned at plan time: it is one task, streamed.
    if file.size <= split_bytes || file.s3_url().is_some() {
        return Ok(vec![Piece::Whole]);
    }
    let mut f = File::open(&file.path).map_err(PipelineError::io(&file.path))?;
    let mut buf = vec![0u8; 8 << 20];
    let (mut pos, mut lines_before, mut start, mut start_line) = (0u64, 0u64, 0u64, 1u64);
    let mut pieces = Vec::new();
    loop {
        let n = f.read(&mut buf).map_err(PipelineError::io(&file.path))?;
        if n == 0 {
            break;
        }
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            lines_before += 1;
            let next = pos + i as u64 + 1;
            if next - start >= split_bytes && next < file.size {
                pieces.push(Piece::Lines {
                    start,
                    end: next,
                    first_line: start_line,
                });
                start = next;
                start_line = lines_before + 1;
            }
        }
        pos += n as u64;
    }
    pieces.push(Piece::Lines {
        start,
        end: pos,
        first_line: start_line,
    });
    Ok(pieces)
}
