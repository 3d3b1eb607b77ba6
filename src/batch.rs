//! Batch tagging of large dumps: streaming, parallel, ordered, with no record lost.
//!
//! The inputs are cut into bounded batches of records, JSONL read straight into each batch's
//! buffer (buffers are reused once their batch is tagged). `threads` workers take turns at
//! reading the next batch and at writing the tagged batches in input order, each behind one
//! lock, and tag in parallel in between, each batch whole by the worker that read it (its bytes
//! still in that core's cache); with one thread the calling thread does it all, so
//! `--threads 1` is one thread's work, I/O included. Memory stays flat: at most two batches
//! per worker are out at once, whatever the size of the dump. Every input record yields
//! exactly one output (a tagged document or an error record in its place); records of other
//! shards are skipped and counted.
//!
//! ```
//! use alam::batch::{tag_inputs, Input, JsonlSink, TagOptions};
//! use alam::{Extractor, Gazetteer};
//!
//! let extractor = Extractor::new(Gazetteer::embedded()?)?;
//! let input = "{\"id\": 1, \"text\": \"وصل الوفد إلى باماكو\"}\nnot json\n";
//! let inputs = vec![Input::reader("memory", std::io::Cursor::new(input))];
//! let mut out = Vec::new();
//! let stats = tag_inputs(&extractor, inputs, &TagOptions::default(), 1, &mut JsonlSink::new(&mut out), None)?;
//! assert_eq!((stats.documents, stats.errors), (1, 1));
//! let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
//! assert!(lines[0].contains("\"entity\":\"bamako\""));
//! assert!(lines[1].starts_with("{\"file\":\"memory\",\"line\":2,"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::extractor::{Extractor, Mention, FOLD_KEEP_BYTES};
use crate::format;
use crate::gazetteer::EntityKind;
use crate::normalize::Normalized;
use crate::record::{self, Parsed, Text};
use crate::relation::{brat_relations, RelationExtractor};
use crate::sentence::sentences;

/// Output formats of [`tag_inputs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// One JSON line per document: `{"id", "entities": [...]}`.
    #[default]
    Jsonl,
    /// brat standoff: `<id>.txt` and `<id>.ann` per document.
    Brat,
    /// CoNLL: one token per line with its byte offsets and BIO tag, `-DOCSTART-` per document.
    Conll,
}

/// Options of a batch run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TagOptions {
    /// The JSONL field that holds the text (default `text`).
    pub text_field: String,
    /// The JSONL field that holds the id (default `id`); a record without it gets its line number.
    pub id_field: String,
    /// The output format.
    pub format: Format,
    /// `Some((i, n))`: tag only the records whose position (0-based, counted over all inputs)
    /// modulo `n` is `i`.
    pub shard: Option<(u64, u64)>,
    /// The most records in one batch.
    pub batch_records: usize,
    /// The most input bytes in one batch (a single larger record makes a batch of its own).
    /// Default 64 KiB: a batch's text, folded text and output stay in the core's cache while it
    /// is tagged, tagging starts soon after the first bytes are read, and the workers finish
    /// within a small batch of each other, while handing a batch over still costs little
    /// (`alam tag` on 46 MB of news, medians of 10 alternating runs: one thread 0.347 s
    /// against 0.355 s with 512 KiB batches, two threads 0.184 s against 0.187 s; on 16 MB,
    /// two threads 67.1 ms against 68.6, 30 runs; 32 KiB and 128 KiB batches did the same as
    /// 64 KiB within 1 ms. Earlier, 512 KiB took 0.272 s against 0.285 s with 4 MiB). When the
    /// workers outnumber the cores, batches hold 8 times as much (see `OVERSUBSCRIBED_SCALE`).
    pub batch_bytes: usize,
    /// The most input bytes in one batch read from a compressed file (`.gz`, `.zst`). Reading
    /// a batch, which the workers take turns at behind one lock, then means decompressing it:
    /// with batches as small as `batch_bytes` the workers queued at the lock. Default 512 KiB
    /// (`alam tag --threads 2` on 16 MB of news, medians of 15 alternating runs: `.zst` 77.7 ms
    /// against 83.1 with 64 KiB batches, `.gz` 92.3 against 94.7).
    pub compressed_batch_bytes: usize,
    /// The largest record (a JSONL line, or a `.txt` document) tagged, in bytes; a larger one
    /// becomes an error record, and is skipped without being held in memory. Default 64 MiB.
    pub max_record_bytes: usize,
    /// Relation extraction: when set, each JSONL record gains `"relations"` and brat output
    /// gains relation lines.
    pub relations: Option<RelationExtractor>,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            text_field: "text".into(),
            id_field: "id".into(),
            format: Format::Jsonl,
            shard: None,
            batch_records: 1024,
            batch_bytes: 64 << 10,
            compressed_batch_bytes: 512 << 10,
            max_record_bytes: 64 << 20,
            relations: None,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Documents tagged.
    pub documents: u64,
    /// Records that could not be tagged (each has an error record).
    pub errors: u64,
    /// Records left to other shards.
    pub skipped: u64,
    /// Mentions per entity type.
    pub mentions: BTreeMap<String, u64>,
    /// Input bytes (uncompressed) of the records of this shard.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Input megabytes (10^6 bytes) per second.
    pub mb_per_second: f64,
}

impl Stats {
    /// The one-line summary `alam tag` prints at the end.
    pub fn summary(&self) -> String {
        let mentions: u64 = self.mentions.values().sum();
        let per_type: Vec<String> = self.mentions.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let mut s = format!(
            "{} documents, {} errors, {} mentions ({}), {:.1} MB in {:.2} s, {:.1} MB/s",
            self.documents,
            self.errors,
            mentions,
            if per_type.is_empty() { "none".to_string() } else { per_type.join(", ") },
            self.bytes as f64 / 1e6,
            self.seconds,
            self.mb_per_second
        );
        if self.skipped > 0 {
            s.push_str(&format!(", {} records left to other shards", self.skipped));
        }
        s
    }
}

/// One input of a run: a file (plain, `.gz` or `.zst`; `.txt` is one document, `.jsonl` one
/// document per line), or any reader of JSONL.
pub struct Input {
    name: String,
    kind: InputKind,
}

enum InputKind {
    Path { path: PathBuf, text: bool },
    Reader(Box<dyn Read + Send>),
}

impl Input {
    /// A file; its kind comes from its extension (`.txt`, `.jsonl`, each optionally followed by
    /// `.gz` or `.zst`).
    ///
    /// # Errors
    /// Fails when the extension is none of these.
    pub fn path(path: &Path) -> Result<Input> {
        let text = match document_kind(path) {
            Some(DocumentKind::Text) => true,
            Some(DocumentKind::Jsonl) => false,
            None => {
                return Err(Error::input(
                    path,
                    "unsupported input: expected .txt or .jsonl, optionally .gz or .zst",
                ))
            }
        };
        Ok(Input {
            name: path.display().to_string(),
            kind: InputKind::Path { path: path.into(), text },
        })
    }

    /// JSONL read from `reader` (standard input, a socket, memory); `name` names it in error
    /// records.
    pub fn reader(name: &str, reader: impl Read + Send + 'static) -> Input {
        Input { name: name.to_string(), kind: InputKind::Reader(Box::new(reader)) }
    }

    /// The name used in error records.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is a compressed file (`.gz`, `.zst`): its size on disk is not its content's,
    /// and reading it means decompressing.
    pub fn is_compressed(&self) -> bool {
        match &self.kind {
            InputKind::Path { path, .. } => {
                let name = path.to_string_lossy();
                name.ends_with(".gz") || name.ends_with(".zst")
            }
            InputKind::Reader(_) => false,
        }
    }

