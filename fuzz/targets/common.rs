//! The fuzz targets' bodies, written once and used twice: by the `cargo fuzz` targets under
//! `fuzz/fuzz_targets/` (libFuzzer, coverage-guided, nightly) and by `tests/fuzz.rs` (stable,
//! time-bounded, in CI). Both hand [`Harness::run`] a byte string; nothing else differs.
//!
//! Random bytes rarely get past JSON parsing, so the bytes are read as *decisions* (like the
//! `arbitrary` crate's `Unstructured`): which valid seed to start from (requests of the tests,
//! the fixture states, a body for every command route), which nodes of its JSON to mutate and
//! how (boundary lengths, wrong types, references in every form, deep nesting, lists at and
//! over their limits, values spliced from other seeds), then a few byte-level edits of the
//! text, the headers and the path. A small share of inputs is sent as raw bytes. libFuzzer's
//! coverage feedback and the stable test's random bytes both steer the same decisions.
//!
//! What must hold for every input (a panic here is a finding):
//! - the real router (`partner_access::http::router`, driven with `tower::ServiceExt::oneshot`)
//!   never answers 5xx, except 503 while a store fault is injected;
//! - every 4xx (and that 503) is the API's `{"error": {"code", "message", "rules"?, "details"?}}`
//!   with the code of its status; every 2xx is a JSON object;
//! - while the store cannot be read, no check answers Allow;
//! - a check answers the same alone, as a one-item batch and (for AuthZEN) as the equivalent
//!   `/v1/is_authorized`;
//! - a refused command or import changes nothing; a successful one leaves a state that passes
//!   validation; an `Idempotency-Key` replay returns the first answer and changes nothing;
//! - an imported document exports as a fixpoint (import of the export exports the same);
//! - entity references, e-mails and ids read back to themselves from their written forms;
//! - an identifier is a known user exactly when it is that user's address up to ASCII case
//!   (no Unicode folding, no trimming), in parsing, checks and commands alike;
//! - no policy text takes the process down: a refused reload keeps the old set deciding as
//!   before, an accepted one answers every check;
//! - each input is answered within a time bound, with an answer of bounded size.

#![allow(
    dead_code,
    reason = "each libFuzzer target compiles the whole body and runs one target of it"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use partner_access::app::{App, AppError, AppSettings, ImportMode};
use partner_access::domain::{ClientId, Email, PartnerId, StateDocument, validate};
use partner_access::fixtures::{Size, generate};
use partner_access::http::{Auth, HttpOptions, router};
use partner_access::policy::{CheckRequest, EntityRef};
use partner_access::store::Store;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// The largest answer accepted from the router (the body limit is 1 MiB; an answer may quote
/// parts of its request, a batch answers each item).
const MAX_RESPONSE: usize = 8 * 1024 * 1024;
/// The request body limit the harness configures (the server's default).
const BODY_LIMIT: usize = 1024 * 1024;
/// Messages longer than this are counted (and refused under `FUZZ_STRICT=1`).
const LONG_MESSAGE: usize = 1024;
/// How many nodes of a JSON value are considered for mutation.
const MAX_NODES: usize = 2000;

/// The targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// `EntityRef` in its string, object and `__entity` forms, `CheckRequest::from_parts`,
    /// e-mails and ids (pure functions, no server).
    EntityRefs,
    /// `/v1/is_authorized`, its batch and the AuthZEN evaluation(s), through the router.
    Checks,
    /// `StateDocument::from_json_str`, validation and `App::import` (and the HTTP import).
    StateImport,
    /// Every command route, the admin upserts and the reads, through the router.
    Commands,
    /// Policy text (deep nesting above all), reloaded into a serving sidecar.
    PolicyText,
    /// Identifiers that look like a known user's, parsed, checked and used in commands.
    Identifiers,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::EntityRefs,
        Target::Checks,
        Target::StateImport,
        Target::Commands,
        Target::PolicyText,
        Target::Identifiers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::EntityRefs => "entity_refs",
            Target::Checks => "checks",
            Target::StateImport => "state_import",
            Target::Commands => "commands",
            Target::PolicyText => "policy_text",
            Target::Identifiers => "identifiers",
        }
    }
}

/// What a run saw, for the report.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub inputs: u64,
    /// Answers by HTTP status (0: no HTTP request, a pure target or an unbuildable request).
    pub statuses: BTreeMap<u16, u64>,
    /// Inputs run with an injected store fault.
    pub faults: u64,
    /// Inputs whose request could not be built (an invalid URI): not sent.
    pub unbuildable: u64,
    /// Error messages longer than [`LONG_MESSAGE`] characters.
    pub long_messages: u64,
    /// Inputs the target accepted: a 2xx answer, an imported document, a reference read.
    /// Proof that the inputs get past parsing.
    pub accepted: u64,
    pub slowest: Duration,
}

// ---- reading decisions from bytes ---------------------------------------------------------

/// Decisions read from the input bytes; an exhausted input answers 0 to everything, so every
/// input terminates and short inputs make few, simple choices.
pub struct Entropy<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Entropy<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Entropy { data, pos: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// A number below `n` (0 when `n` is 0 or 1).
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let mut x = usize::from(self.byte());
        if n > 256 {
            x = (x << 8) | usize::from(self.byte());
        }
        x % n
    }

    /// True one time in `n` (never once the input is exhausted).
    fn one_in(&mut self, n: usize) -> bool {
        n > 0 && self.below(n) == n - 1
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len())]
    }

    /// The unread bytes.
    fn rest(&mut self) -> &'a [u8] {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        self.pos = self.data.len();
        rest
    }
}

// ---- pools of interesting values ----------------------------------------------------------

const STRINGS: &[&str] = &[
    "ann@acme.example",
    "pat@acme.example",
    "bob@acme.example",
    "cy@acme.example",
    "eddie@acme.example",
    "vera@acme.example",
    "nina@acme.example",
    "sam@acme.example",
    "gus@gmail.example",
    "ron@rival.example",
    "owner@globex.example",
    "clara@globex.example",
    "sally@globex.example",
    "uma@umbrella.example",
    "hank@hooli.example",
    "ANN@ACME.EXAMPLE",
    " ann@acme.example ",
    "new@globex.example",
    "nobody@nowhere.example",
    "c-globex",
    "c-initech",
    "c-hooli",
    "c-umbrella",
    "c-rivalco",
    "c-nope",
    "p-acme",
    "p-rival",
    "p-nope",
    "deal-1",
    "Sales rep",
    "Support",
    "partner_admin",
    "super_admin",
    "core",
    "partner",
    "sales_paid",
    "service_paid",
    "none",
    "gold",
    "standard",
    "active",
    "deactivated",
    "view",
    "view_edit",
    "solutions_partner",
    "provider",
    "other",
    "seat_based",
    "legacy",
    "crm.objects.view",
    "crm.objects.edit",
    "reports.access",
    "users.add_edit",
    "billing.edit",
    "scim.provision",
    "multi_account.manage",
    "partner_user.deactivate",
    "partner_users.add",
    "seat.partner.hold",
    "partner.view",
    "client.users.view",
    "Hub::User::\"ann@acme.example\"",
    "Hub::User::\"owner@globex.example\"",
    "Hub::Account::\"c-globex\"",
    "Hub::Partner::\"p-acme\"",
    "Hub::Action::\"crm.objects.edit\"",
    "Hub::Photo::\"x\"",
    "User::\"ann@acme.example\"",
    "Hub::User::\"a\\\"b\"",
    "Hub::User::\"\"",
    "user",
    "account",
    "client",
    "execute_all",
    "deny_on_first_deny",
    "permit_on_first_permit",
    "replace",
    "merge",
    "2027-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "not a time",
    "",
    " ",
    "\u{0}",
    "a\nb",
    "é",
    "😀",
    "\u{202e}",
    "::",
    "\"",
    "\\",
    "%",
    "/",
    "..",
    "null",
];

const KEYS: &[&str] = &[
    "actor",
    "employee",
    "employees",
    "rotate",
    "client",
    "clients",
    "version",
    "user",
    "users",
    "keep_billing",
    "email",
    "seat",
    "permission_set",
    "principal",
    "action",
    "resource",
    "context",
    "requests",
    "subject",
    "evaluations",
    "options",
    "evaluations_semantic",
    "properties",
    "name",
    "type",
    "id",
    "__entity",
    "target",
    "role",
    "partners",
    "tier",
    "email_domains",
    "permission_sets",
    "permissions",
    "crm_names",
    "managed_by",
    "assets",
    "status",
    "partner",
    "super_admin",
    "employee_management",
    "pricing_model",
    "official_name",
    "relationship",
    "owner",
    "kind",
    "extra",
];

const CHARS: &[char] = &[
    '"', '\\', ':', '@', '\n', '\0', 'é', '😀', ' ', '\u{202e}', 'A', '/', '%', '\u{301}',
    '\u{7f}', '\u{feff}', '.', '_',
];

/// Lengths at and around the limits of ids (256) and e-mails (320).
const LENGTHS: &[usize] = &[64, 255, 256, 257, 319, 320, 321, 1000];

/// Path segments sent as they are (not percent-encoded).
const RAW_SEGMENTS: &[&str] = &["%FF", "%00", "%2F", "..", "%", "a%zzb", "%C3%28", "", "%20"];

fn pool_string(u: &mut Entropy, learned: &[String]) -> String {
    if !learned.is_empty() && u.one_in(4) {
        return u.pick(learned).clone();
    }
    match u.below(12) {
        0 => {
            let len = *u.pick(LENGTHS);
            "x".repeat(len)
        }
        1 => {
            let len = *u.pick(LENGTHS);
            let domain = "acme.example";
            format!(
                "{}@{domain}",
                "e".repeat(len.saturating_sub(domain.len() + 1).max(1))
            )
        }
        _ => (*u.pick(STRINGS)).to_owned(),
    }
}

fn interesting(u: &mut Entropy, learned: &[String]) -> Value {
    match u.below(14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(false),
        3 => json!(0),
        4 => json!(-1),
        5 => json!(u64::MAX),
        6 => json!(i64::MIN),
        7 => json!(1e308),
        8 => json!(0.5),
        9 => json!({}),
        10 => json!([]),
        _ => Value::String(pool_string(u, learned)),
    }
}

