//! The store's semantics, checked on the redb backend: search from the key order, an export
//! that round-trips through a reopened file, relationship histories, point lookups, aborted
//! writes, and a file that is not a store. (The same semantics run on PostgreSQL in the
//! service, crash and fleet tests, with `PARTNER_ACCESS_TEST_POSTGRES` set.)

use crate::domain::{ClientId, ClientUserRecord, Email, PartnerId, StateDocument};
use crate::store::{Aux, Committed, RedbStore, SearchKind, Store, StoreError, WriteError, write};

fn demo() -> StateDocument {
    StateDocument::from_json_str(include_str!("../../examples/demo-state.json")).unwrap()
}

fn import(store: &RedbStore, doc: &StateDocument) -> Committed {
    let (_, committed) = write::<_, (), ()>(store, |tx| {
        tx.replace_all(doc)?;
        Ok(())
    })
    .unwrap();
    committed
}

#[test]
fn search_answers_by_prefix_from_the_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let doc = crate::fixtures::generate(crate::fixtures::Size {
        partners: 3,
        clients: 30,
        users_per_client: 2,
    });
    import(&store, &doc);
    let snapshot = store.snapshot().unwrap();
    // The backend's range scans give what the default (a scan of the export) gives.
    let reference = |kind, prefix: &str, limit| {
        let mut ids: Vec<String> = match kind {
            SearchKind::Account => doc.clients.iter().map(|c| c.id.to_string()).collect(),
            SearchKind::Partner => doc.partners.iter().map(|p| p.id.to_string()).collect(),
            SearchKind::User => doc
                .partners
                .iter()
                .flat_map(|p| p.employees.iter().map(|e| e.email.to_string()))
                .chain(
                    doc.clients
                        .iter()
                        .flat_map(|c| c.users.iter().map(|u| u.email.to_string())),
                )
                .collect(),
        };
        ids.sort();
        ids.dedup();
        ids.retain(|id| id.starts_with(prefix));
        ids.truncate(limit);
        ids
    };
    for (kind, prefix) in [
        (SearchKind::Account, "c1"),
        (SearchKind::Account, ""),
        (SearchKind::Account, "zz"),
        (SearchKind::Partner, "p"),
        (SearchKind::User, "admin"),
        (SearchKind::User, "owner@c2"),
        (SearchKind::User, ""),
    ] {
        for limit in [1, 3, 10, 1000] {
            let found = snapshot.search(kind, prefix, limit).unwrap();
            assert_eq!(
                found,
                reference(kind, prefix, limit),
                "{kind:?} {prefix:?} {limit}"
            );
        }
    }
    // An employee who is also a client user in many accounts is found once.
    let admins = snapshot.search(SearchKind::User, "admin1@", 10).unwrap();
    assert_eq!(admins, ["admin1@p1.example"]);
}

#[test]
fn export_round_trips_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let doc = demo();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        let committed = import(&store, &doc);
        assert_eq!(committed.revision, 1);
        assert!(committed.everything);
    }
    let store = RedbStore::open(dir.path()).unwrap();
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.revision(), 1);
    let exported = snapshot.export().unwrap();
    let mut expected = doc.clone();
    for c in &mut expected.clients {
        c.users.sort_by(|a, b| a.email.cmp(&b.email));
    }
    for p in &mut expected.partners {
        p.employees.sort_by(|a, b| a.email.cmp(&b.email));
    }
    assert_eq!(exported, expected);
}

/// REL-4, REL-5: the relationships side table holds a client's history; a first-edition
/// record (one per client) still reads, as one period, `ending` since its last activity
/// once the partner's users are gone; the history written back round-trips.
#[test]
fn rel5_a_first_edition_relationship_record_reads_as_a_history() {
    use crate::domain::{RelationshipHistory, RelationshipState, Timestamp};
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    import(&store, &demo());
    let globex = ClientId::parse("c-globex").unwrap();
    let acme = PartnerId::parse("p-acme").unwrap();
    let old = br#"{"partner": "p-acme", "started_at": "2025-01-01T00:00:00Z",
                   "last_activity_at": "2025-03-01T00:00:00Z"}"#;
    write::<_, (), ()>(&store, |tx| {
        tx.put_aux(Aux::Relationships, globex.as_str(), old)?;
        Ok(())
    })
    .unwrap();
    let t = |s: &str| Timestamp::parse(s).unwrap();
    let read = |store: &RedbStore| {
        store
            .snapshot()
            .unwrap()
            .client_record(&globex)
            .unwrap()
            .unwrap()
            .relationship
            .unwrap()
    };
    // Partner users of p-acme are there: one active period.
    let history = read(&store);
    assert_eq!(history.periods.len(), 1);
    assert_eq!(history.periods[0].partner, acme);
    assert!(history.periods[0].ending_spans.is_empty());
    assert_eq!(
        history.view_at(t("2026-01-01T00:00:00Z")).state,
        RelationshipState::Active
    );

    // Without them (removed by an upsert): ending since the last activity, then ended.
    let partner_users: Vec<Email> = read_users(&store, &globex)
        .into_iter()
        .filter(|u| u.partner.as_ref() == Some(&acme))
        .map(|u| u.email)
        .collect();
    assert!(!partner_users.is_empty());
    write::<_, (), ()>(&store, |tx| {
        for email in &partner_users {
            tx.remove_user(&globex, email)?;
        }
        Ok(())
    })
    .unwrap();
    let history = read(&store);
    assert_eq!(
        history.periods[0].ending_spans[0].since,
        t("2025-03-01T00:00:00Z")
    );
    assert_eq!(
        history.view_at(t("2025-02-01T00:00:00Z")).state,
        RelationshipState::Active
    );
    assert_eq!(
        history.view_at(t("2025-04-01T00:00:00Z")).state,
        RelationshipState::Ending
    );
    assert_eq!(
        history.view_at(t("2026-01-01T00:00:00Z")).state,
        RelationshipState::Ended
    );

    // A history written whole comes back as it was, also after an export and import.
    let mut next = history.clone();
    next.partner_user_added(&acme, t("2026-01-01T00:00:00Z"));
    assert_eq!(next.periods.len(), 2);
    let mut client = store
        .snapshot()
        .unwrap()
        .client_record(&globex)
        .unwrap()
        .unwrap();
    client.relationship = Some(next.clone());
    write::<_, (), ()>(&store, |tx| {
        tx.put_client(&client)?;
        Ok(())
    })
    .unwrap();
    let exported = store.snapshot().unwrap().export().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let other = RedbStore::open(dir2.path()).unwrap();
    import(&other, &exported);
    let back: RelationshipHistory = other
        .snapshot()
        .unwrap()
        .client_record(&globex)
        .unwrap()
        .unwrap()
        .relationship
        .unwrap();
    // (No partner user is in the account: the new period reads as ending since its start.)
    assert_eq!(back.periods[..1], next.periods[..1]);
    assert_eq!(back.periods[1].started_at, next.periods[1].started_at);
    assert_eq!(other.snapshot().unwrap().export().unwrap(), exported);
}

