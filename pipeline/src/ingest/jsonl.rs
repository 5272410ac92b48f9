//! JSON Lines: plain, `.zst` or `.gz`; plain files can be read as byte-range pieces.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{
    CappedLine, CappedLineReader, Compression, Doc, InputFile, Piece, ReadContext, RecordSink,
};
use crate::error::{PipelineError, Result};

const READ_BUFFER: usize = 1 << 20;

/// A JSON string that borrows from the line when it has no escapes.
struct JsonStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object as (key, raw value) pairs in input order: values are parsed only
/// when we need them, and the others are copied into `meta` verbatim.
struct RawObject<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    // A repeated key would silently split between `text` and `meta`.
                    if fields.iter().any(|(k, _): &(Cow<'de, str>, _)| *k == key) {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    fields.push((key, value));
                }
                Ok(RawObject(fields))
            }
        }
        d.deserialize_map(V)
    }
}

enum FieldValue<'a> {
    Missing,
    Null,
    Str(Cow<'a, str>),
    Number(&'a str),
    Other,
}

fn field_value<'a>(raw: Option<&'a RawValue>) -> FieldValue<'a> {
    let Some(raw) = raw else {
        return FieldValue::Missing;
    };
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'"') => match unescape(s) {
            Some(v) => FieldValue::Str(v),
            None => FieldValue::Other,
        },
        Some(b'n') => FieldValue::Null,
        Some(b'-' | b'0'..=b'9') => FieldValue::Number(s),
        _ => FieldValue::Other,
    }
}

/// The value of a JSON string token (quotes included) that serde_json has already
/// checked: borrowed when it has no escapes, else decoded in one pass (a document's text
/// is copied once, not into a scratch buffer and again into a `String`). `None` for a
/// lone surrogate, which serde_json also refuses.
fn unescape(token: &str) -> Option<Cow<'_, str>> {
    let body = token.get(1..token.len().checked_sub(1)?)?;
    let Some(first) = memchr::memchr(b'\\', body.as_bytes()) else {
        return Some(Cow::Borrowed(body));
    };
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    out.push_str(&body[..first]);
    let mut i = first;
    loop {
        // `bytes[i]` is a backslash followed by a valid escape (serde_json checked).
        let (c, used) = match *bytes.get(i + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let hi = hex4(bytes.get(i + 2..i + 6)?)?;
                match hi {
                    0xD800..=0xDBFF => {
                        let lo = match bytes.get(i + 6..i + 8) {
                            Some(b"\\u") => hex4(bytes.get(i + 8..i + 12)?)?,
                            _ => return None,
                        };
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return None;
                        }
                        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        (char::from_u32(c)?, 12)
                    }
                    0xDC00..=0xDFFF => return None,
                    c => (char::from_u32(c)?, 6),
                }
            }
            _ => return None,
        };
        out.push(c);
        i += used;
        match memchr::memchr(b'\\', &bytes[i..]) {
            Some(k) => {
                out.push_str(body.get(i..i + k)?);
                i += k;
            }
            None => {
                out.push_str(body.get(i..)?);
                return Some(Cow::Owned(out));
            }
        }
    }
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |v, &d| Some(v * 16 + char::from(d).to_digit(16)?))
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
    let RawObject(fields) =
        serde_json::from_str::<RawObject<'a>>(line).map_err(|e| format!("malformed JSON: {e}"))?;
    let spec = ctx.input;
    let (mut text, mut id, mut url, mut html) = (None, None, None, None);
    let html_field = spec.html_field.as_deref();
    let mut meta = String::new();
    for (key, value) in &fields {
        let key = key.as_ref();
        if key == spec.text_field && text.is_none() {
            text = Some(*value);
        } else if key == spec.id_field && id.is_none() {
            id = Some(*value);
        } else if key == spec.url_field && url.is_none() {
            url = Some(*value);
        } else if Some(key) == html_field && html.is_none() {
            html = Some(*value);
        } else {
            meta.push(if meta.is_empty() { '{' } else { ',' });
            // Writing a string into a String cannot fail.
            meta.push_str(&serde_json::to_string(key).unwrap_or_default());
            meta.push(':');
            meta.push_str(value.get());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass decoder gives serde_json's strings, or refuses what it refuses, on
    /// random JSON string tokens built from every kind of escape.
    #[test]
    fn unescape_agrees_with_serde_json() {
        let pieces = [
            "a",
            "中文",
            " ",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\r",
            "\\t",
            "\\u0041",
            "\\u00e9",
            "\\u4e2d",
            "\\uD83D\\uDE00",
            "\\uD83D",
            "\\uDE00",
            "\\uD83Dx",
            "\\uD83D\\u0041",
            "\\uFFFF",
            "\\u0000",
            "é",
        ];
        let mut rng = taojin_schemas::rng::SplitMix64::new(3);
        let mut decoded = 0;
        for _ in 0..20_000 {
            let len = (rng.next() % 8) as usize;
            let body: String = (0..len)
                .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
                .collect();
            let token = format!("\"{body}\"");
            let want = serde_json::from_str::<String>(&token).ok();
            let got = unescape(&token).map(Cow::into_owned);
            assert_eq!(got, want, "{token}");
            decoded += usize::from(want.is_some());
        }
        assert!(decoded > 5_000, "{decoded}");
    }
}
