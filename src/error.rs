//! The library's error type.
//!
//! [`Error`] is opaque: callers match on [`Error::kind`] when they need to react to a particular
//! failure, and otherwise print it. Every message names where the problem is (file and line for
//! gazetteer data) and what is wrong, in lower case without a final period.

use std::fmt;
use std::path::PathBuf;

/// A `Result` whose error is alam's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from loading data, building an extractor or reading input.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong, for callers that need to tell failures apart.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading a file failed.
    Io {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A gazetteer file is malformed.
    Gazetteer {
        /// The file (or the name given to in-memory data).
        file: String,
        /// One-based line number; 0 when the problem is not tied to a line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An input cannot be used: unsupported kind, missing.
    Input {
        /// The input path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A relation rule file is malformed.
    Rule {
        /// The file (or the name given to in-memory data).
        file: String,
        /// One-based line number; 0 when the problem is not tied to a line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A text is longer than the extractor can address (offsets are kept as `u32`).
    TextTooLarge {
        /// The length of the text in bytes.
        len: usize,
    },
    /// A gold or prediction file used by evaluation is malformed.
    Eval {
        /// The file.
        file: String,
        /// One-based line number; 0 when the problem is not tied to a line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A folded text given with a text is not its fold (it was folded from a text of another
    /// length).
    FoldMismatch {
        /// The length of the text, in bytes.
        text: usize,
        /// The length of the text the fold was made from.
        folded_from: usize,
    },
    /// The automaton could not be built.
    Automaton(aho_corasick::BuildError),
    /// The trie of the relation triggers could not be built.
    Trie(crawdad::errors::CrawdadError),
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn io(path: Option<PathBuf>, source: std::io::Error) -> Error {
        Error { kind: ErrorKind::Io { path, source } }
    }

    pub(crate) fn gazetteer(file: &str, line: usize, message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Gazetteer { file: file.to_string(), line, message: message.into() },
        }
    }

    pub(crate) fn input(path: &std::path::Path, message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Input { path: path.to_path_buf(), message: message.into() } }
    }

    pub(crate) fn rule(file: &str, line: usize, message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Rule { file: file.to_string(), line, message: message.into() } }
    }

    pub(crate) fn text_too_large(len: usize) -> Error {
        Error { kind: ErrorKind::TextTooLarge { len } }
    }

    pub(crate) fn eval(file: &str, line: usize, message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Eval { file: file.to_string(), line, message: message.into() } }
    }

    pub(crate) fn automaton(err: aho_corasick::BuildError) -> Error {
        Error { kind: ErrorKind::Automaton(err) }
    }

    pub(crate) fn fold_mismatch(text: usize, folded_from: usize) -> Error {
        Error { kind: ErrorKind::FoldMismatch { text, folded_from } }
    }

    pub(crate) fn trie(err: crawdad::errors::CrawdadError) -> Error {
        Error { kind: ErrorKind::Trie(err) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io { path: Some(path), source } => {
                write!(f, "{}: {}", path.display(), source)
            }
            ErrorKind::Io { path: None, source } => write!(f, "{source}"),
            ErrorKind::Input { path, message } => write!(f, "{}: {message}", path.display()),
            ErrorKind::Gazetteer { file, line: 0, message }
            | ErrorKind::Eval { file, line: 0, message }
            | ErrorKind::Rule { file, line: 0, message } => write!(f, "{file}: {message}"),
            ErrorKind::Gazetteer { file, line, message }
            | ErrorKind::Eval { file, line, message }
            | ErrorKind::Rule { file, line, message } => write!(f, "{file}:{line}: {message}"),
            ErrorKind::TextTooLarge { len } => write!(
                f,
                "text of {len} bytes is too large: the limit is {} bytes (4 GiB - 1)",
                u32::MAX
            ),
            ErrorKind::Automaton(err) => write!(f, "cannot build the name automaton: {err}"),
            ErrorKind::Trie(err) => write!(f, "cannot build the trigger trie: {err}"),
            ErrorKind::FoldMismatch { text, folded_from } => write!(
                f,
                "the folded text was made from a text of {folded_from} bytes, not from this one of \
                 {text} bytes"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            ErrorKind::Automaton(err) => Some(err),
            _ => None,
        }
    }
}
