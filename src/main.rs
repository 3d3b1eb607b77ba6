//! The `alam` command line: a thin layer over the library. Flags are parsed here, the work is
//! done by `alam::Extractor`, and library errors become messages and exit codes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use alam::{Extractor, Gazetteer};

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
    /// Score `alam tag` output against gold annotations (strict and partial P/R/F1, linking).
    ///
    /// Gold is a directory of JSONL files in the seeds/gold format (code-point offsets).
    /// Strict: exact span and type. Partial: overlapping span and same type. Linking: each gold
    /// entity (slug and type) should get exactly one predicted id.
    Eval(EvalArgs),
}

#[derive(Args)]
struct GazetteerArgs {
    /// Add the entities of this gazetteer TSV file (repeatable).
    #[arg(long = "gazetteer", short = 'g', value_name = "PATH")]
    gazetteers: Vec<PathBuf>,
    /// Do not load the default gazetteer embedded in alam.
    #[arg(long)]
    no_default_gazetteer: bool,
}

#[derive(Args)]
struct TagArgs {
    /// Input files (.txt or .jsonl); `-` or nothing reads JSONL from standard input.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    gazetteer: GazetteerArgs,
    /// Count risky names (short names, bare surnames) even without context.
    #[arg(long)]
    keep_risky: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
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
    /// Directory of gold JSONL files (seeds/gold format).
    #[arg(long, value_name = "DIR")]
    gold: PathBuf,
    /// `alam tag` output to score.
    #[arg(value_name = "PRED.jsonl")]
    predictions: PathBuf,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
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
    }
}

fn load_gazetteer(args: &GazetteerArgs) -> anyhow::Result<Gazetteer> {
    let mut gazetteer = if args.no_default_gazetteer {
        if args.gazetteers.is_empty() {
            bail!("--no-default-gazetteer leaves no names: add at least one --gazetteer PATH");
        }
        Gazetteer::new()
    } else {
        Gazetteer::embedded().context("the embedded default gazetteer is broken")?
    };
    for path in &args.gazetteers {
        gazetteer.add_file(path)?;
    }
    gazetteer.check_parents()?;
    Ok(gazetteer)
}

/// One unit of input: a whole .txt document, or one JSONL line.
enum Job {
    Text { file: PathBuf, id: String, bytes: Vec<u8> },
    Line { file: Option<PathBuf>, line: usize, bytes: Vec<u8> },
}

#[derive(Serialize)]
struct DocOut<'a> {
    id: &'a Value,
    entities: Vec<alam::MentionRecord<'a>>,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    error: String,
}

/// Input records per parallel batch: enough to keep the cores busy, small enough to bound memory.
const BATCH_RECORDS: usize = 1024;
const BATCH_BYTES: usize = 8 << 20;

