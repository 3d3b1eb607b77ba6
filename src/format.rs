//! Output formats besides JSONL: brat standoff and CoNLL.
//!
//! - **brat**: per document, `<id>.txt` (the text as is) and `<id>.ann` with one `T` line per
//!   mention (`T1<TAB>GPE 12 18<TAB>موسكو`, code-point offsets as brat expects; a mention that
//!   crosses a line break is written as fragments `0 8;9 13`) and an `AnnotatorNotes` line with
//!   the entity id (`#1<TAB>AnnotatorNotes T1<TAB>moscow`).
//! - **CoNLL**: a `-DOCSTART-<TAB>id<TAB><TAB>O` line, then one token per line:
//!   `token<TAB>start<TAB>end<TAB>tag`, with UTF-8 byte offsets into the original text and a BIO
//!   tag (`B-GPE`, `I-GPE`, `O`); tokens are runs of letters, digits and marks or single
//!   punctuation characters, cut at mention boundaries (so a proclitic is its own `O` token); a
//!   blank line follows each sentence (after . ! ؟ ? and line breaks) and ends the document.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use crate::batch::{LineWriter, Output, Sink};
use crate::chars::is_word_char;
use crate::extractor::Mention;

/// The brat `.ann` content for a document.
pub(crate) fn brat_ann(text: &str, mentions: &[Mention<'_>]) -> String {
    let mut ann = String::new();
    for (i, m) in mentions.iter().enumerate() {
        let n = i + 1;
        // Fragments split at line breaks, in code points.
        let mut fragments = Vec::new();
        let mut char_pos = m.char_start;
        let mut start = char_pos;
        for c in m.text(text).chars() {
            if c == '\n' || c == '\r' {
                if char_pos > start {
                    fragments.push((start, char_pos));
                }
                start = char_pos + 1;
            }
            char_pos += 1;
        }
        if char_pos > start {
            fragments.push((start, char_pos));
        }
        let spans: Vec<String> = fragments.iter().map(|(s, e)| format!("{s} {e}")).collect();
        let shown: String =
            m.text(text).chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
        let _ = writeln!(ann, "T{n}\t{} {}\t{shown}", m.kind(), spans.join(";"));
        let _ = writeln!(ann, "#{n}\tAnnotatorNotes T{n}\t{}", m.entity.id());
    }
    ann
}

/// The CoNLL block for a document.
pub(crate) fn conll(id: &str, text: &str, mentions: &[Mention<'_>]) -> String {
    let safe_id: String = id.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    let mut out = format!("-DOCSTART-\t{safe_id}\t\tO\n\n");
    let mut m = mentions.iter().peekable();
    let mut sentence_open = false;
    let mut token_start: Option<usize> = None;
    let cuts: HashSet<usize> = mentions.iter().flat_map(|m| [m.start, m.end]).collect();

    let emit = |out: &mut String,
                start: usize,
                end: usize,
                m: &mut std::iter::Peekable<std::slice::Iter<'_, Mention<'_>>>| {
        while m.peek().is_some_and(|x| x.end <= start) {
            m.next();
        }
        let tag = match m.peek() {
            Some(x) if x.start <= start && end <= x.end => {
                let prefix = if x.start == start { "B" } else { "I" };
                format!("{prefix}-{}", x.kind())
            }
            _ => "O".to_string(),
        };
        let _ = writeln!(out, "{}\t{start}\t{end}\t{tag}", &text[start..end]);
    };
    for (i, c) in text.char_indices() {
        if cuts.contains(&i) {
            if let Some(s) = token_start.take() {
                emit(&mut out, s, i, &mut m);
            }
        }
        if is_word_char(c) {
            if token_start.is_none() {
                token_start = Some(i);
                sentence_open = true;
            }
            continue;
        }
        if let Some(s) = token_start.take() {
            emit(&mut out, s, i, &mut m);
        }
        if c.is_whitespace() || c.is_control() || is_invisible(c) {
            if (c == '\n' || c == '\r') && sentence_open {
                out.push('\n');
                sentence_open = false;
            }
            continue;
        }
        emit(&mut out, i, i + c.len_utf8(), &mut m);
        sentence_open = true;
        if matches!(c, '.' | '!' | '؟' | '?') {
            out.push('\n');
            sentence_open = false;
        }
    }
    if let Some(s) = token_start.take() {
        emit(&mut out, s, text.len(), &mut m);
    }
    if sentence_open {
        out.push('\n');
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{061C}')
}

/// Writes brat `<id>.txt` / `<id>.ann` pairs into a directory. Ids are made safe as file names
/// (path separators and control characters become `_`), and a repeated id gets a `-2`, `-3`...
/// suffix. Error records go to a callback (brat has no place for them).
pub struct BratSink {
    dir: PathBuf,
    used: HashSet<String>,
    on_error: ErrorCallback,
}

/// Receives the message (`file:line: error`) of each record that could not be tagged.
pub type ErrorCallback = Box<dyn FnMut(&str) + Send>;

impl BratSink {
    /// A sink into `dir`, which is created if missing.
    ///
    /// # Errors
    /// Fails when the directory cannot be created.
    pub fn new(dir: PathBuf, on_error: ErrorCallback) -> io::Result<BratSink> {
        std::fs::create_dir_all(&dir)?;
        Ok(BratSink { dir, used: HashSet::new(), on_error })
    }

    fn file_stem(&mut self, id: &str) -> String {
        let mut stem: String = id
            .chars()
            .map(|c| if c == '/' || c == '\\' || c.is_control() || c == ':' { '_' } else { c })
            .collect();
        if stem.is_empty() || stem.starts_with('.') {
            stem.insert(0, '_');
        }
        let mut candidate = stem.clone();
        let mut n = 1;
        while !self.used.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{stem}-{n}");
        }
        candidate
    }
}

impl Sink for BratSink {
    fn write(&mut self, output: &Output) -> io::Result<()> {
        match output {
            Output::Brat { id, text, ann } => {
                let stem = self.file_stem(id);
                std::fs::write(self.dir.join(format!("{stem}.txt")), text)?;
                std::fs::write(self.dir.join(format!("{stem}.ann")), ann)
            }
            Output::Error { message, .. } => {
                (self.on_error)(message);
                Ok(())
            }
            _ => Err(io::Error::other("a BratSink takes brat output only")),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes CoNLL blocks to a writer; error records go to a callback.
pub struct ConllSink<W: io::Write + Send> {
    out: LineWriter<W>,
    on_error: ErrorCallback,
}

impl<W: io::Write + Send> ConllSink<W> {
    /// A sink over `out`, written in whole lines (see [`LineWriter`]).
    pub fn new(out: W, on_error: ErrorCallback) -> Self {
        ConllSink { out: LineWriter::new(out), on_error }
    }
}

impl<W: io::Write + Send> Sink for ConllSink<W> {
    fn write(&mut self, output: &Output) -> io::Result<()> {
        match output {
            Output::Conll(block) => self.out.write_lines(block.as_bytes()),
            Output::Error { message, .. } => {
                (self.on_error)(message);
                Ok(())
            }
            _ => Err(io::Error::other("a ConllSink takes CoNLL output only")),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