    /// The size on disk, when it is a file.
    pub fn file_size(&self) -> Option<u64> {
        match &self.kind {
            InputKind::Path { path, .. } => std::fs::metadata(path).ok().map(|m| m.len()),
            InputKind::Reader(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DocumentKind {
    Text,
    Jsonl,
}

fn document_kind(path: &Path) -> Option<DocumentKind> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".zst")).unwrap_or(name);
    if name.ends_with(".txt") {
        Some(DocumentKind::Text)
    } else if name.ends_with(".jsonl") {
        Some(DocumentKind::Jsonl)
    } else {
        None
    }
}

/// Expands paths into inputs: files as they are, directories recursively (sorted, so runs are
/// reproducible), `-` as standard input. Files inside directories whose extension is not an input
/// kind are returned in the second list so the caller can say they were skipped.
///
/// # Errors
/// Fails when a path does not exist, a named file has an unsupported extension, or a directory
/// cannot be read.
pub fn expand_paths(paths: &[PathBuf]) -> Result<(Vec<Input>, Vec<PathBuf>)> {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path == Path::new("-") {
            inputs.push(Input::reader("<stdin>", io::stdin()));
        } else if path.is_dir() {
            let mut files = Vec::new();
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                let entry = entry.map_err(|e| {
                    let p = e.path().unwrap_or(path).to_path_buf();
                    Error::io(
                        Some(p),
                        e.into_io_error().unwrap_or_else(|| io::Error::other("loop")),
                    )
                })?;
                if entry.file_type().is_file() {
                    files.push(entry.into_path());
                }
            }
            for file in files {
                if document_kind(&file).is_some() {
                    inputs.push(Input::path(&file)?);
                } else {
                    skipped.push(file);
                }
            }
        } else if path.is_file() {
            inputs.push(Input::path(path)?);
        } else {
            return Err(Error::input(path, "no such file or directory"));
        }
    }
    Ok((inputs, skipped))
}

/// Opens a file, decompressing `.gz` and `.zst`.
fn open(path: &Path, counter: Option<ByteCounter>) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| Error::io(Some(path.into()), e))?;
    let raw: Box<dyn Read + Send> = match counter {
        Some(counter) => Box::new(Counting { inner: file, counter }),
        None => Box::new(file),
    };
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, raw)))
    } else if name.ends_with(".zst") {
        Box::new(zstd::Decoder::new(raw).map_err(|e| Error::io(Some(path.into()), e))?)
    } else {
        raw
    })
}

/// A callback that learns how many raw (on-disk) bytes were read.
pub type ByteCounter = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

struct Counting<R> {
    inner: R,
    counter: ByteCounter,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.counter)(n as u64);
        Ok(n)
    }
}

/// Records read together, tagged by one worker. The JSONL lines are read straight into `buf`
/// (no copy per line), and the buffer goes back to the reader once the batch is tagged, so a run
/// reuses a few buffers instead of touching fresh memory for every line.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    records: Vec<Record>,
}

impl Batch {
    fn render(
        &self,
        extractor: &Extractor,
        options: &TagOptions,
        names: &[String],
        folded: &mut Normalized,
    ) -> Vec<Rendered> {
        self.records
            .iter()
            .map(|r| render(extractor, options, names, r, &self.buf, folded))
            .collect()
    }
}

/// One record waiting to be tagged.
struct Record {
    input: usize,
    line: Option<u64>,
    body: Body,
}

enum Body {
    /// A JSONL line, without its line end: a range of its batch's buffer.
    Line(std::ops::Range<usize>),
    /// A whole `.txt` document and its id.
    Document { id: String, bytes: Vec<u8> },
    /// A record over the size limit, not kept: its id when known, and its size.
    TooLarge { id: Option<String>, bytes: u64 },
}

/// A tagged record, rendered for the sink.
#[derive(Debug)]
pub struct Rendered {
    /// The output of this record.
    pub output: Output,
    kinds: Vec<(&'static str, u64)>,
    bytes: u64,
}

/// The output of one record.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output {
    /// A JSONL line (without the line end).
    Jsonl(String),
    /// A brat document.
    Brat {
        /// The document id, used as the file name stem (made safe by the sink).
        id: String,
        /// The text.
        text: String,
        /// The standoff annotations.
        ann: String,
    },
    /// A CoNLL block, ending with a blank line.
    Conll(String),
    /// A record that could not be tagged.
    Error {
        /// The error record as a JSON line: `{"file", "line", "id", "error"}`.
        json: String,
        /// A message for humans: `file:line: error`.
        message: String,
    },
}

/// Where rendered records go, in input order.
pub trait Sink: Send {
    /// Writes one record's output.
    ///
    /// # Errors
    /// Fails when writing fails; the run stops.
    fn write(&mut self, output: &Output) -> io::Result<()>;
    /// Writes the outputs of several records in order, as that many calls of
    /// [`Sink::write`] do (the default); a sink may write them together.
    ///
    /// # Errors
    /// Fails when writing fails; the run stops.
    fn write_batch(&mut self, outputs: &[&Output]) -> io::Result<()> {
        outputs.iter().try_for_each(|output| self.write(output))
    }
    /// Called once after the last record.
    ///
    /// # Errors
    /// Fails when flushing fails.
    fn finish(&mut self) -> io::Result<()>;
}

/// Writes whole lines in chunks of at most [`PIPE_BUF`] bytes, one `write` call each: a write of
/// that size to a pipe is atomic, so a run killed at any moment leaves only whole lines on a
/// pipe. (A single line longer than that is written on its own and could still be cut; `--output`
/// files are written whole through a temporary file.) Into a regular file, where no write is
/// atomic for a reader anyway, [`LineWriter::with_chunk`] packs larger chunks: the kernel's cost
/// of a write is much lower per byte in large ones.
pub struct LineWriter<W: Write + Send> {
    out: W,
    pending: Vec<u8>,
    chunk: usize,
}

/// The size up to which a write to a pipe is atomic on Linux.
pub const PIPE_BUF: usize = 4096;

/// The chunk size for regular files (`alam tag` into `--output` or a file on standard output):
/// writing 59 MB into the page cache in 4 KiB writes takes 44 ms of kernel time here, in 256 KiB
/// writes 11 ms.
pub const FILE_CHUNK: usize = 256 << 10;

impl<W: Write + Send> LineWriter<W> {
    /// A writer over `out` in chunks of [`PIPE_BUF`]; `out` should not buffer on its own (pass
    /// `std::io::stdout()` or a `File`, not a `BufWriter`, to keep the whole-lines guarantee).
    pub fn new(out: W) -> Self {
        LineWriter::with_chunk(out, PIPE_BUF)
    }

    /// A writer over `out` that packs whole lines into writes of at most `chunk` bytes (a line
    /// longer than that is written alone): [`PIPE_BUF`] for pipes, [`FILE_CHUNK`] for files.
    pub fn with_chunk(out: W, chunk: usize) -> Self {
        let chunk = chunk.max(1);
        LineWriter { out, pending: Vec::with_capacity(chunk), chunk }
    }