/// Edits a string: boundary lengths, awkward characters, case, reference forms.
fn mutate_string(s: &mut String, u: &mut Entropy, learned: &[String]) {
    let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
    match u.below(13) {
        0 => {
            let at = *u.pick(&boundaries);
            s.truncate(at);
        }
        1 => s.push(*u.pick(CHARS)),
        2 => {
            let at = *u.pick(&boundaries);
            s.insert(at, *u.pick(CHARS));
        }
        3 => *s = s.to_uppercase(),
        4 => {
            let ty = *u.pick(&[
                "Hub::User",
                "Hub::Account",
                "Hub::Partner",
                "Hub::Action",
                "Hub::Photo",
                "User",
            ]);
            *s = format!("{ty}::\"{}\"", s.escape_debug());
        }
        5 => {
            // Pad at the front to a boundary length, keeping an e-mail's domain.
            let len = *u.pick(LENGTHS);
            let have = s.chars().count();
            if len > have {
                *s = format!("{}{s}", "x".repeat(len - have));
            }
        }
        6 => s.clear(),
        7 => *s = format!(" {s}\t"),
        8 => *s = s.replacen('@', "@@", 1),
        9 => *s = s.replace('@', ""),
        10 => *s = format!("{s}{s}"),
        11 => {
            let at = *u.pick(&boundaries);
            s.insert_str(at, "::");
        }
        _ => *s = pool_string(u, learned),
    }
}

// ---- structure-aware mutation of JSON -----------------------------------------------------

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The paths of up to [`MAX_NODES`] nodes (the root first).
fn node_paths(v: &Value) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    let mut stack: Vec<(Vec<Seg>, &Value)> = vec![(Vec::new(), v)];
    while let Some((path, node)) = stack.pop() {
        if out.len() >= MAX_NODES {
            break;
        }
        match node {
            Value::Object(map) => {
                for (k, child) in map {
                    let mut p = path.clone();
                    p.push(Seg::Key(k.clone()));
                    stack.push((p, child));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate().take(MAX_NODES) {
                    let mut p = path.clone();
                    p.push(Seg::Index(i));
                    stack.push((p, child));
                }
            }
            _ => {}
        }
        out.push(path);
    }
    out
}

fn node_mut<'v>(mut v: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    for seg in path {
        v = match (seg, v) {
            (Seg::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Seg::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

fn node<'v>(mut v: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    for seg in path {
        v = match (seg, v) {
            (Seg::Key(k), Value::Object(map)) => map.get(k)?,
            (Seg::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// `depth` containers around `inner`.
fn nest(depth: usize, inner: Value, arrays: bool) -> Value {
    let mut v = inner;
    for _ in 0..depth {
        v = if arrays {
            json!([v])
        } else {
            json!({ "a": v })
        };
    }
    v
}

/// The nesting depth of a value (a scalar is 0).
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((node, d)) = stack.pop() {
        match node {
            Value::Object(map) => stack.extend(map.values().map(|c| (c, d + 1))),
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, d + 1))),
            _ => deepest = deepest.max(d),
        }
        if matches!(node, Value::Object(m) if m.is_empty())
            || matches!(node, Value::Array(a) if a.is_empty())
        {
            deepest = deepest.max(d + 1);
        }
    }
    deepest
}

/// Applies one structure-aware edit to a random node of `v`.
fn mutate_once(v: &mut Value, u: &mut Entropy, donors: &[Value], learned: &[String]) {
    let paths = node_paths(v);
    // The root (`paths[0]`) is one node among few in a small body: pick it only one time in 8,
    // or most edits would replace the whole body.
    let path = if paths.len() > 1 && !u.one_in(8) {
        paths[1 + u.below(paths.len() - 1)].clone()
    } else {
        paths[0].clone()
    };
    let op = u.below(16);
    // Edits of the parent: remove or rename this member.
    if (op == 3 || op == 12) && !path.is_empty() {
        let (last, parent_path) = path
            .split_last()
            .map(|(l, p)| (l.clone(), p))
            .unwrap_or((Seg::Index(0), &[][..]));
        if let Some(parent) = node_mut(v, parent_path) {
            match (parent, last) {
                (Value::Object(map), Seg::Key(k)) => {
                    if let Some(value) = map.remove(&k)
                        && op == 12
                    {
                        let mut key = k;
                        mutate_string(&mut key, u, learned);
                        map.insert(key, value);
                    }
                }
                (Value::Array(items), Seg::Index(i)) if i < items.len() => {
                    items.remove(i);
                }
                _ => {}
            }
        }
        return;
    }
    let splice_from_self = if op == 8 {
        let other = u.pick(&paths).clone();
        node(v, &other).cloned()
    } else {
        None
    };
    let Some(n) = node_mut(v, &path) else {
        return;
    };
    match op {
        0 | 10 => *n = interesting(u, learned),
        1 => *n = Value::String(pool_string(u, learned)),
        2 | 3 | 12 => match n {
            Value::String(s) => mutate_string(s, u, learned),
            _ => *n = Value::String(pool_string(u, learned)),
        },
        4 => match n {
            Value::Object(map) => {
                let key = if u.one_in(4) {
                    pool_string(u, learned)
                } else {
                    (*u.pick(KEYS)).to_owned()
                };
                let value = interesting(u, learned);
                map.insert(key, value);
            }
            Value::Array(items) => items.push(interesting(u, learned)),
            other => *other = json!([other.take()]),
        },
        5 => match n {
            Value::Array(items) if !items.is_empty() => {
                // Lists at and over the limits of batches and command lists.
                let count = *u.pick(&[1, 1, 2, 3, 999, 1000, 1001]);
                let i = u.below(items.len());
                let item = items[i].clone();
                let room = 1001usize.saturating_sub(items.len());
                items.extend(std::iter::repeat_n(item, count.min(room)));
            }
            Value::Array(items) => items.push(interesting(u, learned)),
            other => *other = json!([other.take()]),
        },
        6 => {
            let inner = n.take();
            *n = match u.below(5) {
                0 => json!({ "__entity": inner }),
                1 => {
                    json!({ "type": *u.pick(&["Hub::User", "Hub::Account", "Hub::Partner", "Hub::Action", "user", "account"]), "id": inner })
                }
                2 => json!([inner]),
                3 => json!({ "x": inner }),
                _ => json!({ "type": inner, "id": "c-globex" }),
            };
        }
        7 => {
            let d = *u.pick(&[2, 20, 124, 125, 126, 127, 128, 300]);
            let arrays = u.one_in(2);
            let inner = n.take();
            *n = nest(d, inner, arrays);
        }
        8 => {
            if let Some(other) = splice_from_self {
                *n = other;
            }
        }
        9 => {
            if !donors.is_empty() {
                let donor = u.pick(donors);
                let donor_paths = node_paths(donor);
                let p = u.pick(&donor_paths);
                if let Some(part) = node(donor, p) {
                    *n = part.clone();
                }
            }
        }
        11 => {
            // Type confusion: the same content in another JSON type.
            let inner = n.take();
            *n = match inner {
                Value::String(s) => match u.below(4) {
                    0 => s.parse::<f64>().map_or(json!(1), |x| json!(x)),
                    1 => json!(s.is_empty()),
                    2 => json!([s]),
                    _ => json!({ "id": s }),
                },
                Value::Bool(b) => json!(if b { "true" } else { "false" }),
                Value::Number(x) => Value::String(x.to_string()),
                Value::Array(items) => items.into_iter().next().unwrap_or(Value::Null),
                Value::Object(map) => Value::Array(map.into_values().collect()),
                Value::Null => json!(""),
            };
        }
        13 => {
            *n = match n {
                Value::Array(_) => json!([]),
                Value::Object(_) => json!({}),
                Value::String(_) => json!(""),
                _ => Value::Null,
            }
        }
        14 => {
            if let Value::Array(items) = n {
                items.reverse();
            } else if let Value::Object(map) = n {
                map.clear();
            }
        }
        _ => *n = interesting(u, learned),
    }
}

/// Up to `max` edits, fewer when the input runs out.
fn mutate(v: &mut Value, u: &mut Entropy, donors: &[Value], learned: &[String], max: usize) {
    // A third of the inputs keep the seed's body (and vary the rest of the request); the
    // others make 1 to `max` edits.
    let edits = if u.one_in(3) { 0 } else { 1 + u.below(max) };
    for _ in 0..edits {
        if u.exhausted() {
            break;
        }
        mutate_once(v, u, donors, learned);
    }
}

/// Byte-level edits of the serialized text; `None` when none was made.
fn mutate_text(text: &mut Vec<u8>, u: &mut Entropy) -> bool {
    if !u.one_in(6) {
        return false;
    }
    let at = u.below(text.len() + 1);
    match u.below(9) {
        0 => {
            if let Some(b) = text.get_mut(at) {
                *b ^= 1 << u.below(8);
            }
        }
        1 => {
            let token = *u.pick(&[
                ",", "}", "]", "\"", "\\", "\0", "\u{feff}", "0", "-", "e", "{", "[", ":", "null",
            ]);
            let at = at.min(text.len());
            text.splice(at..at, token.bytes());
        }
        2 => {
            let end = (at + u.below(16)).min(text.len());
            text.drain(at.min(end)..end);
        }
        3 => text.truncate(at),
        4 => {
            const TAILS: [&[u8]; 5] = [b" {}", b"x", b"\n\0", b"]", b" "];
            let tail = *u.pick(&TAILS);
            text.extend_from_slice(tail);
        }
        5 => {
            // A duplicate member, which a struct refuses and a map keeps once.
            if let Some(open) = text.iter().position(|b| *b == b'{') {
                let key = *u.pick(KEYS);
                let member = format!("\"{key}\": \"ann@acme.example\", ");
                text.splice(open + 1..open + 1, member.bytes());
            }
        }
        6 => {
            const BAD: [&[u8]; 3] = [&[0xFF], &[0xC3, 0x28], &[0xED, 0xA0, 0x80]];
            let bad = *u.pick(&BAD);
            let at = at.min(text.len());
            text.splice(at..at, bad.iter().copied());
        }
        7 => {
            const PREFIXES: [&[u8]; 3] = [b"\xEF\xBB\xBF", b"  \n", b"\t"];
            let prefix = *u.pick(&PREFIXES);
            text.splice(0..0, prefix.iter().copied());
        }
        _ => text.clear(),
    }
    true
}

