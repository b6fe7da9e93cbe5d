//! JSON over fetch to our own `/api`. Same-origin requests carry the session cookie by
//! themselves; errors come back as the server's `ErrorBody`, or as a network failure, which
//! the caller treats as "offline".

use pronto_shared::ErrorBody;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// Why a call did not give the expected answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with an error status and body.
    Server { status: u16, body: ErrorBody },
    /// No answer: offline, server down, the request was cut, or no answer within
    /// [`TIMEOUT_MS`].
    Network,
    /// An answer that is not what this build expects (a proxy's error page, a newer server):
    /// not "offline", and worth reporting.
    Unreadable { status: u16, detail: String },
}

/// How long a request may wait for its answer before it counts as no answer: a push of 500
/// ops takes well under a second; a hung connection must not hold the sync loop forever.
pub const TIMEOUT_MS: u32 = 30_000;

impl ApiError {
    /// What to show the person.
    pub fn message(&self) -> String {
        match self {
            Self::Server { body, .. } => body.message.clone(),
            Self::Network => {
                "No hay conexión con el servidor. Intenta de nuevo en un momento.".into()
            }
            Self::Unreadable { .. } => UNREADABLE.into(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } | Self::Unreadable { status, .. } => Some(*status),
            Self::Network => None,
        }
    }
}

/// What the person is told about an answer the app cannot read.
pub const UNREADABLE: &str =
    "La respuesta del servidor no se pudo leer: actualiza la aplicación; si sigue, avisa a sistemas.";

pub async fn get<R: DeserializeOwned>(url: &str) -> Result<R, ApiError> {
    let response = send("GET", url, None).await?;
    read_json(response).await
}

pub async fn post<B: Serialize, R: DeserializeOwned>(url: &str, body: &B) -> Result<R, ApiError> {
    let json = serde_json::to_string(body).map_err(|_| ApiError::Network)?;
    let response = send("POST", url, Some(json)).await?;
    read_json(response).await
}

/// PUT with a JSON answer.
pub async fn put<B: Serialize, R: DeserializeOwned>(url: &str, body: &B) -> Result<R, ApiError> {
    let json = serde_json::to_string(body).map_err(|_| ApiError::Network)?;
    let response = send("PUT", url, Some(json)).await?;
    read_json(response).await
}

/// PUT whose answer has no body (e.g. 204).
pub async fn put_empty<B: Serialize>(url: &str, body: &B) -> Result<(), ApiError> {
    let json = serde_json::to_string(body).map_err(|_| ApiError::Network)?;
    let response = send("PUT", url, Some(json)).await?;
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

/// POST without a body whose answer has no body (e.g. logout's 204).
pub async fn post_empty(url: &str) -> Result<(), ApiError> {
    let response = send("POST", url, None).await?;
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

async fn send(method: &str, url: &str, body: Option<String>) -> Result<Response, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Network)?;
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(|_| ApiError::Network)?;
    let _ = headers.set("accept", "application/json");
    // Every write says JSON, body or not: the server refuses writes that do not (a cross-site
    // form cannot set this header).
    if method != "GET" {
        let _ = headers.set("content-type", "application/json");
    }
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    // `AbortSignal.timeout(ms)` through Reflect (web-sys keeps it behind its unstable flag).
    if let Some(signal) = timeout_signal(TIMEOUT_MS) {
        init.set_signal(Some(&signal));
    }
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| ApiError::Network)?;
    response
        .dyn_into::<Response>()
        .map_err(|_| ApiError::Network)
}

fn timeout_signal(ms: u32) -> Option<web_sys::AbortSignal> {
    let class = js_sys::Reflect::get(&js_sys::global(), &"AbortSignal".into()).ok()?;
    let timeout: js_sys::Function = js_sys::Reflect::get(&class, &"timeout".into())
        .ok()?
        .dyn_into()
        .ok()?;
    timeout
        .call1(&class, &JsValue::from(ms))
        .ok()?
        .dyn_into()
        .ok()
}

async fn read_json<R: DeserializeOwned>(response: Response) -> Result<R, ApiError> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    let status = response.status();
    // A body cut on the way is no answer; a whole body that does not parse is an answer.
    let text = text_of(&response).await.ok_or(ApiError::Network)?;
    serde_json::from_str(&text).map_err(|err| {
        let detail = format!("{err}");
        leptos::logging::warn!("unreadable answer ({status}): {detail}");
        ApiError::Unreadable { status, detail }
    })
}

async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    let body = text_of(&response)
        .await
        .and_then(|text| serde_json::from_str::<ErrorBody>(&text).ok())
        .unwrap_or_else(|| ErrorBody::new("http", format!("El servidor respondió {status}.")));
    ApiError::Server { status, body }
}

async fn text_of(response: &Response) -> Option<String> {
    let promise = response.text().ok()?;
    JsFuture::from(promise).await.ok()?.as_string()
}