    /// Writes `text`, which must end with a line end to be whole, packing lines into chunks.
    ///
    /// # Errors
    /// Fails when the underlying writer fails.
    pub fn write_lines(&mut self, text: &[u8]) -> io::Result<()> {
        let mut from = 0;
        while from < text.len() {
            let end = memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |i| from + i + 1);
            let line = &text[from..end];
            from = end;
            if self.pending.len() + line.len() > self.chunk {
                self.flush_pending()?;
            }
            if line.len() > self.chunk {
                self.out.write_all(line)?;
            } else {
                self.pending.extend_from_slice(line);
            }
        }
        Ok(())
    }

    /// Writes `line` and a line end, as [`LineWriter::write_lines`] writes the two together,
    /// without copying a long line to append the end. `line` should hold no line end (a JSON
    /// line never does); one that does is still written whole, only packed as one line.
    ///
    /// # Errors
    /// Fails when the underlying writer fails.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let whole = line.len() + 1;
        if self.pending.len() + whole > self.chunk {
            self.flush_pending()?;
        }
        if whole <= self.chunk {
            self.pending.extend_from_slice(line);
            self.pending.push(b'\n');
            return Ok(());
        }
        // A long line: one vectored write of the line and its end (as one `write_all` of both).
        write_all_vectored(&mut self.out, &mut [io::IoSlice::new(line), io::IoSlice::new(b"\n")])
    }

    /// Writes each of `lines` and a line end, as [`LineWriter::write_line`] does one by one,
    /// in vectored writes straight from the lines (no copy into the chunk) when the chunk is
    /// larger than a pipe's atomic write: into a regular file no write is atomic anyway.
    ///
    /// # Errors
    /// Fails when the underlying writer fails.
    pub fn write_lines_vectored(&mut self, lines: &[&[u8]]) -> io::Result<()> {
        if self.chunk <= PIPE_BUF {
            return lines.iter().try_for_each(|line| self.write_line(line));
        }
        self.flush_pending()?;
        let mut slices: Vec<io::IoSlice<'_>> = Vec::with_capacity(2 * lines.len().min(512));
        for group in lines.chunks(512) {
            slices.clear();
            for line in group {
                slices.push(io::IoSlice::new(line));
                slices.push(io::IoSlice::new(b"\n"));
            }
            write_all_vectored(&mut self.out, &mut slices)?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.out.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes what is pending and flushes the underlying writer.
    ///
    /// # Errors
    /// Fails when the underlying writer fails.
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()?;
        self.out.flush()
    }
}