// ---- seeds --------------------------------------------------------------------------------

const AGENCY: &str = include_str!("../../tests/policies/fixtures/agency.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("a seed does not parse: {e}: {text}"))
}

/// Valid checks in every accepted form, and bodies for each check route.
fn check_seeds() -> Vec<(usize, Value)> {
    let singles = [
        r#"{"principal": {"type": "Hub::User", "id": "ann@acme.example"}, "action": {"type": "Hub::Action", "id": "crm.objects.edit"}, "resource": {"type": "Hub::Account", "id": "c-globex"}}"#,
        r#"{"principal": "Hub::User::\"pat@acme.example\"", "action": "reports.access", "resource": "Hub::Account::\"c-globex\"", "context": {}}"#,
        r#"{"principal": {"__entity": {"type": "Hub::User", "id": "owner@globex.example"}}, "action": "billing.edit", "resource": {"__entity": {"type": "Hub::Account", "id": "c-globex"}}}"#,
        r#"{"principal": "Hub::User::\"ann@acme.example\"", "action": "partner_user.deactivate", "resource": "Hub::Account::\"c-globex\"", "context": {"target": "Hub::User::\"bob@acme.example\""}}"#,
        r#"{"principal": "Hub::User::\"ann@acme.example\"", "action": "permission.grant", "resource": "Hub::Account::\"c-globex\"", "context": {"target": {"type": "Hub::User", "id": "bob@acme.example"}, "permission": "reports.access"}}"#,
        r#"{"principal": "Hub::User::\"ann@acme.example\"", "action": "scim.provision", "resource": "Hub::Account::\"c-globex\""}"#,
        r#"{"principal": "Hub::User::\"sally@globex.example\"", "action": "sales_hub.paid_features", "resource": "Hub::Account::\"c-globex\""}"#,
        r#"{"principal": "Hub::User::\"eddie@acme.example\"", "action": "partner.view", "resource": "Hub::Partner::\"p-acme\""}"#,
        r#"{"principal": "Hub::User::\"nobody@nowhere.example\"", "action": "crm.objects.view", "resource": "Hub::Account::\"c-globex\""}"#,
        r#"{"principal": "Hub::User::\"ann@acme.example\"", "action": "access_link.approve", "resource": "Hub::Account::\"c-umbrella\"", "context": {"target": "Hub::User::\"nina@acme.example\"", "partner": "Hub::Partner::\"p-acme\""}}"#,
    ];
    let mut seeds: Vec<(usize, Value)> = singles.iter().map(|s| (0, parse(s))).collect();
    let items: Vec<Value> = singles.iter().map(|s| parse(s)).collect();
    seeds.push((1, json!({ "requests": items })));
    seeds.push((
        1,
        json!({ "requests": [items[0].clone(), 7, items[5].clone()] }),
    ));
    seeds.push((
        2,
        parse(
            r#"{"subject": {"type": "user", "id": "ann@acme.example"}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": "c-globex"}, "context": {}}"#,
        ),
    ));
    seeds.push((
        2,
        parse(
            r#"{"subject": {"type": "Hub::User", "id": "eddie@acme.example", "properties": {"x": 1}}, "action": {"name": "partner.view"}, "resource": {"type": "partner", "id": "p-acme"}}"#,
        ),
    ));
    seeds.push((
        3,
        parse(
            r#"{"subject": {"type": "user", "id": "ann@acme.example"}, "evaluations": [{"action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": "c-globex"}}, {"action": {"name": "scim.provision"}, "resource": {"type": "Hub::Account", "id": "c-globex"}}], "options": {"evaluations_semantic": "deny_on_first_deny"}}"#,
        ),
    ));
    seeds.push((
        3,
        parse(
            r#"{"subject": {"type": "user", "id": "pat@acme.example"}, "action": {"name": "reports.access"}, "resource": {"type": "client", "id": "c-globex"}}"#,
        ),
    ));
    seeds
}

const CHECK_ROUTES: [&str; 4] = [
    "/v1/is_authorized",
    "/v1/is_authorized/batch",
    "/access/v1/evaluation",
    "/access/v1/evaluations",
];

/// A route to fuzz: method, path template (`{x}` replaced by `params` in order), and a body
/// (commands, upserts) or a query (reads).
struct RouteSeed {
    method: Method,
    template: &'static str,
    params: Vec<&'static str>,
    body: Option<Value>,
    query: Option<Value>,
}

fn seed(method: Method, template: &'static str, params: &[&'static str], body: &str) -> RouteSeed {
    RouteSeed {
        method,
        template,
        params: params.to_vec(),
        body: Some(parse(body)),
        query: None,
    }
}

fn read(template: &'static str, params: &[&'static str], query: Value) -> RouteSeed {
    RouteSeed {
        method: Method::GET,
        template,
        params: params.to_vec(),
        body: None,
        query: Some(query),
    }
}

/// Every command route of the API, the admin upserts and the reads, each with a body that the
/// agency fixture accepts (or refuses for a reason a rule gives).
fn command_seeds() -> Vec<RouteSeed> {
    use Method as M;
    vec![
        seed(
            M::POST,
            "/v1/partners/{}/access-links",
            &["p-acme"],
            r#"{"actor": "ann@acme.example", "employee": "nina@acme.example", "rotate": true}"#,
        ),
        seed(
            M::POST,
            "/v1/partners/{}/access-links",
            &["p-acme"],
            r#"{"actor": "eddie@acme.example"}"#,
        ),
        seed(
            M::POST,
            "/v1/access-links/{}/approve",
            &["no-such-token"],
            r#"{"actor": "uma@umbrella.example", "client": "c-umbrella"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/partner-users",
            &["c-globex"],
            r#"{"actor": "ann@acme.example", "employees": ["nina@acme.example", "sue@acme.example"], "permission_set": "Sales rep"}"#,
        ),
        seed(
            M::POST,
            "/v1/partners/{}/employees/{}/link",
            &["p-acme", "gus@gmail.example"],
            r#"{"actor": "ann@acme.example", "client": "c-globex"}"#,
        ),
        seed(
            M::PUT,
            "/v1/clients/{}/partner-users/{}/permission-set",
            &["c-globex", "bob@acme.example"],
            r#"{"actor": "ann@acme.example", "permission_set": "Sales rep"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/partner-users/{}/deactivate",
            &["c-globex", "bob@acme.example"],
            r#"{"actor": "ann@acme.example"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/partner-users/{}/reactivate",
            &["c-hooli", "bob@acme.example"],
            r#"{"actor": "dana@acme.example"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/partner-users/reactivate-all",
            &["c-hooli"],
            r#"{"actor": "dana@acme.example"}"#,
        ),
        seed(
            M::PUT,
            "/v1/clients/{}/partner-users/{}/permissions/{}",
            &["c-globex", "bob@acme.example", "apps.manage"],
            r#"{"actor": "ann@acme.example"}"#,
        ),
        seed(
            M::DELETE,
            "/v1/clients/{}/partner-users/{}/permissions/{}",
            &["c-globex", "kim@acme.example", "reports.access"],
            r#"{"actor": "ann@acme.example"}"#,
        ),
        seed(
            M::PUT,
            "/v1/clients/{}/users/{}/permissions/{}",
            &["c-globex", "ann@acme.example", "billing.edit"],
            r#"{"actor": "owner@globex.example"}"#,
        ),
        seed(
            M::DELETE,
            "/v1/clients/{}/users/{}/permissions/{}",
            &["c-globex", "clara@globex.example", "crm.objects.view"],
            r#"{"actor": "owner@globex.example"}"#,
        ),
        seed(
            M::PUT,
            "/v1/clients/{}/users/{}/paid-hubs",
            &["c-initech", "ann@acme.example"],
            r#"{"actor": "ian@initech.example", "paid_hubs": ["sales", "service"]}"#,
        ),
        seed(
            M::POST,
            "/v1/partners/{}/employees/{}/removal-preview",
            &["p-acme", "bob@acme.example"],
            r#"{"actor": "ann@acme.example"}"#,
        ),
        seed(
            M::POST,
            "/v1/partners/{}/employees/{}/remove",
            &["p-acme", "bob@acme.example"],
            r#"{"actor": "ann@acme.example", "clients": ["c-globex", "c-hooli"], "version": "v"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/partner-users/removal-preview",
            &["c-globex"],
            r#"{"actor": "ann@acme.example"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/partner-users/remove-all",
            &["c-globex"],
            r#"{"actor": "ann@acme.example", "version": "v"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/partner-admins",
            &["c-initech"],
            r#"{"actor": "sam@acme.example", "user": "sam@acme.example", "keep_billing": true}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/users",
            &["c-globex"],
            r#"{"actor": "owner@globex.example", "email": "new@globex.example", "seat": "core", "permission_set": "Support"}"#,
        ),
        seed(
            M::PUT,
            "/v1/clients/{}/users/{}/seat",
            &["c-globex", "clara@globex.example"],
            r#"{"actor": "owner@globex.example", "seat": "sales_paid"}"#,
        ),
        seed(
            M::PUT,
            "/v1/clients/{}/users/{}/permission-set",
            &["c-globex", "clara@globex.example"],
            r#"{"actor": "owner@globex.example", "permission_set": "Support"}"#,
        ),
        seed(
            M::POST,
            "/v1/clients/{}/seats",
            &["c-globex"],
            r#"{"actor": "owner@globex.example", "users": ["bob@acme.example", "ann@acme.example"], "seat": "partner"}"#,
        ),
        seed(
            M::DELETE,
            "/v1/clients/{}/users/{}",
            &["c-globex", "mo@globex.example"],
            r#"{"actor": "owner@globex.example"}"#,
        ),
        seed(
            M::PUT,
            "/v1/admin/partners/{}/employees/{}",
            &["p-acme", "new@acme.example"],
            r#"{"super_admin": false, "employee_management": "view"}"#,
        ),
        seed(
            M::PUT,
            "/v1/admin/partners/{}",
            &["p-new"],
            r#"{"name": "New", "tier": "provider", "email_domains": ["new.example"], "employees": [{"email": "lee@new.example", "super_admin": true}], "permission_sets": [{"name": "Ops", "permissions": ["crm.objects.view"]}]}"#,
        ),
        seed(
            M::PUT,
            "/v1/admin/clients/{}",
            &["c-new"],
            r#"{"official_name": "New", "pricing_model": "seat_based", "users": [{"email": "boss@new.example", "role": "super_admin", "seat": "core"}], "assets": [{"id": "a-1", "kind": "deal", "name": "x", "owner": "boss@new.example"}]}"#,
        ),
        seed(
            M::PUT,
            "/v1/admin/clients/{}/users/{}",
            &["c-globex", "tia@globex.example"],
            r#"{"role": "standard", "seat": "core", "permissions": ["crm.objects.view"], "status": "active"}"#,
        ),
        seed(
            M::PUT,
            "/v1/admin/clients/{}/assets/{}",
            &["c-globex", "deal-2"],
            r#"{"kind": "deal", "name": "Renewal", "owner": "clara@globex.example"}"#,
        ),
        read(
            "/v1/partners/{}/clients",
            &["p-acme"],
            json!({"actor": "ann@acme.example", "access": "partner_admin"}),
        ),
        read(
            "/v1/partners/{}/employees",
            &["p-acme"],
            json!({"actor": "eddie@acme.example"}),
        ),
        read(
            "/v1/clients/{}/users",
            &["c-globex"],
            json!({"actor": "owner@globex.example"}),
        ),
        read(
            "/v1/clients/{}/relationship",
            &["c-globex"],
            json!({"at": "2027-01-01T00:00:00Z"}),
        ),
        read(
            "/v1/audit",
            &[],
            json!({"client": "c-globex", "after": "0", "limit": "10"}),
        ),
        read("/v1/events", &[], json!({"after": "0", "limit": "1000"})),
    ]
}

