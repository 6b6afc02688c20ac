//! Shard records: `RUN/shard-I-of-N.json`, the audits one shard of a run
//! took (`agar audit --shard I/N`), read by `agar merge` to say which shard
//! left which audits missing.

use serde::{Deserialize, Serialize};

use crate::Store;
use crate::store::{StoreError, read_json, write_json};

/// One shard's record. `index` is 1-based, as on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub index: u32,
    pub count: u32,
    /// The audit ids of the plan this shard runs.
    pub audits: Vec<String>,
}

/// The file name of shard `index` of `count`.
pub fn shard_record_name(index: u32, count: u32) -> String {
    format!("shard-{index}-of-{count}.json")
}

/// Whether a file name in a run directory is a shard record.
pub fn is_shard_record_name(name: &str) -> bool {
    parse_name(name).is_some()
}

fn parse_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("shard-")?.strip_suffix(".json")?;
    let (i, n) = rest.split_once("-of-")?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

impl Store {
    /// Writes (or replaces) a shard record of run `run_id`, atomically, and
    /// puts it to the mirror.
    pub fn write_shard_record(&self, run_id: &str, record: &ShardRecord) -> Result<(), StoreError> {
        self.read_run(run_id)?;
        let path = self.run_dir(run_id).join(shard_record_name(record.index, record.count));
        let _lock = crate::lock::lock_file(&path)?;
        write_json(&path, record)?;
        self.mirror_file(&path, crate::mirror::PutKind::Overwrite)?;
        Ok(())
    }

    /// Every shard record of a run, by (count, index); a file that does not
    /// parse, or whose name disagrees with its content, is left out with a warning.
    pub fn shard_records(&self, run_id: &str) -> Result<Vec<ShardRecord>, StoreError> {
        crate::check_id(run_id)?;
        let dir = self.run_dir(run_id);
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(out) };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((index, count)) = parse_name(&name) else { continue };
            match read_json::<ShardRecord>(&entry.path()) {
                Ok(r) if r.index == index && r.count == count => out.push(r),
                Ok(_) => tracing::warn!(
                    "{}: says another shard than its name; left out",
                    entry.path().display()
                ),
                Err(e) => tracing::warn!("{e}; left out"),
            }
        }
        out.sort_by_key(|r| (r.count, r.index));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_transcripts_are_not_shards() {
        assert_eq!(parse_name(&shard_record_name(2, 3)), Some((2, 3)));
        for name in ["shard-a-of-3.json", "shard-1-of-.json", "shardy.json", "shard-1-of-3.jsonl"] {
            assert!(!is_shard_record_name(name), "{name}");
        }
    }
}
