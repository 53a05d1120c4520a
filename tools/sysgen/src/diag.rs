//! Errors about a description, naming the file, the key and the reason.
//!
//! Every problem `bulkhead-sysgen` finds becomes one [`Problem`]: the file it
//! is in, the dotted key that is wrong (`partition.counter.code.base`,
//! `schedule[0].windows[2].partition`), a sentence saying why, and, when the
//! TOML parser gave one, the byte span of the offending value so
//! [`miette`] can underline it.

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One thing wrong with a description.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// The key, dotted.
    pub key: String,
    /// Why it is wrong.
    pub reason: String,
    /// Where in the file, if known.
    pub span: Option<Range<usize>>,
    source: Option<Arc<NamedSource<String>>>,
}

impl Problem {
    /// A problem with `key` of `file`.
    pub fn new(file: &Path, key: impl Into<String>, reason: impl Into<String>) -> Problem {
        Problem { file: file.to_owned(), key: key.into(), reason: reason.into(), span: None, source: None }
    }

    /// Adds the location of the offending text.
    pub fn at(mut self, span: Range<usize>) -> Problem {
        self.span = Some(span);
        self
    }

    /// Attaches the file's text so the span can be shown.
    pub fn with_source(mut self, source: &Arc<NamedSource<String>>) -> Problem {
        self.source = Some(source.clone());
        self
    }

    /// `file: key: reason`, the one-line form tests compare.
    pub fn line(&self) -> String {
        format!("{}: {}: {}", self.file.display(), self.key, self.reason)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: `{}`: {}", self.file.display(), self.key, self.reason)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_deref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(Some(self.key.clone()), span))))
    }
}

/// All the problems found in one pass, in the order of the file.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Records a problem.
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    /// Whether none were found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by position and returns them as an error, or `Ok` when empty.
    pub fn into_result(mut self) -> Result<(), Problems> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0
            .sort_by_key(|problem| (problem.file.clone(), problem.span.as_ref().map_or(usize::MAX, |span| span.start)));
        Err(self)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.0 {
            writeln!(formatter, "error: {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}
