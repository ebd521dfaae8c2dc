//! Runs one warm check in a loop, for profilers: `check_loop [ITERATIONS]`.

use std::sync::Arc;
use std::time::Duration;

use partner_access::app::{App, AppSettings, ImportMode};
use partner_access::fixtures::{Size, generate};
use partner_access::policy::{CheckRequest, EntityKind, EntityRef};
use partner_access::store::RedbStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("pa-check-loop-{}", std::process::id()));
    let store = RedbStore::open(&dir)?;
    let app = App::new(
        AppSettings {
            policies_dir: "policies".into(),
            schema_dir: "schema".into(),
            cache_capacity: 100_000,
            cache_ttl: Duration::from_secs(300),
            follow: Default::default(),
        },
        Arc::new(store),
    )?;
    app.import(
        &generate(Size {
            partners: 20,
            clients: 200,
            users_per_client: 5,
        }),
        ImportMode::Replace,
        "check_loop",
    )?;
    let request = CheckRequest {
        principal: EntityRef::new(EntityKind::User, "admin1@p1.example"),
        action: "reports.access".into(),
        resource: EntityRef::new(EntityKind::Account, "c1"),
        context: serde_json::Map::new(),
    };
    let mut allowed = 0;
    for _ in 0..iterations {
        if app.check(&request)?.decision.allowed {
            allowed += 1;
        }
    }
    println!("{allowed} of {iterations} allowed");
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