fn read_users(store: &RedbStore, client: &ClientId) -> Vec<ClientUserRecord> {
    store
        .snapshot()
        .unwrap()
        .client_record(client)
        .unwrap()
        .unwrap()
        .users
}

#[test]
fn point_lookups_answer_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    import(&store, &demo());
    let s = store.snapshot().unwrap();
    let ann = Email::parse("ann@acme.example").unwrap();
    let globex = ClientId::parse("c-globex").unwrap();
    assert_eq!(
        s.user(&ann)
            .unwrap()
            .unwrap()
            .employment
            .unwrap()
            .partner
            .as_str(),
        "p-acme"
    );
    let owner = Email::parse("owner@globex.example").unwrap();
    assert!(s.user(&owner).unwrap().unwrap().employment.is_none());
    assert!(s.user(&Email::parse("x@y.z").unwrap()).unwrap().is_none());
    assert!(s.membership(&globex, &ann).unwrap().is_some());
    assert_eq!(s.clients_of_user(&ann).unwrap(), vec![globex.clone()]);
    assert!(s.client(&globex).unwrap().is_some());
}

#[test]
fn an_aborted_write_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    import(&store, &demo());
    let globex = ClientId::parse("c-globex").unwrap();
    let ann = Email::parse("ann@acme.example").unwrap();
    let result = write::<_, (), &str>(&store, |tx| {
        tx.remove_user(&globex, &ann)?;
        Err(WriteError::Aborted("no"))
    });
    assert!(matches!(result, Err(WriteError::Aborted("no"))));
    let s = store.snapshot().unwrap();
    assert_eq!(s.revision(), 1);
    assert!(s.membership(&globex, &ann).unwrap().is_some());
}

#[test]
fn a_garbage_file_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("state.redb"),
        b"this is not a database at all",
    )
    .unwrap();
    let err = RedbStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
}

/// The policy side tables round-trip through a reopened file, and a write of the active
/// pointer's table reports [`StateKey::ActivePolicy`] (for the change feed) while a stored
/// set's does not.
#[test]
fn policy_tables_round_trip_and_an_activation_is_a_change_to_follow() {
    use crate::store::StateKey;
    let dir = tempfile::tempdir().unwrap();
    let (_, pushed) = {
        let store = RedbStore::open(dir.path()).unwrap();
        write::<_, (), ()>(&store, |tx| {
            tx.put_aux(Aux::PolicySets, &"a".repeat(64), b"{\"set\":1}")?;
            Ok(())
        })
        .unwrap()
    };
    assert!(pushed.keys.is_empty(), "{pushed:?}");
    let store = RedbStore::open(dir.path()).unwrap();
    let (_, activated) = write::<_, (), ()>(&store, |tx| {
        tx.put_aux(Aux::PolicyActivations, "active", b"{\"v\":1}")?;
        tx.put_aux(
            Aux::PolicyActivations,
            "history/00000000000000000002",
            b"{}",
        )?;
        Ok(())
    })
    .unwrap();
    assert_eq!(activated.keys, [StateKey::ActivePolicy]);
    drop(store);
    let store = RedbStore::open(dir.path()).unwrap();
    let snapshot = store.snapshot().unwrap();
    assert_eq!(
        snapshot.aux(Aux::PolicySets, &"a".repeat(64)).unwrap(),
        Some(b"{\"set\":1}".to_vec())
    );
    assert_eq!(
        snapshot.aux(Aux::PolicyActivations, "active").unwrap(),
        Some(b"{\"v\":1}".to_vec())
    );
    let history = snapshot
        .aux_after(Aux::PolicyActivations, "history/", 10)
        .unwrap();
    assert_eq!(history.len(), 1);
    // An import replaces the state, not the policy versions.
    drop(snapshot);
    import(&store, &demo());
    let snapshot = store.snapshot().unwrap();
    assert!(
        snapshot
            .aux(Aux::PolicySets, &"a".repeat(64))
            .unwrap()
            .is_some()
    );
}