fn tag(args: TagArgs) -> anyhow::Result<ExitCode> {
    let gazetteer = load_gazetteer(&args.gazetteer)?;
    let extractor = Extractor::builder().require_context(!args.keep_risky).build(gazetteer)?;
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        pool = pool.num_threads(n);
    }
    let pool = pool.build().context("cannot start the worker threads")?;

    let mut paths = args.paths;
    if paths.is_empty() {
        paths.push(PathBuf::from("-"));
    }
    for path in &paths {
        let ok =
            path == Path::new("-") || path.extension().is_some_and(|x| x == "txt" || x == "jsonl");
        if !ok {
            bail!(
                "{}: unsupported input: expected a .txt or .jsonl file, or - for standard input",
                path.display()
            );
        }
        if path != Path::new("-") && !path.is_file() {
            bail!("{}: no such file", path.display());
        }
    }

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut errors = 0usize;
    let mut batch: Vec<Job> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut flush = |batch: &mut Vec<Job>, out: &mut BufWriter<_>| -> anyhow::Result<()> {
        let lines: Vec<(String, bool)> =
            pool.install(|| batch.par_iter().map(|job| tag_job(&extractor, job)).collect());
        for (line, is_error) in lines {
            errors += usize::from(is_error);
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        batch.clear();
        Ok(())
    };
    for path in &paths {
        if path == Path::new("-") || path.extension().is_some_and(|x| x == "jsonl") {
            let (reader, file): (Box<dyn Read>, Option<PathBuf>) = if path == Path::new("-") {
                (Box::new(io::stdin().lock()), None)
            } else {
                let f = File::open(path).with_context(|| format!("{}", path.display()))?;
                (Box::new(f), Some(path.clone()))
            };
            let mut reader = BufReader::with_capacity(1 << 16, reader);
            let mut line = 0usize;
            loop {
                let mut bytes = Vec::new();
                let n = reader.read_until(b'\n', &mut bytes).with_context(|| {
                    format!("{}: read error after line {line}", display(file.as_deref()))
                })?;
                if n == 0 {
                    break;
                }
                line += 1;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                batch_bytes += bytes.len();
                batch.push(Job::Line { file: file.clone(), line, bytes });
                if batch.len() >= BATCH_RECORDS || batch_bytes >= BATCH_BYTES {
                    flush(&mut batch, &mut out)?;
                    batch_bytes = 0;
                }
            }
        } else {
            let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            let id =
                path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            batch_bytes += bytes.len();
            batch.push(Job::Text { file: path.clone(), id, bytes });
            if batch.len() >= BATCH_RECORDS || batch_bytes >= BATCH_BYTES {
                flush(&mut batch, &mut out)?;
                batch_bytes = 0;
            }
        }
    }
    flush(&mut batch, &mut out)?;
    out.flush()?;
    if errors > 0 {
        eprintln!(
            "alam: {errors} record(s) could not be tagged: see the error records in the output"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn display(file: Option<&Path>) -> String {
    file.map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string())
}

/// Tags one job and returns its output line and whether it is an error record.
fn tag_job(extractor: &Extractor, job: &Job) -> (String, bool) {
    match job {
        Job::Text { file, id, bytes } => {
            let id = Value::String(id.clone());
            let file = Some(file.display().to_string());
            match std::str::from_utf8(bytes) {
                Ok(text) => tag_text(extractor, &id, text, file, None),
                Err(e) => error_line(file, None, Some(&id), format!("invalid UTF-8: {e}")),
            }
        }
        Job::Line { file, line, bytes } => {
            let file = file.as_ref().map(|p| p.display().to_string());
            let Ok(text) = std::str::from_utf8(bytes) else {
                return error_line(file, Some(*line), None, "invalid UTF-8".into());
            };
            if text.trim().is_empty() {
                return error_line(
                    file,
                    Some(*line),
                    None,
                    "empty line: expected a JSON record".into(),
                );
            }
            let record: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => return error_line(file, Some(*line), None, format!("invalid JSON: {e}")),
            };
            let Value::Object(map) = &record else {
                return error_line(file, Some(*line), None, "expected a JSON object".into());
            };
            let id = map.get("id").cloned().unwrap_or_else(|| Value::from(*line));
            match map.get("text") {
                Some(Value::String(text)) => tag_text(extractor, &id, text, file, Some(*line)),
                Some(_) => {
                    error_line(file, Some(*line), Some(&id), "\"text\" is not a string".into())
                }
                None => error_line(file, Some(*line), Some(&id), "missing \"text\" field".into()),
            }
        }
    }
}

fn tag_text(
    extractor: &Extractor,
    id: &Value,
    text: &str,
    file: Option<String>,
    line: Option<usize>,
) -> (String, bool) {
    match extractor.extract(text) {
        Ok(mentions) => {
            let entities = mentions.iter().map(|m| m.to_record(text)).collect();
            let out = DocOut { id, entities };
            (
                serde_json::to_string(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
                false,
            )
        }
        Err(e) => error_line(file, line, Some(id), e.to_string()),
    }
}

fn error_line(
    file: Option<String>,
    line: Option<usize>,
    id: Option<&Value>,
    error: String,
) -> (String, bool) {
    let out = ErrorOut { file, line, id, error };
    (serde_json::to_string(&out).unwrap_or_else(|_| "{\"error\":\"unserializable\"}".into()), true)
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
    let report = alam::eval::evaluate_files(&args.gold, &args.predictions)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(ExitCode::SUCCESS)
}
