//! The `alam` command line: a thin layer over the library. Flags are parsed here, the work is
//! done by `alam::Extractor`, and library errors become messages and exit codes.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use alam::batch::{self, Format, JsonlSink, Stats, TagOptions, FILE_CHUNK, PIPE_BUF};
use alam::format::{BratSink, ConllSink};
use alam::{CacheStatus, Extractor, Gazetteer, RelationExtractor, RuleSet, VariantRules};

/// mimalloc: start-up (many small allocations building the gazetteer and the tries) and the
/// per-document buffers a few percent faster than with the system allocator (README).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: MiMalloc = MiMalloc;

/// mimalloc as the global allocator, asked for an alignment only where a layout needs more than
/// every mimalloc block has (its blocks are multiples of 8 bytes, 8-aligned at least): the
/// `mimalloc` crate's allocator calls `mi_malloc_aligned` for every allocation, whose alignment
/// checks cost about 30 instructions a call more than `mi_malloc` (56k allocations at start-up,
/// 17 a record while tagging news).
#[cfg(feature = "mimalloc")]
struct MiMalloc;

/// The alignment every mimalloc block has.
#[cfg(feature = "mimalloc")]
const MI_BLOCK_ALIGN: usize = 8;

#[cfg(feature = "mimalloc")]
impl MiMalloc {
    /// Whether a block of mimalloc's plain functions, aligned to [`MI_BLOCK_ALIGN`], is aligned
    /// enough for `layout`.
    #[inline(always)]
    fn plain_suffices(layout: std::alloc::Layout) -> bool {
        layout.align() <= MI_BLOCK_ALIGN
    }

    /// A block for `layout` from `plain(size)` where [`MI_BLOCK_ALIGN`] is alignment enough,
    /// else from `aligned(size, align)` (mimalloc's plain and zeroing allocations alike).
    ///
    /// # Safety
    /// `layout` has a nonzero size (as `GlobalAlloc::alloc` requires).
    #[inline(always)]
    unsafe fn by_alignment(
        layout: std::alloc::Layout,
        plain: unsafe extern "C" fn(usize) -> *mut std::ffi::c_void,
        aligned: unsafe extern "C" fn(usize, usize) -> *mut std::ffi::c_void,
    ) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions take any size and alignment.
        unsafe {
            if MiMalloc::plain_suffices(layout) {
                plain(layout.size()).cast()
            } else {
                aligned(layout.size(), layout.align()).cast()
            }
        }
    }
}

