//! Plain-text inputs: one document per `.txt` file.

use std::borrow::Cow;
use std::io::Read;

use super::{Doc, InputFile, ReadContext, RecordSink};
use crate::error::{PipelineError, Result};

pub(super) fn read(
    f: impl Read,
    file: &InputFile,
    ctx: &ReadContext<'_>,
    sink: &mut dyn RecordSink,
) -> Result<()> {
    let mut bytes = Vec::new();
    // Read one byte past the limit to detect oversized files without reading them whole.
    f.take(ctx.max_doc_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(PipelineError::io(&file.path))?;
    if bytes.len() as u64 > ctx.max_doc_bytes {
        let detail = format!(
            "file of {} bytes exceeds max_doc_bytes = {}",
            file.size, ctx.max_doc_bytes
        );
        return sink.bad(ctx.bad(file, 1, detail, &bytes));
    }
    let id = format!("{}/{}", ctx.input.name, file.name);
    match String::from_utf8(bytes) {
        Ok(text) => sink.doc(Doc {
            id: Cow::Owned(id),
            text: Cow::Owned(text),
            url: None,
            meta: None,
            web: None,
        }),
        Err(e) => {
            let detail = format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to());
            let mut bad = ctx.bad(file, 1, detail, e.as_bytes());
            bad.id = id;
            sink.bad(bad)
        }
    }
}
