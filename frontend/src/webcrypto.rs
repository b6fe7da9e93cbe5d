//! The few WebCrypto calls the signing keys need (DESIGN §8), over web-sys: Ed25519 key
//! generation and signing, PBKDF2 key derivation from a password, and AES-GCM key wrapping.
//! No cryptography is written here; the browser does all of it.

use js_sys::{Array, ArrayBuffer, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// PBKDF2-SHA-256 iterations for the key that wraps a person's signing key: OWASP's 2023
/// figure. It is paid once per sign-in (≈ 0.2–0.5 s on a tablet) and by anyone guessing
/// passwords against a copied device, once per guess.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// A WebCrypto failure, as text for a person.
pub type CryptoError = String;

fn error(context: &str, err: &JsValue) -> CryptoError {
    let detail = Reflect::get(err, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    format!("{context}: {detail}")
}

fn crypto() -> Result<web_sys::Crypto, CryptoError> {
    web_sys::window()
        .ok_or("sin ventana")?
        .crypto()
        .map_err(|e| error("sin WebCrypto", &e))
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    Ok(crypto()?.subtle())
}

async fn wait(promise: Result<Promise, JsValue>, context: &str) -> Result<JsValue, CryptoError> {
    let promise = promise.map_err(|e| error(context, &e))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| error(context, &e))
}

fn object(pairs: &[(&str, JsValue)]) -> Result<Object, CryptoError> {
    let object = Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &(*key).into(), value).map_err(|e| error("parámetros", &e))?;
    }
    Ok(object)
}

fn usages(list: &[&str]) -> Array {
    list.iter().map(|u| JsValue::from_str(u)).collect()
}

fn bytes_of(value: JsValue) -> Result<Vec<u8>, CryptoError> {
    let buffer: ArrayBuffer = value
        .dyn_into()
        .map_err(|_| "respuesta inesperada de WebCrypto".to_owned())?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

fn key_of(value: JsValue) -> Result<CryptoKey, CryptoError> {
    value
        .dyn_into()
        .map_err(|_| "WebCrypto no devolvió una clave".to_owned())
}

/// `n` random bytes from the browser's CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut bytes = vec![0_u8; n];
    crypto()?
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(|e| error("aleatorio", &e))?;
    Ok(bytes)
}

/// A new Ed25519 key pair: the private key (extractable once, only to be wrapped) and the raw
/// 32-byte public key.
pub async fn generate_signing_key() -> Result<(CryptoKey, Vec<u8>), CryptoError> {
    let subtle = subtle()?;
    let pair = wait(
        subtle.generate_key_with_str("Ed25519", true, &usages(&["sign", "verify"])),
        "generar la llave",
    )
    .await?;
    let private =
        key_of(Reflect::get(&pair, &"privateKey".into()).map_err(|e| error("llave", &e))?)?;
    let public = key_of(Reflect::get(&pair, &"publicKey".into()).map_err(|e| error("llave", &e))?)?;
    let raw = bytes_of(
        wait(
            subtle.export_key("raw", &public),
            "exportar la llave pública",
        )
        .await?,
    )?;
    Ok((private, raw))
}

/// The AES-GCM key that wraps a person's signing key, derived from their password. Not
/// extractable: it can wrap and unwrap, never be read.
pub async fn derive_wrapping_key(password: &str, salt: &[u8]) -> Result<CryptoKey, CryptoError> {
    let subtle = subtle()?;
    let secret = Uint8Array::from(password.as_bytes());
    let base = key_of(
        wait(
            subtle.import_key_with_str("raw", &secret, "PBKDF2", false, &usages(&["deriveKey"])),
            "preparar la contraseña",
        )
        .await?,
    )?;
    let params = object(&[
        ("name", "PBKDF2".into()),
        ("salt", Uint8Array::from(salt).into()),
        ("iterations", PBKDF2_ITERATIONS.into()),
        ("hash", "SHA-256".into()),
    ])?;
    let target = object(&[("name", "AES-GCM".into()), ("length", 256.into())])?;
    key_of(
        wait(
            subtle.derive_key_with_object_and_object(
                &params,
                &base,
                &target,
                false,
                &usages(&["wrapKey", "unwrapKey"]),
            ),
            "derivar la llave",
        )
        .await?,
    )
}

fn aes_gcm(iv: &[u8]) -> Result<Object, CryptoError> {
    object(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(iv).into()),
    ])
}

/// `private` (PKCS #8) encrypted under `wrapping` with AES-GCM and `iv`.
pub async fn wrap(
    private: &CryptoKey,
    wrapping: &CryptoKey,
    iv: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let subtle = subtle()?;
    bytes_of(
        wait(
            subtle.wrap_key_with_object("pkcs8", private, wrapping, &aes_gcm(iv)?),
            "guardar la llave",
        )
        .await?,
    )
}

/// Decrypts a wrapped signing key into a non-extractable key that can only sign. Fails when
/// `wrapping` came from another password (AES-GCM's tag does not check out).
pub async fn unwrap(
    wrapped: &[u8],
    wrapping: &CryptoKey,
    iv: &[u8],
) -> Result<CryptoKey, CryptoError> {
    let subtle = subtle()?;
    let algorithm = object(&[("name", "Ed25519".into())])?;
    key_of(
        wait(
            subtle.unwrap_key_with_buffer_source_and_object_and_object(
                "pkcs8",
                &Uint8Array::from(wrapped),
                wrapping,
                &aes_gcm(iv)?,
                &algorithm,
                false,
                &usages(&["sign"]),
            ),
            "abrir la llave",
        )
        .await?,
    )
}

/// The 64-byte Ed25519 signature of `message`.
pub async fn sign(key: &CryptoKey, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let subtle = subtle()?;
    bytes_of(
        wait(
            subtle.sign_with_str_and_buffer_source("Ed25519", key, &Uint8Array::from(message)),
            "firmar",
        )
        .await?,
    )
}
