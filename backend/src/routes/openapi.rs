//! `GET /api/openapi.json`: the API's description (OpenAPI 3.1), generated from the handlers'
//! `#[utoipa::path]` attributes and the wire types' `ToSchema` derives (shared's `openapi`
//! feature, which only the server turns on). `backend/tests/docs.rs` checks that it names
//! exactly the routes the router serves.

use axum::{routing::get, Router};
use pronto_shared::error::ErrorBody;
use utoipa::{
    openapi::{
        path::Operation,
        security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme},
        ContentBuilder, OpenApi as Document, RefOr, Response, ResponseBuilder,
    },
    Modify, OpenApi, ToSchema,
};

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pronto POS",
        description = "API del punto de venta: catálogo, clientes, existencias, ventas, sincronización de dispositivos y su supervisión. Los importes son enteros en centavos (MXN). Salvo donde se indica, pide la cookie de sesión `pronto_sesion` que da `POST /api/auth/login`; los errores responden `{code, message, fields}`."
    ),
    paths(
        super::health::health,
        super::auth::login,
        super::auth::logout,
        super::auth::me,
        super::auth::set_pin,
        super::stores::list,
        super::directory::directory,
        super::devices::list,
        super::devices::register,
        super::devices::register_key,
        super::devices::deactivate,
        super::devices::report_dead_letters,
        super::users::deactivate,
        super::users::activate,
        super::products::search,
        super::products::read,
        super::products::create,
        super::products::update,
        super::customers::search,
        super::customers::read,
        super::customers::create,
        super::customers::update,
        super::stock::list,
        super::stock::movement,
        super::sales::create,
        super::sales::list,
        super::sales::read,
        super::sales::policy,
        super::sales::set_limit,
        super::sync::push_batch,
        super::sync::pull_page,
        super::sincronizacion::queue,
        super::sincronizacion::retry,
        super::sincronizacion::discard,
        super::sincronizacion::read_config,
        super::sincronizacion::write_config,
        super::sincronizacion::stranded,
        super::sincronizacion::history,
        super::sincronizacion::conflicts,
        super::sincronizacion::resolve_conflict,
        super::sincronizacion::content_types,
        super::sincronizacion::audit_log,
        super::sincronizacion::integrity,
        description,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SessionAndErrors),
)]
struct ApiDoc;

/// The session cookie as the default security of every operation (those that need none say
/// `security(())`), the error body on every operation's 4XX and 5XX, and unique operation ids.
struct SessionAndErrors;

impl Modify for SessionAndErrors {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "sesion",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "pronto_sesion",
                "La cookie de sesión de `POST /api/auth/login`.",
            ))),
        );
        doc.security = Some(vec![SecurityRequirement::new(
            "sesion",
            Vec::<String>::new(),
        )]);
        let error = |what: &str| -> RefOr<Response> {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            ErrorBody::name(),
                        ))))
                        .build(),
                )
                .build()
                .into()
        };
        for item in doc.paths.paths.values_mut() {
            let operations: [&mut Option<Operation>; 4] = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                // Handlers of different routers share names (`list`, `read`): the tag makes
                // the ids unique, as OpenAPI requires.
                if let (Some(tag), Some(id)) = (
                    operation.tags.as_ref().and_then(|t| t.first()),
                    operation.operation_id.as_ref(),
                ) {
                    operation.operation_id = Some(format!("{tag}_{id}"));
                }
                let responses = &mut operation.responses.responses;
                responses
                    .entry("4XX".into())
                    .or_insert_with(|| error("La petición no procede: sin sesión, sin permiso, datos no válidos, no existe o choca con lo guardado"));
                responses
                    .entry("5XX".into())
                    .or_insert_with(|| error("Falla del servidor o de la base de datos"));
            }
        }
    }
}

/// The description as JSON.
pub fn document() -> Document {
    ApiDoc::openapi()
}

pub fn router() -> Router<AppState> {
    let json = document()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    Router::new().route(
        "/openapi.json",
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    json,
                )
            }
        }),
    )
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "salud",
    responses((status = 200, description = "Esta descripción (OpenAPI 3.1)", content_type = "application/json")),
    security(()),
)]
#[allow(dead_code)]
fn description() {}
