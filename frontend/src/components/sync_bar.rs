//! The bar under the header on every page: what is waiting to reach the server, a progress bar
//! while a backlog replays, when the last sync was, and the ops the server refused (with their
//! reasons, on demand). Its height never changes, so nothing on the page jumps when the
//! connection does.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::sync::engine::{DeadLetter, Storage};

use pronto_shared::domain::money::group_thousands;

use crate::{
    outbox_kinds::waiting_words,
    sync_service::{Sync, SyncStatus},
};

/// What waits, in words by kind ("3 ventas y 1 cliente por enviar"). Never "Todo enviado"
/// while the server refused something of this device: those ops are not on the server, and
/// the person must look at them.
fn pending_text(n: usize, waiting: &[(&str, usize)], refused: usize) -> String {
    match n {
        0 if refused > 0 => "Nada en cola, pero hay operaciones rechazadas".into(),
        0 => "Todo enviado".into(),
        // Counted by kind a moment after the total: until then, the total.
        n => match waiting_words(waiting)
            .filter(|_| waiting.iter().map(|(_, k)| k).sum::<usize>() == n)
        {
            Some(words) => words,
            None if n == 1 => "1 registro por enviar".into(),
            None => format!("{n} registros por enviar"),
        },
    }
}

#[component]
pub fn SyncBar() -> impl IntoView {
    let sync = expect_context::<Sync>();
    let status: SyncStatus = sync.status;
    let letters: RwSignal<Option<Vec<DeadLetter>>> = RwSignal::new(None);
    let toggle_letters = move |_| {
        if letters.get_untracked().is_some() {
            letters.set(None);
            return;
        }
        let Some(mut store) = sync.store() else {
            return;
        };
        spawn_local(async move {
            letters.set(Some(store.dead_letters().await.unwrap_or_default()));
        });
    };
    let percent = move || {
        status
            .progress
            .get()
            .filter(|p| p.total > 0)
            .map(|p| (p.done * 100 / p.total).min(100))
            .or_else(|| status.download.get().map(|d| usize::from(d.percent)))
    };

    view! {
        <div class="syncbar" data-testid="sync-bar">
            <span class="syncbar__pending" data-testid="pending-count" data-count=move || status.pending.get().to_string()>
                {move || status.waiting.with(|w| pending_text(status.pending.get(), w, status.dead_letters.get()))}
            </span>
            // A <progress> element rather than a styled width: the CSP allows no inline styles.
            <progress
                class="syncbar__progress"
                max="100"
                value=move || percent().unwrap_or(0).to_string()
                aria-hidden=move || percent().is_none().to_string()
            ></progress>
            <span class="syncbar__replay" data-testid="replay-progress">
                {move || match (status.progress.get(), status.download.get()) {
                    (Some(p), _) => Some(format!("Enviando {} de {}", p.done, p.total)),
                    (None, Some(d)) => Some(format!(
                        "Descargando catálogo: {} registros ({} %)",
                        group_thousands(d.records as u64),
                        d.percent
                    )),
                    _ => None,
                }}
            </span>
            <span class="syncbar__last" data-testid="last-sync" data-live=move || status.live.get().to_string()>
                {move || match status.last_sync.get() {
                    Some(ms) => format!("Última sincronización {}", crate::local_time::clock(ms)),
                    None => "Sin sincronizar aún".into(),
                }}
                {move || status.live.get().then_some(" · en vivo")}
            </span>
            {move || status.clock_ahead_ms.get().map(|ahead| view! {
                <span class="syncbar__clock" role="alert" data-testid="clock-ahead">
                    {format!(
                        "Reloj adelantado {} min: corrige la hora del dispositivo",
                        ahead.div_ceil(60_000),
                    )}
                </span>
            })}
            {move || (status.held_for_manager.get() > 0).then(|| view! {
                <span class="syncbar__held" data-testid="held-count">
                    {format!("{} en espera del gerente", status.held_for_manager.get())}
                </span>
            })}
            {move || (status.dead_letters.get() > 0).then(|| view! {
                <button class="syncbar__dead" type="button" data-testid="dead-letters" on:click=toggle_letters.clone()>
                    {format!("{} rechazadas", status.dead_letters.get())}
                </button>
            })}
        </div>
        {move || crate::storage_space::low_space_warning(status.storage.get()).map(|text| view! {
            <p class="syncbar__problem" role="alert" data-testid="low-space">{text}</p>
        })}
        {move || status.problem.get().map(|text| view! {
            <p class="syncbar__problem" role="status" data-testid="sync-problem">{text}</p>
        })}
        {move || status.notice.get().map(|text| view! {
            <p class="syncbar__problem" role="status" data-testid="sync-notice">
                {text}" "
                <button type="button" class="button" on:click=move |_| status.notice.set(None)>
                    "Entendido"
                </button>
            </p>
        })}
        {move || letters.get().map(|list| view! {
            <section class="card dead-letters" data-testid="dead-letter-list">
                <h2>"Operaciones rechazadas por el servidor"</h2>
                <ul>
                    {list.into_iter().map(|l| view! {
                        <li>
                            <strong>{l.op.body.model.clone()}</strong>
                            " · "{l.reason.clone()}
                            <span class="muted">{format!(" (código {}, {})", l.code, l.status)}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        })}
    }
}