/// Writes all of `slices` to `out` in vectored writes, as `write_all` writes one buffer (the
/// standard library's `write_all_vectored` is not stable yet).
fn write_all_vectored(out: &mut impl Write, slices: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    let mut rest = slices;
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes JSONL (documents and error records alike) to a writer, in whole lines (see
/// [`LineWriter`]).
pub struct JsonlSink<W: Write + Send> {
    out: LineWriter<W>,
}

impl<W: Write + Send> JsonlSink<W> {
    /// A sink over `out`, which should not buffer on its own (see [`LineWriter::new`]).
    pub fn new(out: W) -> Self {
        JsonlSink { out: LineWriter::new(out) }
    }

    /// A sink over `out` that writes chunks of at most `chunk` bytes (see
    /// [`LineWriter::with_chunk`]).
    pub fn with_chunk(out: W, chunk: usize) -> Self {
        JsonlSink { out: LineWriter::with_chunk(out, chunk) }
    }
}

impl<W: Write + Send> Sink for JsonlSink<W> {
    fn write(&mut self, output: &Output) -> io::Result<()> {
        let line = match output {
            Output::Jsonl(line) | Output::Error { json: line, .. } | Output::Conll(line) => line,
            Output::Brat { .. } => return Err(io::Error::other("brat output needs a BratSink")),
        };
        if line.ends_with('\n') {
            self.out.write_lines(line.as_bytes())
        } else {
            self.out.write_line(line.as_bytes())
        }
    }

    fn write_batch(&mut self, outputs: &[&Output]) -> io::Result<()> {
        let mut lines: Vec<&[u8]> = Vec::with_capacity(outputs.len());
        for output in outputs {
            match output {
                // A JSON line holds no line end (JSON strings escape it).
                Output::Jsonl(line) | Output::Error { json: line, .. } => {
                    lines.push(line.as_bytes());
                }
                _ => {
                    self.out.write_lines_vectored(&lines)?;
                    lines.clear();
                    self.write(output)?;
                }
            }
        }
        self.out.write_lines_vectored(&lines)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Tags every input and hands each record's output to `sink`, in input order.
///
/// `threads` workers tag bounded batches in parallel, several batches at once (a long record
/// holds up only its own batch's output, not the other workers); the output does not depend on
/// `threads`.
/// `progress`, when given, is called after each batch with (documents and errors so far, input
/// bytes so far).
///
/// # Errors
/// Fails when an input cannot be opened or read, or the sink fails (a closed pipe surfaces as an
/// I/O error of kind `BrokenPipe`). Bad records are not errors: they become error records.
pub fn tag_inputs(
    extractor: &Extractor,
    inputs: Vec<Input>,
    options: &TagOptions,
    threads: usize,
    sink: &mut dyn Sink,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> Result<Stats> {
    let started = Instant::now();
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    let (read_result, write_result) =
        tag_batches(extractor, inputs, options, &names, threads.max(1), sink, progress);
    let mut stats = Stats::default();
    let written = write_result.map_err(|e| Error::io(None, e))?;
    stats.skipped = read_result?;
    stats.documents = written.documents;
    stats.errors = written.errors;
    stats.bytes = written.bytes;
    stats.mentions = written.mentions;
    stats.seconds = started.elapsed().as_secs_f64();
    stats.mb_per_second =
        if stats.seconds > 0.0 { stats.bytes as f64 / 1e6 / stats.seconds } else { 0.0 };
    Ok(stats)
}

/// What the workers share, behind one lock: the reading, and the writing in input order.
struct Shared<'a, 's> {
    batcher: Batcher<'a>,
    /// Batches handed out so far.
    taken: usize,
    /// No batch is left to hand out (the inputs ended, or reading failed).
    read_done: bool,
    read_error: Option<Error>,
    order: Order<'s>,
}

/// Writes tagged batches in input order (batch `k` after batch `k - 1`, whatever order they
/// come in), counting what was written.
struct Order<'s> {
    sink: &'s mut dyn Sink,
    progress: Option<&'s (dyn Fn(u64, u64) + Sync)>,
    /// Batches tagged ahead of the next one to write, by number.
    ahead: BTreeMap<usize, Vec<Rendered>>,
    next: usize,
    written: Written,
    /// A write that failed, or a batch lost to a worker that panicked: the run stops.
    failed: Option<io::Error>,
}

impl Order<'_> {
    /// Takes batch `k` (`None`: its worker panicked) and writes every batch now in order.
    fn put(&mut self, k: usize, batch: Option<Vec<Rendered>>) {
        if self.failed.is_some() {
            return;
        }
        let Some(batch) = batch else {
            self.failed = Some(io::Error::other("a worker panicked while tagging"));
            return;
        };
        self.ahead.insert(k, batch);
        while let Some(batch) = self.ahead.remove(&self.next) {
            self.next += 1;
            if let Err(e) = self.written.write(&batch, self.sink) {
                self.failed = Some(e);
                return;
            }
            if let Some(progress) = self.progress {
                progress(self.written.documents + self.written.errors, self.written.bytes);
            }
        }
    }

    /// Flushes the sink after the last batch; the writing's result.
    fn finish(self) -> io::Result<Written> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        debug_assert!(self.ahead.is_empty(), "batches lost before {}", self.next);
        self.sink.finish()?;
        Ok(self.written)
    }
}

/// Reads, tags and writes every batch with `threads` workers, which take turns at reading the
/// next batch and at writing the batches that are in order (each behind one lock: a tenth of a
/// millisecond for 512 KiB, less for the default 64 KiB), and tag in parallel in between. A
/// worker tags the batch it read while its bytes are still in its core's cache (with a reader
/// thread, the other core's misses on the text cost two threads about 7% more CPU than one).
/// At most two batches per worker are out at once, so memory stays flat and a long record holds
/// up only the writing of the batches after its own. With one thread, the calling thread does
/// it all: `--threads 1` is one thread's work, I/O included. Returns the reading's result
/// (records left to other shards) and the writing's.
fn tag_batches(
    extractor: &Extractor,
    inputs: Vec<Input>,
    options: &TagOptions,
    names: &[String],
    threads: usize,
    sink: &mut dyn Sink,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> (Result<u64>, io::Result<Written>) {
    let order = Order {
        sink,
        progress,
        ahead: BTreeMap::new(),
        next: 0,
        written: Written::new(),
        failed: None,
    };
    let cores = if threads > 1 { cores() } else { None };
    // Spin only while every worker can have a core of its own: a spinning worker would
    // otherwise take the core the lock's holder needs. Workers that outnumber the cores take
    // larger batches instead: they sleep at the lock, and wake less often.
    let spin = cores.is_some_and(|n| threads <= n);
    let scale = if cores.is_some_and(|n| threads > n) { OVERSUBSCRIBED_SCALE } else { 1 };
    let shared = Mutex::new(Shared {
        batcher: Batcher::new(inputs, options, scale),
        taken: 0,
        read_done: false,
        read_error: None,
        order,
    });
    let turn = Condvar::new();
    let in_flight = 2 * threads;
    let lock = || {
        let spun = if spin { spin_lock(&shared, LOCK_SPIN) } else { None };
        spun.unwrap_or_else(|| shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    };
    let work = || {
        let mut folded = Normalized::default();
        let mut state = lock();
        loop {
            while !state.read_done
                && state.order.failed.is_none()
                && state.taken - state.order.next >= in_flight
            {
                state = turn.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if state.read_done || state.order.failed.is_some() {
                break;
            }
            // A panic while reading or writing (a bug, or a library user's sink) ends the run
            // with an error too, instead of leaving the other workers waiting.
            let next = std::panic::catch_unwind(AssertUnwindSafe(|| state.batcher.next_batch()));
            let batch = match next {
                Ok(Ok(Some(batch))) => batch,
                Ok(Ok(None)) => {
                    state.read_done = true;
                    break;
                }
                Ok(Err(e)) => {
                    (state.read_done, state.read_error) = (true, Some(e));
                    break;
                }
                Err(_) => {
                    let e = Error::io(None, io::Error::other("reading the input panicked"));
                    (state.read_done, state.read_error) = (true, Some(e));
                    break;
                }
            };
            let k = state.taken;
            state.taken += 1;
            drop(state);
            // A panic becomes `None`, which stops the run with an error instead of leaving the
            // batches after this one waiting.
            let rendered = std::panic::catch_unwind(AssertUnwindSafe(|| {
                batch.render(extractor, options, names, &mut folded)
            }));
            state = lock();
            state.batcher.recycle(batch.buf);
            let order = &mut state.order;
            if std::panic::catch_unwind(AssertUnwindSafe(|| order.put(k, rendered.ok()))).is_err() {
                order.failed.get_or_insert(io::Error::other("writing the output panicked"));
            }
            turn.notify_all();
        }
        drop(state);
        turn.notify_all();
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (1..threads)
                .filter_map(|i| {
                    // A worker that cannot start leaves its share to the others.
                    let name = format!("alam-worker-{i}");
                    std::thread::Builder::new().name(name).spawn_scoped(scope, work).ok()
                })
                .collect();
            work();
            for worker in workers {
                if worker.join().is_err() {
                    let mut state = lock();
                    state.order.failed.get_or_insert(io::Error::other("a worker panicked"));
                }
            }
        });
    }
    let state = shared.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let read = match state.read_error {
        Some(e) => Err(e),
        None => Ok(state.batcher.skipped),
    };
    (read, state.order.finish())
}

/// How long a worker waiting for the lock of [`tag_batches`] spins before it sleeps. The lock
/// is held for a read or a write of a batch, 0.1-0.2 ms for 512 KiB (the first read of a run
/// about 1 ms); a worker put to sleep there ran again up to 3-4 ms after the lock came free on
/// this 2-core virtual machine, the other core idle meanwhile (a thread started there likewise
/// waited 3 ms on its parent's core in a C test), which cost `alam tag --threads 2` 1.1-3.3 ms
/// of 61-65 on 16 MB (medians of 21 and 31 alternating runs).
const LOCK_SPIN: std::time::Duration = std::time::Duration::from_millis(2);

/// How many times `batch_bytes` a batch holds when the workers outnumber the cores: 512 KiB by
/// default, as before 64 KiB batches, which made `--threads 3` and `--threads 8` on two cores
/// 3-4% slower (16 MB: 79.3 against 76.9 ms, 84.6 against 81.4; 15 alternating runs).
const OVERSUBSCRIBED_SCALE: usize = 8;

/// The cores this process may run on: on Linux the affinity mask's (one system call, where
/// `available_parallelism` also reads the cgroup's files: 50 us), elsewhere the standard
/// library's count.
fn cores() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        rustix::thread::sched_getaffinity(None).ok().map(|set| set.count() as usize)
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::thread::available_parallelism().ok().map(std::num::NonZeroUsize::get)
    }
}

/// The lock of `mutex`, taken by spinning for at most `limit`; `None` when it stayed taken.
fn spin_lock<T>(
    mutex: &Mutex<T>,
    limit: std::time::Duration,
) -> Option<std::sync::MutexGuard<'_, T>> {
    let started = Instant::now();
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
        if started.elapsed() >= limit {
            return None;
        }
        for _ in 0..64 {
            std::hint::spin_loop();
        }
    }
}

/// The most bytes asked of an input in one `read`: the part of a line that runs past the end
/// of a batch is copied to the next batch's buffer, so this bounds that copy. (Tiny in unit
/// tests, so that lines cross reads, batches and buffer growth all the time.)
#[cfg(not(test))]
const READ_CHUNK: usize = 64 << 10;
#[cfg(test)]
const READ_CHUNK: usize = 7;

/// The JSONL input being read: where its next line starts in the batch's buffer.
struct Jsonl {
    index: usize,
    /// The name for read errors.
    name: PathBuf,
    reader: Box<dyn Read + Send>,
    line: u64,
    /// The line being read starts at `start`; `[start..scanned]` holds no line end.
    start: usize,
    scanned: usize,
    /// While a line over the limit is dropped: its length so far.
    dropping: Option<u64>,
}

/// Cuts the inputs into batches, one at a time on request ([`Batcher::next_batch`]), reading
/// JSONL straight into the batches' buffers.
struct Batcher<'a> {
    options: &'a TagOptions,
    inputs: std::iter::Enumerate<std::vec::IntoIter<Input>>,
    /// The JSONL input being read, if any.
    current: Option<Jsonl>,
    /// Records seen (all shards), and those left to other shards.
    position: u64,
    skipped: u64,
    /// Buffers of tagged batches, to read into again.
    spare: Vec<Vec<u8>>,
    batch: Batch,
    /// How much of `batch.buf` holds input (the rest is zeroed memory to read into).
    filled: usize,
    /// Bytes of records and lines taken into the batch, counted toward `target`.
    bytes: usize,
    /// The bytes that make a batch full: `batch_bytes` times `scale`, or (not less)
    /// `compressed_batch_bytes` while a compressed input is read.
    target: usize,
    /// See [`OVERSUBSCRIBED_SCALE`]: 1 unless the workers outnumber the cores.
    scale: usize,
    /// A full batch, handed out by the next call of `next_batch`.
    ready: Option<Batch>,
    /// A read error, returned once the lines read before it are handed out.
    failed: Option<Error>,
}

