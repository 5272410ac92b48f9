//! Readers: turn input files into document records, streaming and in bounded memory.
//!
//! A reader never decides what happens to a bad record; it hands it to the
//! [`RecordSink`], which applies the job's `on_bad_record` policy. That keeps the policy
//! in one place for every format.

mod json_scan;
mod jsonl;
mod lines;
mod parquet_in;
mod txt;
mod warc;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use taojin_schemas::InputSpec;

use crate::error::Result;

pub use lines::{CappedLine, CappedLineReader};

/// Compression of a JSONL file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text: can be split into byte ranges.
    None,
    /// `.zst` / `.zstd`.
    Zstd,
    /// `.gz` (multi-member gzip is read to the end).
    Gzip,
}

/// The format of one input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// JSON Lines.
    Jsonl(Compression),
    /// Parquet.
    Parquet,
    /// One document per file.
    Txt,
    /// WARC: HTML responses, for the `extract` stage.
    Warc(taojin_web::warc::Codec),
    /// WET: extracted text records.
    Wet(taojin_web::warc::Codec),
}

/// A file the planner found.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its name relative to the input's glob base, used in derived ids.
    pub name: String,
    /// Size on disk.
    pub size: u64,
    /// How to read it.
    pub format: FileFormat,
    /// What names this content besides its name and size where the listing gives it
    /// (an S3 object's ETag, which changes with the bytes); empty for local files, whose
    /// mtime or digest the plan reads itself.
    pub version: String,
}

/// Which part of a file a task reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// The whole file.
    Whole,
    /// Lines starting in `[start, end)` of an uncompressed file; `first_line` is the
    /// 1-based number of the line at `start`.
    Lines {
        /// First byte (a line start).
        start: u64,
        /// One past the last byte (a line start or the end of the file).
        end: u64,
        /// Line number at `start`.
        first_line: u64,
    },
    /// Row groups `[start, end)` of a Parquet file; `first_row` is the index of the first row.
    RowGroups {
        /// First row group.
        start: usize,
        /// One past the last row group.
        end: usize,
        /// Rows before `start`.
        first_row: u64,
    },
}

/// One file (or piece of one) in a task.
#[derive(Debug, Clone)]
pub struct SplitPart {
    /// The file.
    pub file: Arc<InputFile>,
    /// The part of it.
    pub piece: Piece,
}

/// The input of one first-stage task: parts of files of one input.
#[derive(Debug, Clone)]
pub struct Split {
    /// Index of the input in the job.
    pub input: usize,
    /// What to read, in order.
    pub parts: Vec<SplitPart>,
}

/// A document as read, before it becomes an Arrow row.
#[derive(Debug)]
pub struct Doc<'a> {
    /// Document id.
    pub id: Cow<'a, str>,
    /// Text.
    pub text: Cow<'a, str>,
    /// URL.
    pub url: Option<Cow<'a, str>>,
    /// Other fields as a JSON object.
    pub meta: Option<Cow<'a, str>>,
    /// Raw HTML and where it came from (web inputs).
    pub web: Option<WebDoc<'a>>,
}

/// The web columns of a document (see `taojin_schemas::web_fields`).
#[derive(Debug, Default)]
pub struct WebDoc<'a> {
    /// Raw HTML bytes; `None` when the text is already extracted (WET).
    pub html: Option<Cow<'a, [u8]>>,
    /// `WARC-Date`.
    pub date: Option<String>,
    /// The WARC file, relative to the input.
    pub filename: Option<String>,
    /// Byte offset of the record in it.
    pub offset: Option<u64>,
    /// HTTP `Content-Type`.
    pub content_type: Option<String>,
}

/// A record that could not be read as a document.
#[derive(Debug)]
pub struct BadRecord {
    /// Derived id (`source/file/line`).
    pub id: String,
    /// The file (its path, for messages).
    pub file: String,
    /// 1-based line or row.
    pub line: u64,
    /// What is wrong.
    pub detail: String,
    /// The raw bytes, at most [`MAX_RAW_KEPT`] of them.
    pub raw: Vec<u8>,
    /// The full size of the raw record in bytes.
    pub raw_len: u64,
}

/// How many raw bytes of a bad record are kept in `removed/`: enough to see what it
/// was, bounded so an oversized record cannot blow up memory.
pub const MAX_RAW_KEPT: usize = 64 << 10;

