//! Batch tagging of large dumps: streaming, parallel, ordered, with no record lost.
//!
//! A reader thread cuts the inputs into bounded batches of records; each batch is tagged whole
//! by one worker of a local rayon pool, several batches at once, or on the calling thread with
//! one worker, and the rendered output goes to a writer thread, which puts the batches back in
//! order. (Splitting each batch over the workers with `par_iter` made two threads 6-10% slower
//! on news: each piece started a fold buffer of its own, and the workers shared every batch's
//! records.) Memory stays flat:
//! at most a few batches are alive at once, whatever the size of the dump. Every input record
//! yields exactly one output (a tagged document or an error record in its place); records of
//! other shards are skipped and counted.
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
use std::io::{self, BufRead, BufReader, Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::extractor::{Extractor, Mention, FOLD_KEEP_BYTES};
use crate::format;
use crate::normalize::Normalized;
use crate::record::{self, Parsed, Text};
use crate::relation::{brat_relations, RelationExtractor, RelationRecord};
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
    /// Default 512 KiB: small enough that tagging starts soon after the first bytes are read and
    /// the last batch is written soon after the workers finish, large enough that handing a
    /// batch over costs nothing (`alam tag --threads 2` on 46 MB of news: 0.272 s against
    /// 0.285 s with 4 MiB batches; on 16 MB, 0.115 s against 0.142 s).
    pub batch_bytes: usize,
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
            batch_bytes: 512 << 10,
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

/// One record waiting to be tagged.
struct Record {
    input: usize,
    line: Option<u64>,
    body: Body,
}

enum Body {
    /// A JSONL line, without its line end.
    Line(Vec<u8>),
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
        let mut slices = [io::IoSlice::new(line), io::IoSlice::new(b"\n")];
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match self.out.write_vectored(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
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
    // One thread: the records are tagged on this one, with no pool (and no thread of its own).
    let pool = match threads {
        0 | 1 => None,
        n => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("alam-worker-{i}"))
                .build()
                .map_err(|e| Error::io(None, io::Error::other(e)))?,
        ),
    };
    let mut folded = Normalized::default();
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    let (batch_tx, batch_rx) = sync_channel::<Vec<Record>>(2);
    let (out_tx, out_rx) = sync_channel::<(usize, Option<Vec<Rendered>>)>(2);
    // With a pool, up to `in_flight` batches are tagged at once, each by one worker: a worker
    // done with its batch takes the next instead of waiting for a batch with a long record.
    // The writer puts them back in order and hands back a slot for each batch written, so at
    // most `in_flight` batches are held, tagged or not.
    let in_flight = 2 * threads.max(1);
    let (slot_tx, slot_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = slot_tx.send(());
    }
    let mut stats = Stats::default();

    let (read_result, write_result) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_batches(inputs, options, batch_tx));
        let writer = scope.spawn(|| write_batches(out_rx, slot_tx, sink, progress));
        match &pool {
            Some(pool) => pool.in_place_scope(|tasks| {
                for (k, batch) in batch_rx.into_iter().enumerate() {
                    if slot_rx.recv().is_err() {
                        break; // The writer stopped: its error is reported below.
                    }
                    let out_tx = out_tx.clone();
                    let names = &names;
                    tasks.spawn(move |_| {
                        // A whole batch on one worker, with the worker's fold buffer, reused
                        // from record to record and batch to batch. A panic becomes `None`,
                        // which stops the writer, so nothing waits for a batch that will never
                        // come.
                        let rendered = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            FOLDED.with_borrow_mut(|folded| {
                                batch
                                    .iter()
                                    .map(|r| render(extractor, options, names, r, folded))
                                    .collect::<Vec<Rendered>>()
                            })
                        }));
                        let _ = out_tx.send((k, rendered.ok()));
                    });
                }
            }),
            None => {
                for (k, batch) in batch_rx.into_iter().enumerate() {
                    let rendered = batch
                        .iter()
                        .map(|r| render(extractor, options, &names, r, &mut folded))
                        .collect();
                    if out_tx.send((k, Some(rendered))).is_err() {
                        break; // The writer stopped: its error is reported below.
                    }
                }
            }
        }
        drop(out_tx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(Error::io(None, io::Error::other("reader panicked"))));
        let write = writer.join().unwrap_or_else(|_| Err(io::Error::other("writer panicked")));
        (read, write)
    });
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