impl<'a> Batcher<'a> {
    /// A batcher of `inputs` whose plain batches hold `scale` times `batch_bytes`.
    fn new(inputs: Vec<Input>, options: &'a TagOptions, scale: usize) -> Batcher<'a> {
        let mut batcher = Batcher {
            options,
            inputs: inputs.into_iter().enumerate(),
            current: None,
            position: 0,
            skipped: 0,
            spare: Vec::new(),
            batch: Batch::default(),
            filled: 0,
            bytes: 0,
            target: options.batch_bytes.saturating_mul(scale),
            scale,
            ready: None,
            failed: None,
        };
        batcher.batch.buf = batcher.buffer(0);
        batcher
    }

    /// Takes back the buffer of a tagged batch.
    fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < 8 {
            self.spare.push(buf);
        }
    }

    /// A buffer of at least `len` bytes, all initialized (reads go into it directly).
    fn buffer(&mut self, len: usize) -> Vec<u8> {
        let mut buf = self.spare.pop().unwrap_or_default();
        let want = len.max(self.target + READ_CHUNK);
        if buf.len() > 4 * want {
            buf = Vec::new(); // Grown for a long line: let it go, so memory stays flat.
        }
        if buf.is_empty() {
            // Zeroed by the allocator: fresh pages from the OS are zero already, where a resize
            // wrote every byte (0.2 ms of a small file's start-up for the first 576 KiB).
            buf = vec![0; want];
        } else if buf.len() < want {
            buf.resize(want, 0);
        }
        buf
    }

    /// The next batch, `None` after the last.
    ///
    /// # Errors
    /// An input that cannot be opened or read (after the batch of the lines read before it).
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        loop {
            if let Some(batch) = self.ready.take() {
                return Ok(Some(batch));
            }
            if let Some(e) = self.failed.take() {
                return Err(e);
            }
            if let Some(mut jsonl) = self.current.take() {
                match self.read_jsonl(&mut jsonl) {
                    Ok(true) => {}
                    Ok(false) => self.current = Some(jsonl),
                    Err(e) => {
                        // The whole lines read before the error are tagged first.
                        self.failed = Some(Error::io(Some(jsonl.name.clone()), e));
                        if let Some(batch) = self.take_partial() {
                            return Ok(Some(batch));
                        }
                    }
                }
                continue;
            }
            let Some((index, input)) = self.inputs.next() else {
                return Ok(self.take_partial());
            };
            let options = self.options;
            let plain = options.batch_bytes.saturating_mul(self.scale);
            self.target = if input.is_compressed() {
                options.compressed_batch_bytes.max(plain)
            } else {
                plain
            };
            let want = self.target + READ_CHUNK;
            if self.batch.buf.len() < want {
                self.batch.buf.resize(want, 0);
            }
            match input.kind {
                InputKind::Path { path, text: true } => self.read_text(index, &path)?,
                InputKind::Path { path, .. } => {
                    let reader = open(&path, None)?;
                    self.start_jsonl(index, path, reader);
                }
                InputKind::Reader(reader) => {
                    self.start_jsonl(index, PathBuf::from(&input.name), reader);
                }
            }
        }
    }

    /// The batch being filled, when it holds records: the last one, handed out before it is
    /// full (no more input will come).
    fn take_partial(&mut self) -> Option<Batch> {
        (!self.batch.records.is_empty()).then(|| std::mem::take(&mut self.batch))
    }

    fn start_jsonl(&mut self, index: usize, name: PathBuf, reader: Box<dyn Read + Send>) {
        let (start, scanned, dropping) = (self.filled, self.filled, None);
        self.current = Some(Jsonl { index, name, reader, line: 0, start, scanned, dropping });
    }

    /// A `.txt` input: one document.
    fn read_text(&mut self, index: usize, path: &Path) -> Result<()> {
        let options = self.options;
        let keep = options.shard.is_none_or(|(i, n)| self.position % n == i);
        self.position += 1;
        if !keep {
            self.skipped += 1;
            return Ok(());
        }
        let mut bytes = Vec::new();
        let limit = options.max_record_bytes as u64;
        let mut reader = open(path, None)?;
        (&mut reader)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(Some(path.into()), e))?;
        let id = text_id(path);
        let (len, body) = if bytes.len() as u64 > limit {
            let rest = io::copy(&mut reader, &mut io::sink())
                .map_err(|e| Error::io(Some(path.into()), e))?;
            (0, Body::TooLarge { id: Some(id), bytes: bytes.len() as u64 + rest })
        } else {
            (bytes.len(), Body::Document { id, bytes })
        };
        let record = Record { input: index, line: None, body };
        self.push(Some(record), len, self.filled);
        Ok(())
    }

    /// Adds a record; a full batch is made ready, with the input bytes from `keep` on (the
    /// start of a line not yet read to its end) moved to the next batch's buffer. Returns where
    /// the kept bytes now start.
    fn push(&mut self, record: Option<Record>, len: usize, keep: usize) -> usize {
        if let Some(record) = record {
            self.batch.records.push(record);
        }
        self.bytes += len;
        let full =
            self.batch.records.len() >= self.options.batch_records || self.bytes >= self.target;
        if !full {
            return keep;
        }
        self.hand_on(keep);
        0
    }

    /// Makes the batch ready (when it holds records), moving `batch.buf[keep..filled]` to the
    /// start of the next buffer.
    fn hand_on(&mut self, keep: usize) {
        let rest = self.filled - keep;
        self.bytes = 0;
        if self.batch.records.is_empty() {
            // Only lines of other shards: nothing to hand on, the buffer is reused as it is.
            self.batch.buf.copy_within(keep..self.filled, 0);
            self.filled = rest;
            return;
        }
        let mut next = self.buffer(rest + READ_CHUNK);
        next[..rest].copy_from_slice(&self.batch.buf[keep..self.filled]);
        let next = Batch { buf: next, records: Vec::new() };
        self.ready = Some(std::mem::replace(&mut self.batch, next));
        self.filled = rest;
    }

    /// Makes room for a read after `filled`: hands the batch on (moving the line being read,
    /// from `start`, to the next buffer), or grows the buffer when that line fills it alone.
    /// Returns where the line now starts.
    fn room(&mut self, start: usize) -> usize {
        if self.batch.buf.len() - self.filled >= READ_CHUNK {
            return start;
        }
        if start > 0 || !self.batch.records.is_empty() {
            self.hand_on(start);
        }
        if self.batch.buf.len() - self.filled < READ_CHUNK {
            let len = (self.filled + READ_CHUNK).max(2 * self.batch.buf.len());
            self.batch.buf.resize(len, 0);
        }
        0
    }

    /// Reads the JSONL input until a batch is ready (false) or the input ends (true).
    fn read_jsonl(&mut self, j: &mut Jsonl) -> io::Result<bool> {
        let options = self.options;
        let limit = options.max_record_bytes;
        loop {
            let found = memchr::memchr(b'\n', &self.batch.buf[j.scanned..self.filled]);
            let (end, eof) = match found.map(|i| j.scanned + i) {
                Some(end) => (end, false),
                None => {
                    j.scanned = self.filled;
                    if j.dropping.is_none() && self.filled - j.start > limit {
                        j.dropping = Some(0);
                    }
                    if let Some(so_far) = &mut j.dropping {
                        *so_far += (self.filled - j.start) as u64;
                        self.filled = j.start;
                        j.scanned = j.start;
                    }
                    let moved = self.room(j.start);
                    (j.start, j.scanned) = (moved, moved + (j.scanned - j.start));
                    if self.ready.is_some() {
                        return Ok(false); // Read on at the next call.
                    }
                    let to = (self.filled + READ_CHUNK).min(self.batch.buf.len());
                    let n = loop {
                        match j.reader.read(&mut self.batch.buf[self.filled..to]) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                let what = format!("read error after line {}: {e}", j.line);
                                return Err(io::Error::new(e.kind(), what));
                            }
                        }
                    };
                    if n > 0 {
                        self.filled += n;
                        continue;
                    }
                    if j.start == self.filled && j.dropping.is_none() {
                        return Ok(true); // The input ends with a line end (or is empty).
                    }
                    (self.filled, true) // A last line without a line end.
                }
            };
            // A whole line: `start..end`, its line end (if any) at `end`.
            j.line += 1;
            let start = j.start;
            let next = if eof { end } else { end + 1 };
            let len = next - start;
            let keep = options.shard.is_none_or(|(i, n)| self.position % n == i);
            self.position += 1;
            let (input, line) = (j.index, Some(j.line));
            let record = if !keep {
                self.skipped += 1;
                None
            } else if let Some(so_far) = j.dropping {
                let bytes = so_far + len as u64;
                Some(Record { input, line, body: Body::TooLarge { id: None, bytes } })
            } else if len > limit {
                let bytes = len as u64;
                Some(Record { input, line, body: Body::TooLarge { id: None, bytes } })
            } else {
                let mut e = end;
                if !eof && e > start && self.batch.buf[e - 1] == b'\r' {
                    e -= 1;
                }
                Some(Record { input, line, body: Body::Line(start..e) })
            };
            j.dropping = None;
            let moved = self.push(record, len, next);
            if eof {
                return Ok(true);
            }
            (j.start, j.scanned) = (moved, moved);
            if self.ready.is_some() {
                return Ok(false);
            }
        }
    }
}

