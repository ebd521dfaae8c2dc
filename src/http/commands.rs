//! The Client Access Manager's commands and reads over HTTP.
//!
//! Every command body carries `actor` (the person acting, as the host authenticated them). A
//! command may carry an `Idempotency-Key` header: a repeat with the same key and request gets
//! the first answer (with `Idempotent-Replayed: true`) and applies nothing; the same key with
//! another request is 409. Answers carry the store `revision` the command produced.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::ToSchema;

mod reads;

use super::error::{ApiBody, ApiError, ApiPath, ErrorBody};
use crate::app::App;
use crate::app::commands::cam::{
    ActorOnly, AddPartnerUsers, AddPartnerUsersBody, Added, ClientRemovalPreview,
    ClientRemovalPreviewed, DeactivatePartnerUser, EmployeeRemovalPreview,
    EmployeeRemovalPreviewed, GrantPartnerPermission, ReactivateAllPartnerUsers,
    ReactivatePartnerUser, ReactivatedAll, RemoveAllBody, RemoveAllPartnerUsers, RemoveEmployee,
    RemoveEmployeeBody, RemovedAll, RemovedEmployee, RevokePartnerPermission,
    SetPartnerPermissionSet, SetPartnerPermissionSetBody, StatusChange,
};
use crate::app::commands::client_side::{
    AssignSeats, AssignSeatsBody, CreateUser, CreateUserBody, CreatedUser, GrantClientPermission,
    MigrateToPartnerAdmin, MigrateToPartnerAdminBody, RemoveUser, RemovedUser,
    RevokeClientPermission, SeatsAssigned, SetClientPermissionSet, SetClientPermissionSetBody,
    SetPaidHubs, SetPaidHubsBody, SetSeat, SetSeatBody,
};
use crate::app::commands::links::{
    ApproveAccessLink, ApproveAccessLinkBody, Approved, IssueAccessLink, IssueAccessLinkBody,
    IssuedLink, LinkEmployee, LinkEmployeeBody, Linked,
};
use crate::app::commands::{Command, CommandAnswer, CommandBody, CommandMeta, PermissionsApplied};
use crate::domain::ClientUserRecord;

// The reads' handlers and wire types, under the names the route table and the OpenAPI
// document give them (`commands::audit`, with utoipa's `__path_audit`).
pub use reads::*;

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 256;

/// Parses a command body (400 naming the field) and the idempotency key.
fn parse<B: CommandBody>(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(CommandMeta, B), ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed: B = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::invalid(format!("invalid body: {inner}"))
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::invalid(format!("unexpected characters after the body: {e}")))?;
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => {
            let key = value
                .to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key: not visible ASCII"))?;
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
                return Err(ApiError::invalid(format!(
                    "Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} characters"
                )));
            }
            Some(key.to_owned())
        }
    };
    let meta = CommandMeta {
        actor: parsed.actor().clone(),
        idempotency_key,
        request_digest: CommandMeta::digest(method.as_str(), uri.path(), body),
    };
    Ok((meta, parsed))
}

/// The answer of a command: 201 when it created something, else 200, with the revision.
fn respond(answer: CommandAnswer) -> Response {
    let status = if answer.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut body = answer.body;
    if let Value::Object(map) = &mut body {
        map.insert("revision".into(), Value::from(answer.revision));
    }
    let mut response = (status, axum::Json(body)).into_response();
    if answer.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Any command: its body parsed, the command made from its path and body, run by the app.
async fn command<C: Command>(
    app: Arc<App>,
    path: C::Path,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (meta, body) = parse::<C::Body>(&method, &uri, &headers, &body)?;
    let command = C::new(path, body);
    super::blocking(move || app.run(&meta, &command))
        .await
        .map(respond)
}

// Only the schema of `Answered` is used: `respond` adds `revision` to the answer's JSON object
// as the app keeps it for idempotent replays.

/// A command's answer with the store `revision` the command produced.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "never built: it describes the JSON `respond` builds from a `CommandAnswer`"
)]
pub struct Answered<A> {
    #[serde(flatten)]
    answer: A,
    /// The store revision the command produced (for a replay, the first answer's).
    revision: u64,
}

