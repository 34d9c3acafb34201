//! What is wrong with a declared file: every problem at once, each at its line, read like a
//! compiler's `plugins.toml:12: ...`.

use std::fmt;

/// One problem of a declared file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The 1-based line the problem is at (the value at fault, else its key or its entry).
    pub line: usize,
    /// What is wrong and what to write instead, lowercase. Never holds a secret value.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

/// Every problem of a declared file, sorted by line, so one review round fixes them all
/// (the file is applied from CI: a first-error-only report costs a pipeline run per mistake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileErrors {
    /// The file's name as given to [`DeclaredFile::parse`](super::DeclaredFile::parse).
    pub source: String,
    /// The problems, by line (problems on one line in the order they were found).
    pub errors: Vec<FileError>,
}

impl FileErrors {
    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there is none (never, for a returned error).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One problem a line: `plugins.toml:12: message`.
impl fmt::Display for FileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{error}", self.source)?;
        }
        Ok(())
    }
}

impl std::error::Error for FileErrors {}

/// Byte offsets → 1-based lines of one text.
pub(crate) struct Lines {
    /// The offset of each line break.
    breaks: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        Lines {
            breaks: text.match_indices('\n').map(|(at, _)| at).collect(),
        }
    }

    /// The line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.breaks.partition_point(|&at| at < offset) + 1
    }
}

/// Collects problems while the whole file is read.
pub(crate) struct Collector {
    errors: Vec<FileError>,
}

impl Collector {
    pub(crate) fn new() -> Collector {
        Collector { errors: Vec::new() }
    }

    pub(crate) fn add(&mut self, line: usize, message: impl Into<String>) {
        self.errors.push(FileError {
            line,
            message: message.into(),
        });
    }

    pub(crate) fn count(&self) -> usize {
        self.errors.len()
    }

    /// `Ok(value)` when nothing was found, else every problem by line.
    pub(crate) fn finish<T>(self, source: &str, value: T) -> Result<T, FileErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.into_errors(source))
        }
    }

    /// The problems found so far, by line.
    pub(crate) fn into_errors(mut self, source: &str) -> FileErrors {
        self.errors.sort_by_key(|error| error.line);
        FileErrors {
            source: source.to_owned(),
            errors: self.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_a_break_belongs_to_its_line() {
        let lines = Lines::new("a\nbc\n\nd");
        assert_eq!(lines.line(0), 1);
        assert_eq!(lines.line(1), 1);
        assert_eq!(lines.line(2), 2);
        assert_eq!(lines.line(5), 3);
        assert_eq!(lines.line(6), 4);
    }

    #[test]
    fn errors_read_by_line_with_the_file_name() {
        let mut collector = Collector::new();
        collector.add(12, "second");
        collector.add(3, "first");
        collector.add(12, "third");
        let errors = collector.finish("plugins.toml", ()).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "plugins.toml:3: first\nplugins.toml:12: second\nplugins.toml:12: third"
        );
        assert_eq!(Collector::new().finish("x", 1), Ok(1));
    }
}
