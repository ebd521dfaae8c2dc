use super::*;

impl Auth {
    fn admits(&self, access: Access, token: Option<&str>) -> bool {
        self.decide(access, token) == Verdict::Admitted
    }
}

#[test]
fn tokens_admit_what_they_should() {
    let auth = Auth::new(
        &["check-1".into()],
        &["caller-1".into(), "caller-2".into()],
        Some("admin"),
    );
    assert!(auth.admits(Access::Caller, Some("caller-2")));
    assert!(auth.admits(Access::Caller, Some("admin")));
    assert!(!auth.admits(Access::Caller, Some("caller-3")));
    assert!(!auth.admits(Access::Caller, None));
    assert!(!auth.admits(Access::Admin, Some("caller-1")));
    assert!(auth.admits(Access::Admin, Some("admin")));
    assert!(auth.admits(Access::Public, None));
    let open = Auth::new(&[], &[], None);
    assert!(open.admits(Access::Admin, None));
}

#[test]
fn each_scope_includes_the_ones_below_it_and_no_more() {
    let auth = Auth::new(&["c".into()], &["k".into()], Some("a"));
    let cases = [
        ("c", Some(Scope::Check)),
        ("k", Some(Scope::Caller)),
        ("a", Some(Scope::Admin)),
        ("x", None),
    ];
    for access in [Access::Check, Access::Caller, Access::Admin] {
        let needed = access.scope().unwrap();
        for (token, held) in cases {
            let expected = match held {
                None => Verdict::Unauthenticated,
                Some(held) if held >= needed => Verdict::Admitted,
                Some(held) => Verdict::InsufficientScope { needed, held },
            };
            assert_eq!(
                auth.decide(access, Some(token)),
                expected,
                "{access:?} {token}"
            );
        }
    }
    // A token in two sets has the higher scope.
    let both = Auth::new(&["t".into()], &["t".into()], None);
    assert_eq!(both.decide(Access::Caller, Some("t")), Verdict::Admitted);
    // Check tokens alone turn authentication on.
    let checks_only = Auth::new(&["c".into()], &[], None);
    assert!(checks_only.enabled());
    assert_eq!(
        checks_only.decide(Access::Check, None),
        Verdict::Unauthenticated
    );
}

#[test]
fn configured_tokens_are_trimmed_like_presented_ones() {
    let auth = Auth::new(&[], &[" caller \n".into(), "  ".into()], Some("admin\n"));
    assert!(auth.admits(Access::Caller, Some("caller")));
    assert!(auth.admits(Access::Admin, Some("admin")));
    assert_eq!(
        auth.tokens.load().callers.len(),
        1,
        "a blank token is no token"
    );
}

#[test]
fn reloading_rotates_file_tokens_and_a_bad_file_keeps_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let callers = dir.path().join("callers");
    let admin = dir.path().join("admin");
    std::fs::write(&callers, "old-1\nold-2\n").unwrap();
    std::fs::write(&admin, "old-admin\n").unwrap();
    let auth = Auth::from_sources(TokenSources {
        caller_env: vec!["from-env".into()],
        caller_file: Some(callers.clone()),
        admin_env: None,
        admin_file: Some(admin.clone()),
        ..TokenSources::default()
    })
    .unwrap();
    assert!(auth.admits(Access::Caller, Some("old-2")));
    assert!(auth.admits(Access::Admin, Some("old-admin")));

    // Rotated files: the new tokens are in force, the old ones are not; the environment's
    // token stays.
    std::fs::write(&callers, "new-1\n").unwrap();
    std::fs::write(&admin, "new-admin\n").unwrap();
    assert_eq!(
        auth.reload().unwrap(),
        TokenCounts {
            check: 0,
            caller: 2,
            admin: true
        }
    );
    assert!(auth.admits(Access::Caller, Some("new-1")));
    assert!(auth.admits(Access::Caller, Some("from-env")));
    assert!(!auth.admits(Access::Caller, Some("old-1")));
    assert!(auth.admits(Access::Admin, Some("new-admin")));
    assert!(!auth.admits(Access::Admin, Some("old-admin")));

    // Files that cannot be read, or hold no token: an error naming the file, and the
    // tokens in force stay (both files are read before anything changes).
    std::fs::write(&callers, "newer\n").unwrap();
    std::fs::remove_file(&admin).unwrap();
    let err = auth.reload().unwrap_err().to_string();
    assert!(err.contains("admin"), "{err}");
    assert!(auth.admits(Access::Caller, Some("new-1")));
    assert!(!auth.admits(Access::Caller, Some("newer")));
    assert!(auth.admits(Access::Admin, Some("new-admin")));
    std::fs::write(&admin, "# only a comment\n\n").unwrap();
    let err = auth.reload().unwrap_err().to_string();
    assert!(err.contains("no token"), "{err}");
    assert!(auth.admits(Access::Admin, Some("new-admin")));
}

#[test]
fn without_tokens_only_loopback_and_configured_hosts_are_answered() {
    let open = HostCheck::new(&Auth::new(&[], &[], None), &["sidecar.internal".into()]);
    for host in [
        "localhost",
        "LOCALHOST:8180",
        "api.localhost:1",
        "127.0.0.1:8180",
        "127.9.9.9",
        "[::1]:8180",
        "sidecar.internal:8180",
    ] {
        assert!(open.admits(Some(host)), "{host}");
    }
    for host in [
        "evil.example",
        "evil.example:8180",
        "localhost.evil.example",
        "127.0.0.1.evil.example",
        "10.0.0.1:8180",
        "[::2]:8180",
        "sidecar.internal.evil",
    ] {
        assert!(!open.admits(Some(host)), "{host}");
    }
    let closed = HostCheck::new(&Auth::new(&[], &["t".into()], None), &[]);
    assert!(closed.admits(Some("evil.example")), "a token is the check");
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    for value in ["Bearer t", "bearer t", "BEARER  t ", "  Bearer\tt"] {
        assert_eq!(bearer_token(value), Some("t"), "{value:?}");
    }
    for value in ["Basic t", "Bearert", "Bearer", "Token t"] {
        assert_eq!(bearer_token(value), None, "{value:?}");
    }
}