/// Compiles only where `B` and `A` are the body and the answer of the command `C`: a command
/// route's operation documents the types the command really reads and answers.
fn documented<C: Command<Body = B, Answer = A>, B, A>() {}

/// One command route: its handler (named after the route) runs the command type `$command`,
/// and its OpenAPI operation gives its body `$body`, its answer `$answer` with the revision,
/// and the rules it enforces.
macro_rules! command {
    (
        $(#[$doc:meta])*
        $name:ident, $method:ident, $path:literal, $command:ty,
        path_params = [$($param:literal),*],
        body = $body:ident, answer = $answer:ident,
        rules = $rules:literal
        $(, example = $request:expr => $example:expr)? $(,)?
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            $method, path = $path, tag = "commands",
            request_body(content = $body, description = $rules $(, example = $request)?),
            params(
                $(($param = String, Path),)*
                ("Idempotency-Key" = Option<String>, Header, description = "a repeat with the same key and request gets the first answer"),
            ),
            responses(
                (status = 200, description = "Applied", body = Answered<$answer> $(, example = $example)?),
                (status = 201, description = "Applied; something was created", body = Answered<$answer>),
                (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                (status = 403, description = "The policies deny it; `rules` names the deciding rule and policy ids", body = ErrorBody),
                (status = 404, body = ErrorBody),
                (status = 409, description = "An invariant would break, a stale preview, or a reused idempotency key", body = ErrorBody),
                (status = 413, body = ErrorBody), (status = 503, body = ErrorBody),
            )
        )]
        pub async fn $name(
            State(app): State<Arc<App>>,
            ApiPath(path): ApiPath<<$command as Command>::Path>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            ApiBody(body): ApiBody,
        ) -> Result<Response, ApiError> {
            documented::<$command, $body, $answer>();
            command::<$command>(app, path, method, uri, headers, body).await
        }
    };
}

command!(
    /// PA-1, PA-3: get an access link (own, or a colleague's); `rotate` revokes earlier ones.
    issue_access_link, post, "/v1/partners/{partner}/access-links", IssueAccessLink,
    path_params = ["partner"],
    body = IssueAccessLinkBody, answer = IssuedLink,
    rules = "actor, employee?, rotate? (PA-1, PA-3)",
);

command!(
    /// PA-2, PA-4, PA-5: approve an access link in a client account.
    approve_access_link, post, "/v1/access-links/{token}/approve", ApproveAccessLink,
    path_params = ["token"],
    body = ApproveAccessLinkBody, answer = Approved,
    rules = "actor, client (PA-2, PA-4, PA-5)",
);

command!(
    /// ADD-1..6, PERM-2: add employees of the actor's partner with one permission set.
    add_partner_users, post, "/v1/clients/{client}/partner-users", AddPartnerUsers,
    path_params = ["client"],
    body = AddPartnerUsersBody, answer = Added,
    rules = "actor, employees, permission_set (ADD, PERM-2)",
);

command!(
    /// LINK-1, LINK-2: link an existing client user who is an employee of the partner.
    link_employee, post, "/v1/partners/{partner}/employees/{employee}/link", LinkEmployee,
    path_params = ["partner", "employee"],
    body = LinkEmployeeBody, answer = Linked,
    rules = "actor, client (LINK-1, LINK-2)",
);

command!(
    /// PERM-1..3: apply a permission set to a partner user (grant only what you hold).
    set_partner_permission_set, put, "/v1/clients/{client}/partner-users/{employee}/permission-set", SetPartnerPermissionSet,
    path_params = ["client", "employee"],
    body = SetPartnerPermissionSetBody, answer = PermissionsApplied,
    rules = "actor, permission_set (PERM)",
);

