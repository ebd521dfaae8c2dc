//! # partner-access-client
//!
//! A small typed async client for the partner-access sidecar's HTTP API: checks (one, or a
//! batch on one view of the state), the Client Access Manager's commands (typed helpers for the
//! common ones, [`Client::command`] for any route) with an `Idempotency-Key`, the reads hosts
//! use, consistency tokens, and the bearer token. Every failure is one [`Error`]; a refusal of
//! the API carries its `code`, `message`, status and deciding `rules` ([`ApiError`]).
//!
//! The wire types are this crate's own, narrow serde types matching the sidecar's OpenAPI
//! document (`GET /openapi.json`); the crate does not depend on the server's.
//!
//! ```no_run
//! use partner_access_client::{Check, Client, Consistency, CreateUser, Error};
//!
//! # async fn demo() -> Result<(), Error> {
//! let pa = Client::builder("http://127.0.0.1:8180").token("s3cret").build()?;
//!
//! // May Ann edit CRM objects in c-globex?
//! let answer = pa.check(&Check::user("ann@acme.example", "crm.objects.edit", "c-globex")).await?;
//! assert!(answer.is_allowed(), "{:?}", answer.diagnostics.reasons);
//!
//! // A command, safe to retry with the same key; then a check that sees its write.
//! let created = pa
//!     .create_user(
//!         "c-globex",
//!         &CreateUser {
//!             actor: "owner@globex.example".into(),
//!             email: "zoe@globex.example".into(),
//!             seat: "core".into(),
//!             permission_set: "Viewer".into(),
//!             paid_hubs: vec![],
//!         },
//!         Some("create-zoe-1"),
//!     )
//!     .await?;
//! let seen = pa
//!     .check(
//!         &Check::user("zoe@globex.example", "crm.objects.view", "c-globex")
//!             .consistency(Consistency::AtLeastAsFresh(created.revision)),
//!     )
//!     .await?;
//!
//! // A refusal is the API's error, decoded.
//! match pa.client_users("c-globex", "nobody@example.com").await {
//!     Err(e) if e.code() == Some("forbidden") => println!("refused: {e}"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(()) }
//! ```

mod error;
mod types;

use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::{ApiError, Error};
pub use types::*;

/// A client of one sidecar. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

/// How to build a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base: String,
    token: Option<String>,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// The bearer token, when the sidecar is configured with tokens (a check token for
    /// checks, a caller token for commands and reads).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// How long a call may take, connection included (default: no limit of the client's;
    /// the sidecar answers `503` after its own request timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Uses this reqwest client (its pool and settings) instead of a new one; `timeout` is
    /// then ignored.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = Url::parse(&self.base).map_err(|_| Error::BaseUrl {
            url: self.base.clone(),
            reason: "not a URL",
        })?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(Error::BaseUrl {
                url: self.base,
                reason: "not an http:// URL",
            });
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                let mut builder = reqwest::Client::builder();
                if let Some(timeout) = self.timeout {
                    builder = builder.timeout(timeout);
                }
                builder.build()?
            }
        };
        Ok(Client {
            http,
            base,
            token: self.token,
        })
    }
}

