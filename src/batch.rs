//! Batch tagging of large dumps: streaming, parallel, ordered, with no record lost.
//!
//! The inputs are cut into bounded batches of records, JSONL read straight into each batch's
//! buffer (buffers are reused once their batch is tagged). With several threads a reader thread
//! cuts the batches, each batch is tagged whole by one worker of a local rayon pool, several
//! batches at once, and a writer thread puts the rendered batches back in order; with one
//! thread, the calling thread reads, tags and writes each batch in turn, so `--threads 1` is one
//! thread's work, I/O included. (Splitting each batch over the workers with `par_iter` made two threads 6-10% slower
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
use std::io::{self, BufReader, Read, Write};
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

/// Records read together, tagged by one worker. The JSONL lines are read straight into `buf`
/// (no copy per line), and the buffer goes back to the reader once the batch is tagged, so a run
/// reuses a few buffers instead of touching fresh memory for every line.
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
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    let (read_result, write_result) = match threads {
        0 | 1 => tag_on_this_thread(extractor, inputs, options, &names, sink, progress),
        n => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("alam-worker-{i}"))
                .build()
                .map_err(|e| Error::io(None, io::Error::other(e)))?;
            tag_on_pool(&pool, extractor, inputs, options, &names, sink, progress)
        }
    };
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

/// One thread: reads, tags and writes batch after batch on the calling thread, so that
/// `--threads 1` is one thread's work, I/O included. Returns the reading's result (records left
/// to other shards) and the writing's.
fn tag_on_this_thread(
    extractor: &Extractor,
    inputs: Vec<Input>,
    options: &TagOptions,
    names: &[String],
    sink: &mut dyn Sink,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> (Result<u64>, io::Result<Written>) {
    let mut folded = Normalized::default();
    let mut written = Written::new();
    let mut failed = None;
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(1);
    let read = read_batches(inputs, options, &recycle_rx, |batch| {
        let rendered = batch.render(extractor, options, names, &mut folded);
        let _ = recycle_tx.try_send(batch.buf);
        if let Err(e) = written.write(&rendered, sink) {
            failed = Some(e);
            return false;
        }
        if let Some(progress) = progress {
            progress(written.documents + written.errors, written.bytes);
        }
        true
    });
    let write = match failed {
        Some(e) => Err(e),
        None => sink.finish().map(|()| written),
    };
    (read, write)
}

/// Several threads: a reader thread cuts batches, the pool's workers tag them (several at
/// once, each whole by one worker) and a writer thread puts them back in order.
fn tag_on_pool(
    pool: &rayon::ThreadPool,
    extractor: &Extractor,
    inputs: Vec<Input>,
    options: &TagOptions,
    names: &[String],
    sink: &mut dyn Sink,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> (Result<u64>, io::Result<Written>) {
    let (batch_tx, batch_rx) = sync_channel::<Batch>(2);
    let (out_tx, out_rx) = sync_channel::<(usize, Option<Vec<Rendered>>)>(2);
    // Up to `in_flight` batches are tagged at once, each by one worker: a worker done with its
    // batch takes the next instead of waiting for a batch with a long record. The writer puts
    // them back in order and hands back a slot for each batch written, so at most `in_flight`
    // batches are held, tagged or not.
    let in_flight = 2 * pool.current_num_threads();
    let (slot_tx, slot_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = slot_tx.send(());
    }
    // Tagged batches' buffers, back to the reader (as many as can be alive at once).
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(in_flight + 2);
    std::thread::scope(|scope| {
        // The sender moves into the reader: the batches end when it returns.
        let reader = scope.spawn(move || {
            read_batches(inputs, options, &recycle_rx, |batch| batch_tx.send(batch).is_ok())
        });
        let writer = scope.spawn(|| write_batches(out_rx, slot_tx, sink, progress));
        pool.in_place_scope(|tasks| {
            for (k, batch) in batch_rx.into_iter().enumerate() {
                if slot_rx.recv().is_err() {
                    break; // The writer stopped: its error is reported below.
                }
                let out_tx = out_tx.clone();
                let recycle_tx = recycle_tx.clone();
                tasks.spawn(move |_| {
                    // A whole batch on one worker, with the worker's fold buffer, reused from
                    // record to record and batch to batch. A panic becomes `None`, which stops
                    // the writer, so nothing waits for a batch that will never come.
                    let rendered = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        FOLDED.with_borrow_mut(|folded| {
                            batch.render(extractor, options, names, folded)
                        })
                    }));
                    let _ = recycle_tx.try_send(batch.buf);
                    let _ = out_tx.send((k, rendered.ok()));
                });
            }
        });
        drop(out_tx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(Error::io(None, io::Error::other("reader panicked"))));
        let write = writer.join().unwrap_or_else(|_| Err(io::Error::other("writer panicked")));
        (read, write)
    })
}