command!(
    /// REM-2, MIG-4: deactivate a partner user.
    deactivate_partner_user, post, "/v1/clients/{client}/partner-users/{employee}/deactivate", DeactivatePartnerUser,
    path_params = ["client", "employee"],
    body = ActorOnly, answer = StatusChange,
    rules = "actor (REM-2, MIG-4)",
);

command!(
    /// REM-3, REM-7: reactivate a partner user.
    reactivate_partner_user, post, "/v1/clients/{client}/partner-users/{employee}/reactivate", ReactivatePartnerUser,
    path_params = ["client", "employee"],
    body = ActorOnly, answer = StatusChange,
    rules = "actor (REM-3, REM-7)",
);

command!(
    /// REM-7: reactivate every deactivated partner user of the actor's partner in the client
    /// at once (a deactivated partner admin, when all of them are deactivated: itself too).
    reactivate_all_partner_users, post, "/v1/clients/{client}/partner-users/reactivate-all", ReactivateAllPartnerUsers,
    path_params = ["client"],
    body = ActorOnly, answer = ReactivatedAll,
    rules = "actor (REM-7, REM-3, PA-1)",
    example = json!({"actor": "dana@acme.example"}) => json!({"client": "c-hooli", "partner": "p-acme", "reactivated": ["bob@acme.example", "dana@acme.example"], "revision": 12}),
);

command!(
    /// PERM-4, PERM-2: add one permission to a partner user from the CAM (role unchanged;
    /// what the actor does not hold is `withheld`).
    grant_partner_permission, put, "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}", GrantPartnerPermission,
    path_params = ["client", "employee", "permission"],
    body = ActorOnly, answer = PermissionsApplied,
    rules = "actor (PERM-4, PERM-1, PERM-2, PA-1)",
    example = json!({"actor": "ann@acme.example"}) => json!({"permissions": ["apps.manage", "crm.objects.edit", "reports.access"], "withheld": [], "kept": [], "role": "standard", "seat": "partner", "revision": 7}),
);

command!(
    /// PERM-4, PERM-2: remove one permission of a partner user from the CAM (role unchanged;
    /// what the actor does not hold is `kept`).
    revoke_partner_permission, delete, "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}", RevokePartnerPermission,
    path_params = ["client", "employee", "permission"],
    body = ActorOnly, answer = PermissionsApplied,
    rules = "actor (PERM-4, PERM-1, PERM-2, PA-1)",
    example = json!({"actor": "ann@acme.example"}) => json!({"permissions": ["crm.objects.edit"], "withheld": [], "kept": [], "role": "standard", "seat": "partner", "revision": 8}),
);

command!(
    /// REM-5: preview removing an employee: its clients and owned assets, and a `version`.
    employee_removal_preview, post, "/v1/partners/{partner}/employees/{employee}/removal-preview", EmployeeRemovalPreview,
    path_params = ["partner", "employee"],
    body = ActorOnly, answer = EmployeeRemovalPreviewed,
    rules = "actor (REM-5)",
);

command!(
    /// REM-1, REM-2, REM-5: remove an employee from chosen clients (409 on a stale version).
    remove_employee, post, "/v1/partners/{partner}/employees/{employee}/remove", RemoveEmployee,
    path_params = ["partner", "employee"],
    body = RemoveEmployeeBody, answer = RemovedEmployee,
    rules = "actor, clients, version (REM-1, REM-2, REM-5)",
);

command!(
    /// REM-6: preview removing every partner user of the actor's partner from a client.
    client_removal_preview, post, "/v1/clients/{client}/partner-users/removal-preview", ClientRemovalPreview,
    path_params = ["client"],
    body = ActorOnly, answer = ClientRemovalPreviewed,
    rules = "actor (REM-6)",
);

command!(
    /// REM-6, REM-8, REL-2: remove every partner user of the actor's partner from a client.
    remove_all_partner_users, post, "/v1/clients/{client}/partner-users/remove-all", RemoveAllPartnerUsers,
    path_params = ["client"],
    body = RemoveAllBody, answer = RemovedAll,
    rules = "actor, version (REM-6, REM-8, REL-2)",
);

