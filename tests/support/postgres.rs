//! The test PostgreSQL server, shared by the suites that run on it (`tests/service`,
//! `tests/fleet.rs`): `PARTNER_ACCESS_TEST_POSTGRES` names it, and every store a test opens gets
//! a fresh schema of its own, so tests run in parallel without meeting.

/// The test server's connection string, if one is configured.
pub fn url() -> Option<String> {
    std::env::var("PARTNER_ACCESS_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Creates a fresh, empty schema on the server at `base`, and returns the connection string
/// that uses it.
pub async fn fresh_schema(base: &str) -> String {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    drop(client);
    let _ = driver.await;
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}
