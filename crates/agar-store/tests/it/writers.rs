//! Concurrent writers lose nothing: two processes appending verdicts to one
//! transcript, and two recording labels on one audit (each read-modify-write
//! holds the file's write lock). The test binary runs itself twice as the
//! writers ([`writer_child`] does the work when `AGAR_STORE_TEST_WRITER` is set).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use agar_store::{Agreement, Label, Store};
use chrono::Utc;

use crate::support::{judged, sample_store};

const SPEC: &str = "AGAR_STORE_TEST_WRITER";
/// Writes per writer process.
const N: usize = 50;

/// Not a test of its own: the body of a writer process (a no-op otherwise).
#[test]
fn writer_child() {
    let Ok(spec) = std::env::var(SPEC) else { return };
    let mut parts = spec.splitn(3, '|');
    let (kind, writer, root) =
        (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let store = Store::open(root).unwrap();
    for i in 0..N {
        let tag = format!("w{writer}-{i}");
        match kind {
            "verdicts" => {
                let mut verdict = judged("r", "a", &[("syc", 1)]).verdicts.remove(0);
                verdict.summary = tag;
                store.update_transcript("r", "a", |t| t.verdicts.push(verdict)).unwrap();
            }
            _ => {
                let label = Label {
                    agreement: Agreement::Agree,
                    note: String::new(),
                    reviewer: Some(writer.to_string()),
                    at: Utc::now(),
                };
                store.set_label("r", "a", &tag, label).unwrap();
            }
        }
    }
}

/// Runs two writer processes of `kind` on the store at `root` at once.
fn two_writers(kind: &str, root: &Path) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["1", "2"]
        .iter()
        .map(|w| {
            Command::new(&exe)
                .args(["--exact", "writers::writer_child", "--test-threads=1", "--nocapture"])
                .env(SPEC, format!("{kind}|{w}|{}", root.display()))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a writer failed");
    }
}

fn expected() -> BTreeSet<String> {
    (1..=2).flat_map(|w| (0..N).map(move |i| format!("w{w}-{i}"))).collect()
}

#[test]
fn two_processes_appending_verdicts_lose_none() {
    let (_dir, store) = sample_store();
    two_writers("verdicts", store.root());
    let t = store.read_transcript("r", "a").unwrap();
    let written: BTreeSet<String> = t.verdicts[1..].iter().map(|v| v.summary.clone()).collect();
    assert_eq!(t.verdicts.len(), 1 + 2 * N, "verdicts lost: {}", 1 + 2 * N - t.verdicts.len());
    assert_eq!(written, expected());
}

#[test]
fn two_processes_recording_labels_lose_none() {
    let (_dir, store) = sample_store();
    two_writers("labels", store.root());
    let labels: BTreeSet<String> = store.labels("r", "a").unwrap().into_keys().collect();
    assert_eq!(labels.len(), 2 * N, "labels lost: {}", 2 * N - labels.len());
    assert_eq!(labels, expected());
}