command!(
    /// MIG-1..4: change a super admin to partner admin, keeping billing if asked.
    migrate_to_partner_admin, post, "/v1/clients/{client}/partner-admins", MigrateToPartnerAdmin,
    path_params = ["client"],
    body = MigrateToPartnerAdminBody, answer = ClientUserRecord,
    rules = "actor, user, keep_billing (MIG)",
);

command!(
    /// SEAT-6, SEAT-7: create a user in the client account.
    create_user, post, "/v1/clients/{client}/users", CreateUser,
    path_params = ["client"],
    body = CreateUserBody, answer = CreatedUser,
    rules = "actor, email, seat, permission_set (SEAT-6, SEAT-7)",
);

command!(
    /// SEAT-5, SEAT-8: change a user's seat.
    set_seat, put, "/v1/clients/{client}/users/{email}/seat", SetSeat,
    path_params = ["client", "email"],
    body = SetSeatBody, answer = ClientUserRecord,
    rules = "actor, seat (SEAT-5, SEAT-8)",
);

command!(
    /// SEAT-4: apply one of the client's permission sets.
    set_client_permission_set, put, "/v1/clients/{client}/users/{email}/permission-set", SetClientPermissionSet,
    path_params = ["client", "email"],
    body = SetClientPermissionSetBody, answer = PermissionsApplied,
    rules = "actor, permission_set (SEAT-4)",
);

command!(
    /// PERM-4, SEAT-4: add one permission to a user in the client account (role unchanged).
    grant_client_permission, put, "/v1/clients/{client}/users/{email}/permissions/{permission}", GrantClientPermission,
    path_params = ["client", "email", "permission"],
    body = ActorOnly, answer = PermissionsApplied,
    rules = "actor (PERM-4, SEAT-4, PERM-2)",
    example = json!({"actor": "owner@globex.example"}) => json!({"permissions": ["billing.edit", "crm.objects.edit"], "withheld": [], "kept": [], "role": "partner_admin", "revision": 9}),
);

command!(
    /// PERM-4, SEAT-4: remove one permission of a user in the client account (role unchanged).
    revoke_client_permission, delete, "/v1/clients/{client}/users/{email}/permissions/{permission}", RevokeClientPermission,
    path_params = ["client", "email", "permission"],
    body = ActorOnly, answer = PermissionsApplied,
    rules = "actor (PERM-4, SEAT-4, PERM-2)",
    example = json!({"actor": "owner@globex.example"}) => json!({"permissions": ["crm.objects.edit"], "withheld": [], "kept": [], "role": "partner_admin", "revision": 10}),
);

command!(
    /// SEAT-9, SEAT-8: set a user's paid Sales Hub / Service Hub licences (besides its seat).
    set_paid_hubs, put, "/v1/clients/{client}/users/{email}/paid-hubs", SetPaidHubs,
    path_params = ["client", "email"],
    body = SetPaidHubsBody, answer = ClientUserRecord,
    rules = "actor, paid_hubs: [\"sales\", \"service\"] (SEAT-9, SEAT-8)",
    example = json!({"actor": "owner@globex.example", "paid_hubs": ["sales"]}) => json!({"email": "ann@acme.example", "role": "partner_admin", "seat": "partner", "paid_hubs": ["sales"], "permissions": ["crm.objects.edit"], "status": "active", "partner": "p-acme", "keep_billing": false, "revision": 11}),
);

command!(
    /// SEAT-3: the partner seat for several users, all or nothing.
    assign_seats, post, "/v1/clients/{client}/seats", AssignSeats,
    path_params = ["client"],
    body = AssignSeatsBody, answer = SeatsAssigned,
    rules = "actor, users, seat (SEAT-3)",
);

command!(
    /// REM-9, MIG-4: remove a user from the client account.
    remove_user, delete, "/v1/clients/{client}/users/{email}", RemoveUser,
    path_params = ["client", "email"],
    body = ActorOnly, answer = RemovedUser,
    rules = "actor (REM-9, MIG-4)",
);
