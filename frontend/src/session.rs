//! Who is signed in on this device.
//!
//! The server's session cookie is the truth; the last profile the server confirmed is also
//! kept in `localStorage`, so that with the network down the app opens for the person who was
//! signed in (DESIGN §8: offline, the app keeps working with the last signed-in profile).
//! Signing out while offline is remembered and sent to the server when it answers again.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::auth::{LoginRequest, Profile},
    ErrorBody,
};

use crate::{
    api::{self, ApiError},
    device::ThisDevice,
    keyring::Keyring,
    storage,
};

const PROFILE_KEY: &str = "pronto.perfil";
const PENDING_LOGOUT_KEY: &str = "pronto.salida_pendiente";

#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// Asking the server (first paint after a reload).
    Checking,
    SignedIn(Profile),
    SignedOut,
}

#[derive(Clone, Copy)]
pub struct Session {
    pub state: RwSignal<SessionState>,
    /// The person's signing key on this device (unlocked by their password at sign-in).
    pub keyring: Keyring,
    device: ThisDevice,
}

impl Session {
    /// A session in a given state, not confirmed with the server (component tests).
    pub fn fixed(state: SessionState) -> Self {
        Self {
            state: RwSignal::new(state),
            keyring: Keyring::start(),
            device: ThisDevice::load(),
        }
    }

    /// Starts from the cached profile and confirms it with the server.
    pub fn start(keyring: Keyring, device: ThisDevice) -> Self {
        let cached = load_profile();
        let state = RwSignal::new(match &cached {
            Some(profile) => SessionState::SignedIn(profile.clone()),
            None => SessionState::Checking,
        });
        let session = Self {
            state,
            keyring,
            device,
        };
        spawn_local(async move { session.confirm().await });
        spawn_local(send_pending_logout());
        session
    }

    pub fn profile(&self) -> Option<Profile> {
        match self.state.get() {
            SessionState::SignedIn(profile) => Some(profile),
            _ => None,
        }
    }

    /// The signed-in profile without subscribing (for loops outside the view).
    pub fn profile_untracked(&self) -> Option<Profile> {
        match self.state.get_untracked() {
            SessionState::SignedIn(profile) => Some(profile),
            _ => None,
        }
    }

    async fn confirm(self) {
        if storage::get(PENDING_LOGOUT_KEY).is_some()
            && api::post_empty("/api/auth/logout").await.is_ok()
        {
            storage::remove(PENDING_LOGOUT_KEY);
        }
        let asked_in = self.state.get_untracked();
        let answer = api::get::<Profile>("/api/auth/me").await;
        // The sign-in form shows while this is asked (no cached profile): a person who signed
        // in meanwhile has a new session, which this older answer says nothing about.
        if SIGNING_IN.get() || self.state.get_untracked() != asked_in {
            return;
        }
        match answer {
            Ok(profile) => {
                save_profile(&profile);
                self.state.set(SessionState::SignedIn(profile));
            }
            Err(ApiError::Server { status: 401, .. }) => {
                forget_profile();
                self.keyring.sign_out().await;
                self.state.set(SessionState::SignedOut);
            }
            // Offline or server down: keep the cached profile, if there is one.
            Err(_) => {
                if self.state.get_untracked() == SessionState::Checking {
                    self.state.set(SessionState::SignedOut);
                }
            }
        }
    }

    /// Signs in with the server and unlocks (or makes) the person's signing key for this
    /// device. Without a network, a person who signed in here before gets in if their password
    /// unwraps their key (the server's session, if it ended, is renewed at the next online
    /// sign-in; ops wait in the outbox meanwhile).
    pub async fn sign_in(self, usuario: String, contrasena: String) -> Result<(), ApiError> {
        SIGNING_IN.set(true);
        let outcome = self.sign_in_inner(usuario, contrasena).await;
        SIGNING_IN.set(false);
        outcome
    }

    async fn sign_in_inner(self, usuario: String, contrasena: String) -> Result<(), ApiError> {
        // The previous person's sign-out ends their session with the cookie the browser holds
        // when it is sent: sent after this sign-in's answer, it would end the new one (seen
        // under load: the next person's key registration answered 401). Its request fails fast
        // offline, so waiting is short; bounded all the same.
        for _ in 0..400 {
            if !SIGNING_OUT.get() {
                break;
            }
            gloo_timers::future::TimeoutFuture::new(25).await;
        }
        let device = self.device.device.get_untracked();
        let request = LoginRequest {
            usuario: usuario.clone(),
            contrasena: contrasena.clone(),
        };
        let profile = match api::post::<_, Profile>("/api/auth/login", &request).await {
            Ok(profile) => {
                // The server replaced the cookie: an earlier sign-out has nothing left to end.
                storage::remove(PENDING_LOGOUT_KEY);
                if let Err(message) = self.keyring.sign_in(&profile, &contrasena, device).await {
                    // A session that cannot sign could only queue ops the server refuses.
                    let _ = api::post_empty("/api/auth/logout").await;
                    return Err(ApiError::Server {
                        status: 500,
                        body: ErrorBody::new("llave", message),
                    });
                }
                profile
            }
            Err(ApiError::Network) => self
                .keyring
                .sign_in_offline(&usuario, &contrasena, device)
                .await
                .map_err(|message| ApiError::Server {
                    status: 401,
                    body: ErrorBody::new("sin_conexion", message),
                })?,
            Err(err) => return Err(err),
        };
        // An offline sign-in leaves a pending sign-out pending: the browser still holds the
        // previous person's cookie, and that session must end as soon as the server answers.
        save_profile(&profile);
        self.state.set(SessionState::SignedIn(profile));
        Ok(())
    }

    pub fn sign_out(self) {
        forget_profile();
        self.state.set(SessionState::SignedOut);
        SIGNING_OUT.set(true);
        spawn_local(async move {
            // The server's session ends first: the key's local copy (a durable IndexedDB write,
            // slow on a busy tablet) is nobody's to use once the profile is gone.
            if api::post_empty("/api/auth/logout").await == Err(ApiError::Network) {
                storage::set(PENDING_LOGOUT_KEY, "1");
            }
            self.keyring.sign_out().await;
            SIGNING_OUT.set(false);
        });
    }
}

thread_local! {
    /// A sign-in is under way: its answer may already have set the new cookie, which a pending
    /// sign-out sent now would end.
    static SIGNING_IN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// A sign-out's request to end the session on the server has not been sent yet.
    static SIGNING_OUT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Ends, as soon as the server answers, a session whose person signed out offline: until then
/// the browser still holds their cookie (HttpOnly: the page cannot drop it).
async fn send_pending_logout() {
    loop {
        if !SIGNING_IN.get()
            && storage::get(PENDING_LOGOUT_KEY).is_some()
            && api::post_empty("/api/auth/logout").await.is_ok()
        {
            storage::remove(PENDING_LOGOUT_KEY);
        }
        gloo_timers::future::TimeoutFuture::new(3_000).await;
    }
}

fn load_profile() -> Option<Profile> {
    serde_json::from_str(&storage::get(PROFILE_KEY)?).ok()
}

fn save_profile(profile: &Profile) {
    if let Ok(json) = serde_json::to_string(profile) {
        storage::set(PROFILE_KEY, &json);
    }
}

fn forget_profile() {
    storage::remove(PROFILE_KEY);
}
