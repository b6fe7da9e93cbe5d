//! Each person's signing key on this device (DESIGN §8).
//!
//! - At an online sign-in on a registered device of their store, a person gets an Ed25519 key
//!   for this device (WebCrypto). Its public half is registered with the server in their
//!   session; its private half is kept only **wrapped** (AES-GCM) under a key derived from
//!   their password (PBKDF2), in `localStorage` — so it survives the browser resetting
//!   IndexedDB, and nobody without the password can use it.
//! - While they are signed in, the unwrapped key — a non-extractable `CryptoKey` that can only
//!   sign — is kept in memory and in the small IndexedDB database `pronto-firma`, so a reload
//!   keeps the session able to sign. Signing out deletes it; the next person cannot sign as
//!   the previous one, even with devtools open.
//! - Offline, a person who signed in on this device before can sign in again: the password
//!   must unwrap their key (a wrong one cannot), which is the proof.
//! - Ops already signed stay signed: signing out never touches the outbox.

use js_sys::{Object, Reflect};
use leptos::prelude::*;
use pronto_shared::{
    api::{
        auth::Profile,
        devices::{Device, KeyInput},
    },
    sync::engine::{base64url, base64url_decode, Signer},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CryptoKey, IdbDatabase, IdbTransaction};

use crate::{
    api::{self, ApiError},
    local_db::{DbError, LocalDb},
    storage, webcrypto,
};

const DB_NAME: &str = "pronto-firma";
const STORE: &str = "sesion";
const CURRENT: &str = "actual";
const MATERIAL_PREFIX: &str = "pronto.firma.";

/// What stays on the device for a person between sessions: their profile (for an offline
/// sign-in), the PBKDF2 salt, and their signing key for this device, wrapped.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Material {
    perfil: Profile,
    sal: String,
    #[serde(default)]
    clave: Option<WrappedKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WrappedKey {
    dispositivo_id: Uuid,
    clave_id: Uuid,
    iv: String,
    envuelta: String,
    publica: String,
}

/// The signed-in person's keys, usable only during their session.
#[derive(Clone)]
struct SessionKeys {
    user_id: Uuid,
    /// Wraps new keys (e.g. when the device is registered after sign-in).
    wrapping: CryptoKey,
    signing: Option<(Uuid, Uuid, CryptoKey)>,
}

/// A person's key on this device, as the sync engine signs with it.
#[derive(Clone)]
pub struct WebSigner {
    key_id: Uuid,
    key: CryptoKey,
}

impl WebSigner {
    /// A fresh key that is registered nowhere: for tests and benchmarks of the signing path.
    pub async fn unregistered() -> Result<Self, String> {
        let (private, _) = webcrypto::generate_signing_key().await?;
        Ok(Self {
            key_id: Uuid::now_v7(),
            key: private,
        })
    }
}

impl Signer for WebSigner {
    fn key_id(&self) -> Uuid {
        self.key_id
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        webcrypto::sign(&self.key, message).await
    }
}

/// Provided as context; `Copy`.
#[derive(Clone, Copy)]
pub struct Keyring {
    current: RwSignal<Option<SessionKeys>, LocalStorage>,
    /// The stored session was read (or there was none).
    loaded: RwSignal<bool>,
}

