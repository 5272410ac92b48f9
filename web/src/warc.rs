//! WARC 1.0/1.1 records from plain, gzip or zstd files, streaming, in bounded memory.
//!
//! Common Crawl writes one gzip member per record, so a record's byte offset in the
//! compressed file is where a user can fetch it again (`warc.offset`). A file that is one
//! gzip stream is read too; its records report the offset of the member holding them.
//!
//! Every problem in the data becomes a [`Item::Bad`] with the byte offset where it starts,
//! and the reader resynchronizes at the next record (or gzip member / zstd frame); only an
//! I/O error of the source itself ends the stream. Why by hand: the `warc` crate (0.4)
//! reads gzip with `MultiGzDecoder`, which hides member offsets, holds whole bodies in
//! memory without a cap and stops at the first malformed record.

use std::io::{self, Read};

/// How the file is compressed, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `.warc`, `.wet`.
    Plain,
    /// `.gz`: one member per record or one stream.
    Gzip,
    /// `.zst`: one zstd frame per record, optionally after a dictionary in a skippable frame.
    Zstd,
}

impl Codec {
    /// The codec a file name implies.
    pub fn from_name(name: &str) -> Codec {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".gz") {
            Codec::Gzip
        } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
            Codec::Zstd
        } else {
            Codec::Plain
        }
    }
}

/// Caps that keep one record from taking unbounded memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Records with a larger block are skipped (streamed past, never held).
    pub max_record_bytes: u64,
    /// A header block larger than this is not a WARC header.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 64 << 20,
            max_header_bytes: 64 << 10,
        }
    }
}

/// One WARC record.
#[derive(Debug, Clone)]
pub struct Record {
    /// Byte offset of the record in the file (of its gzip member or zstd frame when compressed).
    pub offset: u64,
    /// `WARC/1.0` or `WARC/1.1`.
    pub version: String,
    /// Header fields in file order.
    pub headers: Vec<(String, String)>,
    /// The record block (`Content-Length` bytes).
    pub block: Vec<u8>,
}

impl Record {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `WARC-Type`, lower-cased by the caller when needed.
    pub fn warc_type(&self) -> &str {
        self.header("WARC-Type").unwrap_or("")
    }

    /// `WARC-Record-ID` without its angle brackets.
    pub fn record_id(&self) -> Option<&str> {
        self.header("WARC-Record-ID")
            .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>'))
    }

    /// `WARC-Target-URI` (some writers wrap it in angle brackets).
    pub fn target_uri(&self) -> Option<&str> {
        self.header("WARC-Target-URI")
            .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>'))
    }
}

/// A stretch of the file that is not a readable record.
#[derive(Debug, Clone)]
pub struct BadRecord {
    /// Byte offset where the problem starts (of the member or frame when compressed).
    pub offset: u64,
    /// What is wrong, in words.
    pub detail: String,
    /// The first bytes of it, at most [`RAW_KEPT`].
    pub raw: Vec<u8>,
    /// How many bytes were skipped, as far as known.
    pub raw_len: u64,
}

/// Raw bytes of a bad record kept for inspection.
pub const RAW_KEPT: usize = 64 << 10;

/// What the reader yields.
#[derive(Debug)]
pub enum Item {
    /// A complete record.
    Record(Record),
    /// Something that is not one; the reader has moved past it.
    Bad(BadRecord),
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const CHUNK: usize = 256 << 10;

/// A buffered reader that counts the bytes consumed, can look ahead any distance and
/// can return to the start of the current member (kept up to [`MARK_CAP`] bytes).
struct Src<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    /// File offset of `buf[start]`.
    pos: u64,
    /// Index in `buf` of the current member's first byte, while it is still held.
    mark: Option<usize>,
    eof: bool,
    /// An error of the source itself (disk, network): passed on, never taken for a
    /// corrupt member, so a failed read cannot be skipped as bad data.
    failed: Option<io::Error>,
}

/// How much of a member is held to resynchronize inside it after a decoding error.
const MARK_CAP: usize = 16 << 20;

impl<R: Read> Src<R> {
    fn new(inner: R) -> Self {
        Src {
            inner,
            buf: Vec::new(),
            start: 0,
            pos: 0,
            mark: None,
            eof: false,
            failed: None,
        }
    }

