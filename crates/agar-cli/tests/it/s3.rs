//! `--store s3://` against a real S3-compatible server: ignored here, run by
//! `scripts/s3-e2e.sh`, which starts moto on 127.0.0.1, creates the bucket
//! and sets `AGAR_S3_BUCKET` and the `AWS_*` variables. Two writers of one
//! run share the bucket (create-only puts: the first finished copy stays),
//! two shards write their halves, and `agar merge s3://...` brings every
//! audit down exactly once for `agar show`.

use std::collections::BTreeMap;
use std::path::Path;

use agar_store::{ShardRecord, Store};

use crate::merge::audit_poems;
use crate::support::{agar, stderr, stdout};

/// The bucket the script created, or `None` (with the reason printed).
fn bucket() -> Option<String> {
    let bucket = std::env::var("AGAR_S3_BUCKET").ok().filter(|b| !b.is_empty());
    if bucket.is_none() {
        eprintln!("SKIPPED: AGAR_S3_BUCKET is not set; run scripts/s3-e2e.sh");
    }
    bucket
}

/// A prefix no other test (or earlier run of this one) uses.
fn fresh_prefix(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis())
}

/// The finished transcripts of a local run directory, file name -> bytes.
fn run_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = crate::support::transcripts(dir);
    files.retain(|name, _| !name.starts_with("shard-"));
    files
}

async fn merge_down(from: &str, into: &Path) -> String {
    merge_to(from, into.to_str().unwrap(), &into.with_extension("staging")).await
}

/// `agar merge FROM --into INTO`, an s3:// INTO staged in `staging` (never
/// the user's cache).
async fn merge_to(from: &str, into: &str, staging: &Path) -> String {
    let out = agar()
        .env("AGAR_S3_STAGING", staging)
        .args(["merge", from, "--into", into])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "merge: {}", stderr(&out));
    stdout(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3-compatible server: scripts/s3-e2e.sh"]
async fn s3_two_writers_of_one_run_keep_the_first_copy_and_merge_down_once() {
    let Some(bucket) = bucket() else { return };
    let prefix = fresh_prefix("writers");
    let spec = format!("s3://{bucket}/{prefix}");
    let dir = tempfile::tempdir().unwrap();

    // Writer A: the real pipeline, its store in the bucket.
    let staging_a = dir.path().join("staging-a");
    audit_poems(dir.path(), 4, &spec, &[("AGAR_S3_STAGING", &staging_a)]).await;
    let written = run_files(&staging_a.join("r"));
    assert_eq!(written.len(), 4, "{written:?}");

    // `agar resume` on a machine whose staging directory is empty brings the
    // run down from the bucket and finds nothing left to run.
    let staging_r = dir.path().join("staging-resume");
    let out = agar()
        .env("AGAR_S3_STAGING", &staging_r)
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env("OPENAI_API_KEY", "sk-not-used")
        .args(["resume", "r", "--store", &spec])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "resume: {}", stderr(&out));
    assert_eq!(run_files(&staging_r.join("r")), written, "pulled from the bucket");

    // Writer B, another machine: reading the plan (as agar resume does)
    // brings the run down from the bucket...
    let b = agar_store::location::open_s3(&bucket, &prefix, &dir.path().join("staging-b")).unwrap();
    let mut plan = b.read_plan("r").unwrap();
    let mut t = b.read_transcript("r", "poem1").unwrap_or_else(|e| panic!("pulled: {e}"));
    // ...a second finished copy of an audit is refused by the bucket (create-only)...
    t.verdicts[0].summary = "the second writer's copy".into();
    b.write_transcript(&t).unwrap();
    // ...and so is a second plan for the same run.
    plan.settings.target = "openai/other".into();
    let fresh =
        agar_store::location::open_s3(&bucket, &prefix, &dir.path().join("staging-c")).unwrap();
    let e = fresh.create_run_with_plan(&b.read_run("r").unwrap(), &plan);
    let e = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("another plan") && e.contains("settings.target"), "{e}");

    // Merge down: every audit exactly once, byte for byte the first writer's.
    let into = dir.path().join("merged");
    let said = merge_down(&spec, &into).await;
    assert!(said.contains("4 added") && said.contains("4 of 4 planned audits finished"), "{said}");
    assert_eq!(run_files(&into.join("r")), written, "the bucket kept writer A's copies");
    let show =
        agar().args(["show", "r", "--store", into.to_str().unwrap()]).output().await.unwrap();
    assert!(show.status.success(), "show: {}", stderr(&show));
    assert!(stdout(&show).contains("poem1"), "{}", stdout(&show));

    // Merging again changes nothing.
    let again = merge_down(&spec, &into).await;
    assert!(again.contains("0 added, 0 replaced, 4 already there"), "{again}");
    assert_eq!(run_files(&into.join("r")), written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3-compatible server: scripts/s3-e2e.sh"]
async fn s3_two_shards_write_into_one_bucket_and_each_audit_arrives_once() {
    let Some(bucket) = bucket() else { return };
    let prefix = fresh_prefix("shards");
    let spec = format!("s3://{bucket}/{prefix}");
    let dir = tempfile::tempdir().unwrap();
    let source = shaped_run(dir.path()).await;
    let plan = source.read_plan("r").unwrap();
    let record = source.read_run("r").unwrap();
    let ids: Vec<String> = plan.audits.iter().map(|a| a.audit_id.clone()).collect();

    // Two shards on two machines: each writes the plan, its half and its record.
    let halves = [&ids[..ids.len() / 2], &ids[ids.len() / 2..]];
    for (i, half) in halves.iter().enumerate() {
        let staging = dir.path().join(format!("shard-{i}"));
        let shard: Store = agar_store::location::open_s3(&bucket, &prefix, &staging).unwrap();
        shard.create_run_with_plan(&record, &plan).unwrap();
        let index = i as u32 + 1;
        shard
            .write_shard_record("r", &ShardRecord { index, count: 2, audits: half.to_vec() })
            .unwrap();
        for id in half.iter() {
            shard.write_transcript(&source.read_transcript("r", id).unwrap()).unwrap();
        }
    }
    let into = dir.path().join("merged");
    let said = merge_down(&spec, &into).await;
    assert!(said.contains("shard 1/2: all 2 finished"), "{said}");
    assert!(said.contains("shard 2/2: all 2 finished"), "{said}");
    let merged = run_files(&into.join("r"));
    assert_eq!(
        merged.keys().cloned().collect::<Vec<_>>(),
        ids.iter().map(|i| format!("{i}.json")).collect::<Vec<_>>()
    );
    let show =
        agar().args(["show", "r", "--store", into.to_str().unwrap()]).output().await.unwrap();
    assert!(show.status.success(), "show: {}", stderr(&show));

    // Merged up into another prefix and down again: the same audits, byte for byte.
    let up = format!("s3://{bucket}/{prefix}-up");
    let said = merge_to(into.to_str().unwrap(), &up, &dir.path().join("staging-up")).await;
    assert!(said.contains("4 added"), "{said}");
    let down = dir.path().join("down");
    merge_down(&up, &down).await;
    assert_eq!(run_files(&down.join("r")), merged);
}

/// A finished four-audit run `r` in a local store under `dir/local`.
async fn shaped_run(dir: &Path) -> Store {
    let local = dir.join("local");
    audit_poems(dir, 4, local.to_str().unwrap(), &[]).await;
    Store::open_existing(local).unwrap()
}
