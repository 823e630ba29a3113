//! The `otlp-arrow` command line: argument parsing (clap) and the three commands.
//!
//! ```text
//! otlp-arrow [serve] [--config FILE] [--output-dir DIR] [--grpc-addr ADDR] [--http-addr ADDR]
//!                    [--admin-addr ADDR] [--forward-endpoint URL] [--log-format text|json]
//! otlp-arrow cat PATH... [--format table|jsonl] [--signal traces|metrics|logs] [--all-columns]
//! otlp-arrow config check FILE
//! otlp-arrow config default
//! ```
//!
//! `serve` is also what runs with no command. Its flags are the last configuration layer
//! (defaults < file < `OTLP_ARROW_*` environment < flags, [`crate::config`]); flag values are
//! parsed by the configuration, so a bad one is reported like a bad file value, naming the key
//! and the flag.
//!
//! Exit status: 0 success; 1 a runtime failure (a listener that cannot bind, storage that cannot
//! start, items lost at shutdown, files `cat` could not read); 2 a configuration or usage error
//! ([`EXIT_CONFIG`]).
//!
//! `src/main.rs` is only `cli::run(std::env::args_os())`.
#![forbid(unsafe_code)]

pub mod cat;
pub mod config_cmd;
pub mod render;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::signal::Signal;
pub use cat::{CatFormat, CatOptions, CatSummary};
pub use config_cmd::EXIT_CONFIG;

/// Exit status of a runtime failure.
pub const EXIT_FAILURE: u8 = 1;

/// `otlp-arrow`: the command line.
#[derive(Debug, Parser)]
#[command(
    name = "otlp-arrow",
    version,
    about = "OpenTelemetry (OTLP) receiver that stores telemetry as Arrow IPC files",
    args_conflicts_with_subcommands = true,
    after_help = "With no command, runs `serve`.\n\
                  Configuration layers: defaults < --config file < OTLP_ARROW_* environment < flags.\n\
                  Exit status: 0 ok, 1 runtime failure (or items lost at shutdown), 2 configuration or usage error."
)]
pub struct Cli {
    /// The command; `serve` when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s flags, when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive OTLP over gRPC and HTTP and store it as Arrow IPC files (the default)
    Serve(ServeArgs),
    /// Print the rows of stored files or directories
    Cat(CatArgs),
    /// Check a configuration file, or print the default one
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `serve`'s flags: the last configuration layer.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file (`otlp-arrow config default` prints a commented one)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Root of the stored files: DIR/traces, DIR/metrics, DIR/logs [default: ./otlp-data]
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// OTLP/gRPC listen address, IP:PORT (port 0 picks a free port) [default: 127.0.0.1:4317]
    #[arg(long, value_name = "ADDR")]
    pub grpc_addr: Option<String>,
    /// OTLP/HTTP listen address [default: 127.0.0.1:4318]
    #[arg(long, value_name = "ADDR")]
    pub http_addr: Option<String>,
    /// Admin listen address: /health, /ready, /metrics [default: 127.0.0.1:13133]
    #[arg(long, value_name = "ADDR")]
    pub admin_addr: Option<String>,
    /// Forward OTLP to this collector URL (gRPC; protocol http on port 4318), replacing
    /// [[forward.endpoints]]; unsent data is caught up from the files
    #[arg(long, value_name = "URL")]
    pub forward_endpoint: Option<String>,
    /// Log line format: text or json [default: text]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

impl ServeArgs {
    /// The flags as configuration overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            output_dir: self.output_dir.clone(),
            grpc_addr: self.grpc_addr.clone(),
            http_addr: self.http_addr.clone(),
            admin_addr: self.admin_addr.clone(),
            forward_endpoint: self.forward_endpoint.clone(),
            log_format: self.log_format.clone(),
        }
    }
}

/// `cat`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct CatArgs {
    /// Files (`.arrow`, `.arrow.partial`) or directories (an output directory or one of its
    /// traces/ metrics/ logs/ directories)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format: an aligned table per record batch, or one JSON object per row
    #[arg(long, value_enum, default_value_t = CatFormat::Table)]
    pub format: CatFormat,
    /// Only files of this signal
    #[arg(long, value_enum)]
    pub signal: Option<SignalArg>,
    /// Table: also show columns that are empty in every row of a batch
    #[arg(long)]
    pub all_columns: bool,
}

