use super::*;

fn catalogue() -> Catalogue {
    Catalogue::new(
        ["crm.objects.view", "users.add_edit"]
            .map(|p| (Permission::parse(p).unwrap(), vec!["super_admin"])),
    )
}

#[test]
fn reports_every_problem_at_once() {
    let doc = StateDocument::from_json_str(
        r#"{
              "partners": [{"id": "p-acme", "tier": "provider",
                "employees": [{"email": "ann@acme.example"}]}],
              "clients": [{"id": "c-1", "pricing_model": "legacy", "users": [
                {"email": "ann@acme.example", "role": "partner_admin", "seat": "core",
                 "partner": "p-acme", "permissions": ["reports.fly"]},
                {"email": "ann@acme.example", "role": "standard", "seat": "core"},
                {"email": "x@y.z", "role": "standard", "seat": "core", "partner": "p-nope"}
              ]}]
            }"#,
    )
    .unwrap();
    let problems = validate(&doc, &catalogue()).unwrap_err();
    let rules: Vec<_> = problems.iter().map(|p| p.rule).collect();
    assert!(rules.contains(&Some("SEAT-5")), "{problems:?}");
    assert!(rules.contains(&Some("MIG-4")), "{problems:?}");
    let text = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("unknown permission `reports.fly`"), "{text}");
    assert!(text.contains("more than once"), "{text}");
    assert!(text.contains("unknown partner `p-nope`"), "{text}");
    assert_eq!(problems.len(), 5, "{text}");
}

#[test]
fn rel4_relationship_histories_are_checked_with_their_paths() {
    let doc = |relationship: &str| {
        StateDocument::from_json_str(&format!(
            r#"{{"partners": [{{"id": "p-acme", "tier": "provider"}}],
                    "clients": [{{"id": "c-1", "pricing_model": "legacy", "users": [
                      {{"email": "o@c.example", "role": "super_admin", "seat": "core"}}],
                      "relationship": {relationship}}}]}}"#
        ))
        .unwrap()
    };
    // A first-edition record, and a history of two relationships: fine.
    let first = r#"{"partner": "p-acme", "started_at": "2025-01-01T00:00:00Z",
                        "last_activity_at": "2025-02-01T00:00:00Z"}"#;
    assert_eq!(validate(&doc(first), &catalogue()), Ok(()));
    let two = r#"{"periods": [
            {"partner": "p-acme", "started_at": "2025-01-01T00:00:00Z",
             "last_activity_at": "2025-02-01T00:00:00Z", "ended_at": "2025-04-02T00:00:00Z",
             "ending_spans": [{"since": "2025-02-01T00:00:00Z",
                               "activity_before": "2025-02-01T00:00:00Z"}]},
            {"partner": "p-acme", "started_at": "2025-06-01T00:00:00Z",
             "last_activity_at": "2025-06-01T00:00:00Z"}]}"#;
    assert_eq!(validate(&doc(two), &catalogue()), Ok(()));
    // Unknown partner, overlapping periods, an earlier one not ended, spans out of order.
    let bad = r#"{"periods": [
            {"partner": "p-nope", "started_at": "2025-01-01T00:00:00Z",
             "last_activity_at": "2025-02-01T00:00:00Z",
             "ending_spans": [
               {"since": "2025-03-01T00:00:00Z", "activity_before": "2025-02-01T00:00:00Z"},
               {"since": "2025-02-01T00:00:00Z", "activity_before": "2025-02-01T00:00:00Z"}]},
            {"partner": "p-acme", "started_at": "2024-06-01T00:00:00Z",
             "last_activity_at": "2024-06-01T00:00:00Z"}]}"#;
    let problems = validate(&doc(bad), &catalogue()).unwrap_err();
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "clients[0].relationship.periods[0].partner",
            "clients[0].relationship.periods[0].ended_at",
            "clients[0].relationship.periods[0].ending_spans[0]",
            "clients[0].relationship.periods[0].ending_spans[1]",
            "clients[0].relationship.periods[1].started_at",
        ],
        "{problems:?}"
    );
}

#[test]
fn a_consistent_document_passes() {
    let doc = StateDocument::from_json_str(
        r#"{"clients": [{"id": "c-1", "pricing_model": "legacy", "users": [
                {"email": "o@c.example", "role": "super_admin", "seat": "core"}]}]}"#,
    )
    .unwrap();
    assert_eq!(validate(&doc, &catalogue()), Ok(()));
}
