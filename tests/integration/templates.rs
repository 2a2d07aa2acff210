//! `flotilla new` for each language, then the project's own `build.sh`, then
//! `flotilla check`, then a replay in which every template bot trades.

use crate::support::bots_dir;
use flotilla::backtest::{run, simulated_events};
use flotilla_backtest::RunParams;
use flotilla_config::Registry;
use std::path::Path;
use std::process::Command;

fn flotilla() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
}

/// Runs `cmd`, failing the test with its output when it fails.
fn ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn a_new_bot_in_each_language_builds_checks_and_trades_as_created() {
    // Three guest toolchains building at once load both cores for a minute; tests that
    // measure real time wait rather than count that load against the code.
    let _serial = crate::support::timing();
    let tmp = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut entries = String::new();
    for (name, lang) in [
        ("tpl_rust", "rust"),
        ("tpl_python", "python"),
        ("tpl_js", "js"),
    ] {
        let printed = ok(
            flotilla()
                .args(["new", name, "--lang", lang, "--dir"])
                .arg(tmp.path()),
            &format!("flotilla new {name} --lang {lang}"),
        );
        let entry = printed
            .split_once("then add it to your registry:\n\n")
            .map(|(_, e)| e.to_owned())
            .unwrap_or_else(|| panic!("no registry entry printed:\n{printed}"));
        let project = tmp.path().join(name);
        let mut build = Command::new(project.join("build.sh"));
        if lang == "rust" {
            // Share compiled dependencies with the repository's bots instead of
            // rebuilding the SDK and wit-bindgen from nothing.
            build.env("CARGO_TARGET_DIR", repo.join("bots/target"));
        }
        ok(&mut build, &format!("{name}/build.sh"));
        assert!(project.join(format!("{name}.wasm")).exists());
        // The Python and JavaScript projects carry their SDK and a native test of the
        // strategy against its mock host: it passes as created.
        let native = match lang {
            "python" => Some(
                Command::new(project.join(".venv/bin/python"))
                    .args(["-m", "pytest", "-q"])
                    .current_dir(&project)
                    .output(),
            ),
            "js" => Some(
                Command::new("node")
                    .arg("--test")
                    .current_dir(&project)
                    .output(),
            ),
            _ => None,
        };
        if let Some(out) = native {
            let out = out.unwrap_or_else(|e| panic!("{name}'s native tests: {e}"));
            assert!(
                out.status.success(),
                "{name}'s native tests:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        entries.push_str(&entry);
        entries.push('\n');
    }

    let registry_path = tmp.path().join("fleet.toml");
    std::fs::write(
        &registry_path,
        format!(
            "[fleet]\nname = \"templates\"\ncomponents_dir = \"{}\"\nstarting_cash = \"100000\"\n\
             [fleet.market]\nseed = 3\nsymbols = [\"AAPL\"]\nstart = \"2026-01-05T14:30:00Z\"\n\n{entries}",
            bots_dir().display()
        ),
    )
    .unwrap();
    let cache = tmp.path().join("cache");
    let checked = ok(
        flotilla()
            .args(["check", "--config"])
            .arg(&registry_path)
            .arg("--cache-dir")
            .arg(&cache),
        "flotilla check",
    );
    for id in ["tpl-rust", "tpl-python", "tpl-js"] {
        assert!(checked.contains(id), "check lists {id}:\n{checked}");
    }

    let registry = Registry::load(&registry_path).unwrap();
    let events = simulated_events(&registry, 1, 3).unwrap();
    let out = run(&registry, events, RunParams::default(), Some(cache), None).unwrap();
    for id in ["tpl-rust", "tpl-python", "tpl-js"] {
        let trades = out
            .report
            .trades
            .iter()
            .filter(|t| t.bot.as_str() == id)
            .count();
        assert!(trades > 0, "{id} made no trade in a simulated day");
    }
}
