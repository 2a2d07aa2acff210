//! The token file on a real filesystem: created once, owner-only, never overwritten.

use flotilla_api::{ApiError, TOKEN_BYTES, Tokens};
use std::os::unix::fs::PermissionsExt;

#[test]
fn the_token_file_is_created_0600_with_a_random_admin_token_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = flotilla_api::default_token_path(&dir.path().join("ledger.db"));
    let (tokens, created) = Tokens::load_or_create(&path).unwrap();
    assert!(created);
    assert_eq!(tokens.names().collect::<Vec<_>>(), ["admin"]);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    let token = text.lines().find_map(|l| l.strip_prefix("admin ")).unwrap();
    assert_eq!(token.len(), TOKEN_BYTES * 2);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(tokens.check(token.as_bytes()), Some("admin"));
    assert!(
        !format!("{tokens:?}").contains(token),
        "Debug shows names only"
    );

    // A second start reads it and changes nothing.
    let (again, created) = Tokens::load_or_create(&path).unwrap();
    assert!(!created);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(again.check(token.as_bytes()), Some("admin"));

    // Another directory gets another token.
    let other = tempfile::tempdir().unwrap();
    let other_path = other.path().join("t");
    Tokens::load_or_create(&other_path).unwrap();
    assert_ne!(std::fs::read_to_string(&other_path).unwrap(), text);
}

#[test]
fn a_file_others_can_read_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    let text = "ops 0123456789abcdef0123456789abcdef\n";
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Tokens::load_or_create(&path).unwrap_err();
    assert!(
        matches!(err, ApiError::TokenPermissions { mode: 0o644, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
    assert!(!err.to_string().contains("0123456789abcdef"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "never overwritten"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (tokens, created) = Tokens::load_or_create(&path).unwrap();
    assert!(!created, "an existing file is used as it is");
    assert_eq!(tokens.names().collect::<Vec<_>>(), ["ops"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    std::fs::write(&path, "ops short\n").unwrap();
    let err = Tokens::load_or_create(&path).unwrap_err().to_string();
    assert!(err.contains("line 1") && err.contains("shorter"), "{err}");
}