/// Percent-encodes everything but unreserved characters and `@`.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query_text(query: &Value) -> String {
    let Value::Object(map) = query else {
        return encode(&query.to_string());
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", encode(k), encode(&v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

// ---- a store that fails on demand ---------------------------------------------------------

/// The tests' fault-injecting store: reads (opening a read view) or writes (beginning a write
/// transaction) fail while an input runs under [`Fault::Reads`] or [`Fault::Writes`].
#[path = "../../tests/support/faults.rs"]
#[allow(
    dead_code,
    reason = "the targets switch two of the store's faults, not every one"
)]
mod faults;

use faults::FaultStore;

/// Which fault an input runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Reads,
    Writes,
}

// ---- the harness --------------------------------------------------------------------------

/// One answer of the router.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// The crate's root (where `policies/` and `schema/` are), from this crate or `fuzz/`.
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if manifest.join("policies").is_dir() {
        manifest
    } else {
        manifest
            .parent()
            .map_or(manifest.clone(), Path::to_path_buf)
    }
}

/// A target with its server: an App over a temporary redb store seeded with the agency
/// fixture, the real router, and a runtime to drive it.
pub struct Harness {
    target: Target,
    rt: tokio::runtime::Runtime,
    app: Arc<App>,
    store: Arc<FaultStore>,
    router: Router,
    base: StateDocument,
    check_seeds: Vec<(usize, Value)>,
    command_seeds: Vec<RouteSeed>,
    state_seeds: Vec<Value>,
    donors: Vec<Value>,
    /// Tokens and preview versions answered so far: later inputs use them.
    learned: Vec<String>,
    versions: Vec<String>,
    tokens: Vec<String>,
    max_input: Duration,
    /// Set by a target when the current input was accepted.
    accepted_now: bool,
    /// The policies the sidecar serves: a copy for `PolicyText`, which rewrites them.
    policies_dir: PathBuf,
    /// The probe checks' decisions under those policies (`PolicyText`).
    baseline: Vec<String>,
    pub stats: Stats,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// `max_input`: the longest one input may take.
    pub fn new(target: Target, max_input: Duration) -> Harness {
        partner_access::telemetry::init_metrics();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(FaultStore::open(dir.path()));
        let dyn_store: Arc<dyn Store> = store.clone();
        let policies_dir = if target == Target::PolicyText {
            let copy = dir.path().join("policies");
            std::fs::create_dir(&copy).expect("a policies directory");
            for entry in std::fs::read_dir(root().join("policies")).expect("the policies read") {
                let path = entry.expect("a policies entry").path();
                if path.is_file() {
                    std::fs::copy(&path, copy.join(path.file_name().expect("a file name")))
                        .expect("a policy file copies");
                }
            }
            copy
        } else {
            root().join("policies")
        };
        let app = Arc::new(
            App::new(
                AppSettings {
                    policies_dir: policies_dir.clone(),
                    schema_dir: root().join("schema"),
                    cache_capacity: 10_000,
                    cache_ttl: Duration::from_secs(30),
                    follow: Default::default(),
                },
                dyn_store,
            )
            .expect("the policies load"),
        );
        let base = StateDocument::from_json_str(AGENCY).expect("the agency fixture parses");
        app.import(&base, ImportMode::Replace, "fuzz")
            .expect("the agency fixture imports");
        let options = HttpOptions {
            playground: true,
            auth: Arc::new(Auth::new(&[], &[], None)),
            body_limit: BODY_LIMIT,
            // Longer than any input may take: a timeout's 503 would hide a slow input.
            request_timeout: max_input * 3,
            connections: partner_access::http::ConnectionLimits::default(),
            allowed_hosts: Vec::new(),
        };
        let router = router(app.clone(), &options);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(4)
            .enable_all()
            .build()
            .expect("a runtime");
        let demo = parse(partner_access::cli::DEMO_STATE);
        let generated = serde_json::to_value(generate(Size {
            partners: 2,
            clients: 3,
            users_per_client: 2,
        }))
        .expect("a generated state serializes");
        let state_seeds = vec![parse(AGENCY), demo, generated, json!({})];
        let check_seeds = check_seeds();
        let command_seeds = command_seeds();
        let mut donors: Vec<Value> = check_seeds.iter().map(|(_, v)| v.clone()).collect();
        donors.extend(command_seeds.iter().filter_map(|s| s.body.clone()));
        donors.extend(state_seeds.iter().take(2).cloned());
        let mut harness = Harness {
            target,
            rt,
            app,
            store,
            router,
            base,
            check_seeds,
            command_seeds,
            state_seeds,
            donors,
            learned: Vec::new(),
            versions: Vec::new(),
            tokens: Vec::new(),
            max_input,
            accepted_now: false,
            policies_dir,
            baseline: Vec::new(),
            stats: Stats::default(),
            _dir: dir,
        };
        harness.baseline = harness.probe_decisions();
        harness.stats = Stats::default();
        harness
    }

    /// Runs one input; returns a short signature of what happened (the stable test keeps
    /// inputs with new signatures as seeds for byte-level mutation).
    pub fn run(&mut self, data: &[u8]) -> String {
        self.stats.inputs += 1;
        let started = Instant::now();
        let mut u = Entropy::new(data);
        let signature = match self.target {
            Target::EntityRefs => self.entity_refs(&mut u),
            Target::Checks => self.checks(&mut u),
            Target::StateImport => self.state_import(&mut u),
            Target::Commands => self.commands(&mut u),
            Target::PolicyText => self.policy_text(&mut u),
            Target::Identifiers => self.identifiers(&mut u),
        };
        if std::mem::take(&mut self.accepted_now) {
            self.stats.accepted += 1;
        }
        let took = started.elapsed();
        self.stats.slowest = self.stats.slowest.max(took);
        assert!(
            took <= self.max_input,
            "one input took {took:?}, over the bound of {:?} ({signature})",
            self.max_input
        );
        signature
    }

    // ---- plumbing -------------------------------------------------------------------------

    fn set_fault(&self, fault: Fault) {
        let faults = &self.store.faults;
        faults
            .open_fails
            .store(fault == Fault::Reads, Ordering::SeqCst);
        faults
            .begin_write_fails
            .store(fault == Fault::Writes, Ordering::SeqCst);
        // What the maintenance loop does every second: notice (or clear) a failing store.
        self.app.probe_store();
    }

    fn pick_fault(&mut self, u: &mut Entropy) -> Fault {
        if !u.one_in(12) {
            return Fault::None;
        }
        self.stats.faults += 1;
        if u.one_in(2) {
            Fault::Reads
        } else {
            Fault::Writes
        }
    }

    fn export(&self) -> StateDocument {
        self.app.export().expect("the state exports").0
    }

