//! Writing output files so that no reader ever sees half of one: every file is written
//! under a hidden temporary name in its final folder and renamed into place.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use taojin_schemas::job::OutputCompression;

use crate::error::{PipelineError, Result};

/// Marker in the names of temporary files; the `prepare` step deletes any it finds.
pub const TMP_MARKER: &str = ".tmp-";

fn tmp_prefix(dest: &Path) -> (PathBuf, String) {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    (dir, format!(".{name}{TMP_MARKER}"))
}

/// Creates a file under a temporary name unique to this writer (created exclusively, so
/// two writers never share one, even where every process is PID 1) beside `dest`;
/// [`Pending::commit`] renames it into place.
pub fn create_tmp(dest: &Path) -> Result<(File, Pending)> {
    let (dir, prefix) = tmp_prefix(dest);
    let (file, tmp) = tempfile::Builder::new()
        .prefix(&prefix)
        .rand_bytes(10)
        .tempfile_in(&dir)
        .and_then(|f| f.keep().map_err(|e| e.error))
        .map_err(PipelineError::io(&dir))?;
    Ok((
        file,
        Pending {
            tmp,
            dest: dest.to_path_buf(),
        },
    ))
}

/// Creates a folder under a temporary name unique to this writer beside `dest`.
pub fn create_tmp_dir(dest: &Path) -> Result<PathBuf> {
    let (dir, prefix) = tmp_prefix(dest);
    tempfile::Builder::new()
        .prefix(&prefix)
        .rand_bytes(10)
        .tempdir_in(&dir)
        .map(tempfile::TempDir::keep)
        .map_err(PipelineError::io(&dir))
}

/// True for names [`create_tmp`] and [`create_tmp_dir`] produce.
pub fn is_tmp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TMP_MARKER)
}

/// Deletes temporary files and folders (see [`is_tmp_name`]) anywhere under `dir`: what
/// killed writers left. Only the `prepare` step calls it, before any writer starts.
pub fn remove_tmp_files(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(PipelineError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(PipelineError::io(&path))?;
        let tmp = is_tmp_name(&entry.file_name().to_string_lossy());
        match (kind.is_dir(), tmp) {
            (true, true) => fs::remove_dir_all(&path).map_err(PipelineError::io(&path))?,
            (true, false) => remove_tmp_files(&path)?,
            (false, true) => fs::remove_file(&path).map_err(PipelineError::io(&path))?,
            (false, false) => {}
        }
    }
    Ok(())
}

/// Deletes the temporary files killed writers of `dest` left beside it.
pub fn remove_tmp_siblings(dest: &Path) -> Result<()> {
    let (dir, prefix) = tmp_prefix(dest);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(PipelineError::io(&dir))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let path = entry.path();
            fs::remove_file(&path).map_err(PipelineError::io(&path))?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (mut f, pending) = create_tmp(path)?;
    f.write_all(bytes)
        .map_err(PipelineError::io(&pending.tmp))?;
    f.sync_data().map_err(PipelineError::io(&pending.tmp))?;
    drop(f);
    pending.commit()
}

/// A file written completely under its temporary name, waiting for [`Pending::commit`].
#[derive(Debug)]
pub struct Pending {
    tmp: PathBuf,
    dest: PathBuf,
}

impl Pending {
    /// The temporary path being written.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Renames the file into place.
    pub fn commit(self) -> Result<()> {
        fs::rename(&self.tmp, &self.dest).map_err(PipelineError::io(&self.dest))
    }
}

