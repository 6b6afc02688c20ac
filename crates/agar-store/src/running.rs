//! Running markers: an empty file `RUN/.running/AUDIT_ID` for each audit a
//! process is running now. They mean something only while the run's lock
//! is held (a killed process leaves them; `Store::clean_run` removes them).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::store::{Store, StoreError, check_id, io_err};

impl Store {
    /// Marks an audit as running (a marker file under `RUN/.running/`; it
    /// means something only while the run's lock is held).
    pub fn mark_running(&self, run_id: &str, audit_id: &str) -> Result<(), StoreError> {
        check_id(run_id)?;
        check_id(audit_id)?;
        let dir = self.run_dir(run_id).join(RUNNING_DIR);
        let path = dir.join(audit_id);
        match fs::write(&path, b"") {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // The first audit of the run: make the directory, then the marker.
                fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                fs::write(&path, b"").map_err(io_err(&path))
            }
            other => other.map_err(io_err(&path)),
        }
    }

    /// Removes an audit's running marker, if any.
    pub fn clear_running(&self, run_id: &str, audit_id: &str) {
        if check_id(run_id).is_ok() && check_id(audit_id).is_ok() {
            let _ = fs::remove_file(self.run_dir(run_id).join(RUNNING_DIR).join(audit_id));
        }
    }
}

/// Running markers live here, inside the run directory.
pub(crate) const RUNNING_DIR: &str = ".running";

pub(crate) fn running_markers(run_dir: &Path) -> BTreeSet<String> {
    fs::read_dir(run_dir.join(RUNNING_DIR))
        .map(|entries| {
            entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
        })
        .unwrap_or_default()
}
