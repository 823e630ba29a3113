//! What a run stored: the rows of every finalized `.arrow` file under
//! `<output_dir>/<signal>/`, read back with arrow-ipc's `StreamReader` (so a file that is not a
//! complete stream fails the count), and the files left unfinished (not ending in `.arrow`).

use std::io::BufReader;
use std::path::Path;

use arrow_ipc::reader::StreamReader;
use otlp_arrow::signal::Signal;

/// Rows and files of one signal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Rows in finalized files.
    pub(crate) rows: u64,
    /// Finalized files.
    pub(crate) files: usize,
    /// Other files (in progress, `.partial`).
    pub(crate) unfinished: usize,
}

/// Counts `signal`'s stored rows under `output_dir`; a missing directory counts as empty.
///
/// # Errors
/// A file that cannot be read as an Arrow IPC stream.
pub(crate) fn count(output_dir: &Path, signal: Signal) -> Result<Stored, String> {
    let dir = output_dir.join(signal.as_str());
    let mut stored = Stored::default();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(stored),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if !path.is_file() {
            continue;
        }
        if path.extension().is_none_or(|e| e != "arrow") {
            stored.unfinished += 1;
            continue;
        }
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let reader = StreamReader::try_new(BufReader::new(file), None)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for batch in reader {
            let batch = batch.map_err(|e| format!("{}: {e}", path.display()))?;
            stored.rows += batch.num_rows() as u64;
        }
        stored.files += 1;
    }
    Ok(stored)
}