/// Parquet writer properties of stage outputs: the job's codec, statistics on (but not
/// for the long text and raw columns, nor a dictionary there: neither ever pays off on
/// them), and a fixed `created_by` so identical data gives identical bytes across
/// versions of the parquet crate that write the same layout.
pub fn parquet_properties(codec: OutputCompression, zstd_level: i32) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(zstd_level)
        .map_err(|e| PipelineError::Config(format!("job.zstd_level: {e}")))?;
    let codec = match codec {
        OutputCompression::Zstd => Compression::ZSTD(level),
        OutputCompression::Lz4 => Compression::LZ4_RAW,
        OutputCompression::Snappy => Compression::SNAPPY,
        OutputCompression::None => Compression::UNCOMPRESSED,
    };
    let mut props = WriterProperties::builder();
    for long in ["text", "html", "meta", "raw"] {
        props = props
            .set_column_dictionary_enabled(ColumnPath::from(long), false)
            .set_column_statistics_enabled(ColumnPath::from(long), EnabledStatistics::None);
    }
    Ok(props
        .set_compression(codec)
        .set_created_by(format!("taojin {}", env!("CARGO_PKG_VERSION")))
        .set_data_page_size_limit(PAGE_BYTES)
        .set_write_batch_size(WRITE_BATCH_ROWS)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        // `taojin explain` finds an id without reading row groups that lack it; the filter
        // is sized for a full row group (8 KiB at the default 5% false positives).
        .set_column_bloom_filter_enabled(ColumnPath::from("id"), true)
        .set_column_bloom_filter_max_ndv(ColumnPath::from("id"), ROW_GROUP_ROWS as u64)
        .build())
}

/// Row groups are cut at this many encoded bytes: the parquet writer counts the pages
/// it finished *after* compression, so a zstd text column holds about 2.7× this raw. A
/// writer holds one row group and a reader a column chunk of it, so this bounds a task's
/// memory on both sides. Measured on the demo with 2 threads (`bench/memory_bench.py`,
/// one binary, these three knobs from the environment), against 2 MiB with 1 MiB pages
/// checked every 1,024 rows: peak RSS at 16× 164 → 154 MiB (1×: 136 → 138), the run 5%
/// faster; the ingest bench 4% faster and its output 1.5% smaller. (Before number and
/// flag columns were written plain, every column's zstd contexts made small row groups
/// dear: 1 MiB then cost the light stages a quarter.)
const ROW_GROUP_BYTES: usize = 512 << 10;

/// A column's data page is cut at this many bytes; it is held raw until then.
const PAGE_BYTES: usize = 128 << 10;

/// Rows a column writer takes between two checks of [`PAGE_BYTES`]: with documents of
/// tens of KB, the default 1,024 let a text page grow to tens of MB before the check.
const WRITE_BATCH_ROWS: usize = 64;

/// Row groups are cut at this many rows (and the id bloom filter sized for them).
const ROW_GROUP_ROWS: usize = 8 * 1024;

/// Bytes a [`WriteBehind`] file takes before it starts their write-back.
const WRITE_BEHIND_BYTES: u64 = 8 << 20;

/// A file that starts the write-back of every [`WRITE_BEHIND_BYTES`] written (Linux
/// `sync_file_range`, which does not wait), so the disk works while the stage computes
/// and the `fdatasync` that ends the file has little left to do; as RocksDB's
/// `bytes_per_sync`. Durability is unchanged: the file is still synced before commit.
struct WriteBehind {
    file: File,
    /// Bytes written, and the end of the range whose write-back has started.
    written: u64,
    started: u64,
}

impl WriteBehind {
    fn new(file: File) -> WriteBehind {
        WriteBehind {
            file,
            written: 0,
            started: 0,
        }
    }

    #[cfg(target_os = "linux")]
    fn start_write_back(&mut self) {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (
            i64::try_from(self.started),
            i64::try_from(self.written - self.started),
        ) else {
            return;
        };
        // SAFETY: a plain system call on an open descriptor this struct owns. It only
        // starts write-back (no wait); an error (e.g. a file system without it) leaves
        // the final fdatasync to do the work, so it is ignored.
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                offset,
                len,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        self.started = self.written;
    }

    #[cfg(not(target_os = "linux"))]
    fn start_write_back(&mut self) {}

