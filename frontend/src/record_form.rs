//! What the catalog and customers screens share: the screen's state (search, results, the open
//! form, its errors, the last notice), a text field bound to one field of the open form, and
//! saving an edit as an op in the outbox.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{domain::FieldErrors, sync::engine::LocalChange, Action};

use crate::{device::ThisDevice, pending::Shown, session::Session, sync_service::Sync};

/// How a text field reads and writes its part of a form.
pub type Accessors<F> = (fn(&F) -> String, fn(&mut F, String));

/// A record screen's state; every field a signal.
pub struct RecordScreen<F: Send + std::marker::Sync + 'static> {
    pub query: RwSignal<String>,
    pub results: RwSignal<Vec<Shown>>,
    /// The record being edited (`None`: the form is closed).
    pub form: RwSignal<Option<F>>,
    pub errors: RwSignal<FieldErrors>,
    pub notice: RwSignal<Option<String>>,
    /// Counts openings and closings of the form: the dialog is drawn again when this moves, not
    /// at every keystroke in it.
    pub opened: RwSignal<u64>,
}

impl<F: Send + std::marker::Sync + 'static> Clone for RecordScreen<F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F: Send + std::marker::Sync + 'static> Copy for RecordScreen<F> {}

impl<F: Send + std::marker::Sync + 'static> RecordScreen<F> {
    pub fn new() -> Self {
        Self {
            query: RwSignal::new(String::new()),
            results: RwSignal::new(Vec::new()),
            form: RwSignal::new(None),
            errors: RwSignal::new(FieldErrors::new()),
            notice: RwSignal::new(None),
            opened: RwSignal::new(0),
        }
    }

    /// Opens `form` (or closes it with `None`), clearing the last errors.
    pub fn open(self, form: Option<F>) {
        self.errors.set(FieldErrors::new());
        self.form.set(form);
        self.opened.update(|n| *n += 1);
    }

    /// The open form, read when the dialog is drawn (see `opened`).
    pub fn current(self) -> Option<F>
    where
        F: Clone,
    {
        self.opened.track();
        self.form.get_untracked()
    }

    /// A labelled text input bound to one field of the open form, with that field's error.
    pub fn text_field(
        self,
        (label, testid, key, inputmode): (&'static str, String, &'static str, &'static str),
        (get, set): Accessors<F>,
        editable: bool,
    ) -> impl IntoView {
        let (form, errors) = (self.form, self.errors);
        let error_id = format!("{testid}-error");
        view! {
            <label class="field">
                <span class="field__label">{label}</span>
                <input class="field__input" autocomplete="off" data-testid=testid inputmode=inputmode
                    disabled=!editable
                    aria-invalid=move || errors.with(|e| e.get(key).is_some()).to_string()
                    prop:value=move || form.with(|f| f.as_ref().map(get).unwrap_or_default())
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        form.update(|f| if let Some(f) = f { set(f, value) });
                    } />
                {move || errors.with(|e| e.get(key).map(str::to_owned)).map(|m| view! {
                    <span class="field__error" role="alert" data-testid=error_id.clone()>{m}</span>
                })}
            </label>
        }
    }
}

impl<F: Send + std::marker::Sync + 'static> Default for RecordScreen<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// Who saves: the sync service, this device and the signed-in person.
#[derive(Clone)]
pub struct Editor {
    pub sync: Sync,
    pub device: ThisDevice,
    pub session: Session,
}

impl Editor {
    pub fn from_context() -> Self {
        Self {
            sync: expect_context::<Sync>(),
            device: expect_context::<ThisDevice>(),
            session: expect_context::<Session>(),
        }
    }

    /// Whether the signed-in person may do `action` (to show or hide what they cannot).
    pub fn may(&self, action: Action) -> impl Fn() -> bool + Copy + 'static {
        let session = self.session;
        move || session.profile().is_some_and(|p| p.principal().can(action))
    }

    /// Records `change` (an edit of `name`); on success says so, closes the form and runs
    /// `then` (the screen's search again).
    pub fn save<F: Send + std::marker::Sync + 'static>(
        &self,
        screen: RecordScreen<F>,
        change: LocalChange,
        name: String,
        then: impl FnOnce() + 'static,
    ) {
        let (Some(this), Some(profile)) = (
            self.device.device.get_untracked(),
            self.session.profile_untracked(),
        ) else {
            return;
        };
        screen.notice.set(None);
        let sync = self.sync.clone();
        spawn_local(async move {
            match sync.record(change, &this, &profile).await {
                Ok(_) => {
                    screen.notice.set(Some(format!("{name}: guardado.")));
                    screen.open(None);
                    then();
                }
                Err(e) => screen
                    .notice
                    .set(Some(format!("No se pudo guardar en el dispositivo: {e}"))),
            }
        });
    }
}