    /// Sends one request through the router and applies the oracles every answer must meet.
    fn send(&mut self, request: Request<Body>, fault: Fault, what: &str) -> Answer {
        let router = self.router.clone();
        let (parts, bytes) = self.rt.block_on(async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_RESPONSE).await;
            (parts, bytes)
        });
        let status = parts.status;
        *self.stats.statuses.entry(status.as_u16()).or_default() += 1;
        self.accepted_now |= status.is_success();
        let Ok(bytes) = bytes else {
            panic!("{what}: an answer over {MAX_RESPONSE} bytes ({status})");
        };
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{what}: {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            )
        });
        self.check_status(status, &body, fault, what);
        Answer {
            status,
            headers: parts.headers,
            body,
        }
    }

    /// No 5xx but an injected fault's 503; every error in the API's shape with its status's
    /// code; every success a JSON object.
    fn check_status(&mut self, status: StatusCode, body: &Value, fault: Fault, what: &str) {
        if status.is_success() {
            assert!(
                body.is_object(),
                "{what}: {status} is not a JSON object: {body}"
            );
            return;
        }
        let expected = match status.as_u16() {
            400 | 405 => "invalid_request",
            401 => "unauthenticated",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            413 => "payload_too_large",
            503 if fault != Fault::None => "unavailable",
            _ => panic!("{what}: answered {status} (fault: {fault:?}): {body}"),
        };
        let Some(root) = body.as_object() else {
            panic!("{what}: the {status} body is not a JSON object: {body}");
        };
        assert!(
            root.len() == 1 && root.contains_key("error"),
            "{what}: an error body has only `error`: {body}"
        );
        let Some(error) = root["error"].as_object() else {
            panic!("{what}: `error` is not an object: {body}");
        };
        assert_eq!(
            error.get("code").and_then(Value::as_str),
            Some(expected),
            "{what}: the code of a {status}: {body}"
        );
        for (key, value) in error {
            match key.as_str() {
                "code" => {}
                "message" => {
                    let message = value.as_str().unwrap_or_default();
                    assert!(
                        !message.trim().is_empty(),
                        "{what}: an empty message: {body}"
                    );
                    if message.chars().count() > LONG_MESSAGE {
                        self.stats.long_messages += 1;
                        let start: String = message.chars().take(160).collect();
                        let end: String = message.chars().rev().take(160).collect();
                        let end: String = end.chars().rev().collect();
                        panic!(
                            "{what}: a message of {} characters, over {LONG_MESSAGE}: {start} … {end}",
                            message.chars().count()
                        );
                    }
                }
                "rules" => assert!(
                    value
                        .as_array()
                        .is_some_and(|r| !r.is_empty() && r.iter().all(Value::is_string)),
                    "{what}: `rules` is a non-empty list of ids: {body}"
                ),
                "details" => assert!(
                    value.as_array().is_some_and(|d| !d.is_empty()),
                    "{what}: `details` is a non-empty list: {body}"
                ),
                other => panic!("{what}: unexpected `{other}` in the error: {body}"),
            }
        }
        assert!(error.contains_key("message"), "{what}: no message: {body}");
    }

    /// A JSON request; `None` when the mutated URI or header does not make a request.
    fn request(
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        headers: &[(&str, Vec<u8>)],
        body: Vec<u8>,
    ) -> Option<Request<Body>> {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        for (name, value) in headers {
            builder = builder.header(*name, HeaderValue::from_bytes(value).ok()?);
        }
        builder.body(Body::from(body)).ok()
    }

    /// The content type: JSON, now and then something else.
    fn content_type(u: &mut Entropy) -> Option<&'static str> {
        if !u.one_in(16) {
            return Some("application/json");
        }
        *u.pick(&[
            None,
            Some("text/plain"),
            Some(""),
            Some("application/json; charset=utf-8"),
            Some("application/merge-patch+json"),
            Some("APPLICATION/JSON"),
            Some("application/jsonx"),
        ])
    }

    // ---- entity references ------------------------------------------------------------------

    fn entity_refs(&mut self, u: &mut Entropy) -> String {
        *self.stats.statuses.entry(0).or_default() += 1;
        if u.one_in(4) {
            let text = String::from_utf8_lossy(u.rest()).into_owned();
            let outcome = ref_text(&text);
            self.accepted_now = outcome != "refused";
            email_text(&text);
            id_text(&text);
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                ref_value(&value);
            }
            return format!("refs:raw:{outcome}");
        }
        // A check body: its parts are references in every form.
        let mut body = {
            let (_, seed) = u.pick(&self.check_seeds[..10]);
            seed.clone()
        };
        mutate(&mut body, u, &self.donors, &self.learned, 6);
        let mut outcomes = Vec::new();
        for part in ["principal", "action", "resource"] {
            let value = body.get(part).cloned().unwrap_or(Value::Null);
            outcomes.push(ref_value(&value));
            if let Value::String(text) = &value {
                ref_text(text);
                email_text(text);
                id_text(text);
            }
        }
        let context = match body.get("context") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let parts = ["principal", "action", "resource"]
            .map(|p| body.get(p).cloned().unwrap_or(Value::Null));
        match CheckRequest::from_parts(&parts[0], &parts[1], &parts[2], context.clone()) {
            Ok(request) => {
                assert_eq!(
                    Ok(request.principal.clone()),
                    EntityRef::from_json(&parts[0])
                );
                assert_eq!(
                    Ok(request.resource.clone()),
                    EntityRef::from_json(&parts[2])
                );
                assert!(
                    !request.action.is_empty(),
                    "an empty action was accepted: {body}"
                );
                if let Value::String(name) = &parts[1]
                    && !name.contains("::")
                {
                    assert_eq!(&request.action, name);
                }
                assert_eq!(request.context, context);
                outcomes.push("request".into());
            }
            Err(message) => {
                assert!(
                    ["principal: ", "action: ", "resource: "]
                        .iter()
                        .any(|p| message.starts_with(p)),
                    "a refused request names its part: {message}"
                );
                outcomes.push("refused".into());
            }
        }
        self.accepted_now = outcomes.iter().any(|o| o != "refused");
        format!("refs:{}", outcomes.join(","))
    }

    // ---- checks ---------------------------------------------------------------------------

    fn checks(&mut self, u: &mut Entropy) -> String {
        let fault = self.pick_fault(u);
        let raw = u.one_in(12);
        let (route, mut body) = {
            let (route, seed) = u.pick(&self.check_seeds);
            (*route, seed.clone())
        };
        let route = if u.one_in(10) { u.below(4) } else { route };
        let path = CHECK_ROUTES[route];
        let (bytes, pristine) = if raw {
            (u.rest().to_vec(), None)
        } else {
            mutate(&mut body, u, &self.donors, &self.learned, 6);
            let mut text = if u.one_in(8) {
                serde_json::to_vec_pretty(&body).unwrap_or_default()
            } else {
                body.to_string().into_bytes()
            };
            let edited = mutate_text(&mut text, u);
            (text, (!edited).then_some(body))
        };
        let content_type = Self::content_type(u);
        let pristine = pristine.filter(|_| content_type == Some("application/json"));
        let method = if u.one_in(40) {
            Method::GET
        } else {
            Method::POST
        };
        let Some(request) = Self::request(method.clone(), path, content_type, &[], bytes) else {
            self.stats.unbuildable += 1;
            return "checks:unbuildable".into();
        };
        self.set_fault(fault);
        let what = format!("{method} {path}");
        let answer = self.send(request, fault, &what);
        if fault == Fault::Reads {
            assert_eq!(
                allows(&answer.body),
                0,
                "{what}: an Allow while the store cannot be read: {}",
                answer.body
            );
        }
        self.set_fault(Fault::None);
        if answer.status == StatusCode::OK {
            check_answer_shape(route, pristine.as_ref(), &answer.body, &what);
        }
        if fault == Fault::None
            && method == Method::POST
            && let Some(body) = &pristine
        {
            match route {
                0 => self.single_equals_batch_of_one(body, &answer),
                2 => self.authzen_equals_check(body, &answer),
                _ => {}
            }
        }
        format!(
            "checks:{route}:{}:{}",
            answer.status.as_u16(),
            message_class(&answer.body)
        )
    }

    /// `/v1/is_authorized` and a batch of that one check answer alike.
    fn single_equals_batch_of_one(&mut self, body: &Value, single: &Answer) {
        if depth(body) > 120 || !matches!(single.status.as_u16(), 200 | 400) {
            return;
        }
        let batch = json!({ "requests": [body] }).to_string().into_bytes();
        let Some(request) = Self::request(
            Method::POST,
            CHECK_ROUTES[1],
            Some("application/json"),
            &[],
            batch,
        ) else {
            return;
        };
        let answer = self.send(request, Fault::None, "batch of one");
        if answer.status == StatusCode::PAYLOAD_TOO_LARGE {
            return;
        }
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "batch of one {body}: {}",
            answer.body
        );
        let item = &answer.body["results"][0];
        if single.status == StatusCode::OK {
            assert!(
                item.get("error").is_none(),
                "alone: {}; in a batch: {item}; check {body}",
                single.body
            );
            assert_eq!(
                (&item["decision"], &item["diagnostics"]["reasons"]),
                (
                    &single.body["decision"],
                    &single.body["diagnostics"]["reasons"]
                ),
                "alone: {}; in a batch: {item}; check {body}",
                single.body
            );
        } else {
            assert_eq!(
                (&item["decision"], &item["error"]["code"]),
                (&json!("Deny"), &json!("invalid_request")),
                "alone: {}; in a batch: {item}; check {body}",
                single.body
            );
        }
    }

    /// An AuthZEN evaluation decides as the equivalent `/v1/is_authorized`.
    fn authzen_equals_check(&mut self, body: &Value, evaluation: &Answer) {
        if evaluation.status != StatusCode::OK {
            return;
        }
        let resource_type = match body["resource"]["type"].as_str() {
            Some("account" | "client" | "Account" | "Hub::Account") => "Hub::Account",
            Some("partner" | "Partner" | "Hub::Partner") => "Hub::Partner",
            _ => return,
        };
        let mut check = json!({
            "principal": {"type": "Hub::User", "id": body["subject"]["id"]},
            "action": body["action"]["name"],
            "resource": {"type": resource_type, "id": body["resource"]["id"]},
        });
        if let Some(context) = body.get("context").filter(|c| !c.is_null()) {
            check["context"] = context.clone();
        }
        let Some(request) = Self::request(
            Method::POST,
            CHECK_ROUTES[0],
            Some("application/json"),
            &[],
            check.to_string().into_bytes(),
        ) else {
            return;
        };
        let answer = self.send(request, Fault::None, "the check of an evaluation");
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "evaluation {body} answered {}, its check {check}: {}",
            evaluation.body,
            answer.body
        );
        assert_eq!(
            evaluation.body["decision"] == json!(true),
            answer.body["decision"] == json!("Allow"),
            "evaluation {body} answered {}, its check {check}: {}",
            evaluation.body,
            answer.body
        );
    }

    // ---- state import ---------------------------------------------------------------------

    fn state_import(&mut self, u: &mut Entropy) -> String {
        if self.stats.inputs.is_multiple_of(64) {
            self.app
                .import(&self.base, ImportMode::Replace, "fuzz")
                .expect("the base state imports");
        }
        let fault = if u.one_in(12) {
            self.stats.faults += 1;
            Fault::Writes
        } else {
            Fault::None
        };
        let via_http = u.one_in(2);
        let mode = if u.one_in(4) {
            ImportMode::Merge
        } else {
            ImportMode::Replace
        };
        let bytes = if u.one_in(12) {
            u.rest().to_vec()
        } else {
            let mut doc = u.pick(&self.state_seeds).clone();
            mutate(&mut doc, u, &self.donors, &self.learned, 8);
            let mut text = doc.to_string().into_bytes();
            mutate_text(&mut text, u);
            text
        };
        let text = std::str::from_utf8(&bytes).ok();
        let parsed = text.map(StateDocument::from_json_str);
        // The document type reads back what it writes.
        if let Some(Ok(doc)) = &parsed {
            let written = serde_json::to_string(doc).expect("a document serializes");
            let again = StateDocument::from_json_str(&written)
                .unwrap_or_else(|e| panic!("a written document does not parse: {e}: {written}"));
            assert_eq!(&again, doc, "the document does not read back: {written}");
        }
        if let Some(Err(e)) = &parsed {
            assert!(!e.path.is_empty() && !e.message.is_empty(), "{e:?}");
        }
        let catalogue = self.app.engine().catalogue().clone();
        let valid = match &parsed {
            Some(Ok(doc)) => validate(doc, &catalogue).is_ok(),
            _ => false,
        };
        let before = self.export();
        let outcome: Result<(), u16> = if via_http {
            let mode_text = if mode == ImportMode::Merge {
                "merge"
            } else {
                "replace"
            };
            let uri = format!("/v1/admin/import?mode={mode_text}");
            let Some(request) = Self::request(
                Method::POST,
                &uri,
                Some("application/json"),
                &[],
                bytes.clone(),
            ) else {
                return "import:unbuildable".into();
            };
            self.set_fault(fault);
            let answer = self.send(request, fault, "POST /v1/admin/import");
            self.set_fault(Fault::None);
            if answer.status.is_success() {
                Ok(())
            } else {
                Err(answer.status.as_u16())
            }
        } else {
            *self.stats.statuses.entry(0).or_default() += 1;
            let Some(Ok(doc)) = &parsed else {
                return "import:unparsed".into();
            };
            self.set_fault(fault);
            let result = self.app.import(doc, mode, "fuzz");
            self.set_fault(Fault::None);
            match result {
                Ok(_) => Ok(()),
                Err(AppError::InvalidRequest { .. }) => Err(400),
                Err(AppError::Unavailable(_)) if fault != Fault::None => Err(503),
                Err(e) => panic!("an import failed with {e:?}"),
            }
        };
        let expect_success = fault == Fault::None
            && valid
            && mode == ImportMode::Replace
            && bytes.len() <= BODY_LIMIT;
        if expect_success {
            assert_eq!(
                outcome,
                Ok(()),
                "a valid document was not imported: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
            );
        }
        match outcome {
            Ok(()) => {
                assert!(
                    fault == Fault::None,
                    "an import succeeded under a write fault"
                );
                self.accepted_now = true;
                let exported = self.export();
                if let Err(problems) = validate(&exported, &catalogue) {
                    panic!("an import left an invalid state: {problems:?}");
                }
                if let (ImportMode::Replace, Some(Ok(doc))) = (mode, &parsed) {
                    assert_eq!(ids(&exported), ids(doc), "the imported ids");
                }
                // The export is a fixpoint of import.
                self.app
                    .import(&exported, ImportMode::Replace, "fuzz")
                    .unwrap_or_else(|e| panic!("an export does not import back: {e:?}"));
                let again = self.export();
                assert_eq!(again, exported, "import(export) changed the state");
            }
            Err(status) => {
                assert!(
                    status == 400 || status == 413 || status == 503,
                    "an import answered {status}"
                );
                assert_eq!(self.export(), before, "a refused import changed the state");
            }
        }
        format!(
            "import:{}:{}:{}:{}",
            u8::from(via_http),
            u8::from(mode == ImportMode::Merge),
            u8::from(valid),
            outcome.err().unwrap_or(200)
        )
    }

    // ---- commands -------------------------------------------------------------------------

    fn commands(&mut self, u: &mut Entropy) -> String {
        if self.stats.inputs.is_multiple_of(64) {
            self.app
                .import(&self.base, ImportMode::Replace, "fuzz")
                .expect("the base state imports");
        }
        let fault = self.pick_fault(u);
        let index = u.below(self.command_seeds.len());
        let seed = &self.command_seeds[index];
        let mut method = seed.method.clone();
        let template = seed.template;
        let mut params: Vec<String> = seed.params.iter().map(|p| (*p).to_owned()).collect();
        let mut body = seed.body.clone();
        let mut query = seed.query.clone();
        // Fill in what earlier answers taught: the last preview version, an issued token.
        if let Some(Value::Object(map)) = body.as_mut()
            && map.contains_key("version")
            && let Some(version) = self.versions.last()
            && !u.one_in(4)
        {
            map.insert("version".into(), json!(version));
        }
        if template.starts_with("/v1/access-links/") && !self.tokens.is_empty() && !u.one_in(4) {
            params[0] = u.pick(&self.tokens).clone();
        }
        let mut segments: Vec<String> = params.iter().map(|p| encode(p)).collect();
        if !segments.is_empty() && u.one_in(4) {
            let i = u.below(segments.len());
            if u.one_in(4) {
                segments[i] = (*u.pick(RAW_SEGMENTS)).to_owned();
            } else {
                let mut value = params[i].clone();
                mutate_string(&mut value, u, &self.learned);
                segments[i] = encode(&value);
            }
        }
        let mut path = String::new();
        let mut rest = template;
        let mut next = segments.iter();
        while let Some(at) = rest.find("{}") {
            path.push_str(&rest[..at]);
            path.push_str(next.next().map_or("", String::as_str));
            rest = &rest[at + 2..];
        }
        path.push_str(rest);
        if let Some(q) = query.as_mut() {
            mutate(q, u, &self.donors, &self.learned, 3);
            let text = query_text(q);
            if !text.is_empty() {
                path.push('?');
                path.push_str(&text);
            }
        }
        let bytes = match body.as_mut() {
            Some(_) if u.one_in(16) => u.rest().to_vec(),
            Some(b) => {
                mutate(b, u, &self.donors, &self.learned, 5);
                let mut text = b.to_string().into_bytes();
                mutate_text(&mut text, u);
                text
            }
            None => Vec::new(),
        };
        let content_type = if body.is_some() {
            Self::content_type(u)
        } else {
            None
        };
        let mut headers: Vec<(&str, Vec<u8>)> = Vec::new();
        if body.is_some() && u.one_in(3) {
            let key = match u.below(10) {
                0 => "x".repeat(256),
                1 => "x".repeat(257),
                2 => String::new(),
                3 => "é clé".to_owned(),
                _ => format!("key-{}", u.below(8)),
            };
            headers.push(("idempotency-key", key.into_bytes()));
        }
        if u.one_in(40) {
            method = u
                .pick(&[
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::DELETE,
                    Method::PATCH,
                ])
                .clone();
        }
        let Some(request) =
            Self::request(method.clone(), &path, content_type, &headers, bytes.clone())
        else {
            self.stats.unbuildable += 1;
            return format!("cmd:{index}:unbuildable");
        };
        let what = format!("{method} {path}");
        let before = self.export();
        self.set_fault(fault);
        let answer = self.send(request, fault, &what);
        self.set_fault(Fault::None);
        let after = self.export();
        if answer.status.is_success() {
            if let Err(problems) = validate(&after, self.app.engine().catalogue()) {
                panic!("{what} left an invalid state: {problems:?}");
            }
            self.learn(&answer.body);
        } else {
            assert_eq!(
                after, before,
                "{what} was refused ({}) but changed the state",
                answer.status
            );
        }
        if method == Method::GET {
            assert_eq!(after, before, "{what}: a read changed the state");
        }
        // A replay with the same key returns the first answer and applies nothing (commands
        // only: the admin upserts take no idempotency key).
        if fault == Fault::None
            && answer.status.is_success()
            && !template.starts_with("/v1/admin/")
            && headers.iter().any(|(n, _)| *n == "idempotency-key")
        {
            let Some(request) = Self::request(method, &path, content_type, &headers, bytes) else {
                return format!("cmd:{index}:unbuildable");
            };
            let replay = self.send(request, Fault::None, &format!("replay of {what}"));
            // An access link's token is a secret the store does not keep: the replay is the
            // first answer without it, marked `token_withheld`.
            let mut first = answer.body.clone();
            if let Some(body) = first.as_object_mut()
                && body.remove("token").is_some()
            {
                body.insert("token_withheld".into(), Value::Bool(true));
            }
            assert_eq!(
                (replay.status, &replay.body),
                (answer.status, &first),
                "{what}: the replay differs from the first answer"
            );
            assert_eq!(
                replay
                    .headers
                    .get("idempotent-replayed")
                    .map(HeaderValue::as_bytes),
                Some(&b"true"[..]),
                "{what}: the replay is not marked"
            );
            assert_eq!(self.export(), after, "{what}: the replay changed the state");
        }
        format!(
            "cmd:{index}:{}:{}",
            answer.status.as_u16(),
            message_class(&answer.body)
        )
    }

    /// Keeps tokens and preview versions from successful answers.
    fn learn(&mut self, body: &Value) {
        if let Some(token) = body.get("token").and_then(Value::as_str) {
            self.tokens.push(token.to_owned());
            self.learned.push(token.to_owned());
        }
        if let Some(version) = body.get("version").and_then(Value::as_str) {
            self.versions.push(version.to_owned());
            self.learned.push(version.to_owned());
        }
        for list in [&mut self.tokens, &mut self.versions, &mut self.learned] {
            if list.len() > 32 {
                list.drain(..list.len() - 32);
            }
        }
    }
}