thread_local! {
    /// A pool worker's fold buffer (`tag_one` lets a huge one go).
    static FOLDED: std::cell::RefCell<Normalized> = std::cell::RefCell::new(Normalized::default());
}

/// The most bytes asked of an input in one `read`: the part of a line that runs past the end
/// of a batch is copied to the next batch's buffer, so this bounds that copy. (Tiny in unit
/// tests, so that lines cross reads, batches and buffer growth all the time.)
#[cfg(not(test))]
const READ_CHUNK: usize = 64 << 10;
#[cfg(test)]
const READ_CHUNK: usize = 7;

/// Cuts the inputs into batches, reading JSONL straight into the batches' buffers.
struct Batcher<'a, E: FnMut(Batch) -> bool> {
    options: &'a TagOptions,
    emit: E,
    /// Buffers of tagged batches, to read into again.
    recycled: &'a Receiver<Vec<u8>>,
    batch: Batch,
    /// How much of `batch.buf` holds input (the rest is zeroed memory to read into).
    filled: usize,
    /// Bytes of records and lines taken into the batch, counted toward `batch_bytes`.
    bytes: usize,
}

impl<E: FnMut(Batch) -> bool> Batcher<'_, E> {
    /// A buffer of at least `len` bytes, all initialized (reads go into it directly).
    fn buffer(&self, len: usize) -> Vec<u8> {
        let mut buf = self.recycled.try_recv().unwrap_or_default();
        let want = len.max(self.options.batch_bytes + READ_CHUNK);
        if buf.len() > 4 * want {
            buf = Vec::new(); // Grown for a long line: let it go, so memory stays flat.
        }
        if buf.len() < want {
            buf.resize(want, 0);
        }
        buf
    }

    /// Adds a record; a full batch is handed on, with the input bytes from `keep` on (the
    /// start of a line not yet read to its end) moved to the next batch's buffer. Returns
    /// false when the consumer is gone, and where the kept bytes now start.
    fn push(&mut self, record: Option<Record>, len: usize, keep: usize) -> (bool, usize) {
        if let Some(record) = record {
            self.batch.records.push(record);
        }
        self.bytes += len;
        let full = self.batch.records.len() >= self.options.batch_records
            || self.bytes >= self.options.batch_bytes;
        if !full {
            return (true, keep);
        }
        (self.hand_on(keep), 0)
    }

    /// Hands the batch on, moving `batch.buf[keep..filled]` to the start of the next buffer.
    fn hand_on(&mut self, keep: usize) -> bool {
        let rest = self.filled - keep;
        self.bytes = 0;
        if self.batch.records.is_empty() {
            // Only lines of other shards: nothing to hand on, the buffer is reused as it is.
            self.batch.buf.copy_within(keep..self.filled, 0);
            self.filled = rest;
            return true;
        }
        let mut next = self.buffer(rest + READ_CHUNK);
        next[..rest].copy_from_slice(&self.batch.buf[keep..self.filled]);
        let next = Batch { buf: next, records: Vec::new() };
        let batch = std::mem::replace(&mut self.batch, next);
        self.filled = rest;
        (self.emit)(batch)
    }

    /// Makes room for a read after `filled`: hands the batch on (moving the line being read,
    /// from `start`, to the next buffer), or grows the buffer when that line fills it alone.
    /// Returns false when the consumer is gone, and where the line now starts.
    fn room(&mut self, start: usize) -> (bool, usize) {
        if self.batch.buf.len() - self.filled >= READ_CHUNK {
            return (true, start);
        }
        if (start > 0 || !self.batch.records.is_empty()) && !self.hand_on(start) {
            return (false, 0);
        }
        if self.batch.buf.len() - self.filled < READ_CHUNK {
            let len = (self.filled + READ_CHUNK).max(2 * self.batch.buf.len());
            self.batch.buf.resize(len, 0);
        }
        (true, 0)
    }

    /// Reads one JSONL input to its end. Returns false when the consumer is gone.
    fn read_jsonl(
        &mut self,
        input: usize,
        reader: &mut dyn Read,
        position: &mut u64,
        skipped: &mut u64,
    ) -> io::Result<bool> {
        let options = self.options;
        let limit = options.max_record_bytes;
        let in_shard = |position: u64| options.shard.is_none_or(|(i, n)| position % n == i);
        let mut line = 0u64;
        // The line being read starts at `start`; `[start..scanned]` holds no line end.
        let mut start = self.filled;
        let mut scanned = start;
        // While a line over the limit is dropped: its length so far.
        let mut dropping: Option<u64> = None;
        loop {
            let found = memchr::memchr(b'\n', &self.batch.buf[scanned..self.filled]);
            let (end, eof) = match found.map(|i| scanned + i) {
                Some(end) => (end, false),
                None => {
                    scanned = self.filled;
                    if dropping.is_none() && self.filled - start > limit {
                        dropping = Some(0);
                    }
                    if let Some(so_far) = &mut dropping {
                        *so_far += (self.filled - start) as u64;
                        self.filled = start;
                        scanned = start;
                    }
                    let (alive, moved) = self.room(start);
                    if !alive {
                        return Ok(false);
                    }
                    (start, scanned) = (moved, moved + (scanned - start));
                    let to = (self.filled + READ_CHUNK).min(self.batch.buf.len());
                    let n = loop {
                        match reader.read(&mut self.batch.buf[self.filled..to]) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                let what = format!("read error after line {line}: {e}");
                                return Err(io::Error::new(e.kind(), what));
                            }
                        }
                    };
                    if n > 0 {
                        self.filled += n;
                        continue;
                    }
                    if start == self.filled && dropping.is_none() {
                        return Ok(true); // The input ends with a line end (or is empty).
                    }
                    (self.filled, true) // A last line without a line end.
                }
            };
            // A whole line: `start..end`, its line end (if any) at `end`.
            line += 1;
            let next = if eof { end } else { end + 1 };
            let len = next - start;
            let keep = in_shard(*position);
            *position += 1;
            let record = if !keep {
                *skipped += 1;
                None
            } else if let Some(so_far) = dropping.take() {
                let bytes = so_far + len as u64;
                Some(Record { input, line: Some(line), body: Body::TooLarge { id: None, bytes } })
            } else if len > limit {
                let bytes = len as u64;
                Some(Record { input, line: Some(line), body: Body::TooLarge { id: None, bytes } })
            } else {
                let mut e = end;
                if !eof && e > start && self.batch.buf[e - 1] == b'\r' {
                    e -= 1;
                }
                Some(Record { input, line: Some(line), body: Body::Line(start..e) })
            };
            dropping = None;
            let (alive, moved) = self.push(record, len, next);
            if !alive {
                return Ok(false);
            }
            if eof {
                return Ok(true);
            }
            start = moved;
            scanned = moved;
        }
    }
}