/// The id of a `.txt` document: its file name without the extensions.
fn text_id(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".zst")).unwrap_or(&name);
    name.strip_suffix(".txt").unwrap_or(name).to_string()
}

struct Written {
    documents: u64,
    errors: u64,
    bytes: u64,
    mentions: BTreeMap<String, u64>,
}

impl Written {
    fn new() -> Written {
        Written { documents: 0, errors: 0, bytes: 0, mentions: BTreeMap::new() }
    }

    /// Writes one batch to `sink` and counts it.
    fn write(&mut self, batch: &[Rendered], sink: &mut dyn Sink) -> io::Result<()> {
        let outputs: Vec<&Output> = batch.iter().map(|r| &r.output).collect();
        sink.write_batch(&outputs)?;
        for r in batch {
            if matches!(r.output, Output::Error { .. }) {
                self.errors += 1;
            } else {
                self.documents += 1;
            }
            self.bytes += r.bytes;
            for &(kind, n) in &r.kinds {
                match self.mentions.get_mut(kind) {
                    Some(count) => *count += n,
                    None => {
                        self.mentions.insert(kind.to_string(), n);
                    }
                }
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ErrorRecord<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    error: &'a str,
}

/// Tags one record and renders it in the requested format.
fn render(
    extractor: &Extractor,
    options: &TagOptions,
    names: &[String],
    record: &Record,
    buf: &[u8],
    folded: &mut Normalized,
) -> Rendered {
    let file = names[record.input].as_str();
    let fail = |id: Option<&Value>, error: String, bytes: usize| {
        let json =
            serde_json::to_string(&ErrorRecord { file, line: record.line, id, error: &error })
                .unwrap_or_else(|_| {
                    format!("{{\"file\":{file:?},\"error\":\"unserializable error\"}}")
                });
        let place = record.line.map_or_else(|| file.to_string(), |l| format!("{file}:{l}"));
        Rendered {
            output: Output::Error { json, message: format!("{place}: {error}") },
            kinds: Vec::new(),
            bytes: bytes as u64,
        }
    };
    match &record.body {
        Body::TooLarge { id, bytes } => {
            let id = id.as_ref().map(|id| Value::String(id.clone()));
            let error = format!(
                "record of {bytes} bytes is larger than the maximum of {} bytes (--max-record-size)",
                options.max_record_bytes
            );
            fail(id.as_ref(), error, 0)
        }
        Body::Document { id, bytes } => {
            let id = Value::String(id.clone());
            match utf8(bytes) {
                Ok(text) => tag_one(extractor, options, &id, text, folded)
                    .unwrap_or_else(|e| fail(Some(&id), e, bytes.len())),
                Err(e) => fail(Some(&id), format!("invalid UTF-8: {e}"), bytes.len()),
            }
        }
        Body::Line(range) => {
            let bytes = &buf[range.clone()];
            let n = bytes.len();
            let text = match utf8(bytes) {
                Ok(text) => text,
                Err(e) => return fail(None, format!("invalid UTF-8: {e}"), n),
            };
            // A BOM before the record (files saved by Windows tools) is not part of the JSON.
            let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
            if text.trim().is_empty() {
                return fail(None, "empty line: expected a JSON record".into(), n);
            }
            // Only the id and text fields are kept; the text is borrowed from the line.
            let (id, field) = match record::parse(text, &options.text_field, &options.id_field) {
                Ok(Parsed::Object { id, text }) => (id, text),
                Ok(Parsed::NotObject) => return fail(None, "expected a JSON object".into(), n),
                Err(e) => return fail(None, format!("invalid JSON: {e}"), n),
            };
            let id = id.unwrap_or_else(|| Value::from(record.line.unwrap_or(0)));
            match field {
                Text::Str(text) => tag_one(extractor, options, &id, &text, folded)
                    .unwrap_or_else(|e| fail(Some(&id), e, n)),
                Text::NotString => {
                    fail(Some(&id), format!("field {:?} is not a string", options.text_field), n)
                }
                Text::Missing => {
                    fail(Some(&id), format!("missing {:?} field", options.text_field), n)
                }
            }
        }
    }
}

fn tag_one(
    extractor: &Extractor,
    options: &TagOptions,
    id: &Value,
    text: &str,
    folded: &mut Normalized,
) -> std::result::Result<Rendered, String> {
    let rendered = tag_folded(extractor, options, id, text, folded);
    // A huge record grew the buffer: let it go, as `Extractor::extract` does.
    if folded.heap_bytes() > FOLD_KEEP_BYTES {
        *folded = Normalized::default();
    }
    rendered
}

fn tag_folded(
    extractor: &Extractor,
    options: &TagOptions,
    id: &Value,
    text: &str,
    folded: &mut Normalized,
) -> std::result::Result<Rendered, String> {
    let mentions = extractor.extract_into(text, folded).map_err(|e| e.to_string())?;
    let kinds = count_kinds(&mentions);
    // Split once: the JSONL records and the relations both need the sentences.
    let spans = match (&options.relations, options.format) {
        (_, Format::Jsonl) | (Some(_), Format::Brat) => sentences(text),
        _ => Vec::new(),
    };
    let relations = match &options.relations {
        Some(rx) if options.format != Format::Conll => {
            // The relations cut their sentences from the extractor's fold when both fold alike.
            let found = if rx.normalize_options() == extractor.normalize_options() {
                rx.extract_folded(text, &spans, folded, &mentions)
            } else {
                rx.extract_in(text, &spans, &mentions)
            };
            Some(found.map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let output = match options.format {
        Format::Jsonl => {
            let line = format::jsonl_line(id, text, &mentions, &spans, relations.as_deref());
            Output::Jsonl(line.map_err(|e| e.to_string())?)
        }
        Format::Brat => {
            let mut ann = format::brat_ann(text, &mentions);
            if let Some(rs) = &relations {
                ann.push_str(&brat_relations(text, rs, mentions.len() + 1));
            }
            Output::Brat { id: id_string(id), text: text.to_string(), ann }
        }
        Format::Conll => Output::Conll(format::conll(&id_string(id), text, &mentions)),
    };
    Ok(Rendered { output, kinds, bytes: text.len() as u64 })
}

fn count_kinds(mentions: &[Mention<'_>]) -> Vec<(&'static str, u64)> {
    // Counted by kind, named at the end (comparing names cost a `memcmp` per mention).
    let mut kinds: Vec<(EntityKind, u64)> = Vec::new();
    for m in mentions {
        let k = m.kind();
        match kinds.iter_mut().find(|(kind, _)| *kind == k) {
            Some((_, n)) => *n += 1,
            None => kinds.push((k, 1)),
        }
    }
    kinds.into_iter().map(|(k, n)| (k.as_str(), n)).collect()
}

/// A JSON id as a plain string: strings as they are, other values as JSON.
pub fn id_string(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `bytes` as UTF-8: validated with SIMD (several times faster than the standard library on
/// Arabic text), and on failure again by the standard library for its exact error.
fn utf8(bytes: &[u8]) -> std::result::Result<&str, std::str::Utf8Error> {
    simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most the next of `sizes` bytes per call (cycling), so reads end
    /// anywhere in a line.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        sizes: Vec<usize>,
        call: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.call % self.sizes.len()];
            self.call += 1;
            let n = size.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// What a record read: its input, line, and its line's bytes or, over the limit, its size.
    type Seen = (usize, u64, Result<Vec<u8>, u64>);

    /// The records a [`Batcher`] makes of `inputs`, in order, and the batches' sizes.
    fn read_all(inputs: Vec<Input>, options: &TagOptions) -> (Vec<Seen>, Vec<usize>, u64) {
        read_all_scaled(inputs, options, 1)
    }

    /// [`read_all`] by a batcher that scales plain batches by `scale`.
    fn read_all_scaled(
        inputs: Vec<Input>,
        options: &TagOptions,
        scale: usize,
    ) -> (Vec<Seen>, Vec<usize>, u64) {
        let mut batcher = Batcher::new(inputs, options, scale);
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        while let Some(batch) = batcher.next_batch().unwrap() {
            sizes.push(batch.records.len());
            for r in &batch.records {
                let what = match &r.body {
                    Body::Line(range) => Ok(batch.buf[range.clone()].to_vec()),
                    Body::TooLarge { bytes, .. } => Err(*bytes),
                    Body::Document { .. } => unreachable!("no .txt input here"),
                };
                seen.push((r.input, r.line.unwrap(), what));
            }
            batcher.recycle(batch.buf);
        }
        (seen, sizes, batcher.skipped)
    }

    /// The lines of [`compressed_inputs_make_larger_batches`]: 50 of 20 bytes, plain in
    /// `a.jsonl` and compressed in `b.jsonl.gz`.
    fn plain_and_compressed() -> (tempfile::TempDir, Vec<Input>) {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (0..50).map(|i| format!("{{\"id\":{i:>5},\"t\":12}}\n")).collect();
        assert_eq!(lines.len(), 50 * 20);
        let plain = dir.path().join("a.jsonl");
        std::fs::write(&plain, &lines).unwrap();
        let gz = dir.path().join("b.jsonl.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(lines.as_bytes()).unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        let inputs = vec![Input::path(&plain).unwrap(), Input::path(&gz).unwrap()];
        (dir, inputs)
    }

    /// A compressed input is cut into batches of `compressed_batch_bytes`, a plain one into
    /// batches of `batch_bytes`, also when a batch runs on from one into the other.
    #[test]
    fn compressed_inputs_make_larger_batches() {
        let (_dir, inputs) = plain_and_compressed();
        let options = TagOptions {
            batch_bytes: 60,
            compressed_batch_bytes: 400,
            batch_records: 1000,
            ..TagOptions::default()
        };
        let (seen, sizes, _) = read_all(inputs, &options);
        assert_eq!(seen.len(), 100);
        // 3 lines (60 bytes) fill a plain batch, 20 (400 bytes) a compressed one; the plain
        // input's last 2 lines start a batch that the compressed input's first 18 fill.
        let mut expected = vec![3; 16];
        expected.extend([20, 20, 12]);
        assert_eq!(sizes, expected);
    }

    /// Workers that outnumber the cores take plain batches `scale` times as large, and
    /// compressed ones no smaller than those.
    #[test]
    fn scaled_batches_are_larger() {
        let options = TagOptions {
            batch_bytes: 60,
            compressed_batch_bytes: 100,
            batch_records: 1000,
            ..TagOptions::default()
        };
        let (_dir, inputs) = plain_and_compressed();
        let (seen, sizes, _) = read_all_scaled(inputs, &options, 4);
        assert_eq!(seen.len(), 100);
        // 12 lines (240 bytes) fill a plain batch and a compressed one alike (240 > 100).
        let mut expected = vec![12; 8];
        expected.push(4);
        assert_eq!(sizes, expected);
    }

    proptest::proptest! {
        /// Lines read straight into the batches' buffers are the input's lines, cut at `\n`
        /// with a `\r` before it dropped, a last line without a line end kept, a line longer
        /// than the limit (line end included) reported with its size, other shards' lines
        /// skipped; batches hold at most `batch_records` records; whatever the read sizes.
        #[test]
        fn batches_hold_the_input_lines(
            inputs in proptest::collection::vec(
                proptest::collection::vec(
                    (proptest::collection::vec(proptest::sample::select(b"ab{\r".to_vec()), 0..40), proptest::bool::ANY),
                    0..12,
                ),
                1..3,
            ),
            last_end in proptest::bool::ANY,
            sizes in proptest::collection::vec(1usize..30, 1..5),
            batch_bytes in 1usize..60,
            batch_records in 1usize..6,
            limit in 1usize..50,
            shard in proptest::option::of((0u64..3, 1u64..4)),
        ) {
            let options = TagOptions {
                batch_bytes,
                batch_records,
                max_record_bytes: limit,
                shard: shard.map(|(i, n)| (i % n, n)),
                ..TagOptions::default()
            };
            let mut expected: Vec<Seen> = Vec::new();
            let mut streams = Vec::new();
            let mut position = 0u64;
            let mut skipped = 0u64;
            for (input, lines) in inputs.iter().enumerate() {
                let mut data = Vec::new();
                for (i, (line, crlf)) in lines.iter().enumerate() {
                    let mut whole = line.clone();
                    if *crlf {
                        whole.push(b'\r');
                    }
                    let ended = i + 1 < lines.len() || last_end || whole.is_empty();
                    if ended {
                        whole.push(b'\n');
                    }
                    data.extend_from_slice(&whole);
                    let keep = options.shard.is_none_or(|(i, n)| position % n == i);
                    position += 1;
                    if !keep {
                        skipped += 1;
                        continue;
                    }
                    let what = if whole.len() > limit {
                        Err(whole.len() as u64)
                    } else {
                        let mut content = whole.clone();
                        if ended {
                            content.pop();
                            if content.last() == Some(&b'\r') {
                                content.pop();
                            }
                        }
                        Ok(content)
                    };
                    expected.push((input, i as u64 + 1, what));
                }
                streams.push(Pieces { data, at: 0, sizes: sizes.clone(), call: 0 });
            }
            let inputs = streams.into_iter().map(|p| Input::reader("memory", p)).collect();
            let (seen, batch_sizes, got_skipped) = read_all(inputs, &options);
            proptest::prop_assert_eq!(seen, expected);
            proptest::prop_assert_eq!(got_skipped, skipped);
            proptest::prop_assert!(batch_sizes.iter().all(|&n| n >= 1 && n <= batch_records));
        }
    }

    /// Records every write call, a vectored one as one call (as `writev` is).
    #[derive(Default)]
    struct Calls(Vec<Vec<u8>>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            self.0.push(bufs.iter().flat_map(|b| b.iter().copied()).collect());
            Ok(bufs.iter().map(|b| b.len()).sum())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The cores counted for spinning: at least one, and at least the standard library's
    /// count (which also takes a cgroup's quota, never more cores than the mask holds).
    #[test]
    fn cores_are_counted() {
        let n = cores().expect("this process may run somewhere");
        assert!(n >= 1);
        assert!(std::thread::available_parallelism().is_ok_and(|std| n >= std.get()));
    }

    /// The spinning lock: taken at once when free, given up after its limit while another
    /// thread holds it, and taken as soon as that thread lets go within the limit.
    #[test]
    fn spin_lock_takes_a_free_lock_and_gives_up_on_a_held_one() {
        let mutex = Mutex::new(7);
        assert_eq!(spin_lock(&mutex, std::time::Duration::ZERO).map(|g| *g), Some(7));
        let held = mutex.lock().unwrap();
        let started = Instant::now();
        std::thread::scope(|s| {
            let waiter =
                s.spawn(|| spin_lock(&mutex, std::time::Duration::from_millis(5)).is_none());
            assert!(waiter.join().unwrap(), "taken while held");
        });
        assert!(started.elapsed() >= std::time::Duration::from_millis(5));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                tx.send(()).unwrap();
                spin_lock(&mutex, std::time::Duration::from_secs(60)).map(|mut g| {
                    *g += 1;
                    *g
                })
            });
            rx.recv().unwrap();
            drop(held);
            assert_eq!(waiter.join().unwrap(), Some(8));
        });
    }

    /// Out-of-order batches are written in order; a batch lost to a panicking worker stops the
    /// writer with an error instead of leaving it waiting.
    #[test]
    fn the_writer_puts_batches_in_order_and_stops_at_a_lost_one() {
        let batch = |text: &str| {
            vec![Rendered { output: Output::Jsonl(text.to_string()), kinds: Vec::new(), bytes: 1 }]
        };
        fn order(sink: &mut dyn Sink) -> Order<'_> {
            let (ahead, written) = (BTreeMap::new(), Written::new());
            Order { sink, progress: None, ahead, next: 0, written, failed: None }
        }
        let mut out = Vec::new();
        let mut sink = JsonlSink::new(&mut out);
        let mut o = order(&mut sink);
        for (k, text) in [(2, "c"), (0, "a"), (1, "b")] {
            o.put(k, Some(batch(text)));
        }
        let written = o.finish().unwrap();
        assert_eq!(out, b"a\nb\nc\n");
        assert_eq!(written.documents, 3);

        let mut out = Vec::new();
        let mut sink = JsonlSink::new(&mut out);
        let mut o = order(&mut sink);
        o.put(1, Some(batch("b")));
        o.put(0, None);
        o.put(2, Some(batch("c")));
        let Err(err) = o.finish() else { panic!("a lost batch is an error") };
        assert!(err.to_string().contains("panicked"), "{err}");
        assert!(out.is_empty());
    }

    proptest::proptest! {
        /// `write_line` writes what `write_lines` writes for the line with its end: the same
        /// bytes, every write call whole lines, a call over the chunk size one line.
        #[test]
        fn write_line_is_write_lines_with_the_end(
            lengths in proptest::collection::vec(0usize..9000, 0..12),
            chunk in proptest::prop_oneof![proptest::strategy::Just(PIPE_BUF), 1usize..20_000],
        ) {
            let lines: Vec<Vec<u8>> =
                lengths.iter().enumerate().map(|(i, &n)| vec![b'a' + (i % 26) as u8; n]).collect();
            let one = LineWriter::with_chunk(Calls::default(), chunk);
            let (mut one, mut both) = (one, LineWriter::with_chunk(Calls::default(), chunk));
            for line in &lines {
                one.write_line(line).unwrap();
                both.write_lines(&[&line[..], b"\n"].concat()).unwrap();
            }
            one.flush().unwrap();
            both.flush().unwrap();
            proptest::prop_assert_eq!(one.out.0.concat(), both.out.0.concat());
            for call in &one.out.0 {
                proptest::prop_assert!(call.ends_with(b"\n"));
                let lines_in_call = call.iter().filter(|&&b| b == b'\n').count();
                proptest::prop_assert!(call.len() <= chunk || lines_in_call == 1);
            }
        }

        /// A batch written at once (`write_batch`, vectored into a file) is the same bytes as
        /// its outputs written one by one, JSON lines, error records and multi-line CoNLL
        /// blocks mixed, whatever the chunk and however little of a write the writer takes;
        /// into a pipe (chunks of `PIPE_BUF`) every call is still whole lines.
        #[test]
        fn a_batch_is_written_as_its_outputs_one_by_one(
            outputs in proptest::collection::vec((0u8..3, 0usize..6000), 0..40),
            chunk in proptest::prop_oneof![
                proptest::strategy::Just(PIPE_BUF),
                proptest::strategy::Just(FILE_CHUNK),
                1usize..20_000,
            ],
            most in proptest::option::of(1usize..5000),
        ) {
            let outputs: Vec<Output> = outputs
                .iter()
                .enumerate()
                .map(|(i, &(kind, n))| {
                    let text = char::from(b'a' + (i % 26) as u8).to_string().repeat(n);
                    match kind {
                        0 => Output::Jsonl(text),
                        1 => Output::Error { json: text, message: String::new() },
                        _ => Output::Conll(format!("{text}\n{text}\n\n")),
                    }
                })
                .collect();
            let refs: Vec<&Output> = outputs.iter().collect();
            let mut one = JsonlSink::with_chunk(Calls::default(), chunk);
            for output in &outputs {
                one.write(output).unwrap();
            }
            one.finish().unwrap();
            let mut all = JsonlSink::with_chunk(Partial { calls: Calls::default(), most }, chunk);
            all.write_batch(&refs).unwrap();
            all.finish().unwrap();
            proptest::prop_assert_eq!(one.out.out.0.concat(), all.out.out.calls.0.concat());
            if chunk == PIPE_BUF && most.is_none() {
                for call in &all.out.out.calls.0 {
                    proptest::prop_assert!(call.ends_with(b"\n"));
                }
            }
        }
    }

    /// A writer that takes at most `most` bytes a call (all, when `None`), recording the calls.
    struct Partial {
        calls: Calls,
        most: Option<usize>,
    }

    impl Write for Partial {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.most.map_or(buf.len(), |most| buf.len().min(most));
            self.calls.write(&buf[..n])
        }
        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            let Some(most) = self.most else { return self.calls.write_vectored(bufs) };
            let taken: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).take(most).collect();
            self.calls.write(&taken)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
