//! The `pronto` binary: parses the command line and hands over to the library.

use clap::Parser;
use pronto_backend::config::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    pronto_backend::telemetry::init(cli.log_format);
    match pronto_backend::cli::execute(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "pronto stopped with an error");
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
