//! Named bearer tokens, from a file of `name token` lines readable by its owner only.

use crate::ApiError;
use rand::TryRngCore;
use std::io::Write;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// Random bytes in a generated token (written as hex).
pub const TOKEN_BYTES: usize = 32;

/// The shortest token accepted from a file, in characters.
const MIN_TOKEN_LEN: usize = 16;

/// The named tokens the API accepts. Never printed: `Debug` shows the names only.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Tokens {
    /// Reads the token file at `path`, or creates it (mode 0600, one random token named
    /// `admin`) when there is none; `true` when it was created. An existing file is never
    /// rewritten, and one readable by group or others is refused.
    pub fn load_or_create(path: &Path) -> Result<(Tokens, bool), ApiError> {
        let io = |source| ApiError::TokenIo {
            path: path.to_path_buf(),
            source,
        };
        let created = match create(path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io(e)),
        };
        check_mode(path)?;
        let text = std::fs::read_to_string(path).map_err(io)?;
        Ok((Self::parse(path, &text)?, created))
    }

    /// Parses `name token` lines; blank lines and `#` comments are skipped.
    fn parse(path: &Path, text: &str) -> Result<Tokens, ApiError> {
        let bad = |line, problem: &str| ApiError::TokenFormat {
            path: path.to_path_buf(),
            line,
            problem: problem.to_string(),
        };
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(name), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad(i + 1, "expected `name token`"));
            };
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(bad(i + 1, "a name is letters, digits, '-', '_' or '.'"));
            }
            if token.len() < MIN_TOKEN_LEN {
                return Err(bad(
                    i + 1,
                    &format!("the token is shorter than {MIN_TOKEN_LEN} characters"),
                ));
            }
            if entries.iter().any(|(n, _)| n == name) {
                return Err(bad(i + 1, &format!("the name {name:?} appears twice")));
            }
            entries.push((name.to_string(), token.as_bytes().to_vec()));
        }
        if entries.is_empty() {
            return Err(bad(0, "no tokens: add a `name token` line"));
        }
        Ok(Tokens { entries })
    }

    /// The name of the token `presented`, comparing against every token in constant time.
    pub fn check(&self, presented: &[u8]) -> Option<&str> {
        let mut found = None;
        // No early exit: the time taken does not tell which token (or how much) matched.
        for (name, token) in &self.entries {
            if bool::from(token.as_slice().ct_eq(presented)) {
                found = Some(name.as_str());
            }
        }
        found
    }

    /// The tokens' names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }
}

/// The default token file beside a ledger: `<ledger>.tokens`.
pub fn default_path(ledger: &Path) -> PathBuf {
    let mut s = ledger.as_os_str().to_owned();
    s.push(".tokens");
    PathBuf::from(s)
}

/// Creates the file with one random `admin` token, failing if it exists.
fn create(path: &Path) -> std::io::Result<()> {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(std::io::Error::other)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    writeln!(
        f,
        "# Bearer tokens of the fleet's HTTP API: `name token` per line.\n\
         # A control is audited under the token's name. Keep this file mode 0600.\n\
         admin {}",
        hex::encode(bytes)
    )?;
    f.sync_all()
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), ApiError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| ApiError::TokenIo {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ApiError::TokenPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), ApiError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_bad_lines_without_showing_tokens() {
        let p = Path::new("t");
        let t = Tokens::parse(
            p,
            "# c\n\nadmin 0123456789abcdef0123\nops  fedcba9876543210xyz\n",
        )
        .unwrap();
        assert_eq!(t.names().collect::<Vec<_>>(), ["admin", "ops"]);
        assert_eq!(t.check(b"fedcba9876543210xyz"), Some("ops"));
        assert_eq!(t.check(b"fedcba9876543210xy"), None);
        assert_eq!(t.check(b""), None);
        assert!(!format!("{t:?}").contains("0123456789"));
        for (text, want) in [
            ("admin", "expected `name token`"),
            ("a b c", "expected `name token`"),
            ("admin short", "shorter"),
            ("bad/name 0123456789abcdef0", "a name is"),
            ("a 0123456789abcdef0\na 0123456789abcdef1", "twice"),
            ("# nothing", "no tokens"),
        ] {
            let e = Tokens::parse(p, text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains("0123456789abcdef"), "{e}");
        }
    }

    #[test]
    fn default_path_sits_beside_the_ledger() {
        assert_eq!(
            default_path(Path::new("/var/f/ledger.db")),
            PathBuf::from("/var/f/ledger.db.tokens")
        );
    }
}