    /// The file, for its final sync.
    fn into_file(self) -> File {
        self.file
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITE_BEHIND_BYTES {
            self.start_write_back();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// `props` with the fixed-width and boolean columns (the signals, outside lists) left
/// uncompressed. The codec saved 13% on them, 1.4% of a quality part (48k demo documents,
/// 80 of 87 columns), and cost a zstd compressor and decompressor per column per open
/// writer: 38 MiB of contexts alone at the peak of the 16× demo's quality stage.
fn fixed_width_uncompressed(props: WriterProperties, schema: &Schema) -> WriterProperties {
    fn leaves(fields: &Fields, prefix: &mut Vec<String>, out: &mut Vec<ColumnPath>) {
        for field in fields {
            prefix.push(field.name().clone());
            match field.data_type() {
                DataType::Struct(children) => leaves(children, prefix, out),
                t if t.is_primitive() || *t == DataType::Boolean => {
                    out.push(ColumnPath::new(prefix.clone()))
                }
                _ => {}
            }
            prefix.pop();
        }
    }
    let mut fixed = Vec::new();
    leaves(schema.fields(), &mut Vec::new(), &mut fixed);
    fixed
        .into_iter()
        .fold(props.into_builder(), |b, col| {
            b.set_column_compression(col, Compression::UNCOMPRESSED)
        })
        .build()
}

/// A Parquet file being written under its temporary name.
pub struct ParquetPart {
    writer: ArrowWriter<WriteBehind>,
    pending: Pending,
}

impl ParquetPart {
    /// Starts writing `dest` (under its temporary name) with `schema`.
    pub fn create(dest: &Path, schema: SchemaRef, props: WriterProperties) -> Result<ParquetPart> {
        let (file, pending) = create_tmp(dest)?;
        let props = fixed_width_uncompressed(props, &schema);
        let writer = ArrowWriter::try_new(WriteBehind::new(file), schema, Some(props))
            .map_err(PipelineError::parquet(dest))?;
        Ok(ParquetPart { writer, pending })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(PipelineError::parquet(&self.pending.dest))
    }

    /// Writes the footer and syncs; the file is then ready to be committed.
    pub fn finish(self) -> Result<Pending> {
        let file = self
            .writer
            .into_inner()
            .map_err(PipelineError::parquet(&self.pending.dest))?
            .into_file();
        file.sync_data()
            .map_err(PipelineError::io(&self.pending.tmp))?;
        Ok(self.pending)
    }
}

/// A file written through a buffer under its temporary name (its write-back started as
/// it goes, see [`WriteBehind`]); [`BufferedTmp::finish`] flushes and syncs it. IPC parts
/// and spill files are written this way.
pub struct BufferedTmp {
    out: std::io::BufWriter<WriteBehind>,
    pending: Pending,
}

impl BufferedTmp {
    /// Starts writing `dest` under its temporary name, with a buffer of `capacity` bytes.
    pub fn create(dest: &Path, capacity: usize) -> Result<BufferedTmp> {
        let (file, pending) = create_tmp(dest)?;
        Ok(BufferedTmp {
            out: std::io::BufWriter::with_capacity(capacity, WriteBehind::new(file)),
            pending,
        })
    }

    /// The temporary path being written.
    pub fn tmp(&self) -> &Path {
        self.pending.tmp()
    }

    /// Flushes and syncs; the file is then ready to be committed.
    pub fn finish(self) -> Result<Pending> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| PipelineError::Io {
                path: self.pending.tmp.clone(),
                source: e.into_error(),
            })?
            .into_file();
        file.sync_data()
            .map_err(PipelineError::io(&self.pending.tmp))?;
        Ok(self.pending)
    }
}

impl Write for BufferedTmp {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// An Arrow IPC file (the memory-mappable format training shards use) being written
/// under its temporary name.
pub struct IpcPart {
    writer: arrow::ipc::writer::FileWriter<BufferedTmp>,
}

impl IpcPart {
    /// Starts writing `dest` (under its temporary name), uncompressed so readers can
    /// memory-map it.
    pub fn create(dest: &Path, schema: &SchemaRef) -> Result<IpcPart> {
        let out = BufferedTmp::create(dest, 8 << 10)?;
        let writer = arrow::ipc::writer::FileWriter::try_new(out, schema)?;
        Ok(IpcPart { writer })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.writer.write(batch)?)
    }