fn b64(bytes: &[u8]) -> String {
    base64url(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, String> {
    base64url_decode(text).ok_or_else(|| "datos de la llave dañados".to_owned())
}

fn material_key(usuario: &str) -> String {
    format!("{MATERIAL_PREFIX}{}", usuario.trim().to_lowercase())
}

fn load_material(usuario: &str) -> Option<Material> {
    serde_json::from_str(&storage::get(&material_key(usuario))?).ok()
}

fn save_material(material: &Material) {
    if let Ok(json) = serde_json::to_string(material) {
        storage::set(&material_key(&material.perfil.usuario), &json);
    }
}

/// Whether `profile` may push through `device` (and so needs a key there).
fn usable(profile: &Profile, device: &Device) -> bool {
    profile
        .principal()
        .can(pronto_shared::Action::UseDevice(device.tienda_id))
}

fn upgrade(db: &IdbDatabase, _tx: &IdbTransaction, from: u32, _to: u32) -> Result<(), JsValue> {
    if from < 1 {
        db.create_object_store(STORE)?;
    }
    Ok(())
}

async fn session_db() -> Result<LocalDb, DbError> {
    LocalDb::open_with(DB_NAME, 1, upgrade).await
}

impl Keyring {
    /// Reads the signed-in person's stored session keys, if any.
    pub fn start() -> Self {
        let keyring = Self {
            current: RwSignal::new_local(None),
            loaded: RwSignal::new(false),
        };
        leptos::task::spawn_local(async move {
            if let Ok(Some(keys)) = read_session().await {
                keyring.current.set(Some(keys));
            }
            keyring.loaded.set(true);
        });
        keyring
    }

    /// After the server accepted `password`: unlock (or create and register) the person's key
    /// for `device`. An error means the session cannot sign; the caller signs out.
    pub async fn sign_in(
        self,
        profile: &Profile,
        password: &str,
        device: Option<Device>,
    ) -> Result<(), String> {
        let mut material = match load_material(&profile.usuario) {
            Some(m) if m.perfil.id == profile.id => m,
            _ => Material {
                perfil: profile.clone(),
                sal: b64(&webcrypto::random_bytes(16)?),
                clave: None,
            },
        };
        material.perfil = profile.clone();
        let wrapping = webcrypto::derive_wrapping_key(password, &unb64(&material.sal)?).await?;
        let mut keys = SessionKeys {
            user_id: profile.id,
            wrapping,
            signing: None,
        };
        if let Some(device) = device.filter(|d| usable(profile, d)) {
            attach(&mut keys, &mut material, &device, true).await?;
        }
        save_material(&material);
        self.keep(keys).await
    }

    /// Offline: the person's password must unwrap their key for this device. Returns the
    /// profile they last had here.
    pub async fn sign_in_offline(
        self,
        usuario: &str,
        password: &str,
        device: Option<Device>,
    ) -> Result<Profile, String> {
        let no_key = || {
            "Sin conexión con el servidor: sin red solo puede entrar quien ya inició sesión en este dispositivo.".to_owned()
        };
        let material = load_material(usuario).ok_or_else(no_key)?;
        let device = device.ok_or_else(no_key)?;
        let wrapped = material
            .clave
            .as_ref()
            .filter(|k| k.dispositivo_id == device.id)
            .ok_or_else(no_key)?;
        let wrapping = webcrypto::derive_wrapping_key(password, &unb64(&material.sal)?).await?;
        let key = webcrypto::unwrap(&unb64(&wrapped.envuelta)?, &wrapping, &unb64(&wrapped.iv)?)
            .await
            .map_err(|_| "Usuario o contraseña incorrectos.".to_owned())?;
        let keys = SessionKeys {
            user_id: material.perfil.id,
            wrapping,
            signing: Some((device.id, wrapped.clave_id, key)),
        };
        self.keep(keys).await?;
        Ok(material.perfil)
    }

    /// The device was registered during this session: give the person a key for it.
    pub async fn device_registered(self, profile: &Profile, device: &Device) -> Result<(), String> {
        let Some(mut keys) = self.current.get_untracked() else {
            return Err("Vuelve a iniciar sesión para firmar en este dispositivo.".into());
        };
        if keys.user_id != profile.id || !usable(profile, device) {
            return Ok(());
        }
        let mut material = load_material(&profile.usuario)
            .ok_or_else(|| "Vuelve a iniciar sesión para firmar en este dispositivo.".to_owned())?;
        attach(&mut keys, &mut material, device, false).await?;
        save_material(&material);
        self.keep(keys).await
    }

    /// Forgets the session's keys (sign-out). The wrapped key stays for the next sign-in.
    pub async fn sign_out(self) {
        self.current.set(None);
        if let Ok(db) = session_db().await {
            let _ = db
                .write(&[STORE], |tx| {
                    tx.object_store(STORE)?.delete(&CURRENT.into())
                })
                .await;
        }
    }

    /// The key `author` signs with on `device`, if this session holds it.
    pub async fn signer(self, author: Uuid, device: Uuid) -> Option<WebSigner> {
        if !self.loaded.get_untracked() {
            if let Ok(Some(keys)) = read_session().await {
                self.current.set(Some(keys));
            }
            self.loaded.set(true);
        }
        let keys = self.current.get_untracked()?;
        let (on, key_id, key) = keys.signing?;
        (keys.user_id == author && on == device).then_some(WebSigner { key_id, key })
    }

    async fn keep(self, keys: SessionKeys) -> Result<(), String> {
        write_session(&keys)
            .await
            .map_err(|e| format!("No se pudo guardar la sesión en el dispositivo ({e})."))?;
        self.current.set(Some(keys));
        self.loaded.set(true);
        Ok(())
    }
}

/// Unwraps the person's key for `device`, or makes and registers a new one. The public half
/// is registered (again: registering is idempotent) whenever the server can be asked; a key
/// the server no longer accepts (revoked) is replaced.
async fn attach(
    keys: &mut SessionKeys,
    material: &mut Material,
    device: &Device,
    online: bool,
) -> Result<(), String> {
    if let Some(wrapped) = material
        .clave
        .clone()
        .filter(|k| k.dispositivo_id == device.id)
    {
        let unwrapped = webcrypto::unwrap(
            &unb64(&wrapped.envuelta)?,
            &keys.wrapping,
            &unb64(&wrapped.iv)?,
        )
        .await;
        // A key wrapped under an old password no longer opens: make a new one.
        if let Ok(key) = unwrapped {
            let accepted =
                !online || register(device.id, wrapped.clave_id, &wrapped.publica).await?;
            if accepted {
                keys.signing = Some((device.id, wrapped.clave_id, key));
                return Ok(());
            }
        }
    }
    let (private, public) = webcrypto::generate_signing_key().await?;
    let iv = webcrypto::random_bytes(12)?;
    let wrapped = webcrypto::wrap(&private, &keys.wrapping, &iv).await?;
    // The session signs with a non-extractable copy; the extractable original is dropped.
    let key = webcrypto::unwrap(&wrapped, &keys.wrapping, &iv).await?;
    let key_id = Uuid::now_v7();
    let publica = b64(&public);
    if !register(device.id, key_id, &publica).await? {
        return Err("El servidor no aceptó la llave de firma de este dispositivo.".into());
    }
    material.clave = Some(WrappedKey {
        dispositivo_id: device.id,
        clave_id: key_id,
        iv: b64(&iv),
        envuelta: b64(&wrapped),
        publica,
    });
    keys.signing = Some((device.id, key_id, key));
    Ok(())
}

/// Registers a public key; `Ok(false)` when the server refuses it for good (revoked, taken).
async fn register(device: Uuid, key_id: Uuid, publica: &str) -> Result<bool, String> {
    let body = KeyInput {
        clave_id: key_id,
        publica: publica.to_owned(),
    };
    let url = format!("/api/devices/{device}/claves");
    match api::post::<_, serde_json::Value>(&url, &body).await {
        Ok(_) => Ok(true),
        Err(ApiError::Server { status: 409, .. }) => Ok(false),
        Err(err) => Err(format!(
            "No se pudo registrar la llave de firma del dispositivo: {}",
            err.message()
        )),
    }
}

fn text(value: &JsValue, key: &str) -> Option<String> {
    Reflect::get(value, &key.into()).ok()?.as_string()
}

async fn read_session() -> Result<Option<SessionKeys>, DbError> {
    let db = session_db().await?;
    let request = db
        .read(&[STORE], |tx| tx.object_store(STORE)?.get(&CURRENT.into()))
        .await?;
    let value = request.result()?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let user_id = text(&value, "usuario_id").and_then(|t| Uuid::parse_str(&t).ok());
    let wrapping = Reflect::get(&value, &"envoltura".into())?
        .dyn_into::<CryptoKey>()
        .ok();
    let (Some(user_id), Some(wrapping)) = (user_id, wrapping) else {
        return Ok(None);
    };
    let signing = (|| {
        let device = Uuid::parse_str(&text(&value, "dispositivo_id")?).ok()?;
        let key_id = Uuid::parse_str(&text(&value, "clave_id")?).ok()?;
        let key = Reflect::get(&value, &"firma".into())
            .ok()?
            .dyn_into::<CryptoKey>()
            .ok()?;
        Some((device, key_id, key))
    })();
    Ok(Some(SessionKeys {
        user_id,
        wrapping,
        signing,
    }))
}

async fn write_session(keys: &SessionKeys) -> Result<(), DbError> {
    let db = session_db().await?;
    let keys = keys.clone();
    db.write(&[STORE], move |tx| {
        let record = Object::new();
        Reflect::set(
            &record,
            &"usuario_id".into(),
            &keys.user_id.to_string().into(),
        )?;
        Reflect::set(&record, &"envoltura".into(), &keys.wrapping)?;
        if let Some((device, key_id, key)) = &keys.signing {
            Reflect::set(
                &record,
                &"dispositivo_id".into(),
                &device.to_string().into(),
            )?;
            Reflect::set(&record, &"clave_id".into(), &key_id.to_string().into())?;
            Reflect::set(&record, &"firma".into(), key)?;
        }
        tx.object_store(STORE)?
            .put_with_key(&record, &CURRENT.into())
    })
    .await?;
    Ok(())
}
