//! `flotilla new`: a buildable bot project from a template, in Rust, Python or JavaScript.
//!
//! Templates are compiled into the binary (with the WIT contract and the pinned JavaScript
//! lockfile), so a project can be created anywhere. Each has a `build.sh` that produces
//! `<name>.wasm` beside it; the command prints the registry entry that runs it.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The contract, copied into Python and JavaScript projects (their toolchains read it).
const WIT: &str = include_str!("../../../wit/flotilla.wit");
/// The pinned componentize-js tree the repository's own JavaScript bots are built with.
const JS_PACKAGE: &str = include_str!("../../../bots/js/package.json");
const JS_LOCK: &str = include_str!("../../../bots/js/package-lock.json");
/// The Python SDK, copied into Python projects as the `flotilla` package.
const PY_SDK: [(&str, &str); 6] = [
    (
        "flotilla/__init__.py",
        include_str!("../../../sdk/python/flotilla/__init__.py"),
    ),
    (
        "flotilla/_bot.py",
        include_str!("../../../sdk/python/flotilla/_bot.py"),
    ),
    (
        "flotilla/_component.py",
        include_str!("../../../sdk/python/flotilla/_component.py"),
    ),
    (
        "flotilla/_types.py",
        include_str!("../../../sdk/python/flotilla/_types.py"),
    ),
    (
        "flotilla/indicators.py",
        include_str!("../../../sdk/python/flotilla/indicators.py"),
    ),
    (
        "flotilla/testing.py",
        include_str!("../../../sdk/python/flotilla/testing.py"),
    ),
];
/// The JavaScript SDK and its mock host, copied into JavaScript projects.
const JS_SDK: [(&str, &str); 2] = [
    ("flotilla.js", include_str!("../../../sdk/js/flotilla.js")),
    ("testing.js", include_str!("../../../sdk/js/testing.js")),
];

/// A bot language with a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust with the Flotilla SDK.
    Rust,
    /// Python with componentize-py.
    Python,
    /// JavaScript with componentize-js.
    Js,
}

/// Options of `flotilla new`.
#[derive(clap::Args, Debug, Clone)]
pub struct NewArgs {
    /// The bot's name: lower case letters, digits and `_`, starting with a letter.
    pub name: String,
    /// The language of the bot.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
    /// Where to create the project directory (default: the current directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The Rust SDK to depend on (default: the SDK of the repository this binary was built
    /// from).
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

/// A created project.
#[derive(Debug)]
pub struct Created {
    /// The project directory.
    pub dir: PathBuf,
    /// The component `build.sh` writes.
    pub component: PathBuf,
    /// A registry entry that runs the bot.
    pub entry: String,
}

/// `flotilla new`: creates the project and prints how to build and register it.
pub fn command(args: NewArgs) -> Result<()> {
    let c = create(&args)?;
    println!(
        "created {} ({:?} bot)\n\nbuild it:\n    {}/build.sh\n\nthen add it to your registry:\n\n{}",
        c.dir.display(),
        args.lang,
        c.dir.display(),
        c.entry
    );
    Ok(())
}

/// Creates the project for `args`; refuses a bad name or an existing, non-empty directory.
pub fn create(args: &NewArgs) -> Result<Created> {
    let name = args.name.as_str();
    check_name(name)?;
    let parent = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let dir = parent
        .canonicalize()
        .with_context(|| format!("resolving {}", parent.display()))?
        .join(name);
    if dir.exists() && dir.read_dir().map_or(true, |mut d| d.next().is_some()) {
        bail!("{} already exists and is not empty", dir.display());
    }
    let files = match args.lang {
        Lang::Rust => rust_files(args.sdk.as_deref())?,
        Lang::Python => vec![
            (
                "app.py",
                include_str!("../templates/python/app.py").to_owned(),
            ),
            (
                "requirements.txt",
                include_str!("../templates/python/requirements.txt").to_owned(),
            ),
            (
                "build.sh",
                include_str!("../templates/python/build.sh").to_owned(),
            ),
            (
                "test_app.py",
                include_str!("../templates/python/test_app.py").to_owned(),
            ),
            ("wit/flotilla.wit", WIT.to_owned()),
            (
                ".gitignore",
                ".venv/\n*.wasm\n__pycache__/\n.pytest_cache/\n".to_owned(),
            ),
        ]
        .into_iter()
        .chain(PY_SDK.map(|(path, text)| (path, text.to_owned())))
        .collect(),
        Lang::Js => vec![
            ("bot.js", include_str!("../templates/js/bot.js").to_owned()),
            (
                "strategy.js",
                include_str!("../templates/js/strategy.js").to_owned(),
            ),
            (
                "strategy.test.js",
                include_str!("../templates/js/strategy.test.js").to_owned(),
            ),
            (
                "build.sh",
                include_str!("../templates/js/build.sh").to_owned(),
            ),
            ("package.json", js_package(name)?),
            ("package-lock.json", js_lock(name)?),
            ("wit/flotilla.wit", WIT.to_owned()),
            (".gitignore", "node_modules/\n*.wasm\n".to_owned()),
        ]
        .into_iter()
        .chain(JS_SDK.map(|(path, text)| (path, text.to_owned())))
        .collect(),
    };
    for (path, text) in files {
        let text = text
            .replace("{{name}}", name)
            .replace("{{type}}", &type_name(name));
        let file = dir.join(path);
        if let Some(p) = file.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
        if path.ends_with(".sh") {
            make_executable(&file)?;
        }
    }
    let component = dir.join(format!("{name}.wasm"));
    let mut entry = format!(
        "[[bot]]\nid = \"{}\"\ncomponent = \"{}\"\nevery = \"1m\"\nsymbols = [\"AAPL\"]\n[bot.params]\nperiod = 20\n",
        name.replace('_', "-"),
        component.display()
    );
    if args.lang == Lang::Js {
        // The JavaScript engine's heap settles near 80 MB: above the 64 MB default.
        entry.push_str("[bot.limits]\nmemory_mb = 128\n");
    }
    Ok(Created {
        dir,
        component,
        entry,
    })
}

/// Names become a crate, a file and a registry id: keep them to what all three accept.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64;
    if !ok {
        bail!(
            "bad bot name `{name}`: use lower case letters, digits and `_`, starting with a \
             letter (at most 64)"
        );
    }
    Ok(())
}

