use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn defaults_are_the_contract_s() {
    let c = ServeArgs::default().resolve(no_env).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8180");
    assert_eq!(c.data, PathBuf::from("data"));
    assert_eq!(c.body_limit, 1024 * 1024);
    assert_eq!(c.idempotency_ttl, Duration::from_secs(24 * 3600));
    assert!(!c.token_counts.any());
}

#[test]
fn flags_beat_the_file_and_the_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\ndata = \"/tmp/x\"\ncache_ttl_secs = 5\n",
    )
    .unwrap();
    let args = ServeArgs {
        config: Some(file),
        data: Some(PathBuf::from("/tmp/flag")),
        ..Default::default()
    };
    let c = args.resolve(no_env).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
    assert_eq!(c.data, PathBuf::from("/tmp/flag"));
    assert_eq!(c.cache_ttl, Duration::from_secs(5));
}

#[test]
fn a_unix_socket_is_listened_on_by_path_with_a_mode_and_needs_no_token() {
    let args = ServeArgs {
        listen: Some("unix:/run/pa/pa.sock".parse().unwrap()),
        ..Default::default()
    };
    let c = args.resolve(no_env).unwrap();
    assert_eq!(c.listen, Listen::Unix(PathBuf::from("/run/pa/pa.sock")));
    assert_eq!(c.listen.to_string(), "unix:/run/pa/pa.sock");
    assert_eq!(c.socket_mode, 0o660);
    for (text, mode) in [("600", 0o600), ("0660", 0o660), ("0o640", 0o640)] {
        let args = ServeArgs {
            socket_mode: Some(text.into()),
            ..args.clone()
        };
        assert_eq!(args.resolve(no_env).unwrap().socket_mode, mode, "{text}");
    }
    for bad in ["rw-rw----", "800", "1777", ""] {
        let args = ServeArgs {
            socket_mode: Some(bad.into()),
            ..args.clone()
        };
        assert!(
            matches!(args.resolve(no_env), Err(ConfigError::Invalid(m)) if m.contains("socket_mode")),
            "{bad}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "listen = \"unix:pa.sock\"\nsocket_mode = 0o600\n").unwrap();
    let c = ServeArgs {
        config: Some(file),
        ..Default::default()
    }
    .resolve(no_env)
    .unwrap();
    assert_eq!(c.listen, Listen::Unix(PathBuf::from("pa.sock")));
    assert_eq!(c.socket_mode, 0o600);
    // Writable by every local user, and no token: refused.
    let open = ServeArgs {
        socket_mode: Some("666".into()),
        ..args.clone()
    };
    assert!(
        matches!(open.resolve(no_env), Err(ConfigError::Invalid(m)) if m.contains("every local user"))
    );
    assert!(
        open.resolve(|k| (k == "PARTNER_ACCESS_TOKENS").then(|| "t1".to_owned()))
            .is_ok()
    );
    for bad in ["unix:", "localhost", "8180", "127.0.0.1"] {
        let err = bad.parse::<Listen>().unwrap_err();
        assert!(err.contains("unix:"), "{bad}: {err}");
    }
}

#[test]
fn non_loopback_without_tokens_is_refused() {
    let args = ServeArgs {
        listen: Some("0.0.0.0:8180".parse().unwrap()),
        ..Default::default()
    };
    assert!(matches!(
        args.resolve(no_env),
        Err(ConfigError::OpenNonLoopback(_))
    ));
    let with_token = args
        .resolve(|k| (k == "PARTNER_ACCESS_ADMIN_TOKEN").then(|| "s3cret".to_owned()))
        .unwrap();
    assert!(with_token.token_counts.admin);
    let with_check_tokens = args
        .resolve(|k| (k == "PARTNER_ACCESS_CHECK_TOKENS").then(|| " c1, ,c2 ".to_owned()))
        .unwrap();
    assert_eq!(with_check_tokens.token_counts.check, 2);
}

#[test]
fn the_idempotency_ttl_is_set_by_flag_or_file_and_is_never_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "idempotency_ttl_secs = 60\n").unwrap();
    let from_file = ServeArgs {
        config: Some(file.clone()),
        ..Default::default()
    };
    assert_eq!(
        from_file.resolve(no_env).unwrap().idempotency_ttl,
        Duration::from_secs(60)
    );
    let flag = ServeArgs {
        config: Some(file),
        idempotency_ttl_secs: Some(5),
        ..Default::default()
    };
    assert_eq!(
        flag.resolve(no_env).unwrap().idempotency_ttl,
        Duration::from_secs(5)
    );
    let zero = ServeArgs {
        idempotency_ttl_secs: Some(0),
        ..Default::default()
    };
    let err = zero.resolve(no_env).unwrap_err().to_string();
    assert!(err.contains("idempotency_ttl_secs"), "{err}");
}

#[test]
fn the_activity_flush_is_five_seconds_unless_set_and_never_zero() {
    assert_eq!(
        ServeArgs::default().resolve(no_env).unwrap().activity_flush,
        Duration::from_secs(5)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "activity_flush_secs = 2\n").unwrap();
    let from_file = ServeArgs {
        config: Some(file),
        ..Default::default()
    };
    assert_eq!(
        from_file.resolve(no_env).unwrap().activity_flush,
        Duration::from_secs(2)
    );
    let zero = ServeArgs {
        activity_flush_secs: Some(0),
        ..Default::default()
    };
    let err = zero.resolve(no_env).unwrap_err().to_string();
    assert!(err.contains("activity_flush_secs"), "{err}");
}

#[test]
fn unknown_config_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "lisen = \"x\"\n").unwrap();
    let args = ServeArgs {
        config: Some(file),
        ..Default::default()
    };
    let err = args.resolve(no_env).unwrap_err().to_string();
    assert!(err.contains("lisen"), "{err}");
}