    /// At least `n` bytes from the current position, fewer only at the end of the file.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.buf.len() - self.start < n && !self.eof {
            if self.mark.is_some_and(|m| self.start - m > MARK_CAP) {
                self.mark = None;
            }
            let drain = self.mark.unwrap_or(self.start).min(self.start);
            if drain > 0 {
                self.buf.drain(..drain);
                self.start -= drain;
                if let Some(m) = self.mark.as_mut() {
                    *m -= drain;
                }
            }
            let old = self.buf.len();
            self.buf.resize(old + CHUNK.max(n - (old - self.start)), 0);
            let got = loop {
                match self.inner.read(&mut self.buf[old..]) {
                    Ok(g) => break g,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.buf.truncate(old);
                        self.failed = Some(io::Error::new(e.kind(), e.to_string()));
                        return Err(e);
                    }
                }
            };
            self.buf.truncate(old + got);
            self.eof = got == 0;
        }
        Ok(&self.buf[self.start..])
    }

    fn skip(&mut self, n: usize) {
        let n = n.min(self.buf.len() - self.start);
        self.start += n;
        self.pos += n as u64;
    }

    /// Marks the current position as a member start.
    fn set_mark(&mut self) {
        self.mark = Some(self.start);
    }

    /// Goes back to one byte after the marked member start, when it is still held.
    fn rewind_past_mark(&mut self) {
        if let Some(m) = self.mark.take()
            && m < self.start
        {
            self.pos -= (self.start - m - 1) as u64;
            self.start = m + 1;
        }
    }

    /// Skips to the next occurrence of `magic` at or after the current position; false at EOF.
    fn seek_magic(&mut self, magic: &[u8]) -> io::Result<bool> {
        loop {
            let avail = self.peek(magic.len() + 1)?;
            if avail.len() < magic.len() {
                let n = avail.len();
                self.skip(n);
                return Ok(false);
            }
            match memchr::memmem::find(avail, magic) {
                Some(i) => {
                    self.skip(i);
                    return Ok(true);
                }
                None => {
                    let n = avail.len() - (magic.len() - 1);
                    self.skip(n);
                }
            }
        }
    }
}

impl<R: Read> Read for Src<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.peek(1)?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.skip(n);
        Ok(n)
    }
}

impl<R: Read> io::BufRead for Src<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.peek(1)
    }
    fn consume(&mut self, n: usize) {
        self.skip(n);
    }
}