/// A signal, as a flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignalArg {
    /// Spans.
    Traces,
    /// Metric data points.
    Metrics,
    /// Log records.
    Logs,
}

impl From<SignalArg> for Signal {
    fn from(s: SignalArg) -> Signal {
        match s {
            SignalArg::Traces => Signal::Traces,
            SignalArg::Metrics => Signal::Metrics,
            SignalArg::Logs => Signal::Logs,
        }
    }
}

/// `config`'s subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file: prints "ok", or the error (exit status 2)
    Check {
        /// The TOML file
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the commented default configuration
    Default,
}

/// Parses `args` (program name first) and runs the command; returns the exit status.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version land here too, with status 0; usage errors with 2.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(EXIT_CONFIG);
        }
    };
    let (stdout, stderr) = (io::stdout(), io::stderr());
    let result = match cli.command {
        None => Ok(serve(&cli.serve)),
        Some(Command::Serve(args)) => Ok(serve(&args)),
        Some(Command::Cat(args)) => cat_command(&args, &mut stdout.lock(), &mut stderr.lock()),
        Some(Command::Config(ConfigCommand::Check { file })) => {
            config_cmd::check(&file, &mut stdout.lock(), &mut stderr.lock())
        }
        Some(Command::Config(ConfigCommand::Default)) => config_cmd::default(&mut stdout.lock()),
    };
    match result {
        Ok(code) => code,
        // `otlp-arrow cat ... | head`: the reader went away, which is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(io::stderr(), "otlp-arrow: {e}");
            EXIT_FAILURE
        }
    }
}

fn serve(args: &ServeArgs) -> u8 {
    let config = match Config::resolve(
        args.config.as_deref(),
        std::env::vars_os(),
        &args.overrides(),
    ) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("otlp-arrow: {e}");
            return EXIT_CONFIG;
        }
    };
    crate::service::run(config)
}

fn cat_command(args: &CatArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let options = CatOptions {
        format: args.format,
        signal: args.signal.map(Signal::from),
        all_columns: args.all_columns,
    };
    let mut out = io::BufWriter::new(out);
    let summary = cat::cat(&args.paths, &options, &mut out, err)?;
    out.flush()?;
    Ok(if summary.errors == 0 { 0 } else { EXIT_FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_command_means_serve_and_flags_map_to_overrides() {
        let cli = Cli::try_parse_from(["otlp-arrow", "--grpc-addr", "127.0.0.1:0"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(
            cli.serve.overrides().grpc_addr.as_deref(),
            Some("127.0.0.1:0")
        );
        let cli = Cli::try_parse_from([
            "otlp-arrow",
            "serve",
            "--output-dir",
            "/tmp/x",
            "--log-format",
            "json",
        ])
        .unwrap();
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve expected");
        };
        let o = args.overrides();
        assert_eq!(o.output_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(o.log_format.as_deref(), Some("json"));
    }

    #[test]
    fn cat_parses_its_options_and_needs_a_path() {
        let cli = Cli::try_parse_from([
            "otlp-arrow",
            "cat",
            "a",
            "b",
            "--format",
            "jsonl",
            "--signal",
            "logs",
        ])
        .unwrap();
        let Some(Command::Cat(args)) = cli.command else {
            panic!("cat expected");
        };
        assert_eq!(args.paths.len(), 2);
        assert_eq!(args.format, CatFormat::Jsonl);
        assert_eq!(args.signal.map(Signal::from), Some(Signal::Logs));
        let err = Cli::try_parse_from(["otlp-arrow", "cat"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["otlp-arrow", "cat", "x", "--format", "csv"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn serve_flags_do_not_mix_with_other_commands() {
        assert!(Cli::try_parse_from(["otlp-arrow", "--grpc-addr", "x", "cat", "p"]).is_err());
    }
}
