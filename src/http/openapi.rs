//! The OpenAPI document: its info, tags, security scheme and shared schemas, merged with the
//! operation each route of [`routes`] documents. It owns how the document is assembled and
//! may not add a path of its own: every path comes from the route table.

use utoipa::OpenApi;

use super::{admin, authzen, checks, commands, error, explain, ops, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "partner-access",
        description = "Cedar-policy authorization sidecar for partner access to client accounts. \
                       Errors are `{\"error\": {\"code\", \"message\", \"rules\"?, \"details\"?}}`."
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail,
        checks::CheckBody, checks::CheckAnswer, checks::Diagnostics, checks::BatchBody,
        checks::BatchAnswer, checks::BatchItem, checks::ItemError,
        explain::ExplainAnswer, explain::ActionsAllowedBody, explain::ActionsAllowedAnswer,
        explain::AccountsAnswer, explain::SearchAnswer,
        authzen::EvaluationRequest, authzen::EvaluationResponse, authzen::EvaluationsRequest,
        authzen::EvaluationsResponse, authzen::EvaluationItem, authzen::Subject,
        authzen::Action, authzen::Resource,
        admin::WriteAnswer, admin::ReloadAnswer,
        commands::RelationshipAnswer, commands::RelationshipHistoryAnswer,
        commands::RelationshipPeriodAnswer,
        ops::Health, ops::ReadyAnswer, ops::ActionsAnswer, ops::PoliciesAnswer,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "checks", description = "Allow/deny decisions"),
        (name = "authzen", description = "OpenID AuthZEN Authorization API"),
        (name = "admin", description = "State and policy administration, audit log and outbox (admin token)"),
        (name = "commands", description = "The Client Access Manager's state changes, authorized by the policies"),
        (name = "reads", description = "The Client Access Manager's lists and the managed relationship"),
        (name = "policies", description = "What is loaded"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token of the scope each operation lists: `check` (decisions), \
                         `caller` (also commands and reads of the state) or `admin` (also \
                         administration); each scope includes the ones before it",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document: the handlers' operations as the route table collects them, each with
/// its route's scope as its security requirement, and the schemas they use.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut openapi = ApiDoc::openapi();
    let components = openapi.components.get_or_insert_with(Default::default);
    for r in routes() {
        openapi.paths.merge(r.doc);
        components.schemas.extend(r.schemas);
    }
    open_flattened(&mut components.schemas);
    openapi
}

/// Lets the members of a flattened schema sit beside others. utoipa writes a type that denies
/// unknown fields when it is read (`ClientUserRecord`) as `additionalProperties: false`, and a
/// flattened member (`#[serde(flatten)]`, every command answer with its `revision`) as one
/// part of an `allOf`: that part would then refuse the other parts' members. So the parts of
/// each `allOf` of the components, inline or named, no longer forbid other members.
fn open_flattened(
    schemas: &mut std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    >,
) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Object, Schema};
    fn open(object: &mut Object) {
        if matches!(
            object.additional_properties.as_deref(),
            Some(AdditionalProperties::FreeForm(false))
        ) {
            object.additional_properties = None;
        }
    }
    let mut named = Vec::new();
    for schema in schemas.values_mut() {
        if let RefOr::T(Schema::AllOf(all_of)) = schema {
            for part in &mut all_of.items {
                match part {
                    RefOr::T(Schema::Object(object)) => open(object),
                    RefOr::Ref(reference) => named.push(
                        reference
                            .ref_location
                            .trim_start_matches("#/components/schemas/")
                            .to_owned(),
                    ),
                    _ => {}
                }
            }
        }
    }
    for name in named {
        if let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(&name) {
            open(object);
        }
    }
}
