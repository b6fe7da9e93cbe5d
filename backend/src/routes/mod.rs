//! The `/api` routers, one module per feature. Each module exposes `router()`.

mod answers;
mod auth;
mod customers;
mod devices;
mod directory;
mod health;
mod openapi;
mod products;
mod records;
mod sales;
mod sincronizacion;
mod stock;
mod stores;
mod sync;
mod users;

use axum::{extract::DefaultBodyLimit, http::Uri, Router};

pub use openapi::document as openapi_document;

use crate::{AppError, AppState};

/// Largest JSON body any `/api` route reads. A sale with 200 lines is ~30 KiB; this leaves
/// room and refuses abuse early. (Sync push batches get their own limit on their route.)
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Everything under `/api`. Unknown paths here answer a JSON 404, never the web app's
/// `index.html`, so a client bug shows up as an API error instead of HTML it cannot parse.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(stores::router())
        .merge(directory::router())
        .merge(devices::router())
        .merge(products::router())
        .merge(customers::router())
        .merge(stock::router())
        .merge(sales::router())
        .merge(sync::router())
        .merge(sincronizacion::router())
        .merge(users::router())
        .merge(openapi::router())
        .fallback(unknown_api_path)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn unknown_api_path(uri: Uri) -> AppError {
    AppError::NotFound(format!("/api{}", uri.path()))
}

/// Ends a REST write: appends its audit entry (if any) to the chain, commits, and only then
/// tells the devices (of `store`, or all of them) that there is something to pull.
async fn commit_and_tell(
    state: &AppState,
    mut tx: crate::db::WriteTx,
    entry: Option<&crate::sync::audit::Entry>,
    store: Option<uuid::Uuid>,
) -> Result<(), AppError> {
    if let Some(entry) = entry {
        crate::sync::audit::append(&mut tx, entry).await?;
    }
    tx.commit().await?;
    state
        .events
        .publish(pronto_shared::sync::events::Event::Cambios { tienda_id: store })
        .await;
    Ok(())
}
