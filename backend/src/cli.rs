//! What each subcommand does once the command line is parsed.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::{
    auth::AuthConfig,
    backup,
    config::{Cli, Command, ServeArgs},
    db::Database,
    demo,
    server::{self, AppState},
    AppError,
};

/// Runs the chosen subcommand to completion.
pub async fn execute(cli: Cli) -> Result<(), AppError> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Backup(args) => {
            let db = Database::connect(&args.database_url).await?;
            let summary = backup::backup(&db, &args.to).await?;
            db.close().await;
            println!("backup written: {summary}");
            Ok(())
        }
        Command::Restore(args) => {
            let now = crate::clock::rfc3339(time::OffsetDateTime::now_utc());
            let kept = backup::restore(&args.database_url, &args.from, &now).await?;
            println!("restored {}", args.from.display());
            if let Some(kept) = kept {
                println!("the replaced database is kept at {}", kept.display());
            }
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), AppError> {
    // One server per SQLite file, and no restore under a running one. A predecessor that just
    // crashed may still be letting go of the lock: wait for it a moment.
    let mut lock = backup::ServingLock::take(&args.database_url);
    for _ in 0..50 {
        if lock.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        lock = backup::ServingLock::take(&args.database_url);
    }
    let _lock = lock?;
    let db = Database::connect(&args.database_url).await?;
    db.migrate().await?;
    if args.demo {
        let started = std::time::Instant::now();
        match demo::load_if_empty_with(&db, args.demo_variants).await? {
            Some(summary) => {
                tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, %summary, "demo data loaded")
            }
            None => tracing::info!("database already has data; demo data not loaded"),
        }
    }
    if !args.dist.join("index.html").is_file() {
        tracing::warn!(dist = %args.dist.display(), "no index.html in the dist directory: build the web app with `trunk build`");
    }
    let listener = TcpListener::bind(args.bind)
        .await
        .map_err(|source| AppError::Bind {
            addr: args.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(AppError::Io)?;
    // Scripts and tests read this line to find the port when binding port 0.
    println!("pronto listening on http://{addr}");
    tracing::info!(%addr, backend = db.backend().as_str(), "serving");
    let auth = AuthConfig {
        idle_timeout: Duration::from_secs(args.session_idle_minutes * 60),
        absolute_timeout: Duration::from_secs(args.session_max_hours * 3600),
        secure_cookies: args.secure_cookies,
        trusted_proxies: args.trusted_proxies,
        clock_margin: Duration::from_secs(args.clock_margin_secs),
    };
    let state = AppState::new(db, args.dist)
        .with_auth(auth)
        .with_retention(Duration::from_secs(args.sync_retention_days * 24 * 3600));
    if let Some(bind) = args.metrics_bind {
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| AppError::Bind { addr: bind, source })?;
        println!(
            "pronto metrics on http://{}/metrics",
            listener.local_addr().map_err(AppError::Io)?
        );
        tokio::spawn(crate::metrics::serve(listener, state.clone()));
    }
    server::run(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM, so in-flight requests finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
