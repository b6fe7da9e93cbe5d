//! A list screen's search over the device's cache (customers, catalog): it runs as the query
//! changes and again after every sync — a record sent and pulled back loses its "por
//! enviar" — and an answer to an older query never replaces a newer one.

use std::future::Future;

use leptos::{prelude::*, task::spawn_local};

use crate::{local_store::LocalStore, pending::Shown, sync_service::Sync};

/// Wires `results` to `query`; returns the function that runs the search now. Queries shorter
/// than `min_chars` (trimmed) show nothing.
pub fn live_search<F, Fut>(
    sync: &Sync,
    query: RwSignal<String>,
    results: RwSignal<Vec<Shown>>,
    min_chars: usize,
    search: F,
) -> impl Fn() + Clone + 'static
where
    F: Fn(LocalStore, String) -> Fut + Clone + 'static,
    Fut: Future<Output = Vec<Shown>> + 'static,
{
    let sync_search = sync.clone();
    let refresh = move || {
        let text = query.get_untracked();
        let Some(store) = sync_search.store() else {
            return;
        };
        let search = search.clone();
        spawn_local(async move {
            let found = if text.trim().chars().count() < min_chars.max(1) {
                Vec::new()
            } else {
                search(store, text.clone()).await
            };
            if query.get_untracked() == text {
                results.set(found);
            }
        });
    };
    let status = sync.status;
    let refresh_synced = refresh.clone();
    Effect::new(move |_| {
        status.last_sync.track();
        status.pending.track();
        refresh_synced();
    });
    refresh
}