thread_local! {
    /// A pool worker's fold buffer (`tag_one` lets a huge one go).
    static FOLDED: std::cell::RefCell<Normalized> = std::cell::RefCell::new(Normalized::default());
}

/// Reads every input into batches; returns the number of records left to other shards.
fn read_batches(
    inputs: Vec<Input>,
    options: &TagOptions,
    tx: SyncSender<Vec<Record>>,
) -> Result<u64> {
    let mut position = 0u64;
    let mut skipped = 0u64;
    let mut batch: Vec<Record> = Vec::new();
    let mut batch_bytes = 0usize;
    let in_shard = |position: u64| match options.shard {
        Some((i, n)) => position % n == i,
        None => true,
    };
    let push = |record: Record, len: usize, batch: &mut Vec<Record>, batch_bytes: &mut usize| {
        batch.push(record);
        *batch_bytes += len;
        if batch.len() >= options.batch_records || *batch_bytes >= options.batch_bytes {
            *batch_bytes = 0;
            return tx.send(std::mem::take(batch)).is_ok();
        }
        true
    };
    for (index, input) in inputs.into_iter().enumerate() {
        match input.kind {
            InputKind::Path { path, text: true } => {
                let keep = in_shard(position);
                position += 1;
                if !keep {
                    skipped += 1;
                    continue;
                }
                let mut bytes = Vec::new();
                let limit = options.max_record_bytes as u64;
                let mut reader = open(&path, None)?;
                (&mut reader)
                    .take(limit + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io(Some(path.clone()), e))?;
                let id = text_id(&path);
                let (len, body) = if bytes.len() as u64 > limit {
                    let rest = io::copy(&mut reader, &mut io::sink())
                        .map_err(|e| Error::io(Some(path.clone()), e))?;
                    (0, Body::TooLarge { id: Some(id), bytes: bytes.len() as u64 + rest })
                } else {
                    (bytes.len(), Body::Document { id, bytes })
                };
                let record = Record { input: index, line: None, body };
                if !push(record, len, &mut batch, &mut batch_bytes) {
                    return Ok(skipped);
                }
            }
            kind => {
                let (reader, path) = match kind {
                    InputKind::Path { path, .. } => (open(&path, None)?, Some(path)),
                    InputKind::Reader(reader) => (reader, None),
                };
                let mut reader = BufReader::with_capacity(1 << 16, reader);
                let mut line = 0u64;
                loop {
                    let mut bytes = Vec::new();
                    let n = read_line_bounded(&mut reader, &mut bytes, options.max_record_bytes)
                        .map_err(|e| {
                            let what = io::Error::new(
                                e.kind(),
                                format!("read error after line {line}: {e}"),
                            );
                            Error::io(
                                path.clone().or_else(|| Some(PathBuf::from(&input.name))),
                                what,
                            )
                        })?;
                    if n == 0 {
                        break;
                    }
                    line += 1;
                    let too_large = n > bytes.len() as u64;
                    let keep = in_shard(position);
                    position += 1;
                    if !keep {
                        skipped += 1;
                        continue;
                    }
                    if bytes.last() == Some(&b'\n') {
                        bytes.pop();
                        if bytes.last() == Some(&b'\r') {
                            bytes.pop();
                        }
                    }
                    let len = bytes.len();
                    let body = if too_large {
                        Body::TooLarge { id: None, bytes: n }
                    } else {
                        Body::Line(bytes)
                    };
                    let record = Record { input: index, line: Some(line), body };
                    if !push(record, len, &mut batch, &mut batch_bytes) {
                        return Ok(skipped);
                    }
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    Ok(skipped)
}

/// Reads one line (with its `\n`) into `buf`, keeping at most `limit` bytes: the rest of a
/// longer line is read and dropped, so a giant line never sits in memory. Returns the line's
/// full length; it exceeds `buf.len()` exactly when the line was cut.
fn read_line_bounded<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(total);
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (limit + 1).saturating_sub(buf.len()).min(take);
        buf.extend_from_slice(&chunk[..room]);
        if buf.len() > limit {
            // Over the limit: keep nothing, count the rest.
            buf.clear();
            buf.shrink_to(1 << 16);
        }
        total += take as u64;
        reader.consume(take);
        if done {
            return Ok(total);
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

/// Writes the tagged batches in order (batch `k` after batch `k - 1`, whatever order they come
/// in); `None` for a batch is a worker that panicked, an error.
fn write_batches(
    rx: Receiver<(usize, Option<Vec<Rendered>>)>,
    slots: SyncSender<()>,
    sink: &mut dyn Sink,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> io::Result<Written> {
    let mut w = Written { documents: 0, errors: 0, bytes: 0, mentions: BTreeMap::new() };
    // Batches tagged ahead of the next one to write, by number.
    let mut ahead: BTreeMap<usize, Vec<Rendered>> = BTreeMap::new();
    let mut next = 0;
    for (k, batch) in rx {
        let batch = batch.ok_or_else(|| io::Error::other("a worker panicked while tagging"))?;
        ahead.insert(k, batch);
        while let Some(batch) = ahead.remove(&next) {
            next += 1;
            for r in &batch {
                sink.write(&r.output)?;
                if matches!(r.output, Output::Error { .. }) {
                    w.errors += 1;
                } else {
                    w.documents += 1;
                }
                w.bytes += r.bytes;
                for (kind, n) in &r.kinds {
                    *w.mentions.entry((*kind).to_string()).or_default() += n;
                }
            }
            // The batch's slot is free (one thread tags without slots: nothing waits).
            let _ = slots.try_send(());
            if let Some(progress) = progress {
                progress(w.documents + w.errors, w.bytes);
            }
        }
    }
    debug_assert!(ahead.is_empty(), "batches lost before {next}");
    sink.finish()?;
    Ok(w)
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
        Body::Line(bytes) => {
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
            let relations: Option<Vec<RelationRecord<'_>>> =
                relations.as_ref().map(|rs| rs.iter().map(|r| r.to_record(text)).collect());
            let line = format::jsonl_line(id, text, &mentions, &spans, relations.as_ref());
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
    let mut kinds: Vec<(&'static str, u64)> = Vec::new();
    for m in mentions {
        let k = m.kind().as_str();
        match kinds.iter_mut().find(|(kind, _)| *kind == k) {
            Some((_, n)) => *n += 1,
            None => kinds.push((k, 1)),
        }
    }
    kinds
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

    /// Out-of-order batches are written in order; a batch lost to a panicking worker stops the
    /// writer with an error instead of leaving it waiting.
    #[test]
    fn the_writer_puts_batches_in_order_and_stops_at_a_lost_one() {
        let batch = |text: &str| {
            vec![Rendered { output: Output::Jsonl(text.to_string()), kinds: Vec::new(), bytes: 1 }]
        };
        let (tx, rx) = sync_channel(8);
        for (k, text) in [(2, "c"), (0, "a"), (1, "b")] {
            tx.send((k, Some(batch(text)))).unwrap();
        }
        drop(tx);
        let (slot_tx, _slot_rx) = sync_channel(8);
        let mut out = Vec::new();
        let written = write_batches(rx, slot_tx, &mut JsonlSink::new(&mut out), None).unwrap();
        assert_eq!(out, b"a\nb\nc\n");
        assert_eq!(written.documents, 3);

        let (tx, rx) = sync_channel(8);
        tx.send((1, Some(batch("b")))).unwrap();
        tx.send((0, None)).unwrap();
        let (slot_tx, _slot_rx) = sync_channel(8);
        let mut out = Vec::new();
        let Err(err) = write_batches(rx, slot_tx, &mut JsonlSink::new(&mut out), None) else {
            panic!("a lost batch is an error");
        };
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
    }
}