#[cfg(feature = "mimalloc")]
// SAFETY: mimalloc's functions return blocks of at least the size asked, aligned to the
// alignment asked (the `_aligned` ones) or to MI_BLOCK_ALIGN (the others, used only where that
// is enough), or null; `mi_free` and `mi_realloc*` take any block they returned.
unsafe impl std::alloc::GlobalAlloc for MiMalloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_malloc, mi_malloc_aligned};
        // SAFETY: see the impl.
        unsafe { MiMalloc::by_alignment(layout, mi_malloc, mi_malloc_aligned) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_zalloc, mi_zalloc_aligned};
        // SAFETY: see the impl.
        unsafe { MiMalloc::by_alignment(layout, mi_zalloc, mi_zalloc_aligned) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: see the impl.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        use libmimalloc_sys::{mi_realloc, mi_realloc_aligned};
        // SAFETY: see the impl.
        unsafe {
            if MiMalloc::plain_suffices(layout) {
                mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

const AFTER_HELP: &str = "\
Exit status of `alam tag`: 0 when every record was tagged, 1 when some records were errors \
(each has an error record in the output, in its place), 2 when the run could not proceed \
(unreadable input, bad gazetteer, bad flags). A closed pipe (alam tag big.jsonl | head) ends \
quietly with status 0.";

/// Fast entity extraction for Arabic news: finds persons, organizations, places, nationalities,
/// equipment and events from gazetteers of Arabic name variants, and links every mention to one
/// canonical entity whatever its spelling.
#[derive(Parser)]
#[command(name = "alam", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tag documents and write one JSONL line per document, in input order.
    ///
    /// A .txt file is one document (its id is the file name without extension). A .jsonl file
    /// holds one document per line, {"id": ..., "text": ...}; a record without an id gets its
    /// line number. With no path, or `-`, JSONL is read from standard input. Output lines are
    /// {"id": ..., "entities": [{"start", "end", "char_start", "char_end", "text", "type",
    /// "entity", "name", "name_en", "qid", "parent", "clitic", "alias", "alternatives"}]}, with
    /// start/end in UTF-8 bytes and char_start/char_end in code points of the original text.
    /// A record that cannot be tagged yields {"line": N, "id": ..., "error": "..."} in its place.
    #[command(after_help = AFTER_HELP)]
    Tag(TagArgs),
    /// Inspect and validate gazetteer files.
    #[command(subcommand)]
    Gazetteer(GazetteerCommand),
    /// Score `alam tag` output against gold annotations (strict and partial P/R/F1, linking),
    /// or the extractor on a CoNLL benchmark (--conll).
    ///
    /// Gold is a directory of JSONL files in the seeds/gold format (code-point offsets).
    /// Strict: exact span and type. Partial: overlapping span and same type. Linking: each gold
    /// entity (slug and type) should get exactly one predicted id. With --conll FILE (ANERcorp
    /// format), conlleval-style exact chunks over PERS, LOC and ORG.
    Eval(EvalArgs),
    /// Build the corpus entity graph from `alam tag` JSONL output.
    ///
    /// Writes graph.json (nodes, sentence co-occurrences, relation counts with an example
    /// sentence each), nodes.csv and edges.csv (for Gephi: Id,Label,... and
    /// Source,Target,Type,Label,Weight,...; pandas reads them as they are) into the --output
    /// directory. Reads standard input when no path is given. Error records are skipped and
    /// counted.
    Graph(GraphArgs),
}

#[derive(Args)]
struct GraphArgs {
    /// `alam tag` JSONL output files (`-` or nothing: standard input).
    #[arg(value_name = "PATH")]
    inputs: Vec<PathBuf>,
    /// The directory to write graph.json, nodes.csv and edges.csv into.
    #[arg(long, short = 'o', value_name = "DIR")]
    output: PathBuf,
}

#[derive(Args)]
struct GazetteerArgs {
    /// Add the entities of this gazetteer TSV file (repeatable).
    #[arg(long = "gazetteer", short = 'g', value_name = "PATH")]
    gazetteers: Vec<PathBuf>,
    /// Do not load the default gazetteer embedded in alam.
    #[arg(long)]
    no_default_gazetteer: bool,
    /// Do not generate spelling variants of foreign names (gazetteers/rules/variants.tsv).
    #[arg(long)]
    no_variants: bool,
}

#[derive(Args)]
struct TagArgs {
    /// Inputs: .txt files (one document each), .jsonl files (one document per line), either
    /// optionally compressed (.gz, .zst), directories (searched recursively, sorted), and `-`
    /// for JSONL on standard input (the default when no path is given).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    gazetteer: GazetteerArgs,
    /// Count risky names (short names, bare surnames) even without context.
    #[arg(long)]
    keep_risky: bool,
    /// Do not guess person names that no gazetteer lists (a given name or a title followed by
    /// name words, then the lone surname): only gazetteer entities are tagged.
    #[arg(long)]
    no_guess: bool,
    /// Worker threads (default: all cores). The output is the same for any number.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// The JSONL field that holds the text.
    #[arg(long, value_name = "NAME", default_value = "text")]
    text_field: String,
    /// The JSONL field that holds the document id (a record without it gets its line number).
    #[arg(long, value_name = "NAME", default_value = "id")]
    id_field: String,
    /// Output format: jsonl (one line per document), brat (<id>.txt and <id>.ann per document
    /// into the --output directory), conll (one token per line with BIO tags).
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    format: FormatArg,
    /// Write to this file instead of standard output (through a temporary file renamed at the
    /// end, so a killed run never leaves a file that looks complete; a device or pipe such as
    /// /dev/null is written in place); with --format brat, the directory to write into.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// No progress bar and no summary on standard error.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Write the run's statistics (documents, errors, mentions per type, MB/s) as JSON here.
    #[arg(long, value_name = "PATH")]
    stats: Option<PathBuf>,
    /// Tag only the records whose position (0-based, over all inputs) modulo N is I, so that N
    /// machines can split a dump: `--shard 0/3`, `--shard 1/3`, `--shard 2/3`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// The largest record tagged (a JSONL line or a .txt document), in bytes, with an optional
    /// K, M or G suffix (powers of 1024). A larger record becomes an error record and is never
    /// held in memory.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    max_record_size: usize,
    /// Add the relation rules of this file to the default ones (repeatable; the format is in
    /// gazetteers/rules/README.md).
    #[arg(long = "relations", value_name = "PATH")]
    relation_files: Vec<PathBuf>,
    /// Do not extract relations: entities only, and no "relations" field.
    #[arg(long)]
    no_relations: bool,
    /// Build the default gazetteer's extractor afresh instead of reading it from the start-up
    /// cache. The cache (a file of a few MB written by the first run, read in a few ms instead
    /// of a 20 ms build) lives in $ALAM_CACHE_DIR, else in alam/ under the user's cache
    /// directory (~/.cache/alam on Linux). Only the executable that wrote a file reads it, so
    /// it never goes stale; it is not used with --gazetteer, --no-default-gazetteer or
    /// --no-variants.
    #[arg(long)]
    no_cache: bool,
}

fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: usize = digits.parse().map_err(|_| format!("{s:?} is not a size such as 64M"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("unknown size unit {unit:?}: use K, M or G")),
    };
    let size = n
        .checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if size == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    Ok(size)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    Jsonl,
    Brat,
    Conll,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("expected I/N such as 0/3, got {s:?}"))?;
    let i: u64 = i.trim().parse().map_err(|_| format!("shard index {i:?} is not a number"))?;
    let n: u64 = n.trim().parse().map_err(|_| format!("shard count {n:?} is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n} is out of range: need 0 <= I < N"));
    }
    Ok((i, n))
}