/// Reads every input into batches, handing each to `emit`, which returns false to stop the
/// reading (the consumer is gone); `recycled` gives back the buffers of tagged batches.
/// Returns the number of records left to other shards.
fn read_batches(
    inputs: Vec<Input>,
    options: &TagOptions,
    recycled: &Receiver<Vec<u8>>,
    emit: impl FnMut(Batch) -> bool,
) -> Result<u64> {
    let mut position = 0u64;
    let mut skipped = 0u64;
    let mut batcher = Batcher {
        options,
        emit,
        recycled,
        batch: Batch { buf: Vec::new(), records: Vec::new() },
        filled: 0,
        bytes: 0,
    };
    batcher.batch.buf = batcher.buffer(0);
    for (index, input) in inputs.into_iter().enumerate() {
        match input.kind {
            InputKind::Path { path, text: true } => {
                let keep = options.shard.is_none_or(|(i, n)| position % n == i);
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
                let filled = batcher.filled;
                if !batcher.push(Some(record), len, filled).0 {
                    return Ok(skipped);
                }
            }
            kind => {
                let (mut reader, path) = match kind {
                    InputKind::Path { path, .. } => (open(&path, None)?, Some(path)),
                    InputKind::Reader(reader) => (reader, None),
                };
                let alive =
                    batcher.read_jsonl(index, &mut reader, &mut position, &mut skipped).map_err(
                        |e| Error::io(path.clone().or_else(|| Some(PathBuf::from(&input.name))), e),
                    )?;
                if !alive {
                    return Ok(skipped);
                }
            }
        }
    }
    if !batcher.batch.records.is_empty() {
        let batch =
            std::mem::replace(&mut batcher.batch, Batch { buf: Vec::new(), records: Vec::new() });
        (batcher.emit)(batch);
    }
    Ok(skipped)
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
        for r in batch {
            sink.write(&r.output)?;
            if matches!(r.output, Output::Error { .. }) {
                self.errors += 1;
            } else {
                self.documents += 1;
            }
            self.bytes += r.bytes;
            for (kind, n) in &r.kinds {
                *self.mentions.entry((*kind).to_string()).or_default() += n;
            }
        }
        Ok(())
    }
}

