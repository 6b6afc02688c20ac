//! [`EncodedTranscript`]: a transcript turned into its file's bytes and its
//! index record without touching a file, so that the CPU and allocation
//! happen where the transcript was built and only syscalls go to a blocking
//! thread ([`Store::write_encoded`](crate::Store::write_encoded)).

use std::path::PathBuf;

use agar_core::Transcript;
use agar_report::AuditRecord;

use crate::store::{StoreError, check_audit_id, check_id};

/// `value` as the store writes JSON: pretty, with a final newline.
/// `capacity` is a guess of the length, to grow the buffer fewer times.
pub(crate) fn json_bytes<T: serde::Serialize>(
    value: &T,
    capacity: usize,
) -> serde_json::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(capacity);
    serde_json::to_writer_pretty(&mut bytes, value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A transcript encoded for
/// [`Store::write_encoded`](crate::Store::write_encoded): its file's bytes
/// and its index record, made without touching a file.
#[derive(Debug)]
pub struct EncodedTranscript {
    pub(crate) run_id: String,
    pub(crate) audit_id: String,
    pub(crate) finished: bool,
    pub(crate) bytes: Vec<u8>,
    pub(crate) record: AuditRecord,
}

impl EncodedTranscript {
    /// Checks the ids (they name the file) and encodes `t`.
    pub fn new(t: &Transcript) -> Result<Self, StoreError> {
        check_id(&t.run_id)?;
        check_audit_id(&t.audit_id)?;
        // Stored transcripts are tens of kilobytes: start at 16 KB, not 128 bytes.
        let bytes = json_bytes(t, 16 << 10).map_err(|source| StoreError::Json {
            path: PathBuf::from(format!("{}/{}.json", t.run_id, t.audit_id)),
            source,
        })?;
        Ok(Self {
            run_id: t.run_id.clone(),
            audit_id: t.audit_id.clone(),
            finished: t.status.is_finished(),
            bytes,
            record: AuditRecord::from_transcript(t),
        })
    }
}