#[derive(Subcommand)]
enum GazetteerCommand {
    /// Print every surface form the matcher knows, one per line, sorted.
    Names {
        #[command(flatten)]
        gazetteer: GazetteerArgs,
        /// Print the folded forms the automaton holds (including the لل forms of ال-names)
        /// instead of the names as written in the files.
        #[arg(long)]
        normalized: bool,
        /// Add the entity id and type after each form, tab-separated.
        #[arg(long)]
        long: bool,
    },
    /// Validate gazetteer files; exit status 1 when any is invalid.
    ///
    /// Each file is checked alone (header, columns, types, ids, names, flags, QIDs), then all
    /// together (duplicate ids across files, parents). Names shared by entities of different
    /// types are printed as warnings.
    Check {
        /// The files to check.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
        /// Check the files together with the embedded default gazetteer.
        #[arg(long)]
        with_default: bool,
    },
}

#[derive(Args)]
struct EvalArgs {
    /// Directory of gold JSONL files (seeds/gold format). Required unless --conll is given.
    #[arg(long, value_name = "DIR", conflicts_with = "conll")]
    gold: Option<PathBuf>,
    /// `alam tag` output to score. Required unless --conll is given.
    #[arg(value_name = "PRED.jsonl", conflicts_with = "conll")]
    predictions: Option<PathBuf>,
    /// Score the extractor itself on a CoNLL benchmark (ANERcorp format: `token TAG` lines,
    /// IOB2 tags, a blank line between sentences): the tokens are joined by spaces, the
    /// sentences by newlines, the text is tagged, and exact entity chunks are scored over PERS,
    /// LOC and ORG (PER -> PERS, ORG -> ORG, GPE and LOC -> LOC; NORP, PRODUCT, EVENT and gold
    /// MISC are not scored). A mention covers the tokens it overlaps (clitics inside a token).
    #[arg(long, value_name = "FILE")]
    conll: Option<PathBuf>,
    /// With --conll: the gazetteers to tag with, as for `alam tag`.
    #[command(flatten)]
    gazetteer: GazetteerArgs,
    /// With --conll: count risky names even without context.
    #[arg(long)]
    keep_risky: bool,
    /// With --conll: do not guess person names that no gazetteer lists.
    #[arg(long)]
    no_guess: bool,
    /// With --conll: list the false positive and false negative chunks.
    #[arg(long)]
    errors: bool,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in its `mimalloc.h`, the 16th of the
/// `mi_option_t` enum in v2 and v3 alike; the `libmimalloc-sys` crate names no constant for it).
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Turns off mimalloc's purging (giving freed pages back to the OS a while after they empty:
/// `purge_delay`, 1 s in v3, times more for its arenas), unless `MIMALLOC_PURGE_DELAY` says
/// otherwise: `alam tag`'s memory is flat, so purging only
/// costs `madvise` calls and page faults to touch the pages again, and at exit it purges
/// everything (about 2 ms a run, on the critical path: 2.7 ms of 181 with two threads on 46 MB).
#[cfg(feature = "mimalloc")]
fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one option of the allocator, which mimalloc allows at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    keep_freed_pages();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("alam: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Tag(args) => tag(args),
        Command::Gazetteer(GazetteerCommand::Names { gazetteer, normalized, long }) => {
            names(&gazetteer, normalized, long)
        }
        Command::Gazetteer(GazetteerCommand::Check { paths, with_default }) => {
            check(&paths, with_default)
        }
        Command::Eval(args) => eval(args),
        Command::Graph(args) => graph(args),
    }
}