/// `my_bot` → `MyBot`.
fn type_name(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rust_files(sdk: Option<&Path>) -> Result<Vec<(&'static str, String)>> {
    let sdk = match sdk {
        Some(p) => p.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk"),
    };
    let sdk = sdk.canonicalize().with_context(|| {
        format!(
            "the Flotilla SDK is not at {}: pass --sdk PATH (the sdk/ directory of a \
             Flotilla checkout)",
            sdk.display()
        )
    })?;
    let cargo = include_str!("../templates/rust/Cargo.toml")
        .replace("{{sdk}}", &sdk.display().to_string().replace('\\', "/"));
    Ok(vec![
        ("Cargo.toml", cargo),
        (
            "src/lib.rs",
            include_str!("../templates/rust/src/lib.rs").to_owned(),
        ),
        (
            "build.sh",
            include_str!("../templates/rust/build.sh").to_owned(),
        ),
        (
            "rust-toolchain.toml",
            include_str!("../templates/rust/rust-toolchain.toml").to_owned(),
        ),
        (".gitignore", "target/\n*.wasm\n".to_owned()),
    ])
}

/// The repository's JavaScript package manifest, renamed: same pinned toolchain.
fn js_package(name: &str) -> Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(JS_PACKAGE)?;
    v["name"] = name.replace('_', "-").into();
    v["description"] = format!("{name}: a Flotilla bot in JavaScript (build.sh builds it)").into();
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

/// The repository's lockfile, renamed to match [`js_package`], so `npm ci` installs exactly
/// the componentize-js the repository's bots are tested with.
fn js_lock(name: &str) -> Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(JS_LOCK)?;
    let pkg = serde_json::from_str::<serde_json::Value>(&js_package(name)?)?;
    v["name"] = pkg["name"].clone();
    if let Some(root) = v.get_mut("packages").and_then(|p| p.get_mut("")) {
        root["name"] = pkg["name"].clone();
    }
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

#[cfg(unix)]
fn make_executable(file: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", file.display()))
}

#[cfg(not(unix))]
fn make_executable(_file: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_typed() {
        assert!(check_name("my_bot2").is_ok());
        for bad in ["", "2bot", "My", "my-bot", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(type_name("my_bot2"), "MyBot2");
    }

    #[test]
    fn a_project_is_refused_over_a_non_empty_directory() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("taken")).unwrap();
        std::fs::write(tmp.path().join("taken/x"), "x").unwrap();
        let args = NewArgs {
            name: "taken".into(),
            lang: Lang::Python,
            dir: Some(tmp.path().to_path_buf()),
            sdk: None,
        };
        let err = create(&args).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
    }
}
