//! Log setup: lines on stderr, filtered by `RUST_LOG` (default `info`) — human-readable, or
//! one JSON object per line (`--log-format json`). A request's lines carry its id (the span
//! `request`, see `server::request_span`).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; calling it twice is harmless (the second call is ignored).
pub fn init(format: LogFormat) {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn"))
    };
    let _ = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .try_init(),
    };
}
