//! What changes with the screen besides its content: the tab's title names the screen (one
//! title for all was no help with several tabs or a screen reader), and focus moves to the new
//! screen's heading instead of falling to the page's body. The till keeps its own focus: the
//! search box, ready for the next scan.

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use wasm_bindgen::JsCast;

/// The screen's name for the tab's title.
fn title_of(path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    match path {
        "" => "Inicio",
        "/venta" => "Venta",
        "/inventario" => "Inventario",
        "/devolucion" => "Devolución",
        "/clientes" => "Clientes",
        "/catalogo" => "Catálogo",
        "/sincronizacion/dashboard" => "Sincronización",
        "/sincronizacion/conflictos" => "Conflictos",
        "/sincronizacion/cola" => "Cola de sincronización",
        "/sincronizacion/auditoria" => "Auditoría",
        "/sincronizacion/configuracion" => "Configuración de sincronización",
        _ => "Página no encontrada",
    }
}

fn focus_heading() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(Some(heading)) = document.query_selector("main h1") else {
        return;
    };
    let _ = heading.set_attribute("tabindex", "-1");
    if let Ok(heading) = heading.dyn_into::<web_sys::HtmlElement>() {
        let _ = heading.focus();
    }
}

/// Inside the router: retitles the tab and moves focus on every change of screen.
#[component]
pub fn ScreenChange() -> impl IntoView {
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&format!("{} · Pronto POS", title_of(&path)));
        }
        if previous.is_some_and(|p| p != path) && path.trim_end_matches('/') != "/venta" {
            // After the new screen has rendered.
            Timeout::new(60, focus_heading).forget();
        }
        path
    });
}