/// Where `alam tag` keeps its start-up cache: `$ALAM_CACHE_DIR`, else `alam/` in the user's
/// cache directory.
fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("ALAM_CACHE_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|dir| dir.join("alam")),
    }
}

fn load_gazetteer(args: &GazetteerArgs) -> anyhow::Result<Gazetteer> {
    if args.no_default_gazetteer && args.gazetteers.is_empty() {
        bail!("--no-default-gazetteer leaves no names: add at least one --gazetteer PATH");
    }
    // The variant rules load while the gazetteer files are parsed; errors are reported in the
    // same order as if one came after the other (the gazetteer's first).
    let (gazetteer, rules) = rayon::join(
        || -> anyhow::Result<Gazetteer> {
            let mut gazetteer = if args.no_default_gazetteer {
                Gazetteer::new()
            } else {
                Gazetteer::embedded_base().context("the embedded default gazetteer is broken")?
            };
            for path in &args.gazetteers {
                gazetteer.add_file(path)?;
            }
            gazetteer.check_parents()?;
            Ok(gazetteer)
        },
        || (!args.no_variants).then(VariantRules::embedded),
    );
    let mut gazetteer = gazetteer?;
    if let Some(rules) = rules {
        let rules = rules.context("the embedded variant rules are broken")?;
        gazetteer.apply_variants(&rules);
    }
    Ok(gazetteer)
}

