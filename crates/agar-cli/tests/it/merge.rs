//! `agar merge` through the binary: a plan mismatch refused with exit 1 and
//! the difference named, a merge reported per shard, and `--json`.

use std::path::Path;

use crate::support::{ROLES, agar, agar_against, demo_script, stderr, stdout, write};

/// `agar audit` of `n` poem scenarios (under `dir/scenarios`) as run `r`
/// into `--store store`, against a fresh fake server, with `env` set.
pub(crate) async fn audit_poems(dir: &Path, n: usize, store: &str, env: &[(&str, &Path)]) {
    for i in 1..=n {
        write(dir, &format!("scenarios/poem{i}.md"), crate::support::POEM_SCENARIO);
    }
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    let mut cmd = agar_against(&server);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["audit", dir.join("scenarios").to_str().unwrap()])
        .args(ROLES)
        .args(["--max-turns", "4", "--run", "r", "--store", store])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "audit: {}", stderr(&out));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_refuses_a_plan_mismatch_and_reports_what_it_merged() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    audit_poems(dir.path(), 2, a.to_str().unwrap(), &[]).await;

    // B: the same run, but its plan names another target.
    let b = dir.path().join("b");
    copy_dir(&a, &b);
    let plan_path = b.join("r/plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    plan["settings"]["target"] = "openai/someone-else".into();
    std::fs::write(&plan_path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    let into = dir.path().join("into");
    let out = agar()
        .args(["merge", a.to_str().unwrap(), b.to_str().unwrap()])
        .args(["--into", into.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("the plans of run \"r\" differ"), "{err}");
    assert!(err.contains("settings.target: \"openai/target\" vs \"openai/someone-else\""), "{err}");
    assert!(!into.join("r").exists(), "nothing merged after a refusal");

    // A alone, with a shard record leaving one audit to a shard that never ran.
    let record = serde_json::json!({"index": 2, "count": 2, "audits": ["poem2"]});
    std::fs::remove_file(a.join("r/poem2.json")).unwrap();
    std::fs::write(a.join("r/shard-2-of-2.json"), record.to_string()).unwrap();
    let out = agar()
        .args(["merge", a.to_str().unwrap(), "--into", into.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("run r from 1 store into"), "{said}");
    assert!(said.contains("1 of 2 planned audits finished"), "{said}");
    assert!(
        said.contains("shard 2/2: 1 of 1 missing: poem2 (agar resume r --shard 2/2)"),
        "{said}"
    );

    let out = agar()
        .args(["merge", a.to_str().unwrap(), "--into", into.to_str().unwrap(), "--json"])
        .output()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["runs"][0]["added"], 0);
    assert_eq!(json["runs"][0]["kept"], 1);
    assert_eq!(json["runs"][0]["missing"][0]["audits"][0], "poem2");
}
