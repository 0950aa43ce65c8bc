//! A damaged data directory: commands exit with an error that names the
//! directory and says how to recover (`redline db check`, a backup or an
//! export), never with a panic.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_redline");

fn redline(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("REDLINE_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// A data directory holding `feeds` imported feeds, closed cleanly; `reopened`
/// lists them once more (after which sled also keeps a snapshot file).
fn store_with_feeds(dir: &Path, feeds: usize, reopened: bool) -> std::path::PathBuf {
    let list = dir.join("feeds.txt");
    let urls: String = (0..feeds)
        .map(|n| format!("http://news.test/feed/{n}.xml\n"))
        .collect();
    std::fs::write(&list, urls).unwrap();
    let data = dir.join("data");
    let import = redline(&data, &["feeds", "import", list.to_str().unwrap()]);
    assert!(import.status.success(), "{import:?}");
    if reopened {
        let list = redline(&data, &["feeds", "list"]);
        assert!(list.status.success(), "{list:?}");
        let listed = String::from_utf8_lossy(&list.stdout);
        assert!(
            listed.contains(&format!("feed/{}.xml", feeds - 1)),
            "{listed}"
        );
    }
    data
}

/// Runs commands that read the store and checks each fails cleanly.
fn assert_clear_failure(data: &Path) {
    for command in [&["stories"][..], &["feeds", "list"]] {
        let out = redline(data, command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{command:?}: {stderr}");
        assert!(stderr.contains(&data.display().to_string()), "{stderr}");
        assert!(stderr.contains("redline db check"), "{stderr}");
        assert!(stderr.contains("redline export"), "{stderr}");
    }
}

fn db_file(data: &Path) -> std::path::PathBuf {
    data.join("db")
}

#[test]
fn truncated_store_file_gives_a_recovery_hint_not_a_panic() {
    // sled 0.34 panics on some large logs cut short (an index past its segment
    // table, a page it cannot serialise), depending on where the cut falls.
    let dir = tempfile::tempdir().unwrap();
    let data = store_with_feeds(dir.path(), 20_000, true);
    let intact = std::fs::read(db_file(&data)).unwrap();
    for tenths in [5, 8, 9] {
        std::fs::write(db_file(&data), &intact[..intact.len() / 10 * tenths]).unwrap();
        assert_clear_failure(&data);
    }
}

fn overwrite_with_garbage(data: &Path) {
    let size = std::fs::metadata(db_file(data)).unwrap().len() as usize;
    let garbage: Vec<u8> = (0..size).map(|n| (n * 7 + 13) as u8).collect();
    std::fs::write(db_file(data), garbage).unwrap();
}

#[test]
fn overwritten_store_file_gives_a_recovery_hint() {
    let dir = tempfile::tempdir().unwrap();
    let data = store_with_feeds(dir.path(), 3, true);
    overwrite_with_garbage(&data);
    assert_clear_failure(&data);
}

#[test]
fn overwritten_store_file_without_snapshot_is_not_taken_for_a_new_store() {
    // sled read the garbage as an empty log and opened an empty store: the
    // feeds were gone without a word.
    let dir = tempfile::tempdir().unwrap();
    let data = store_with_feeds(dir.path(), 3, false);
    overwrite_with_garbage(&data);
    assert_clear_failure(&data);
}

#[test]
fn emptied_store_file_without_snapshot_is_not_taken_for_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = store_with_feeds(dir.path(), 3, false);
    std::fs::write(db_file(&data), b"").unwrap();
    assert_clear_failure(&data);
}

#[test]
fn emptied_store_file_gives_a_recovery_hint() {
    let dir = tempfile::tempdir().unwrap();
    let data = store_with_feeds(dir.path(), 3, true);
    std::fs::write(db_file(&data), b"").unwrap();
    assert_clear_failure(&data);
}

#[test]
fn data_dir_that_is_a_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, b"not a directory").unwrap();
    let out = redline(&data, &["stories"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(&data.display().to_string()), "{stderr}");
}