fn tag(args: TagArgs) -> anyhow::Result<ExitCode> {
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let format = match args.format {
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Brat => Format::Brat,
        FormatArg::Conll => Format::Conll,
    };
    if format == Format::Brat && args.output.is_none() {
        bail!("--format brat writes one .txt and one .ann file per document: give the directory with --output DIR");
    }
    let g = &args.gazetteer;
    let cached =
        !(args.no_cache || g.no_default_gazetteer || g.no_variants) && g.gazetteers.is_empty();
    let gazetteer = if cached { None } else { Some(load_gazetteer(g)?) };
    let mut paths = args.paths;
    if paths.is_empty() {
        paths.push(PathBuf::from("-"));
    }
    let (inputs, skipped) = batch::expand_paths(&paths)?;
    let relations = if !args.no_relations {
        let mut rules = RuleSet::embedded().context("the embedded relation rules are broken")?;
        for path in &args.relation_files {
            rules.add_file(path)?;
        }
        Some(RelationExtractor::new(rules)?)
    } else if !args.relation_files.is_empty() {
        bail!("--relations and --no-relations contradict each other");
    } else {
        None
    };
    let mut builder = Extractor::builder();
    builder.require_context(!args.keep_risky).guess_persons(!args.no_guess);
    if let Some(relations) = &relations {
        // The name walks mark the words where a trigger may start, for the relations.
        builder.relations(relations);
    }
    let extractor = match (gazetteer, cache_dir()) {
        (Some(gazetteer), _) => builder.build(gazetteer)?,
        (None, None) => builder.build(Gazetteer::embedded()?)?,
        (None, Some(dir)) => {
            let (extractor, status) = builder.build_embedded_cached(&dir)?;
            if let CacheStatus::Unavailable(why) = status {
                if !args.quiet {
                    eprintln!("alam: start-up cache not used ({why}); --no-cache skips it");
                }
            }
            extractor
        }
    };
    if !skipped.is_empty() && !args.quiet {
        let shown: Vec<String> = skipped.iter().take(3).map(|p| p.display().to_string()).collect();
        let more = if skipped.len() > 3 {
            format!(" and {} more", skipped.len() - 3)
        } else {
            String::new()
        };
        eprintln!(
            "alam: skipping {} file(s) in the given directories that are not .txt or .jsonl (.gz, .zst): {}{more}",
            skipped.len(),
            shown.join(", ")
        );
    }
    let mut options = TagOptions::default();
    options.text_field = args.text_field;
    options.id_field = args.id_field;
    options.format = format;
    options.shard = args.shard;
    options.max_record_bytes = args.max_record_size;
    options.relations = relations;

    let progress = (!args.quiet && io::stderr().is_terminal()).then(|| progress_bar(&inputs));
    let report = |done: u64, bytes: u64| {
        if let Some(bar) = &progress {
            bar.set_message(format!("{done} documents, {:.1} MB", bytes as f64 / 1e6));
            if bar.length().is_some() {
                bar.set_position(bytes);
            } else {
                bar.tick();
            }
        }
    };
    let on_error = |quiet: bool| -> alam::format::ErrorCallback {
        Box::new(move |message: &str| {
            if !quiet {
                eprintln!("alam: record not tagged: {message}");
            }
        })
    };

    let mut temp: Option<(tempfile::NamedTempFile, PathBuf)> = None;
    let result = match (format, &args.output) {
        (Format::Brat, Some(dir)) => {
            let mut sink = BratSink::new(dir.clone(), on_error(args.quiet)).with_context(|| {
                format!("{}: cannot create the output directory", dir.display())
            })?;
            batch::tag_inputs(&extractor, inputs, &options, threads, &mut sink, Some(&report))
        }
        (_, Some(path)) => match output_target(path)? {
            OutputTarget::Replace(path) => {
                let dir =
                    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let file = tempfile::Builder::new()
                    .prefix(".alam-partial-")
                    .tempfile_in(dir)
                    .with_context(|| {
                        format!(
                            "{}: cannot create a temporary file next to the output",
                            dir.display()
                        )
                    })?;
                let writer = file.as_file().try_clone()?;
                temp = Some((file, path));
                let out = (writer, FILE_CHUNK);
                run_stream(&extractor, inputs, &options, threads, out, args.quiet, &report)
            }
            OutputTarget::Direct(file) => {
                let out = (file, PIPE_BUF);
                run_stream(&extractor, inputs, &options, threads, out, args.quiet, &report)
            }
        },
        (_, None) => {
            // Whole lines per write matter on a pipe; into a file (`> out.jsonl`), large
            // writes cost the kernel less.
            let out = (io::stdout(), if stdout_is_file() { FILE_CHUNK } else { PIPE_BUF });
            run_stream(&extractor, inputs, &options, threads, out, args.quiet, &report)
        }
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let stats = result?;
    // The extractor and the relation rules are hundreds of thousands of small allocations:
    // freeing them one by one takes milliseconds that the process's exit does at once.
    std::mem::forget(extractor);
    std::mem::forget(options);
    if let Some((file, path)) = temp {
        replace_output(file, &path)?;
    }
    if !args.quiet {
        eprintln!("alam: {}", stats.summary());
    }
    if let Some(path) = &args.stats {
        let json = serde_json::to_string_pretty(&stats)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("{}: cannot write the statistics", path.display()))?;
    }
    if stats.errors > 0 {
        if !args.quiet {
            eprintln!(
                "alam: {} record(s) could not be tagged: see the error records",
                stats.errors
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// How `alam tag --output PATH` writes to `PATH`.
enum OutputTarget {
    /// A regular file, or nothing yet: write a temporary file beside it and rename it over this
    /// path at the end (a symlink is followed, so the file it points to is the one replaced).
    Replace(PathBuf),
    /// A device, pipe or socket (`/dev/null`, `/dev/stdout`, a FIFO): written in place, since
    /// renaming a regular file over it would replace the device itself.
    Direct(std::fs::File),
}

/// Chooses how to write the output at `path`, failing before any tagging when it cannot work.
fn output_target(path: &Path) -> anyhow::Result<OutputTarget> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            bail!(
                "{}: is a directory (--output takes a file, except with --format brat)",
                path.display()
            )
        }
        Ok(meta) if meta.is_file() => {
            let real = std::fs::canonicalize(path)
                .with_context(|| format!("{}: cannot resolve the output path", path.display()))?;
            Ok(OutputTarget::Replace(real))
        }
        Ok(_) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("{}: cannot open the output", path.display()))?;
            Ok(OutputTarget::Direct(file))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(OutputTarget::Replace(path.to_owned())),
        Err(e) => {
            Err(e).with_context(|| format!("{}: cannot read the output path", path.display()))
        }
    }
}