/// The decoder of the current gzip member or zstd frame.
enum Member<R: Read> {
    Gzip(Box<flate2::bufread::GzDecoder<Src<R>>>),
    Zstd(zstd::stream::read::Decoder<'static, Src<R>>),
}

/// The decompressed byte stream, member by member.
struct Stream<R: Read> {
    codec: Codec,
    /// Between members (or for plain files, always).
    src: Option<Src<R>>,
    member: Option<Member<R>>,
    /// zstd dictionary from a leading skippable frame.
    dict: Option<Vec<u8>>,
    /// Decompressed offset where the current member began, and its file offset.
    member_start: (u64, u64),
    /// Decompressed bytes produced so far.
    produced: u64,
}

/// One step of the decompressed stream.
enum Fill {
    Data,
    Eof,
    /// A member could not be decoded; the stream moved on to the next one.
    Corrupt {
        offset: u64,
        detail: String,
    },
}

impl<R: Read> Stream<R> {
    /// Appends up to a chunk of decompressed bytes to `out`.
    fn fill(&mut self, out: &mut Vec<u8>) -> io::Result<Fill> {
        loop {
            if let Some(member) = self.member.as_mut() {
                let old = out.len();
                out.resize(old + CHUNK, 0);
                let r = match member {
                    Member::Gzip(d) => d.read(&mut out[old..]),
                    Member::Zstd(d) => d.read(&mut out[old..]),
                };
                match r {
                    Ok(0) => {
                        out.truncate(old);
                        self.src = Some(match self.member.take() {
                            Some(Member::Gzip(d)) => (*d).into_inner(),
                            Some(Member::Zstd(d)) => d.finish(),
                            None => unreachable!("member checked above"),
                        });
                    }
                    Ok(n) => {
                        out.truncate(old + n);
                        self.produced += n as u64;
                        return Ok(Fill::Data);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => out.truncate(old),
                    Err(e) => {
                        out.truncate(old);
                        let offset = self.member_start.1;
                        let mut src = match self.member.take() {
                            Some(Member::Gzip(d)) => (*d).into_inner(),
                            Some(Member::Zstd(d)) => d.finish(),
                            None => unreachable!("member checked above"),
                        };
                        if let Some(failed) = src.failed.take() {
                            return Err(failed);
                        }
                        // The decoder may have read into the next member: search from
                        // just after this one's start.
                        src.rewind_past_mark();
                        let magic = if self.codec == Codec::Gzip {
                            GZIP_MAGIC
                        } else {
                            ZSTD_MAGIC
                        };
                        src.seek_magic(magic)?;
                        self.src = Some(src);
                        let what = if self.codec == Codec::Gzip {
                            "gzip member"
                        } else {
                            "zstd frame"
                        };
                        return Ok(Fill::Corrupt {
                            offset,
                            detail: format!("truncated or corrupt {what}: {e}"),
                        });
                    }
                }
                continue;
            }
            let Some(src) = self.src.as_mut() else {
                return Ok(Fill::Eof);
            };
            match self.codec {
                Codec::Plain => {
                    let avail = src.peek(1)?;
                    if avail.is_empty() {
                        return Ok(Fill::Eof);
                    }
                    let n = avail.len().min(CHUNK);
                    out.extend_from_slice(&avail[..n]);
                    src.skip(n);
                    self.produced += n as u64;
                    return Ok(Fill::Data);
                }
                Codec::Gzip | Codec::Zstd => {
                    if let Some(fill) = self.start_member()? {
                        return Ok(fill);
                    }
                }
            }
        }
    }

    /// Starts the next member; `Some` when there is none (EOF) or garbage was skipped.
    fn start_member(&mut self) -> io::Result<Option<Fill>> {
        let Some(mut src) = self.src.take() else {
            return Ok(Some(Fill::Eof));
        };
        let (magic, what) = match self.codec {
            Codec::Gzip => (GZIP_MAGIC, "gzip member"),
            _ => (ZSTD_MAGIC, "zstd frame"),
        };
        loop {
            let head: Vec<u8> = src.peek(8)?.iter().take(8).copied().collect();
            if head.is_empty() {
                self.src = Some(src);
                return Ok(Some(Fill::Eof));
            }
            if self.codec == Codec::Zstd
                && head.len() >= 8
                && head[0] & 0xf0 == 0x50
                && head[1..4] == [0x2a, 0x4d, 0x18]
            {
                // A skippable frame; at the start of the file it holds the dictionary.
                let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
                let at_start = src.pos == 0;
                let offset = src.pos;
                let frame = src.peek(8 + size)?;
                if frame.len() < 8 + size {
                    let n = frame.len();
                    src.skip(n);
                    self.src = Some(src);
                    return Ok(Some(Fill::Corrupt {
                        offset,
                        detail: "truncated zstd skippable frame".into(),
                    }));
                }
                if at_start && head[0] == 0x5d {
                    let raw = frame[8..8 + size].to_vec();
                    self.dict = Some(if raw.starts_with(ZSTD_MAGIC) {
                        zstd::stream::decode_all(&raw[..])?
                    } else {
                        raw
                    });
                }
                src.skip(8 + size);
                continue;
            }
            if !head.starts_with(magic) {
                let offset = src.pos;
                // Trailing zero padding or whitespace at the end of a file is harmless.
                let rest_blank = {
                    let all = src.peek(RAW_KEPT)?;
                    all.len() < RAW_KEPT && all.iter().all(|b| b.is_ascii_whitespace() || *b == 0)
                };
                if rest_blank {
                    let n = src.peek(RAW_KEPT)?.len();
                    src.skip(n);
                    continue;
                }
                let before = src.pos;
                src.seek_magic(magic)?;
                let skipped = src.pos - before;
                self.src = Some(src);
                return Ok(Some(Fill::Corrupt {
                    offset,
                    detail: format!("{skipped} bytes that are not a {what}"),
                }));
            }
            self.member_start = (self.produced, src.pos);
            src.set_mark();
            self.member = Some(match self.codec {
                Codec::Gzip => Member::Gzip(Box::new(flate2::bufread::GzDecoder::new(src))),
                _ => {
                    let dec = match &self.dict {
                        Some(d) => zstd::stream::read::Decoder::with_dictionary(src, d)?,
                        None => zstd::stream::read::Decoder::with_buffer(src)?,
                    };
                    Member::Zstd(dec.single_frame())
                }
            });
            return Ok(None);
        }
    }
}

/// Decompressed bytes not yet consumed. Consuming moves a cursor; the bytes before it are
/// dropped only when more are appended, so a 256 KiB chunk holding many small records
/// (requests, metadata) is not shifted once per record.
#[derive(Default)]
struct Window {
    data: Vec<u8>,
    start: usize,
}

impl std::ops::Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data[self.start..]
    }
}

