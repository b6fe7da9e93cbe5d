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
    /// No answer: offline, server down, or the request was cut.
    Network,
}

impl ApiError {
    /// What to show the person.
    pub fn message(&self) -> String {
        match self {
            Self::Server { body, .. } => body.message.clone(),
            Self::Network => {
                "No hay conexión con el servidor. Intenta de nuevo en un momento.".into()
            }
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } => Some(*status),
            Self::Network => None,
        }
    }
}

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
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| ApiError::Network)?;
    response
        .dyn_into::<Response>()
        .map_err(|_| ApiError::Network)
}

async fn read_json<R: DeserializeOwned>(response: Response) -> Result<R, ApiError> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    let text = text_of(&response).await.ok_or(ApiError::Network)?;
    serde_json::from_str(&text).map_err(|_| ApiError::Network)
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
