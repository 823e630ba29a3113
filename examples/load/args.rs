//! `--key value` flags, nothing more (the example has no CLI-parser dependency). Every flag
//! takes a value; unknown flags are errors ([`Args::finish`]).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// Parsed flags; each one taken out as it is used.
#[derive(Debug)]
pub(crate) struct Args {
    flags: BTreeMap<String, String>,
}

impl Args {
    /// Parses `--key value` pairs.
    ///
    /// # Errors
    /// A word that is not a flag, a flag without value, or a repeated flag.
    pub(crate) fn parse(words: &[String]) -> Result<Args, String> {
        let mut flags = BTreeMap::new();
        let mut it = words.iter();
        while let Some(word) = it.next() {
            let key = word
                .strip_prefix("--")
                .ok_or_else(|| format!("expected a --flag, got {word:?}"))?;
            let (key, value) = match key.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => {
                    let value = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
                    (key.to_owned(), value.clone())
                }
            };
            if flags.insert(key.clone(), value).is_some() {
                return Err(format!("--{key} given twice"));
            }
        }
        Ok(Args { flags })
    }

    /// The value of `--key`, if given.
    pub(crate) fn take(&mut self, key: &str) -> Option<String> {
        self.flags.remove(key)
    }

    /// `--key` parsed, or `default`.
    ///
    /// # Errors
    /// A value that does not parse.
    pub(crate) fn parsed<T: FromStr>(&mut self, key: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.take(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--{key} {v:?}: {e}")),
        }
    }

    /// `--key` as a duration (`"5s"`, `"250ms"`), or `default`.
    ///
    /// # Errors
    /// A value that is not a duration.
    pub(crate) fn duration(&mut self, key: &str, default: Duration) -> Result<Duration, String> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => {
                otlp_arrow::config::parse_duration(&v).map_err(|e| format!("--{key} {v:?}: {e}"))
            }
        }
    }

    /// `--key` as a byte size (`"16MiB"`), or `default`.
    ///
    /// # Errors
    /// A value that is not a size.
    pub(crate) fn size(&mut self, key: &str, default: u64) -> Result<u64, String> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => {
                otlp_arrow::config::parse_size(&v).map_err(|e| format!("--{key} {v:?}: {e}"))
            }
        }
    }

    /// Fails on flags nobody took.
    ///
    /// # Errors
    /// The unknown flags.
    pub(crate) fn finish(self) -> Result<(), String> {
        if self.flags.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self.flags.keys().map(|k| format!("--{k}")).collect();
        Err(format!("unknown flags: {}", names.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_values_and_rejects_leftovers() {
        let mut a = Args::parse(&words("--conns 4 --duration=3s --ring 1MiB --x y")).unwrap();
        assert_eq!(a.parsed("conns", 1usize).unwrap(), 4);
        assert_eq!(a.parsed("items", 100usize).unwrap(), 100);
        assert_eq!(
            a.duration("duration", Duration::ZERO).unwrap(),
            Duration::from_secs(3)
        );
        assert_eq!(a.size("ring", 0).unwrap(), 1 << 20);
        assert_eq!(a.finish().unwrap_err(), "unknown flags: --x");
        assert!(Args::parse(&words("--conns")).is_err());
        assert!(Args::parse(&words("conns 4")).is_err());
        assert!(Args::parse(&words("--a 1 --a 2")).is_err());
    }
}
