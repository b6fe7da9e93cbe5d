//! Request extractors that answer failures in the API's error format (axum's own answer in
//! plain text, which the browser cannot show as a form error).

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use pronto_shared::domain::FieldErrors;
use serde::de::DeserializeOwned;

use crate::AppError;

/// JSON body: 415 if not `application/json`, 413 if over the body limit, 400 if not JSON,
/// 422 with the offending field's path if the JSON does not fit the type (unknown fields,
/// wrong types, values a domain type refuses).
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
        if !is_json {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest("No se pudo leer la solicitud.".into())
                }
            })?;
        parse_json(&bytes).map(AppJson)
    }
}

/// Deserialises with the path of the failing field, for per-field messages.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => value,
        Err(err) => {
            let path = err.path().to_string();
            return Err(json_error(&path, err.into_inner()));
        }
    };
    // Trailing bytes after the value (`{} {}`) are as malformed as a missing brace.
    de.end().map_err(|err| json_error("", err))?;
    Ok(value)
}

fn json_error(path: &str, inner: serde_json::Error) -> AppError {
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            let field = unknown_field(message).unwrap_or_else(|| path.to_owned());
            let field = if field.is_empty() || field == "." {
                "cuerpo".to_owned()
            } else {
                field
            };
            let mut fields = FieldErrors::new();
            fields.add(field, spanish(message));
            AppError::Validation(fields)
        }
        _ => AppError::BadRequest("El cuerpo de la solicitud no es JSON válido.".into()),
    }
}

/// serde reports an unknown field at its parent's path; name the field itself instead.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_owned)
}

/// serde's English messages, put in words a cashier reads. Our own domain messages (already
/// Spanish) pass through unchanged.
fn spanish(message: &str) -> String {
    if message.starts_with("unknown field") {
        "Campo desconocido.".into()
    } else if message.starts_with("missing field") {
        "Falta este campo.".into()
    } else if message.starts_with("invalid type") {
        format!("Tipo de dato incorrecto ({message}).")
    } else if message.starts_with("invalid value") || message.starts_with("unknown variant") {
        format!("Valor no válido ({message}).")
    } else {
        message.to_owned()
    }
}

/// Query string, with the same error format as [`AppJson`].
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_query(query).map(AppQuery)
    }
}

fn serde_urlencoded_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| AppError::BadRequest("Parámetros no válidos.".into()))?,
    )
    .map(|q| q.0)
    .map_err(|rejection| {
        let mut fields = FieldErrors::new();
        fields.add(
            "consulta",
            format!("Parámetros no válidos ({})", rejection.body_text()),
        );
        AppError::Validation(fields)
    })
}

/// The client's IP address as text (`unknown` when the server runs without connect info, as
/// in router-only tests): the peer, or behind a trusted proxy the address it forwards
/// (`auth::client_ip`).
pub struct ClientIp(pub String);

impl FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip())
        else {
            return Ok(Self("unknown".to_owned()));
        };
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok());
        let ip = crate::auth::client_ip::client_ip(peer, forwarded, &state.auth.trusted_proxies);
        Ok(Self(ip.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_shared::api::products::ProductInput;

    #[test]
    fn a_domain_rule_in_json_is_reported_on_its_field_in_spanish() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[allow(dead_code)]
            precio: pronto_shared::domain::Price,
        }
        let Err(AppError::Validation(fields)) = parse_json::<Body>(br#"{"precio": -5}"#) else {
            panic!("expected a validation error");
        };
        assert_eq!(
            fields.get("precio"),
            Some("El precio debe ser mayor que cero.")
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let json = br#"{"sku":"ABC","codigo_barras":"4006381333931","nombre":"x","marca":"x","modelo":"x","color":"x","talla":25,"precio":100,"tienda_id":"x"}"#;
        let Err(AppError::Validation(fields)) = parse_json::<ProductInput>(json) else {
            panic!("expected a validation error");
        };
        assert_eq!(fields.get("tienda_id"), Some("Campo desconocido."));
    }

    #[test]
    fn broken_json_is_a_bad_request_and_trailing_garbage_too() {
        assert!(matches!(
            parse_json::<serde_json::Value>(b"{\"a\":"),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<serde_json::Value>(b"{} {}"),
            Err(AppError::BadRequest(_))
        ));
    }
}