/// A successful answer's parts.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// A client of the sidecar at `base_url` (`http://127.0.0.1:8180`), without a token.
    pub fn new(base_url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(base_url).build()
    }

    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            token: None,
            timeout: None,
            http: None,
        }
    }

    // ---- checks ------------------------------------------------------------------------------

    /// `POST /v1/is_authorized`: one decision. A Deny is an answer, not an error.
    pub async fn check(&self, check: &Check) -> Result<CheckAnswer, Error> {
        let url = self.url("/v1/is_authorized", &[], &[])?;
        let answer = self
            .send(reqwest::Method::POST, url, Some(check), None)
            .await?;
        decode(&answer.body, "POST /v1/is_authorized")
    }

    /// `POST /v1/is_authorized/batch`: 1 to 1,000 decisions in request order, on one view of
    /// the state; a bad item gets an `error` (and a Deny) without failing the others.
    pub async fn batch(&self, batch: &Batch) -> Result<BatchAnswer, Error> {
        let url = self.url("/v1/is_authorized/batch", &[], &[])?;
        let answer = self
            .send(reqwest::Method::POST, url, Some(batch), None)
            .await?;
        decode(&answer.body, "POST /v1/is_authorized/batch")
    }

    // ---- commands ----------------------------------------------------------------------------

    /// Any command route: `template` is its path as the route table and the OpenAPI document
    /// write it (`/v1/clients/{client}/users/{email}/seat`), `params` the values of its
    /// `{...}` parts in order (each encoded as one path segment), `body` its JSON body (with
    /// `actor`). With an `idempotency_key`, a retry of the same request gets the first answer
    /// ([`Applied::replayed`]) and the same key with another request is `409 conflict`.
    pub async fn command<A: DeserializeOwned>(
        &self,
        method: Method,
        template: &str,
        params: &[&str],
        body: &(impl Serialize + ?Sized),
        idempotency_key: Option<&str>,
    ) -> Result<Applied<A>, Error> {
        let url = self.url(template, params, &[])?;
        let method = match method {
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let what = format!("{method} {template}");
        let answer = self.send(method, url, Some(body), idempotency_key).await?;
        #[derive(serde::Deserialize)]
        struct Revision {
            revision: u64,
        }
        let Revision { revision } = decode(&answer.body, &what)?;
        Ok(Applied {
            answer: decode(&answer.body, &what)?,
            revision,
            created: answer.status == 201,
            replayed: answer
                .headers
                .get("idempotent-replayed")
                .is_some_and(|v| v == "true"),
        })
    }

    /// `POST /v1/clients/{client}/users`: a client-side user (SEAT-2..9, LINK-3).
    pub async fn create_user(
        &self,
        client: &str,
        user: &CreateUser,
        idempotency_key: Option<&str>,
    ) -> Result<Applied<CreatedUser>, Error> {
        self.command(
            Method::Post,
            "/v1/clients/{client}/users",
            &[client],
            user,
            idempotency_key,
        )
        .await
    }

    /// `POST /v1/clients/{client}/partner-users`: employees added with a permission set
    /// through the Client Access Manager (PA-1, PERM-2).
    pub async fn add_partner_users(
        &self,
        client: &str,
        add: &AddPartnerUsers,
        idempotency_key: Option<&str>,
    ) -> Result<Applied<Added>, Error> {
        self.command(
            Method::Post,
            "/v1/clients/{client}/partner-users",
            &[client],
            add,
            idempotency_key,
        )
        .await
    }

    /// `PUT /v1/clients/{client}/partner-users/{employee}/permissions/{permission}` (PERM-4,
    /// clamped by PERM-2).
    pub async fn grant_partner_permission(
        &self,
        client: &str,
        employee: &str,
        permission: &str,
        actor: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Applied<PermissionsApplied>, Error> {
        self.command(
            Method::Put,
            "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}",
            &[client, employee, permission],
            &ActorOnly {
                actor: actor.into(),
            },
            idempotency_key,
        )
        .await
    }

    /// `DELETE /v1/clients/{client}/partner-users/{employee}/permissions/{permission}`.
    pub async fn revoke_partner_permission(
        &self,
        client: &str,
        employee: &str,
        permission: &str,
        actor: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Applied<PermissionsApplied>, Error> {
        self.command(
            Method::Delete,
            "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}",
            &[client, employee, permission],
            &ActorOnly {
                actor: actor.into(),
            },
            idempotency_key,
        )
        .await
    }

    /// `PUT /v1/clients/{client}/users/{email}/permissions/{permission}` (client side,
    /// SEAT-4's rights).
    pub async fn grant_client_permission(
        &self,
        client: &str,
        email: &str,
        permission: &str,
        actor: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Applied<PermissionsApplied>, Error> {
        self.command(
            Method::Put,
            "/v1/clients/{client}/users/{email}/permissions/{permission}",
            &[client, email, permission],
            &ActorOnly {
                actor: actor.into(),
            },
            idempotency_key,
        )
        .await
    }

    /// `DELETE /v1/clients/{client}/users/{email}/permissions/{permission}`.
    pub async fn revoke_client_permission(
        &self,
        client: &str,
        email: &str,
        permission: &str,
        actor: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Applied<PermissionsApplied>, Error> {
        self.command(
            Method::Delete,
            "/v1/clients/{client}/users/{email}/permissions/{permission}",
            &[client, email, permission],
            &ActorOnly {
                actor: actor.into(),
            },
            idempotency_key,
        )
        .await
    }

    // ---- reads -------------------------------------------------------------------------------

    /// Any `GET` route: `template` and `params` as for [`Client::command`], `query` its
    /// query parameters.
    pub async fn read<T: DeserializeOwned>(
        &self,
        template: &str,
        params: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, Error> {
        let url = self.url(template, params, query)?;
        let answer = self
            .send(reqwest::Method::GET, url, None::<&()>, None)
            .await?;
        decode(&answer.body, &format!("GET {template}"))
    }

    /// `GET /v1/clients/{client}/users`: the users of a client account, as `actor` may see
    /// them.
    pub async fn client_users(&self, client: &str, actor: &str) -> Result<ClientUsers, Error> {
        self.read("/v1/clients/{client}/users", &[client], &[("actor", actor)])
            .await
    }

    /// `GET /v1/partners/{partner}/clients`: the clients the partner's employees can access
    /// (PA-1 `view`).
    pub async fn partner_clients(
        &self,
        partner: &str,
        actor: &str,
    ) -> Result<PartnerClients, Error> {
        self.read(
            "/v1/partners/{partner}/clients",
            &[partner],
            &[("actor", actor)],
        )
        .await
    }

    /// `GET /v1/partners/{partner}/employees`.
    pub async fn partner_employees(
        &self,
        partner: &str,
        actor: &str,
    ) -> Result<PartnerEmployees, Error> {
        self.read(
            "/v1/partners/{partner}/employees",
            &[partner],
            &[("actor", actor)],
        )
        .await
    }

    /// `GET /v1/clients/{client}/relationship`: the managed relationship now (REL-5).
    pub async fn relationship(&self, client: &str) -> Result<Relationship, Error> {
        self.read("/v1/clients/{client}/relationship", &[client], &[])
            .await
    }

    /// `GET /v1/policies`: the policy set in force and its version.
    pub async fn policies(&self) -> Result<Policies, Error> {
        self.read("/v1/policies", &[], &[]).await
    }

    /// `GET /readyz`: whether the sidecar takes traffic (`false` for its `503`).
    pub async fn ready(&self) -> Result<bool, Error> {
        let url = self.url("/readyz", &[], &[])?;
        match self
            .send(reqwest::Method::GET, url, None::<&()>, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(503) => Ok(false),
            Err(e) => Err(e),
        }
    }

    // ---- plumbing ----------------------------------------------------------------------------

    /// The URL of `template` with its `{...}` parts replaced by `params`, each one path segment.
    fn url(&self, template: &str, params: &[&str], query: &[(&str, &str)]) -> Result<Url, Error> {
        let bad = |reason| Error::Path {
            template: template.to_owned(),
            reason,
        };
        let mut url = self.base.clone();
        let mut params = params.iter();
        {
            let mut segments = url.path_segments_mut().map_err(|()| bad("no base path"))?;
            segments.pop_if_empty();
            for part in template.trim_start_matches('/').split('/') {
                if part.starts_with('{') && part.ends_with('}') {
                    let value = params.next().ok_or_else(|| bad("a parameter is missing"))?;
                    if value.is_empty() {
                        return Err(bad("a parameter is empty"));
                    }
                    segments.push(value);
                } else {
                    segments.push(part);
                }
            }
        }
        if params.next().is_some() {
            return Err(bad("more parameters than the template has"));
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends a request; a status that is not a success is the API's error.
    async fn send(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, Error> {
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).map_err(Error::Encode)?);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        if !(200..300).contains(&status) {
            return Err(error::from_answer(status, &body));
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|source| Error::Decode {
        what: what.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_filled_and_encoded() {
        let pa = Client::new("http://127.0.0.1:8180").unwrap();
        let url = pa
            .url(
                "/v1/clients/{client}/users/{email}/seat",
                &["c-globex", "a/b c@x"],
                &[("actor", "o+1@x")],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8180/v1/clients/c-globex/users/a%2Fb%20c@x/seat?actor=o%2B1%40x"
        );
        let prefixed = Client::new("http://h/pa/").unwrap();
        assert_eq!(
            prefixed.url("/v1/policies", &[], &[]).unwrap().as_str(),
            "http://h/pa/v1/policies"
        );
        assert!(matches!(
            pa.url("/v1/clients/{client}", &[], &[]),
            Err(Error::Path { .. })
        ));
        assert!(matches!(
            pa.url("/v1/policies", &["x"], &[]),
            Err(Error::Path { .. })
        ));
        assert!(matches!(
            Client::new("mailto:x@y"),
            Err(Error::BaseUrl { .. })
        ));
    }

    #[test]
    fn consistency_is_exactly_one_member() {
        let json = |c| serde_json::to_value(c).unwrap();
        assert_eq!(
            json(Consistency::AtLeastAsFresh(7)),
            serde_json::json!({"at_least_as_fresh": 7})
        );
        assert_eq!(
            json(Consistency::FullyConsistent),
            serde_json::json!({"fully_consistent": true})
        );
        assert_eq!(
            json(Consistency::MinimizeLatency),
            serde_json::json!({"minimize_latency": true})
        );
    }

    #[test]
    fn an_error_body_is_decoded_and_another_is_kept_as_text() {
        let e = error::from_answer(
            403,
            br#"{"error":{"code":"forbidden","message":"no","rules":["SEAT-6"]}}"#,
        );
        assert_eq!(e.code(), Some("forbidden"));
        assert_eq!(e.status(), Some(403));
        assert_eq!(e.api().unwrap().rules, ["SEAT-6"]);
        let other = error::from_answer(502, b"<html>bad gateway</html>");
        assert!(matches!(other, Error::UnexpectedStatus { status: 502, .. }));
        assert_eq!(other.code(), None);
    }
}