/// Where readers deliver records.
pub trait RecordSink {
    /// A readable document.
    fn doc(&mut self, doc: Doc<'_>) -> Result<()>;
    /// A record that is not one; the sink applies the bad-record policy.
    fn bad(&mut self, bad: BadRecord) -> Result<()>;
    /// A blank line in a JSONL file: not a record, only counted.
    fn blank_line(&mut self) {}
    /// Adds `n` to the stage counter `key` (records of a WARC that are not documents).
    fn count(&mut self, _key: &str, _n: u64) {}
}

/// What readers need to know about the input they read.
#[derive(Debug, Clone, Copy)]
pub struct ReadContext<'a> {
    /// The input's spec (field names).
    pub input: &'a InputSpec,
    /// Texts over this many bytes are bad records.
    pub max_doc_bytes: u64,
    /// Rows per batch for columnar readers.
    pub batch_rows: usize,
}

impl ReadContext<'_> {
    fn derived_id(&self, file: &InputFile, line: u64) -> String {
        format!("{}/{}/{}", self.input.name, file.name, line)
    }

    fn bad(&self, file: &InputFile, line: u64, detail: impl Into<String>, raw: &[u8]) -> BadRecord {
        BadRecord {
            id: self.derived_id(file, line),
            file: file.path.display().to_string(),
            line,
            detail: detail.into(),
            raw: raw[..raw.len().min(MAX_RAW_KEPT)].to_vec(),
            raw_len: raw.len() as u64,
        }
    }
}

/// A byte source a reader can stream and seek: a local file or an S3 object.
pub trait Source: std::io::Read + std::io::Seek + Send {}
impl<T: std::io::Read + std::io::Seek + Send> Source for T {}

/// An opened input.
pub enum Opened {
    /// A local file.
    Local(std::fs::File),
    /// An S3 object read by ranged GETs.
    S3(crate::storage::ObjectReader),
}

impl InputFile {
    /// The `s3://` URL of the file, if it is an S3 object.
    pub fn s3_url(&self) -> Option<&str> {
        self.path.to_str().filter(|p| crate::storage::is_s3(p))
    }

    /// Opens the file where it lives.
    pub fn open(&self) -> Result<Opened> {
        match self.s3_url() {
            Some(url) => {
                let s3 = crate::storage::S3::shared(&Default::default())?;
                let etag = (!self.version.is_empty()).then(|| self.version.clone());
                Ok(Opened::S3(crate::storage::ObjectReader::new(
                    s3, url, self.size, etag,
                )?))
            }
            None => std::fs::File::open(&self.path)
                .map(Opened::Local)
                .map_err(crate::error::PipelineError::io(&self.path)),
        }
    }
}

/// Opens an input file; a file that cannot be opened is a bad record (line 0), so the
/// job's policy decides between failing and counting it.
fn open_input(
    file: &InputFile,
    ctx: &ReadContext<'_>,
    sink: &mut dyn RecordSink,
) -> Result<Option<Opened>> {
    match file.open() {
        Ok(f) => Ok(Some(f)),
        Err(e) => {
            sink.bad(ctx.bad(file, 0, format!("cannot open: {e}"), &[]))?;
            Ok(None)
        }
    }
}

/// Reads one part of a split into `sink`.
pub fn read_part(part: &SplitPart, ctx: &ReadContext<'_>, sink: &mut dyn RecordSink) -> Result<()> {
    let Some(f) = open_input(&part.file, ctx, sink)? else {
        return Ok(());
    };
    let file = &part.file;
    match (part.file.format, f) {
        (FileFormat::Jsonl(c), Opened::Local(f)) => {
            jsonl::read(Box::new(f), file, c, &part.piece, ctx, sink)
        }
        (FileFormat::Jsonl(c), Opened::S3(f)) => {
            jsonl::read(Box::new(f), file, c, &part.piece, ctx, sink)
        }
        (FileFormat::Parquet, Opened::Local(f)) => {
            parquet_in::read(f, file, &part.piece, ctx, sink)
        }
        (FileFormat::Parquet, Opened::S3(f)) => parquet_in::read(f, file, &part.piece, ctx, sink),
        (FileFormat::Txt, Opened::Local(f)) => txt::read(f, file, ctx, sink),
        (FileFormat::Txt, Opened::S3(f)) => txt::read(f, file, ctx, sink),
        (FileFormat::Warc(c) | FileFormat::Wet(c), Opened::Local(f)) => {
            warc::read(Box::new(f), file, c, ctx, sink)
        }
        (FileFormat::Warc(c) | FileFormat::Wet(c), Opened::S3(f)) => {
            warc::read(Box::new(f), file, c, ctx, sink)
        }
    }
}

pub use jsonl::split_lines;
pub use parquet_in::row_group_sizes;