/// Whether standard output is a regular file (`alam tag > out.jsonl`), not a pipe or terminal.
fn stdout_is_file() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .and_then(|fd| std::fs::File::from(fd).metadata().ok())
            .is_some_and(|meta| meta.is_file())
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Moves the complete output `file` to `path`. Over an existing file, ext4 flushes the whole
/// new file to disk inside `rename` (its `auto_da_alloc` guard for files replaced by renaming):
/// 20-45 ms for 59 MB of output, a tenth of a one-thread run on 46 MB of news and a fifth of a
/// two-thread one. So on Linux the two files are swapped atomically instead (`renameat2` with
/// `RENAME_EXCHANGE`: `path` holds the old or the new output at every moment, as with a rename),
/// and the old output, now at the temporary path, is removed when `file` drops. Where the swap
/// is not supported (another system or file system, or `path` gone), a plain rename.
fn replace_output(file: tempfile::NamedTempFile, path: &Path) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if path.exists()
            && renameat_with(CWD, file.path(), CWD, path, RenameFlags::EXCHANGE).is_ok()
        {
            let old = file.path().to_owned();
            return file.close().with_context(|| {
                format!("{}: cannot remove the previous output, moved here", old.display())
            });
        }
    }
    file.persist(path)
        .with_context(|| format!("{}: cannot move the output into place", path.display()))?;
    Ok(())
}

/// Tags into a stream, JSONL or CoNLL, written in whole lines of at most `chunk` bytes a write.
fn run_stream<W: Write + Send>(
    extractor: &Extractor,
    inputs: Vec<batch::Input>,
    options: &TagOptions,
    threads: usize,
    (out, chunk): (W, usize),
    quiet: bool,
    report: &(dyn Fn(u64, u64) + Sync),
) -> alam::Result<Stats> {
    if options.format == Format::Conll {
        let on_error: alam::format::ErrorCallback = Box::new(move |message: &str| {
            if !quiet {
                eprintln!("alam: record not tagged: {message}");
            }
        });
        let mut sink = ConllSink::with_chunk(out, on_error, chunk);
        batch::tag_inputs(extractor, inputs, options, threads, &mut sink, Some(report))
    } else {
        let mut sink = JsonlSink::with_chunk(out, chunk);
        batch::tag_inputs(extractor, inputs, options, threads, &mut sink, Some(report))
    }
}