/// The ids of a document's partners and clients, and each client's users.
fn ids(doc: &StateDocument) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    (
        doc.partners.iter().map(|p| p.id.to_string()).collect(),
        doc.clients
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    c.users.iter().map(|u| u.email.to_string()).collect(),
                )
            })
            .collect(),
    )
}

/// How many decisions in an answer allow.
fn allows(v: &Value) -> usize {
    match v {
        Value::Object(map) => {
            let here = usize::from(
                map.get("decision")
                    .is_some_and(|d| d == "Allow" || d == &json!(true)),
            );
            here + map.values().map(allows).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(allows).sum(),
        _ => 0,
    }
}

/// A 200 check answer has the shape of its route: decisions, one result per request.
fn check_answer_shape(route: usize, request: Option<&Value>, body: &Value, what: &str) {
    let decision_ok = |item: &Value| matches!(item["decision"].as_str(), Some("Allow" | "Deny"));
    match route {
        0 => assert!(decision_ok(body), "{what}: {body}"),
        1 => {
            let results = body["results"].as_array();
            assert!(
                results.is_some_and(|r| r.iter().all(decision_ok)),
                "{what}: {body}"
            );
            if let Some(requests) = request.and_then(|r| r["requests"].as_array()) {
                assert_eq!(
                    results.map(Vec::len),
                    Some(requests.len()),
                    "{what}: one result per request"
                );
            }
        }
        _ => {
            let single = body["decision"].is_boolean();
            let many = body["evaluations"]
                .as_array()
                .is_some_and(|e| e.iter().all(|x| x["decision"].is_boolean()));
            assert!(single || many, "{what}: {body}");
        }
    }
}

/// The start of an error message, up to its first quoted value, digits dropped: the kind of
/// error without the values in it.
fn message_class(body: &Value) -> String {
    let message = body["error"]["message"].as_str().unwrap_or("");
    message
        .split(['`', '\'', '"'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .take(48)
        .collect()
}

// ---- pure properties of references, e-mails and ids ---------------------------------------

/// A reference read from JSON reads back from its object, `__entity` and string forms.
fn ref_value(value: &Value) -> String {
    match EntityRef::from_json(value) {
        Ok(r) => {
            assert!(!r.id.is_empty(), "an empty id was accepted: {value}");
            assert_eq!(
                EntityRef::from_json(&r.to_json()),
                Ok(r.clone()),
                "object form of {value}"
            );
            assert_eq!(
                EntityRef::from_json(&json!({ "__entity": r.to_json() })),
                Ok(r.clone()),
                "__entity form of {value}"
            );
            let text = r.to_string();
            assert_eq!(
                text.parse::<EntityRef>(),
                Ok(r.clone()),
                "string form `{text}` of {value}"
            );
            format!("{:?}", r.kind)
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            "refused".into()
        }
    }
}

/// A reference read from its string form writes back to a string that reads the same.
fn ref_text(text: &str) -> String {
    match text.parse::<EntityRef>() {
        Ok(r) => {
            assert!(!r.id.is_empty(), "an empty id was accepted: {text:?}");
            let written = r.to_string();
            assert_eq!(
                written.parse::<EntityRef>(),
                Ok(r.clone()),
                "{text:?} reads as {r:?}, written `{written}`"
            );
            assert_eq!(EntityRef::from_json(&Value::String(text.to_owned())), Ok(r));
            "ref".into()
        }
        Err(_) => "refused".into(),
    }
}

/// An accepted e-mail is the text with its ASCII letters lower-cased and nothing else changed
/// (no Unicode case folding, no trimming), has one `@`, is within 320 characters, parses to
/// itself, and serde agrees with `parse`.
fn email_text(text: &str) {
    let parsed = Email::parse(text);
    let via_serde = serde_json::from_value::<Email>(Value::String(text.to_owned()));
    assert_eq!(parsed.is_ok(), via_serde.is_ok(), "{text:?}");
    if let Ok(email) = parsed {
        let s = email.as_str();
        assert_eq!(s, text.to_ascii_lowercase(), "{text:?}");
        assert_eq!(s.matches('@').count(), 1, "{text:?}");
        assert!(s.chars().count() <= 320, "{text:?}");
        assert!(!s.chars().any(char::is_whitespace), "{text:?}");
        assert_eq!(Email::parse(s), Ok(email.clone()), "{text:?}");
        assert_eq!(via_serde.ok(), Some(email));
    }
}

/// An accepted id is 1 to 256 characters without control characters, and parses to itself;
/// every kind of id checks alike.
fn id_text(text: &str) {
    let client = ClientId::parse(text);
    assert_eq!(client.is_ok(), PartnerId::parse(text).is_ok(), "{text:?}");
    let count = text.chars().count();
    let expected = (1..=256).contains(&count) && !text.chars().any(char::is_control);
    assert_eq!(client.is_ok(), expected, "{text:?}");
    if let Ok(id) = client {
        assert_eq!(ClientId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.as_str(), text);
    }
}

// ---- policy text --------------------------------------------------------------------------

/// Ways to nest an expression `depth` deep; each is valid Cedar at any depth, so only the
/// sidecar's own bounds can refuse it.
const NESTINGS: usize = 10;

/// An expression nested `depth` deep in the `kind`-th way (see [`NESTINGS`]).
fn nested_expression(kind: usize, depth: usize) -> String {
    let r = |s: &str| s.repeat(depth);
    match kind % NESTINGS {
        0 => format!("{}true{}", r("("), r(")")),
        1 => format!("{}true", r("!")),
        2 => format!("({}1) != 0", r("-")),
        3 => format!("{}true{}", r("if true then "), r(" else false")),
        4 => format!("{0}1{1} == {0}1{1}", r("["), r("]")),
        5 => format!("{0}1{1} == {0}1{1}", r("{a: "), r("}")),
        6 => format!("{}true", r("true && ")),
        7 => format!("{}false", r("false || ")),
        8 => format!("\"{}\" like \"{}\"", r("a"), r("*a")),
        _ => format!("context has {}", vec!["a"; depth.max(1)].join(".")),
    }
}

/// Edits of policy text: tokens that open, close or break Cedar's grammar.
fn mutate_policy_text(text: &mut String, u: &mut Entropy) {
    const TOKENS: &[&str] = &[
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ";",
        "\"",
        "\\",
        "&&",
        "||",
        "!",
        "::",
        "@id(\"x\")",
        "permit",
        "forbid",
        "when",
        "unless",
        "principal",
        "resource",
        "context",
        "==",
        "in",
        "like",
        "has",
        "if",
        "then",
        "else",
        "\0",
        "\u{feff}",
        "//",
        "/*",
        "*/",
        "\n",
    ];
    let mut bytes = std::mem::take(text).into_bytes();
    for _ in 0..=u.below(4) {
        let at = u.below(bytes.len() + 1).min(bytes.len());
        match u.below(4) {
            0 => {
                let token = *u.pick(TOKENS);
                bytes.splice(at..at, token.bytes());
            }
            1 => {
                let end = (at + u.below(32)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => bytes.truncate(at),
            _ => {
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << u.below(8);
                }
            }
        }
    }
    *text = String::from_utf8_lossy(&bytes).into_owned();
}

impl Harness {
    /// The policy files the sidecar serves (a copy the target may rewrite) and their text.
    fn policy_files(&self) -> Vec<(PathBuf, String)> {
        let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&self.policies_dir)
            .expect("the policies directory reads")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("a policy file reads");
                (p, text)
            })
            .collect();
        files.sort();
        files
    }

    /// The decisions of the probe checks (the single-check seeds) as the sidecar answers now.
    fn probe_decisions(&mut self) -> Vec<String> {
        let bodies: Vec<Value> = self
            .check_seeds
            .iter()
            .filter(|(route, _)| *route == 0)
            .map(|(_, body)| body.clone())
            .collect();
        bodies
            .iter()
            .map(|body| {
                let request = Self::request(
                    Method::POST,
                    CHECK_ROUTES[0],
                    Some("application/json"),
                    &[],
                    body.to_string().into_bytes(),
                )
                .expect("a probe check builds");
                let answer = self.send(request, Fault::None, "probe check");
                assert_eq!(
                    answer.status,
                    StatusCode::OK,
                    "probe check: {}",
                    answer.body
                );
                answer.body["decision"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Policy text, deep nesting above all: a policy file is rewritten (a deeply nested
    /// condition added, its bytes edited, replaced by raw bytes) and the policies reloaded,
    /// as SIGHUP and `POST /v1/admin/policies/reload` do. What must hold:
    /// - the process survives (a stack overflow aborts it: a crash libFuzzer and the stable
    ///   test both report), within the time bound;
    /// - a refused set names a policy file, and the old set keeps serving with the same
    ///   decisions;
    /// - an accepted set answers every probe check (evaluation on a request thread, whose stack
    ///   is a runtime worker's, survives what loading accepted), and `validate`'s loader
    ///   accepts exactly what the serving sidecar loads (both are `PolicyEngine::load`).
    pub(crate) fn policy_text(&mut self, u: &mut Entropy) -> String {
        let files = self.policy_files();
        let (path, original) = u.pick(&files).clone();
        let mut text = original.clone();
        let kind = u.below(5);
        let label = match kind {
            0 | 1 => {
                // Depths around each bound and far beyond them.
                let depth = match u.below(4) {
                    0 => u.below(12),
                    1 => 28 + u.below(12),
                    2 => 60 + u.below(12),
                    _ => 100 + u.below(5000),
                };
                let nesting = u.below(NESTINGS);
                let expression = nested_expression(nesting, depth);
                let clause = if u.one_in(2) { "when" } else { "unless" };
                let effect = if kind == 0 { "permit" } else { "forbid" };
                text.push_str(&format!(
                    "\n@id(\"fuzz-deep\")\n{effect}(principal, action == Hub::Action::\"reports.access\", resource) {clause} {{ {expression} }};\n"
                ));
                format!("deep{nesting}:{}", depth.min(100))
            }
            2 => {
                mutate_policy_text(&mut text, u);
                "edited".to_owned()
            }
            3 => {
                let (_, other) = u.pick(&files);
                text.push('\n');
                text.push_str(other);
                "spliced".to_owned()
            }
            _ => {
                text = String::from_utf8_lossy(u.rest()).into_owned();
                "raw".to_owned()
            }
        };
        std::fs::write(&path, &text).expect("the policy file is rewritten");
        let outcome = self.app.reload_policies();
        std::fs::write(&path, &original).expect("the policy file is restored");
        let loaded = outcome.is_ok();
        let signature = match outcome {
            Ok(_) => {
                // Evaluation of what loaded, on the router's threads: answers, never a crash.
                let _ = self.probe_decisions();
                self.app
                    .reload_policies()
                    .expect("the original policies load again");
                format!("policies:{label}:loaded")
            }
            Err(e) => {
                let message = e.to_string();
                assert!(
                    message.contains(".cedar"),
                    "a refused policy set names no policy file: {message}"
                );
                format!("policies:{label}:refused")
            }
        };
        let decisions = self.probe_decisions();
        assert_eq!(
            decisions, self.baseline,
            "after a {signature} reload the sidecar does not decide as before"
        );
        self.accepted_now = loaded;
        signature
    }
}

// ---- identifiers --------------------------------------------------------------------------

/// Characters that some layer could fold, trim or normalize away, making two texts one
/// identity: Unicode case mappings onto ASCII (Kelvin sign, long s, dotted and dotless i),
/// look-alikes from other scripts, composed and decomposed accents.
const LOOKALIKES: &[(char, &str)] = &[
    ('k', "\u{212A}"),
    ('a', "\u{212B}"),
    ('s', "\u{017F}"),
    ('i', "\u{0130}"),
    ('i', "\u{0131}"),
    ('a', "\u{FF41}"),
    ('a', "\u{0430}"),
    ('o', "\u{03BF}"),
    ('e', "\u{00E9}"),
    ('e', "e\u{0301}"),
    ('s', "\u{00DF}"),
    ('f', "\u{FB01}"),
];

/// White space, invisible and control characters: what trimming or a lax comparison drops.
const INVISIBLE: &[&str] = &[
    " ", "\t", "\n", "\r\n", "\u{00A0}", "\u{2028}", "\u{3000}", "\u{200B}", "\u{200D}",
    "\u{FEFF}", "\u{00AD}", "\u{2060}", "\0", "\u{7F}", "\u{202E}",
];

/// The users of the fixture's client `c-globex`, and who may add users there.
const GLOBEX: &str = "c-globex";
const GLOBEX_OWNER: &str = "owner@globex.example";

/// A variant of `base`: ASCII case flips, look-alikes, invisible characters, a second `@`.
fn identifier_variant(base: &str, u: &mut Entropy) -> String {
    let mut chars: Vec<String> = base.chars().map(String::from).collect();
    for _ in 0..u.below(4) {
        let at = u.below(chars.len() + 1);
        match u.below(5) {
            0 => {
                if let Some(c) = chars.get_mut(at) {
                    *c = if *c == c.to_ascii_uppercase() {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    };
                }
            }
            1 => {
                let Some(c) = chars.get(at).and_then(|c| c.chars().next()) else {
                    continue;
                };
                let matching: Vec<&str> = LOOKALIKES
                    .iter()
                    .filter(|(ascii, _)| *ascii == c.to_ascii_lowercase())
                    .map(|(_, other)| *other)
                    .collect();
                if !matching.is_empty() {
                    chars[at] = (*u.pick(&matching)).to_owned();
                }
            }
            2 => {
                let place = match u.below(3) {
                    0 => 0,
                    1 => chars.len(),
                    _ => at,
                };
                chars.insert(place, (*u.pick(INVISIBLE)).to_owned());
            }
            3 => chars.insert(at, (*u.pick(&["@", "\"", "\\", "%40", "."])).to_owned()),
            _ => {
                if at < chars.len() {
                    chars.remove(at);
                }
            }
        }
    }
    chars.concat()
}

impl Harness {
    /// The e-mails of a client's users in the state as exported now.
    fn client_users(&self, client: &str) -> BTreeMap<String, Value> {
        let doc = serde_json::to_value(self.export()).expect("the export serializes");
        doc["clients"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["id"] == client)
            .flat_map(|c| c["users"].as_array().cloned().unwrap_or_default())
            .filter_map(|user| Some((user["email"].as_str()?.to_owned(), user)))
            .collect()
    }

    /// Identifiers that look like a known user's: each must be that user exactly when it is
    /// the same address up to ASCII case, and otherwise nobody known. Checked three ways:
    /// - `Email::parse` keeps the text but for ASCII case (no trimming, no Unicode folding),
    ///   and two texts are one e-mail exactly when they are equal ignoring ASCII case;
    /// - a check with the variant as principal decides as the known user when it is the same
    ///   address, and denies otherwise (the known user is allowed, so a folded variant shows);
    /// - a command with the variant as actor, as the new user or as the user whose seat
    ///   changes acts on exactly the identity the variant names, or is refused and changes
    ///   nothing.
    pub(crate) fn identifiers(&mut self, u: &mut Entropy) -> String {
        if self.stats.inputs.is_multiple_of(32) {
            self.app
                .import(&self.base, ImportMode::Replace, "fuzz")
                .expect("the base state imports");
        }
        let (base, action) = *u.pick(&[
            ("ann@acme.example", "crm.objects.edit"),
            ("kim@acme.example", "crm.objects.view"),
            ("sally@globex.example", "sales_hub.paid_features"),
            ("owner@globex.example", "billing.edit"),
            ("clara@globex.example", "crm.objects.view"),
        ]);
        let variant = if u.one_in(16) {
            String::from_utf8_lossy(u.rest()).into_owned()
        } else {
            identifier_variant(base, u)
        };
        let same = variant.eq_ignore_ascii_case(base);

        // Parsing.
        email_text(&variant);
        if let Ok(email) = Email::parse(&variant) {
            assert_eq!(
                email.as_str(),
                variant.to_ascii_lowercase(),
                "an e-mail was changed beyond ASCII case: {variant:?}"
            );
            assert_eq!(
                email == Email::parse(base).expect("a fixture e-mail parses"),
                same,
                "{variant:?} and {base:?}"
            );
        }

        // A check.
        let what = format!("check as {variant:?}");
        let check = |principal: &str| {
            json!({
                "principal": {"type": "Hub::User", "id": principal},
                "action": action,
                "resource": {"type": "Hub::Account", "id": GLOBEX},
            })
        };
        let decide = |harness: &mut Harness, body: Value, what: &str| {
            let request = Self::request(
                Method::POST,
                CHECK_ROUTES[0],
                Some("application/json"),
                &[],
                body.to_string().into_bytes(),
            )?;
            let answer = harness.send(request, Fault::None, what);
            Some((answer.status, answer.body["decision"].clone()))
        };
        let known = decide(self, check(base), "check as the known user");
        // Only what the variant does counts as accepted.
        self.accepted_now = false;
        assert_eq!(
            known.as_ref().map(|(_, d)| d.clone()),
            Some(json!("Allow")),
            "the known user {base} is allowed {action}"
        );
        let decided = decide(self, check(&variant), &what);
        if let Some((status, decision)) = &decided
            && status.is_success()
        {
            let expected = if same { "Allow" } else { "Deny" };
            assert_eq!(decision, expected, "{what}");
        }

        // Commands: as the actor, as the new user, as the user whose seat changes.
        let before = self.client_users(GLOBEX);
        let kind = u.below(3);
        let (method, path, body) = match kind {
            0 => (
                Method::POST,
                format!("/v1/clients/{GLOBEX}/users"),
                json!({"actor": variant, "email": "new@globex.example", "seat": "core", "permission_set": "Support"}),
            ),
            1 => (
                Method::POST,
                format!("/v1/clients/{GLOBEX}/users"),
                json!({"actor": GLOBEX_OWNER, "email": variant, "seat": "core", "permission_set": "Support"}),
            ),
            _ => (
                Method::PUT,
                format!("/v1/clients/{GLOBEX}/users/{}/seat", encode(&variant)),
                json!({"actor": GLOBEX_OWNER, "seat": "sales_paid"}),
            ),
        };
        let what = format!("{method} {path} with {variant:?}");
        let Some(request) = Self::request(
            method,
            &path,
            Some("application/json"),
            &[],
            body.to_string().into_bytes(),
        ) else {
            self.stats.unbuildable += 1;
            return "ids:unbuildable".into();
        };
        let answer = self.send(request, Fault::None, &what);
        let after = self.client_users(GLOBEX);
        let outcome = if answer.status.is_success() {
            self.accepted_now = true;
            let lower = variant.to_ascii_lowercase();
            match kind {
                0 => {
                    // Acted as a known user of the client (its owner, or a partner user with
                    // the right), the one the variant names up to ASCII case.
                    assert!(
                        before.contains_key(&lower),
                        "{what}: a command succeeded for an actor who is no user of {GLOBEX}"
                    );
                }
                1 => {
                    assert!(
                        !before.contains_key(&lower) && after.contains_key(&lower),
                        "{what}: created a user other than {lower:?}: {:?}",
                        after
                            .keys()
                            .filter(|k| !before.contains_key(*k))
                            .collect::<Vec<_>>()
                    );
                }
                _ => {
                    assert!(
                        before.contains_key(&lower),
                        "{what}: changed the seat of someone who is not {lower:?}"
                    );
                }
            }
            // Nobody else changed.
            for (email, user) in &before {
                if *email != lower && !(kind == 0 && email == "new@globex.example") {
                    assert_eq!(after.get(email), Some(user), "{what}: {email} changed");
                }
            }
            if after != before {
                self.app
                    .import(&self.base, ImportMode::Replace, "fuzz")
                    .expect("the base state imports");
            }
            "ok"
        } else {
            assert_eq!(after, before, "{what}: refused, yet the users changed");
            "refused"
        };
        let parsed = if Email::parse(&variant).is_ok() {
            "email"
        } else {
            "malformed"
        };
        format!("ids:{kind}:{parsed}:{same}:{outcome}")
    }
}
