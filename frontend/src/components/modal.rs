//! A real modal dialog: the browser's `<dialog>` opened with `showModal()`, so focus moves in
//! and stays in (the page behind is inert to pointer, keyboard and screen reader), and Escape
//! closes it. The screen keeps the dialog in a signal; closing — by Escape or a button — sets
//! the signal back and the dialog leaves the page.

use leptos::{html, prelude::*};

#[component]
pub fn Modal(
    /// What a screen reader announces.
    label: String,
    /// The dialog's class (its look) and test id.
    class: &'static str,
    testid: &'static str,
    /// Called when Escape closes the dialog.
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        if let Some(element) = dialog.get() {
            if !element.open() {
                let _ = element.show_modal();
            }
        }
    });
    view! {
        <dialog
            class=format!("modal {class}")
            aria-label=label
            data-testid=testid
            node_ref=dialog
            on:close=move |_| on_close.run(())
        >
            {children()}
        </dialog>
    }
}
