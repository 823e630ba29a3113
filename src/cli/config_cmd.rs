//! `otlp-arrow config check FILE` and `otlp-arrow config default`.
//!
//! `check` reads the file alone (no `OTLP_ARROW_*` variables, no flags: it answers "is this
//! file valid?"), runs the same parsing and [`Config::validate`] as `serve`, and prints `ok` on
//! stdout or the [`ConfigError`](crate::config::ConfigError) (naming the key, the value and what
//! is allowed) on stderr. `default` prints [`Config::default_toml`], which `check` accepts.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::path::Path;

use crate::config::Config;

/// Exit status of a configuration that cannot be used.
pub const EXIT_CONFIG: u8 = 2;

/// `config check FILE`: 0 and `ok`, or [`EXIT_CONFIG`] and the error.
///
/// # Errors
/// Only if writing to `out` / `err` fails.
pub fn check(file: &Path, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    match Config::load(file).and_then(|c| c.validate()) {
        Ok(()) => {
            writeln!(out, "ok")?;
            Ok(0)
        }
        Err(e) => {
            writeln!(err, "otlp-arrow: {e}")?;
            Ok(EXIT_CONFIG)
        }
    }
}

/// `config default`: the commented default configuration.
///
/// # Errors
/// Only if writing to `out` fails.
pub fn default(out: &mut dyn Write) -> io::Result<u8> {
    out.write_all(Config::default_toml().as_bytes())?;
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_checks_ok_and_a_bad_one_names_its_key() {
        let dir =
            std::env::temp_dir().join(format!("otlp-arrow-config-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        let mut text = Vec::new();
        assert_eq!(default(&mut text).unwrap(), 0);
        std::fs::write(&good, &text).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(check(&good, &mut out, &mut err).unwrap(), 0);
        assert_eq!(String::from_utf8(out).unwrap(), "ok\n");
        assert!(err.is_empty());

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[storage]\ncompression = \"snappy\"\n").unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(check(&bad, &mut out, &mut err).unwrap(), EXIT_CONFIG);
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("storage.compression"), "{err}");
        assert!(err.contains("zstd"), "{err}");
        assert!(out.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