impl Window {
    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.data.len());
    }

    /// The buffer to append to, consumed bytes dropped first.
    fn for_append(&mut self) -> &mut Vec<u8> {
        if self.start > 0 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        &mut self.data
    }

    fn clear(&mut self) {
        self.data.clear();
        self.start = 0;
    }

    /// Everything not consumed, taken out.
    fn take(&mut self) -> Vec<u8> {
        let rest = self.data.split_off(self.start);
        self.clear();
        rest
    }
}

/// Streams the records of one WARC file.
pub struct WarcReader<R: Read> {
    stream: Stream<R>,
    limits: Limits,
    /// Decompressed bytes not yet consumed; `buf[0]` is at decompressed offset `base`.
    buf: Window,
    base: u64,
    eof: bool,
    /// A corrupt member reported by the stream, to be yielded before anything else.
    pending: Option<BadRecord>,
}

/// Where a header block ends: the offset just past the blank line.
fn header_end(buf: &[u8]) -> Option<usize> {
    let crlf = memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<R: Read> WarcReader<R> {
    /// A reader of `inner`, compressed as `codec`.
    pub fn new(inner: R, codec: Codec, limits: Limits) -> Self {
        WarcReader {
            stream: Stream {
                codec,
                src: Some(Src::new(inner)),
                member: None,
                dict: None,
                member_start: (0, 0),
                produced: 0,
            },
            limits,
            buf: Window::default(),
            base: 0,
            eof: false,
            pending: None,
        }
    }

    /// The file offset to report for decompressed offset `dec`.
    fn file_offset(&self, dec: u64) -> u64 {
        match self.stream.codec {
            Codec::Plain => dec,
            _ => self.stream.member_start.1,
        }
    }

    /// Reads more; false at the end. A corrupt member drops what was buffered of it.
    fn more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        match self.stream.fill(self.buf.for_append())? {
            Fill::Data => Ok(true),
            Fill::Eof => {
                self.eof = true;
                Ok(false)
            }
            Fill::Corrupt { offset, detail } => {
                let raw_len = self.buf.len() as u64;
                let raw = self.buf[..self.buf.len().min(RAW_KEPT)].to_vec();
                self.base += self.buf.len() as u64;
                self.buf.clear();
                self.pending = Some(BadRecord {
                    offset,
                    detail,
                    raw,
                    raw_len,
                });
                Ok(true)
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.buf.consume(n);
        self.base += n as u64;
    }

    /// Drops bytes up to the next line that starts a WARC record, from `from` on.
    fn resync(&mut self, from: usize) -> io::Result<u64> {
        let mut from = from.min(self.buf.len());
        let mut skipped = 0u64;
        loop {
            if let Some(i) = memchr::memmem::find(&self.buf[from..], b"WARC/1.") {
                let at = from + i;
                if at == 0 || self.buf[at - 1] == b'\n' {
                    skipped += at as u64;
                    self.consume(at);
                    return Ok(skipped);
                }
                from = at + 1;
                continue;
            }
            let keep = self
                .buf
                .len()
                .saturating_sub(8)
                .max(from.min(self.buf.len()));
            let keep = keep.min(self.buf.len());
            skipped += keep as u64;
            self.consume(keep);
            from = 0;
            if self.pending.is_some() || !self.more()? {
                skipped += self.buf.len() as u64;
                let n = self.buf.len();
                self.consume(n);
                return Ok(skipped);
            }
        }
    }

    fn bad(&self, offset: u64, detail: String, raw: &[u8], raw_len: u64) -> Item {
        Item::Bad(BadRecord {
            offset,
            detail,
            raw: raw[..raw.len().min(RAW_KEPT)].to_vec(),
            raw_len,
        })
    }

    /// The next record or bad stretch; `None` at the end of the file.
    pub fn next_item(&mut self) -> io::Result<Option<Item>> {
        loop {
            if let Some(bad) = self.pending.take() {
                return Ok(Some(Item::Bad(bad)));
            }
            // Blank lines between records are tolerated.
            let lead = self
                .buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            self.consume(lead);
            if self.buf.len() < 9 {
                if self.more()? {
                    continue;
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
            }
            if self.pending.is_some() {
                continue;
            }
            return self.parse_record().map(Some);
        }
    }

    fn parse_record(&mut self) -> io::Result<Item> {
        let offset = self.file_offset(self.base);
        if !self.buf.starts_with(b"WARC/") {
            let raw = self.buf[..self.buf.len().min(RAW_KEPT)].to_vec();
            let skipped = self.resync(1)?;
            return Ok(self.bad(
                offset,
                format!("{skipped} bytes that are not a WARC record"),
                &raw,
                skipped,
            ));
        }
        let head_len = loop {
            let window = &self.buf[..self.buf.len().min(self.limits.max_header_bytes)];
            if let Some(end) = header_end(window) {
                break end;
            }
            if self.buf.len() >= self.limits.max_header_bytes {
                let raw = self.buf[..RAW_KEPT.min(self.buf.len())].to_vec();
                let skipped = self.resync(1)?;
                return Ok(self.bad(
                    offset,
                    format!(
                        "WARC header longer than {} bytes",
                        self.limits.max_header_bytes
                    ),
                    &raw,
                    skipped,
                ));
            }
            let more = self.more()?;
            if let Some(bad) = self.pending.take() {
                return Ok(Item::Bad(bad));
            }
            if !more {
                let raw = self.buf.take();
                self.base += raw.len() as u64;
                let n = raw.len() as u64;
                return Ok(self.bad(
                    offset,
                    "the file ends inside a WARC header (clipped record)".into(),
                    &raw,
                    n,
                ));
            }
        };
        let header_text = String::from_utf8_lossy(&self.buf[..head_len]).into_owned();
        let mut lines = header_text.lines();
        let version = lines.next().unwrap_or("").trim().to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .map(|(_, v)| v.parse::<u64>());
        let length = match length {
            Some(Ok(n)) => n,
            Some(Err(_)) | None => {
                let raw = self.buf[..head_len].to_vec();
                let skipped = self.resync(head_len)?;
                let what = if length.is_none() {
                    "has no Content-Length"
                } else {
                    "has a Content-Length that is not a number"
                };
                return Ok(self.bad(offset, format!("WARC record {what}"), &raw, skipped));
            }
        };
        if length > self.limits.max_record_bytes {
            let raw = self.buf[..head_len].to_vec();
            // Stream past the block without holding it.
            let mut left = head_len as u64 + length;
            while left > 0 {
                if self.buf.is_empty() {
                    let more = self.more()?;
                    if let Some(bad) = self.pending.take() {
                        return Ok(Item::Bad(bad));
                    }
                    if !more {
                        break;
                    }
                }
                let n = (self.buf.len() as u64).min(left) as usize;
                self.consume(n);
                left -= n as u64;
            }
            let id = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("WARC-Record-ID"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            return Ok(self.bad(
                offset,
                format!(
                    "record {id} of {length} bytes is over the cap of {} bytes (max_doc_bytes); skipped",
                    self.limits.max_record_bytes
                ),
                &raw,
                head_len as u64 + length,
            ));
        }
        let total = head_len + length as usize;
        while self.buf.len() < total + 4 {
            let more = self.more()?;
            if let Some(bad) = self.pending.take() {
                // The member holding this record is corrupt: the record goes with it.
                return Ok(Item::Bad(bad));
            }
            if !more {
                break;
            }
        }
        if self.buf.len() < total {
            let raw = self.buf.take();
            self.base += raw.len() as u64;
            let got = raw.len() - head_len;
            let n = raw.len() as u64;
            return Ok(self.bad(
                offset,
                format!(
                    "clipped record: Content-Length says {length} bytes, the data ends after {got}"
                ),
                &raw,
                n,
            ));
        }
        let trailer = &self.buf[total..self.buf.len().min(total + 4)];
        let ends_well = trailer.starts_with(b"\r\n\r\n")
            || trailer.starts_with(b"\n\n")
            || (self.buf.len() == total && (self.eof || self.pending.is_some()))
            || trailer == b"\r\n" && self.buf.len() == total + 2;
        if !ends_well {
            let raw = self.buf[..head_len].to_vec();
            let skipped = self.resync(head_len)?;
            return Ok(self.bad(
                offset,
                format!("Content-Length {length} does not end at a record boundary; resynchronized at the next record"),
                &raw,
                skipped,
            ));
        }
        let block = self.buf[head_len..total].to_vec();
        let trail = trailer
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count()
            .min(4);
        self.consume(total + trail);
        Ok(Item::Record(Record {
            offset,
            version,
            headers,
            block,
        }))
    }
}

#[cfg(test)]
#[path = "warc_tests.rs"]
mod tests;
