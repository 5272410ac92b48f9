//! The HTTP response inside a WARC `response` record: status, headers, and the payload
//! with transfer and content encodings undone (within a size cap).

use std::io::Read;

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response<'a> {
    /// Status code (0 when the status line is not HTTP).
    pub status: u16,
    /// Header fields in order.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The payload as stored (may still be chunked or compressed).
    pub body: &'a [u8],
}

impl<'a> Response<'a> {
    /// Parses `block`; `None` when it does not start with an HTTP status line.
    pub fn parse(block: &'a [u8]) -> Option<Response<'a>> {
        let end = memchr::memmem::find(block, b"\r\n\r\n")
            .map(|i| (i, i + 4))
            .or_else(|| memchr::memmem::find(block, b"\n\n").map(|i| (i, i + 2)))
            .unwrap_or((block.len(), block.len()));
        let head = std::str::from_utf8(&block[..end.0]).ok()?;
        let mut lines = head.lines();
        let status_line = lines.next()?;
        if !status_line.starts_with("HTTP/") {
            return None;
        }
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        Some(Response {
            status,
            headers,
            body: &block[end.1..],
        })
    }

    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The payload with `Transfer-Encoding: chunked` and `Content-Encoding: gzip/deflate`
    /// undone, at most `cap` bytes. Errors name what could not be decoded.
    pub fn payload(&self, cap: u64) -> Result<std::borrow::Cow<'a, [u8]>, String> {
        let mut body: std::borrow::Cow<'a, [u8]> = std::borrow::Cow::Borrowed(self.body);
        if self
            .header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
            && let Some(d) = dechunk(self.body)
        {
            body = std::borrow::Cow::Owned(d);
        }
        let encoding = self
            .header("Content-Encoding")
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let decoded = match encoding.as_str() {
            "" | "identity" | "none" => return Ok(body),
            // Archivers often store the decoded body but keep the header: trust the bytes.
            "gzip" | "x-gzip" if !body.starts_with(&[0x1f, 0x8b]) => return Ok(body),
            "gzip" | "x-gzip" => read_capped(flate2::read::MultiGzDecoder::new(&body[..]), cap),
            "deflate" => {
                let zlib = read_capped(flate2::read::ZlibDecoder::new(&body[..]), cap);
                match zlib {
                    Ok(v) => Ok(v),
                    Err(_) => read_capped(flate2::read::DeflateDecoder::new(&body[..]), cap),
                }
            }
            other => return Err(format!("Content-Encoding `{other}` is not supported")),
        };
        decoded
            .map(std::borrow::Cow::Owned)
            .map_err(|e| format!("Content-Encoding `{encoding}`: {e}"))
    }
}

fn read_capped(r: impl Read, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(cap + 1).read_to_end(&mut out)?;
    if out.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "decodes to more than {cap} bytes"
        )));
    }
    Ok(out)
}

/// Undoes chunked transfer encoding; `None` when the body is not validly chunked (many
/// archives store it already de-chunked while keeping the header).
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let line_end = memchr::memchr(b'\n', body)?;
        let line = std::str::from_utf8(&body[..line_end]).ok()?.trim();
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 1..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size {
            out.extend_from_slice(body);
            return Some(out);
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size..];
        body = body
            .strip_prefix(b"\r\n")
            .or_else(|| body.strip_prefix(b"\n"))
            .unwrap_or(body);
    }
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// True for the media types that carry HTML.
pub fn is_html_type(media: &str) -> bool {
    matches!(
        media,
        "text/html" | "application/xhtml+xml" | "application/xhtml"
    )
}

/// True when the media type says nothing reliable (missing, generic, or plain text that
/// may be HTML served wrong): the bytes decide.
pub fn is_unreliable_type(media: &str) -> bool {
    matches!(
        media,
        "" | "application/octet-stream" | "text/plain" | "unknown/unknown" | "application/unknown"
    )
}

/// Sniffs whether `body` starts like an HTML document (after a BOM, whitespace and
/// comments), the way the WHATWG MIME sniffing rules look for HTML.
pub fn sniff_html(body: &[u8]) -> bool {
    let mut b = body;
    for bom in [&b"\xef\xbb\xbf"[..], b"\xff\xfe", b"\xfe\xff"] {
        if let Some(r) = b.strip_prefix(bom) {
            b = r;
        }
    }
    let b = &b[b.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    let head: Vec<u8> = b.iter().take(16).map(u8::to_ascii_lowercase).collect();
    const STARTS: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<title",
        b"<script",
        b"<div",
        b"<p>",
        b"<p ",
        b"<meta",
        b"<table",
        b"<h1",
        b"<a ",
        b"<br",
        b"<font",
        b"<style",
        b"<iframe",
        b"<b>",
        b"<!--",
        b"<?xml",
    ];
    STARTS.iter().any(|s| head.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_headers_and_chunked_body() {
        let block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=GBK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let r = Response::parse(block).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=GBK"));
        assert_eq!(&*r.payload(1 << 20).unwrap(), b"hello world");
    }

    #[test]
    fn gzip_content_encoding_is_undone_and_capped() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&vec![b'a'; 10_000]).unwrap();
        let body = gz.finish().unwrap();
        let mut block = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        block.extend_from_slice(&body);
        let r = Response::parse(&block).unwrap();
        assert_eq!(r.payload(1 << 20).unwrap().len(), 10_000);
        assert!(r.payload(100).unwrap_err().contains("more than 100"));
    }

    #[test]
    fn sniffs_html_starts() {
        assert!(sniff_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>"));
        assert!(sniff_html(b"\n<HTML><body>"));
        assert!(!sniff_html(b"%PDF-1.7"));
        assert!(!sniff_html(b"\x89PNG\r\n"));
    }
}