    /// Writes the footer and syncs; the file is then ready to be committed.
    pub fn finish(mut self) -> Result<Pending> {
        self.writer.finish()?;
        self.writer.into_inner()?.finish()
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
    fn write_behind_passes_every_byte_through() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f");
        let mut w = WriteBehind::new(File::create(&path).expect("create"));
        let data: Vec<u8> = (0..(3 * WRITE_BEHIND_BYTES as usize + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for piece in data.chunks(1 << 16 | 17) {
            w.write_all(piece).expect("write");
        }
        #[cfg(target_os = "linux")]
        assert_eq!(
            w.started,
            3 * (WRITE_BEHIND_BYTES / (1 << 16 | 17) + 1) * (1 << 16 | 17)
        );
        w.into_file().sync_data().expect("sync");
        assert_eq!(fs::read(&path).expect("read"), data);
    }

    /// `b` written to `dest` with the default codec, not yet committed.
    fn write_zstd_part(dest: &Path, b: &RecordBatch) -> Pending {
        let props = parquet_properties(OutputCompression::Zstd, 1).expect("props");
        let mut w = ParquetPart::create(dest, b.schema(), props).expect("create");
        w.write(b).expect("write");
        w.finish().expect("finish")
    }

    #[test]
    fn nothing_visible_until_commit() {
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("part-00000.parquet");
        let b = batch();
        let pending = write_zstd_part(&dest, &b);
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
    fn only_variable_width_and_list_columns_are_compressed() {
        use arrow::array::{
            ArrayRef, BooleanArray, Float32Array, ListArray, StringArray, StructArray,
        };
        use arrow::datatypes::Int32Type;
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("part-00000.parquet");
        let signals = StructArray::from(vec![
            (
                Arc::new(Field::new("frac", DataType::Float32, false)),
                Arc::new(Float32Array::from(vec![0.5, 0.25])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("flag", DataType::Boolean, false)),
                Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef,
            ),
        ]);
        let ids = ListArray::from_iter_primitive::<Int32Type, _, _>([
            Some([Some(1), Some(2)]),
            Some([Some(3), None]),
        ]);
        let b = RecordBatch::try_from_iter([
            (
                "text",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            ("n", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            ("signals", Arc::new(signals) as ArrayRef),
            ("ids", Arc::new(ids) as ArrayRef),
        ])
        .expect("batch");
        write_zstd_part(&dest, &b).commit().expect("commit");
        let file = File::open(&dest).expect("open");
        let meta = parquet::file::reader::SerializedFileReader::new(file).expect("parquet");
        let rg = parquet::file::reader::FileReader::metadata(&meta)
            .row_group(0)
            .clone();
        let codecs: Vec<(String, Compression)> = rg
            .columns()
            .iter()
            .map(|c| (c.column_path().string(), c.compression()))
            .collect();
        let zstd = Compression::ZSTD(ZstdLevel::try_new(1).expect("level"));
        assert_eq!(
            codecs,
            [
                ("text".to_string(), zstd),
                ("n".to_string(), Compression::UNCOMPRESSED),
                ("signals.frac".to_string(), Compression::UNCOMPRESSED),
                ("signals.flag".to_string(), Compression::UNCOMPRESSED),
                ("ids.list.item".to_string(), zstd),
            ]
        );
    }

    #[test]
    fn temporary_names_are_unique_per_writer() {
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("part-00000.parquet");
        // Two writers of the same file in one process (as two pods that are both PID 1).
        let (mut a, pa) = create_tmp(&dest).expect("a");
        let (mut b, pb) = create_tmp(&dest).expect("b");
        assert_ne!(pa.tmp(), pb.tmp());
        a.write_all(b"same").expect("write");
        b.write_all(b"same").expect("write");
        pa.commit().expect("commit a");
        pb.commit().expect("commit b");
        assert_eq!(std::fs::read(&dest).expect("read"), b"same");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .collect();
        assert_eq!(left.len(), 1, "no temporary file left");
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
