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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the web app until SIGINT or SIGTERM.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "PRONTO_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// `sqlite://path/to/file.db` or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Directory holding the built web app (Trunk's `dist/`).
    #[arg(long, env = "PRONTO_DIST", default_value = "dist")]
    pub dist: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_defaults_to_local_port_8080_and_sqlite_under_data() {
        let cli = Cli::try_parse_from(["pronto", "serve"]).unwrap();
        let Command::Serve(args) = cli.command;
        assert_eq!(args.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(args.dist, PathBuf::from("dist"));
        // DATABASE_URL may be set in a developer's shell; only check the default when it is not.
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(args.database_url, DEFAULT_DATABASE_URL);
        }
    }

    #[test]
    fn serve_rejects_a_bind_address_that_is_not_host_and_port() {
        let err = Cli::try_parse_from(["pronto", "serve", "--bind", "localhost"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }
}
