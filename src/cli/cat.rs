//! `otlp-arrow cat PATH...`: prints the rows of stored files, as an aligned table or as JSON
//! lines.
//!
//! What it reads:
//!
//! - a **file**: that file, whatever its name (its signal is taken from its name when it is one
//!   of ours, else from its schema);
//! - a **directory**: every file of ours in it and in its `traces/`, `metrics/` and `logs/`
//!   subdirectories (so both `otlp-data/` and `otlp-data/traces/` work), per signal in
//!   creation order ([`files::list`]). Other files are ignored.
//!
//! Finalized `.arrow` files and in-progress `.arrow.partial` files are both read. A file is
//! read into memory first and only ever opened for reading, so a file the service is writing is
//! never disturbed: of a `.partial`, the complete record batches written so far are printed,
//! and the torn batch being written (if any) is skipped with a note on stderr. A finalized file
//! that does not read to its end is an error.
//!
//! Output (stdout):
//!
//! - `table`: per record batch, a `# <path> (<signal>, finalized|in progress): batch N, R rows`
//!   line, a header line of column names, then one line per row, columns separated by two
//!   spaces. Columns whose every value in the batch is empty (null, `""`, 0, false, `[]`, `{}`)
//!   are left out unless `--all-columns` is given. Cells: see [`render`].
//! - `jsonl`: one JSON object per row, keys the column names in schema order, nothing else on
//!   stdout. Times are integer nanoseconds since the Unix epoch, ids hex strings.
//!
//! Notes and errors go to stderr. [`cat`] returns how many files could not be read; the binary
//! exits 1 when that is not zero.
#![forbid(unsafe_code)]

use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_schema::Schema;

use super::render::{self, Value};
use crate::arrow::files::{self, FileName, FileState};
use crate::arrow::schema;
use crate::signal::Signal;

/// How rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CatFormat {
    /// An aligned table per record batch.
    #[default]
    Table,
    /// One JSON object per row.
    Jsonl,
}

/// What `cat` prints.
#[derive(Debug, Clone, Default)]
pub struct CatOptions {
    /// Table or JSON lines.
    pub format: CatFormat,
    /// Only files of this signal.
    pub signal: Option<Signal>,
    /// Table: keep columns that are empty in every row.
    pub all_columns: bool,
}

/// What `cat` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatSummary {
    /// Files read (wholly, or their complete prefix for in-progress files).
    pub files: u64,
    /// Rows printed.
    pub rows: u64,
    /// Paths or files that could not be read (each reported on stderr).
    pub errors: u64,
}

/// One file to print.
#[derive(Debug, Clone)]
struct Source {
    path: PathBuf,
    /// From the name, when the name is ours.
    signal: Option<Signal>,
    /// From the name; a name that is not ours counts as finalized.
    state: FileState,
}

/// Prints the rows of every file under `paths` to `out`; notes and errors to `err`.
///
/// # Errors
/// Only write errors on `out` or `err` (a closed pipe, for instance); unreadable files are
/// reported on `err` and counted in [`CatSummary::errors`].
pub fn cat(
    paths: &[PathBuf],
    options: &CatOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<CatSummary> {
    let mut summary = CatSummary::default();
    for path in paths {
        let sources = match discover(path) {
            Ok(sources) => sources,
            Err(message) => {
                writeln!(err, "otlp-arrow cat: {message}")?;
                summary.errors += 1;
                continue;
            }
        };
        for source in sources {
            if options.signal.is_some()
                && source.signal.is_some()
                && source.signal != options.signal
            {
                continue;
            }
            print_file(&source, options, out, err, &mut summary)?;
        }
    }
    out.flush()?;
    Ok(summary)
}

/// The files `path` names (see the module docs).
fn discover(path: &Path) -> Result<Vec<Source>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_dir() {
        let parsed = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(FileName::parse);
        let state = match parsed {
            Some((_, state)) => state,
            None if path.to_string_lossy().ends_with(files::PARTIAL_SUFFIX) => {
                FileState::InProgress
            }
            None => FileState::Finalized,
        };
        return Ok(vec![Source {
            path: path.to_owned(),
            signal: parsed.map(|(name, _)| name.signal()),
            state,
        }]);
    }
    let mut out = Vec::new();
    for signal in Signal::ALL {
        let mut listed = Vec::new();
        for dir in [path.to_owned(), path.join(signal.as_str())] {
            if !dir.is_dir() {
                continue;
            }
            listed.extend(files::list(&dir, signal).map_err(|e| e.to_string())?);
        }
        listed.sort_by_key(|f| (f.name, f.state == FileState::InProgress));
        out.extend(listed.into_iter().map(|f| Source {
            path: f.path,
            signal: Some(signal),
            state: f.state,
        }));
    }
    Ok(out)
}

