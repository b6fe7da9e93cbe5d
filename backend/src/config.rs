//! Command line of the `pronto` binary. Every flag can also come from the environment, so the
//! same binary runs from a shell, a systemd unit or a container without a wrapper script.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

/// Where the SQLite database lives when no URL is given: a file under `./data/`, created on
/// first start so the README's single command gives a working server.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/pronto.db";

#[derive(Debug, Parser)]
#[command(name = "pronto", version, about = "Pronto POS server")]
pub struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` (one object per line,
    /// with the request's id) for a log collector.
    #[arg(long, global = true, env = "PRONTO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the web app until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Copy the SQLite database, consistently, while the server runs.
    Backup(BackupArgs),
    /// Put a backup in place of the database (every server on it must be stopped).
    Restore(RestoreArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The database to copy (`sqlite://path/to/file.db`).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// The new file to write; an existing file is never overwritten.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The database to replace: `sqlite://path/to/file.db` (the replaced file is kept beside
    /// it) or `postgres://…` (the backup is a `pg_dump --format=custom` file).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// The backup to put in its place.
    #[arg(long)]
    pub from: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "PRONTO_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Serve Prometheus metrics (`GET /metrics`) on this address of their own, e.g.
    /// `127.0.0.1:9090`. Off unless given: whoever reaches it reads them.
    #[arg(long, env = "PRONTO_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// `sqlite://path/to/file.db` or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Directory holding the built web app (Trunk's `dist/`).
    #[arg(long, env = "PRONTO_DIST", default_value = "dist")]
    pub dist: PathBuf,

    /// Load the demo stores, people, catalog, customers and stock into an empty database
    /// (a database that already has stores is left untouched).
    #[arg(long, env = "PRONTO_DEMO")]
    pub demo: bool,

    /// With `--demo`: a catalog of exactly this many variants (the demo models made again
    /// in further editions), to measure a chain-sized first download.
    #[arg(long, env = "PRONTO_DEMO_VARIANTS", requires = "demo")]
    pub demo_variants: Option<usize>,

    /// Mark the session cookie `Secure` always (behind a TLS proxy that sends no
    /// X-Forwarded-Proto). Requests that arrive as https get it anyway.
    #[arg(long, env = "PRONTO_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Reverse proxies in front of this server, comma-separated addresses or networks
    /// (`127.0.0.1,10.0.0.0/8`). Only requests from these have their `X-Forwarded-For` read,
    /// so the sign-in limit counts failures per client instead of per proxy.
    #[arg(long, env = "PRONTO_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::auth::client_ip::parse_trusted)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Seconds a device's clock may run ahead of the server's before its ops' stamps are
    /// clamped and the device is flagged "reloj adelantado".
    #[arg(long, env = "PRONTO_CLOCK_MARGIN_SECS", default_value_t = 120)]
    pub clock_margin_secs: u64,

    /// Minutes a session may sit unused before it ends.
    #[arg(long, env = "PRONTO_SESSION_IDLE_MINUTES", default_value_t = 8 * 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_minutes: u64,

    /// Days an applied op is kept whole before it may be compacted to its id, seq and payload
    /// hash (once its device has settled it); a replay of it is still a duplicate.
    #[arg(long, env = "PRONTO_SYNC_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub sync_retention_days: u64,

    /// Hours after sign-in a session ends however busy it is.
    #[arg(long, env = "PRONTO_SESSION_MAX_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_max_hours: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_defaults_to_local_port_8080_and_sqlite_under_data() {
        let cli = Cli::try_parse_from(["pronto", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve parses as serve");
        };
        assert_eq!(args.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(args.dist, PathBuf::from("dist"));
        // DATABASE_URL may be set in a developer's shell; only check the default when it is not.
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(args.database_url, DEFAULT_DATABASE_URL);
        }
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list_and_a_bad_entry_is_refused() {
        let cli = Cli::try_parse_from([
            "pronto",
            "serve",
            "--trusted-proxies",
            "127.0.0.1,10.0.0.0/8",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve parses as serve");
        };
        assert_eq!(args.trusted_proxies.len(), 2);
        let err = Cli::try_parse_from(["pronto", "serve", "--trusted-proxies", "proxy.local"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn serve_rejects_a_bind_address_that_is_not_host_and_port() {
        let err = Cli::try_parse_from(["pronto", "serve", "--bind", "localhost"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }
}
