//! Writing output files so that no reader ever sees half of one: every file is written
//! under a hidden temporary name in its final folder and renamed into place.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{PipelineError, Result};

/// Marker in the names of temporary files; a rerun deletes any it finds.
pub const TMP_MARKER: &str = ".tmp-";

/// The temporary name `path` is written under before the rename.
pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{TMP_MARKER}{}", std::process::id()))
}

/// True for names [`tmp_path`] produces.
pub fn is_tmp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TMP_MARKER)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let mut f = File::create(&tmp).map_err(PipelineError::io(&tmp))?;
    f.write_all(bytes).map_err(PipelineError::io(&tmp))?;
    f.sync_data().map_err(PipelineError::io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(PipelineError::io(path))
}

/// A file written completely under its temporary name, waiting for [`Pending::commit`].
#[derive(Debug)]
pub struct Pending {
    tmp: PathBuf,
    dest: PathBuf,
}

impl Pending {
    /// Renames the file into place.
    pub fn commit(self) -> Result<()> {
        fs::rename(&self.tmp, &self.dest).map_err(PipelineError::io(&self.dest))
    }
}

/// Parquet writer properties of stage outputs: zstd at the job's level, statistics on,
/// and a fixed `created_by` so identical data gives identical bytes across versions of
/// the parquet crate that write the same layout.
pub fn parquet_properties(zstd_level: i32) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(zstd_level)
        .map_err(|e| PipelineError::Config(format!("job.zstd_level: {e}")))?;
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_created_by(format!("taojin {}", env!("CARGO_PKG_VERSION")))
        .set_max_row_group_row_count(Some(64 * 1024))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .build())
}

/// Row groups are cut at this many buffered bytes, bounding a writer's memory.
const ROW_GROUP_BYTES: usize = 8 << 20;

/// A Parquet file being written under its temporary name.
pub struct ParquetPart {
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl ParquetPart {
    /// Starts writing `dest` (under its temporary name) with `schema`.
    pub fn create(dest: &Path, schema: SchemaRef, props: WriterProperties) -> Result<ParquetPart> {
        let tmp = tmp_path(dest);
        let file = File::create(&tmp).map_err(PipelineError::io(&tmp))?;
        let writer = ArrowWriter::try_new(file, schema, Some(props))
            .map_err(PipelineError::parquet(dest))?;
        Ok(ParquetPart {
            writer,
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(PipelineError::parquet(&self.dest))
    }

    /// Writes the footer and syncs; the file is then ready to be committed.
    pub fn finish(self) -> Result<Pending> {
        let file = self
            .writer
            .into_inner()
            .map_err(PipelineError::parquet(&self.dest))?;
        file.sync_data().map_err(PipelineError::io(&self.tmp))?;
        Ok(Pending {
            tmp: self.tmp,
            dest: self.dest,
        })
    }
}

/// An Arrow IPC file (the memory-mappable format training shards use) being written
/// under its temporary name.
pub struct IpcPart {
    writer: arrow::ipc::writer::FileWriter<std::io::BufWriter<File>>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl IpcPart {
    /// Starts writing `dest` (under its temporary name), uncompressed so readers can
    /// memory-map it.
    pub fn create(dest: &Path, schema: &SchemaRef) -> Result<IpcPart> {
        let tmp = tmp_path(dest);
        let file = File::create(&tmp).map_err(PipelineError::io(&tmp))?;
        let writer =
            arrow::ipc::writer::FileWriter::try_new(std::io::BufWriter::new(file), schema)?;
        Ok(IpcPart {
            writer,
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.writer.write(batch)?)
    }

    /// Writes the footer and syncs; the file is then ready to be committed.
    pub fn finish(mut self) -> Result<Pending> {
        self.writer.finish()?;
        let file = self
            .writer
            .into_inner()?
            .into_inner()
            .map_err(|e| PipelineError::Io {
                path: self.tmp.clone(),
                source: e.into_error(),
            })?;
        file.sync_data().map_err(PipelineError::io(&self.tmp))?;
        Ok(Pending {
            tmp: self.tmp,
            dest: self.dest,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 2, 3]))])
            .expect("batch")
    }

    #[test]
    fn nothing_visible_until_commit() {
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("part-00000.parquet");
        let b = batch();
        let mut w = ParquetPart::create(&dest, b.schema(), parquet_properties(1).expect("props"))
            .expect("create");
        w.write(&b).expect("write");
        let pending = w.finish().expect("finish");
        assert!(!dest.exists());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| is_tmp_name(n)), "{names:?}");
        pending.commit().expect("commit");
        assert!(dest.exists());
    }

    #[test]
    fn ipc_file_round_trips() {
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("train-00000.arrow");
        let b = batch();
        let mut w = IpcPart::create(&dest, &b.schema()).expect("create");
        w.write(&b).expect("write");
        w.finish().expect("finish").commit().expect("commit");
        let reader =
            arrow::ipc::reader::FileReader::try_new(File::open(&dest).expect("open"), None)
                .expect("ipc");
        let batches: Vec<RecordBatch> = reader.map(|r| r.expect("batch")).collect();
        assert_eq!(batches, vec![b]);
    }
}
