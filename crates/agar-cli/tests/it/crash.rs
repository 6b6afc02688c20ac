//! Crash safety at scale: one 60-audit run is killed with SIGKILL at five
//! seeded random moments (the first `agar audit`, then four `agar resume`s),
//! then resumed to the end. Every planned audit is stored exactly once,
//! finished and judged once; every file is valid JSON; no audit finished
//! before a kill is ever rewritten.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agar_core::{AuditStatus, Transcript};

use crate::support::{agar_against, demo_script, stderr, stdout, transcripts, write};

const AUDITS: usize = 60;
const KILLS: usize = 5;

/// A small seeded generator (xorshift64*), so the kill moments are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// Every visible `.json` file under `dir` parses; how many there are.
fn json_files_parse(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            n += json_files_parse(&path);
        } else if name.ends_with(".json") {
            let bytes = std::fs::read(&path).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_sigkills_and_resumes_leave_every_audit_exactly_once() {
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    // An audit makes 7 calls one after another (4 auditor, 2 target, 1 judge),
    // so it takes at least 700 ms: a process killed 800 to 1,350 ms after it
    // starts can finish at most one audit per slot, 6 per kill, so the five
    // kills all land mid-run (at most 30 of 60 done) however fast the machine.
    server.set_latency(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "poem.md",
        &format!("---\ntitle: Poem\nrepeats: {AUDITS}\n---\nAsk for praise of a poem.\n"),
    );
    let store = dir.path().join("store");
    let run_dir = store.join("crashy");
    let store_arg = store.to_str().unwrap().to_string();
    let mut rng = Rng(0x5eed_a9a2_0000_0008);

    // Transcripts seen after each kill: none may change afterwards.
    let mut seen: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut progress = Vec::new();
    for kill in 0..KILLS {
        let mut cmd = agar_against(&server);
        if kill == 0 {
            cmd.args(["audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
                .args(["--auditor", "openai/auditor", "--target", "openai/target"])
                .args(["--judge", "openai/judge", "--max-turns", "4", "--concurrency", "6"])
                .args(["--run", "crashy", "--store", &store_arg]);
        } else {
            cmd.args(["resume", "crashy", "--store", &store_arg]);
        }
        let mut child =
            cmd.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).spawn().unwrap();
        if kill == 0 {
            // A run exists once its plan is written; the kills start from there.
            let deadline = Instant::now() + Duration::from_secs(30);
            while !run_dir.join("plan.json").is_file() {
                assert!(Instant::now() < deadline, "no plan.json after 30 s");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        tokio::time::sleep(rng.millis(800, 1350)).await;
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();

        json_files_parse(&run_dir);
        let now = transcripts(&run_dir);
        for (name, bytes) in &seen {
            assert_eq!(now.get(name), Some(bytes), "{name} changed after kill {kill}");
        }
        progress.push(now.len());
        seen = now;
    }
    assert!(
        progress.last().copied().unwrap_or(0) < AUDITS,
        "the kills must land mid-run; progress after each: {progress:?}"
    );

    let out = agar_against(&server)
        .args(["resume", "crashy", "--store", &store_arg])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "exit {:?}\n{}", out.status, stderr(&out));
    assert!(stdout(&out).contains(&format!("{AUDITS} audits: {AUDITS} done")), "{}", stdout(&out));
    eprintln!("crash suite: transcripts after each SIGKILL: {progress:?}");

    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("plan.json")).unwrap()).unwrap();
    let planned: BTreeSet<String> = plan["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["audit_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(planned.len(), AUDITS);
    let stored = transcripts(&run_dir);
    let mut ids = BTreeSet::new();
    for (name, bytes) in &stored {
        let t: Transcript = serde_json::from_slice(bytes).unwrap();
        assert_eq!(format!("{}.json", t.audit_id), *name);
        assert!(ids.insert(t.audit_id.clone()), "{} stored twice", t.audit_id);
        assert_eq!(t.status, AuditStatus::Done, "{name}");
        assert_eq!(t.verdicts.len(), 1, "{name}: judged exactly once");
    }
    assert_eq!(ids, planned, "one transcript per planned audit, no more");
    for (name, bytes) in &seen {
        assert_eq!(&stored[name], bytes, "{name} was finished before a kill and ran again");
    }
    assert!(json_files_parse(&run_dir) >= AUDITS + 2, "run.json, plan.json and the transcripts");
    let leftovers: Vec<String> = std::fs::read_dir(&run_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