fn progress_bar(inputs: &[batch::Input]) -> ProgressBar {
    let sizes: Option<u64> = inputs.iter().map(|i| i.file_size()).sum();
    let compressed = inputs.iter().any(batch::Input::is_compressed);
    match sizes {
        Some(total) if !compressed => {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        _ => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    }
}

fn names(args: &GazetteerArgs, normalized: bool, long: bool) -> anyhow::Result<ExitCode> {
    let gazetteer = load_gazetteer(args)?;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    if normalized {
        let extractor = Extractor::new(gazetteer)?;
        for (surface, entities) in extractor.surfaces() {
            for e in entities {
                rows.push((surface.to_string(), e.id().to_string(), e.kind().to_string()));
            }
        }
    } else {
        for e in gazetteer.entities() {
            for name in e.names() {
                rows.push((name.text().to_string(), e.id().to_string(), e.kind().to_string()));
            }
        }
    }
    rows.sort();
    if !long {
        rows.dedup_by(|a, b| a.0 == b.0);
    } else {
        rows.dedup();
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (surface, id, kind) in rows {
        if long {
            writeln!(out, "{surface}\t{id}\t{kind}")?;
        } else {
            writeln!(out, "{surface}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn check(paths: &[PathBuf], with_default: bool) -> anyhow::Result<ExitCode> {
    let mut invalid = false;
    for path in paths {
        let mut one = Gazetteer::new();
        match one.add_file(path) {
            Ok(()) => {
                let names: usize = one.entities().iter().map(|e| e.names().count()).sum();
                println!("{}: ok, {} entities, {} names", path.display(), one.len(), names);
            }
            Err(e) => {
                println!("{e}");
                invalid = true;
            }
        }
    }
    if invalid {
        return Ok(ExitCode::from(1));
    }
    let mut all = if with_default { Gazetteer::embedded()? } else { Gazetteer::new() };
    let together =
        paths.iter().try_for_each(|p| all.add_file(p)).and_then(|()| all.check_parents());
    if let Err(e) = together {
        println!("{e}");
        return Ok(ExitCode::from(1));
    }
    for conflict in all.conflicts() {
        println!("warning: {conflict}");
    }
    Ok(ExitCode::SUCCESS)
}

fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    if let Some(conll) = &args.conll {
        let gazetteer = load_gazetteer(&args.gazetteer)?;
        let extractor = Extractor::builder()
            .require_context(!args.keep_risky)
            .guess_persons(!args.no_guess)
            .build(gazetteer)?;
        let report = alam::conll_eval::evaluate_file(&extractor, conll, args.errors)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.to_table());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(gold), Some(predictions)) = (&args.gold, &args.predictions) else {
        bail!("give --gold DIR and PRED.jsonl (alam tag output) to score, or --conll FILE to score the extractor on a CoNLL benchmark");
    };
    let report = alam::eval::evaluate_files(gold, predictions)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(ExitCode::SUCCESS)
}

fn graph(args: GraphArgs) -> anyhow::Result<ExitCode> {
    let mut builder = alam::graph::GraphBuilder::new();
    let mut inputs = args.inputs;
    if inputs.is_empty() {
        inputs.push(PathBuf::from("-"));
    }
    for path in &inputs {
        if path == Path::new("-") {
            builder.read(io::stdin().lock())?;
        } else {
            let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
            builder.read(io::BufReader::new(file))?;
        }
    }
    let graph = builder.finish();
    graph.write_dir(&args.output)?;
    eprintln!("alam: wrote graph.json, nodes.csv and edges.csv to {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(all(test, feature = "mimalloc"))]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;
    use libmimalloc_sys::mi_option_get;

    /// Index 15 is mimalloc's purge delay: its default (1000 ms in v3) between those of its
    /// neighbours (the deprecated eager-commit delay, 1, and the NUMA node count, 0), and
    /// setting it through the index reads back.
    #[test]
    fn option_15_is_mimallocs_purge_delay() {
        let vars = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY", "MIMALLOC_USE_NUMA_NODES"];
        if vars.iter().any(|v| std::env::var_os(v).is_some()) {
            return; // The defaults are not in force.
        }
        // SAFETY: reads options of the allocator.
        let around = unsafe { [14, MI_OPTION_PURGE_DELAY, 16].map(|o| mi_option_get(o)) };
        assert_eq!(around, [1, 1000, 0]);
        super::keep_freed_pages();
        // SAFETY: as above.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, -1);
    }

    /// The global allocator honours every layout: each block aligned as asked (up to a page),
    /// of the size asked (written to its last byte), zeroed when asked, and its bytes kept
    /// through a `realloc` that grows or shrinks it; sizes 1 to 300, the small bins' edges among
    /// them.
    #[test]
    fn the_allocator_aligns_every_layout() {
        use std::alloc::{GlobalAlloc, Layout};
        let a = super::MiMalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in 1..=300 {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: the layouts have a nonzero size; each block is used within its size
                // and freed once, with its layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(
                        !p.is_null() && (p as usize).is_multiple_of(align),
                        "{size} by {align}: {p:?}"
                    );
                    p.write_bytes(0xA5, size);
                    let q = a.alloc_zeroed(layout);
                    assert!(
                        !q.is_null() && (q as usize).is_multiple_of(align),
                        "zeroed {size} by {align}"
                    );
                    assert!((0..size).all(|i| *q.add(i) == 0), "not zeroed: {size} by {align}");
                    // Grown, then shrunk: the bytes written before each step stay.
                    q.write_bytes(0x5A, size);
                    let mut old = layout;
                    let mut block = q;
                    for new_size in [size * 3, size / 2 + 1] {
                        block = a.realloc(block, old, new_size);
                        assert!(
                            !block.is_null() && (block as usize).is_multiple_of(align),
                            "realloc {size} by {align} to {new_size}"
                        );
                        let kept = size.min(new_size);
                        assert!((0..kept).all(|i| *block.add(i) == 0x5A), "realloc lost bytes");
                        old = Layout::from_size_align(new_size, align).unwrap();
                    }
                    a.dealloc(block, old);
                    assert!((0..size).all(|i| *p.add(i) == 0xA5));
                    a.dealloc(p, layout);
                }
            }
        }
    }
}
