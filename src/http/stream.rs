//! `GET /v1/events/stream`: the outbox as Server-Sent Events, so hosts react to approvals,
//! removals and relationship changes as they are committed, without polling.
//!
//! Each event is an SSE message whose `id` is the event's sequence number, whose `event` is its
//! type (`access_link.approved`, `user.removed`, ...) and whose `data` is the event as
//! `GET /v1/events` lists it. A client resumes where it stopped with the standard
//! `Last-Event-ID` header (a browser's `EventSource` sends it by itself on a reconnect), or
//! with `?after=SEQ` on the first connection; nothing is lost or repeated across a reconnect.
//!
//! The stream is read from the store page by page as the client takes it: a subscriber holds
//! at most one page ([`PAGE`] events) in memory, and a slow one only falls behind, reading at
//! its own pace; it never holds a lock or slows a writer. When it has caught up it waits for
//! the next committed revision (or a short poll, for the commits of other sidecars of a
//! fleet), and a comment every 15 s keeps idle connections open through proxies. If the store
//! fails, an `error` event says so and the stream ends, and it ends when the server shuts
//! down: reconnect with the last id.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiQuery, ErrorBody};
use super::serve::Closing;
use crate::app::App;
use crate::app::commands::Event;

/// Events read from the store at a time for one subscriber.
pub const PAGE: usize = 100;

/// How often a subscriber that has caught up looks at the store even without a revision of
/// this sidecar (another sidecar's commit reaches the shared log first).
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Start after this sequence number (default 0: from the oldest event kept). A
    /// `Last-Event-ID` header, as a reconnecting client sends, takes precedence.
    pub after: Option<u64>,
}

/// The outbox as Server-Sent Events, from a cursor on, as events are committed (admin token).
#[utoipa::path(get, path = "/v1/events/stream", tag = "admin",
    params(StreamQuery,
           ("Last-Event-ID" = Option<String>, Header, description = "resume after this event (the `id` of the last one received)")),
    responses((status = 200, description = "`text/event-stream`: one message per event (`id`: its sequence number, `event`: its type, `data`: the event as `GET /v1/events` lists it)", content_type = "text/event-stream"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn events_stream(
    State(app): State<Arc<App>>,
    closing: Option<axum::Extension<Closing>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let after = match headers.get("last-event-id") {
        None => query.after.unwrap_or(0),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::invalid("Last-Event-ID: expected the sequence number of an event")
            })?,
    };
    // The first page is read before answering: a store that cannot be read is a 503, not an
    // empty stream.
    let first = read(&app, after).await?;
    let tail = Tail {
        changes: app.revision_changes(),
        app,
        cursor: after,
        pending: first.into(),
        ended: false,
        closing: closing.map(|axum::Extension(Closing(closing))| closing),
    };
    Ok(Sse::new(futures_util::stream::unfold(tail, Tail::next)).keep_alive(KeepAlive::default()))
}

/// One subscriber's place in the outbox.
struct Tail {
    app: Arc<App>,
    /// The sequence number of the last event sent.
    cursor: u64,
    /// Read from the store, not yet sent (at most a page).
    pending: VecDeque<Event>,
    changes: tokio::sync::watch::Receiver<u64>,
    /// The store failed and an `error` event was sent: nothing follows.
    ended: bool,
    /// Turns true when the server shuts down: the stream ends (the client reconnects to
    /// another sidecar, or to this one once it is back, with its last id).
    closing: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Tail {
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        if self.ended || self.closing.as_ref().is_some_and(|c| *c.borrow()) {
            return None;
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.cursor = event.seq;
                return Some((Ok(message(&event)), self));
            }
            match read(&self.app, self.cursor).await {
                Ok(page) if !page.is_empty() => self.pending = page.into(),
                Ok(_) => {
                    // Caught up: until this sidecar applies a revision, or a poll's time.
                    let closing = async {
                        match &mut self.closing {
                            Some(closing) => {
                                let _ = closing.wait_for(|closed| *closed).await;
                            }
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = self.changes.changed() => {}
                        () = tokio::time::sleep(POLL) => {}
                        () = closing => return None,
                    }
                }
                Err(e) => {
                    self.ended = true;
                    let text = format!(
                        "{}; reconnect with Last-Event-ID: {} to resume",
                        e.message(),
                        self.cursor
                    );
                    return Some((Ok(SseEvent::default().event("error").data(text)), self));
                }
            }
        }
    }
}

/// The next page of events after `after`, read off the async workers.
async fn read(app: &Arc<App>, after: u64) -> Result<Vec<Event>, ApiError> {
    let app = app.clone();
    super::blocking(move || app.events(after, PAGE))
        .await
        .map(|page| page.records)
}

/// The SSE message of an event.
fn message(event: &Event) -> SseEvent {
    let kind: &'static str = event.kind.into();
    SseEvent::default()
        .id(event.seq.to_string())
        .event(kind)
        .data(serde_json::to_string(event).unwrap_or_default())
}