/// Writes the tagged batches in order (batch `k` after batch `k - 1`, whatever order they come
/// in); `None` for a batch is a worker that panicked, an error.
fn write_batches(
    rx: Receiver<(usize, Option<Vec<Rendered>>)>,
    slots: SyncSender<()>,
    sink: &mut dyn Sink,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> io::Result<Written> {
    let mut w = Written::new();
    // Batches tagged ahead of the next one to write, by number.
    let mut ahead: BTreeMap<usize, Vec<Rendered>> = BTreeMap::new();
    let mut next = 0;
    for (k, batch) in rx {
        let batch = batch.ok_or_else(|| io::Error::other("a worker panicked while tagging"))?;
        ahead.insert(k, batch);
        while let Some(batch) = ahead.remove(&next) {
            next += 1;
            w.write(&batch, sink)?;
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

    /// The records `read_batches` makes of `inputs`, in order, and the batches' sizes.
    fn read_all(inputs: Vec<Input>, options: &TagOptions) -> (Vec<Seen>, Vec<usize>, u64) {
        let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(2);
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let skipped = read_batches(inputs, options, &recycle_rx, |batch| {
            sizes.push(batch.records.len());
            for r in &batch.records {
                let what = match &r.body {
                    Body::Line(range) => Ok(batch.buf[range.clone()].to_vec()),
                    Body::TooLarge { bytes, .. } => Err(*bytes),
                    Body::Document { .. } => unreachable!("no .txt input here"),
                };
                seen.push((r.input, r.line.unwrap(), what));
            }
            let _ = recycle_tx.try_send(batch.buf);
            true
        })
        .unwrap();
        (seen, sizes, skipped)
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