/// The signal whose schema `schema` is, if any.
fn signal_of_schema(schema: &Schema) -> Option<Signal> {
    Signal::ALL.into_iter().find(|s| {
        let ours = match s {
            Signal::Traces => schema::traces(),
            Signal::Metrics => schema::metrics(),
            Signal::Logs => schema::logs(),
        };
        ours.fields() == schema.fields()
    })
}

fn print_file(
    source: &Source,
    options: &CatOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
    summary: &mut CatSummary,
) -> io::Result<()> {
    let path = source.path.display();
    let in_progress = source.state == FileState::InProgress;
    // A snapshot in memory: the file is opened read-only, once, and never held open.
    let bytes = match std::fs::read(&source.path) {
        Ok(bytes) => bytes,
        Err(e) => {
            writeln!(err, "otlp-arrow cat: cannot read {path}: {e}")?;
            summary.errors += 1;
            return Ok(());
        }
    };
    let reader = match StreamReader::try_new(Cursor::new(bytes), None) {
        Ok(reader) => reader,
        Err(_) if in_progress => {
            writeln!(
                err,
                "otlp-arrow cat: {path}: in progress, no complete schema yet; nothing to print"
            )?;
            summary.files += 1;
            return Ok(());
        }
        Err(e) => {
            writeln!(
                err,
                "otlp-arrow cat: {path}: not an Arrow IPC stream file: {e}"
            )?;
            summary.errors += 1;
            return Ok(());
        }
    };
    let signal = source.signal.or_else(|| signal_of_schema(&reader.schema()));
    if options.signal.is_some() && signal != options.signal {
        return Ok(());
    }
    let label = format!(
        "{}, {}",
        signal.map_or("unknown signal", Signal::as_str),
        if in_progress {
            "in progress"
        } else {
            "finalized"
        }
    );
    let mut batches = 0u64;
    for batch in reader {
        match batch {
            Ok(batch) => {
                batches += 1;
                summary.rows += batch.num_rows() as u64;
                match options.format {
                    CatFormat::Table => {
                        print_table(&batch, &format!("{path} ({label})"), batches, options, out)?;
                    }
                    CatFormat::Jsonl => print_jsonl(&batch, out)?,
                }
            }
            Err(_) if in_progress => {
                writeln!(
                    err,
                    "otlp-arrow cat: {path}: in progress; stopped after {batches} complete \
                     record batch(es), the next one is still being written"
                )?;
                break;
            }
            Err(e) => {
                writeln!(
                    err,
                    "otlp-arrow cat: {path}: unreadable after {batches} record batch(es): {e}"
                )?;
                summary.errors += 1;
                return Ok(());
            }
        }
    }
    summary.files += 1;
    Ok(())
}

/// Every cell of `batch`, by column then row.
fn cells(batch: &RecordBatch) -> Vec<Vec<Value>> {
    batch
        .columns()
        .iter()
        .map(|c| (0..batch.num_rows()).map(|r| render::value(c, r)).collect())
        .collect()
}

fn print_table(
    batch: &RecordBatch,
    what: &str,
    index: u64,
    options: &CatOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows = batch.num_rows();
    writeln!(out, "# {what}: batch {index}, {rows} rows")?;
    let schema = batch.schema();
    let mut columns: Vec<(String, Vec<String>)> = Vec::new();
    for (field, values) in schema.fields().iter().zip(cells(batch)) {
        if !options.all_columns && values.iter().all(Value::is_empty) {
            continue;
        }
        columns.push((
            field.name().clone(),
            values.iter().map(render::text_cell).collect(),
        ));
    }
    let widths: Vec<usize> = columns
        .iter()
        .map(|(name, cells)| {
            cells
                .iter()
                .map(|c| c.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = String::new();
    let mut emit = |cell_of: &dyn Fn(usize) -> String, out: &mut dyn Write| -> io::Result<()> {
        line.clear();
        for (i, width) in widths.iter().enumerate() {
            let cell = cell_of(i);
            if i + 1 == widths.len() {
                line.push_str(&cell);
            } else {
                line.push_str(&cell);
                let pad = width - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())
    };
    emit(&|i| columns[i].0.clone(), out)?;
    for row in 0..rows {
        emit(&|i| columns[i].1[row].clone(), out)?;
    }
    Ok(())
}

fn print_jsonl(batch: &RecordBatch, out: &mut dyn Write) -> io::Result<()> {
    let schema = batch.schema();
    let mut line = String::new();
    for row in 0..batch.num_rows() {
        line.clear();
        line.push('{');
        for (i, (field, column)) in schema.fields().iter().zip(batch.columns()).enumerate() {
            if i > 0 {
                line.push(',');
            }
            render::json_string(field.name(), &mut line);
            line.push(':');
            render::json(&render::value(column, row), &mut line);
        }
        line.push('}');
        writeln!(out, "{line}")?;
    }
    Ok(())
}
