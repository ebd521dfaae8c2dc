//! In-process benchmarks of the check path and of one durable command.
//!
//! - `check/warm`: a decision whose lookups are all cached (the steady state);
//! - `check/cold`: the cache emptied before each decision (store reads + entity build + eval);
//! - `check/plain_authorizer`: Cedar's `Authorizer` over every policy with prebuilt entities,
//!   the floor the sidecar's evaluation is compared with;
//! - `batch/100`: one hundred checks of one principal and account;
//! - `command/deactivate_reactivate`: two durable commands (each one redb commit).
//!
//! Run with `cargo bench --bench check_path`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark whose set-up fails has nothing to measure: it stops there"
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use partner_access::app::commands::CommandMeta;
use partner_access::app::commands::cam::{DeactivatePartnerUser, ReactivatePartnerUser};
use partner_access::app::{App, AppSettings, ImportMode};
use partner_access::domain::{ClientId, Email};
use partner_access::fixtures::{Size, generate};
use partner_access::policy::{CheckRequest, EntityKind, EntityRef};
use partner_access::store::RedbStore;
use serde_json::Map;

fn app(dir: &std::path::Path) -> App {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let store = RedbStore::open(dir).unwrap();
    let app = App::new(
        AppSettings {
            policies_dir: root.join("policies"),
            schema_dir: root.join("schema"),
            cache_capacity: 100_000,
            cache_ttl: Duration::from_secs(300),
            follow: Default::default(),
        },
        Arc::new(store),
    )
    .unwrap();
    let doc = generate(Size {
        partners: 20,
        clients: 2_000,
        users_per_client: 5,
    });
    app.import(&doc, ImportMode::Replace, "tests").unwrap();
    app
}

fn request(principal: &str, action: &str, client: &str) -> CheckRequest {
    CheckRequest {
        principal: EntityRef::new(EntityKind::User, principal),
        action: action.to_owned(),
        resource: EntityRef::new(EntityKind::Account, client),
        context: Map::new(),
    }
}

fn checks(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let partner_admin = request("admin1@p1.example", "reports.access", "c1");
    assert!(app.check(&partner_admin).unwrap().decision.allowed);

    c.bench_function("check/warm", |b| {
        b.iter(|| black_box(app.check(black_box(&partner_admin)).unwrap()))
    });
    c.bench_function("check/cold", |b| {
        b.iter(|| {
            app.clear_cache();
            black_box(app.check(black_box(&partner_admin)).unwrap())
        })
    });
    let many: Vec<CheckRequest> = (0..100)
        .map(|i| {
            let action = [
                "reports.access",
                "crm.objects.edit",
                "scim.provision",
                "billing.edit",
            ][i % 4];
            request("admin1@p1.example", action, "c1")
        })
        .collect();
    c.bench_function("batch/100", |b| {
        b.iter(|| {
            for r in &many {
                black_box(app.check(r).unwrap());
            }
        })
    });
}

fn commands(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let actor = Email::parse("admin1@p1.example").unwrap();
    let target = Email::parse("rep1@p1.example").unwrap();
    let client = ClientId::parse("c1").unwrap();
    let meta = CommandMeta {
        actor,
        idempotency_key: None,
        request_digest: String::new(),
    };
    let mut group = c.benchmark_group("command");
    group.sample_size(20);
    group.bench_function("deactivate_reactivate", |b| {
        b.iter(|| {
            let (c, employee) = (client.clone(), target.clone());
            app.run(
                &meta,
                &DeactivatePartnerUser {
                    client: c,
                    employee,
                },
            )
            .unwrap();
            let (c, employee) = (client.clone(), target.clone());
            app.run(
                &meta,
                &ReactivatePartnerUser {
                    client: c,
                    employee,
                },
            )
            .unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, checks, commands);
criterion_main!(benches);
