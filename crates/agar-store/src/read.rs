//! Reading only what the store wrote: a regular file (never a link, fifo or
//! device, so a fifo named like a transcript cannot hang a reader and a link
//! to `/dev/zero` cannot fill memory), no larger than a cap.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

/// The largest store file read: far above any real transcript (a
/// 100-turn audit is a few MB), far below what would hurt a machine.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// How often a file replaced between its check and its opening is looked at before the
/// read gives up.
const REPLACED_ATTEMPTS: u32 = 5;

use agar_core::file_kind::special_file_kind as kind;

/// Whether `path` is a regular file itself (a link to one is not).
pub fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// Reads `path` if it is a regular file (not followed through a link) of at
/// most `max` bytes; anything else is an `InvalidData` error saying why.
///
/// The type is checked before the file is opened (opening a fifo blocks),
/// and again on the open handle, which must be the same file. A file that another
/// writer replaced in between (the store replaces files by rename: a second `agar
/// judge` on the run, a label) is looked at again, a few times.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let refuse = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let mut attempts = 0;
    let (file, meta) = loop {
        let before = fs::symlink_metadata(path)?;
        if !before.is_file() {
            return Err(refuse(format!("{}; only regular files are read", kind(&before))));
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() && same_file(&before, &meta) {
            break (file, meta);
        }
        attempts += 1;
        if attempts == REPLACED_ATTEMPTS {
            return Err(refuse("the file changed while it was opened; not read".into()));
        }
    };
    if meta.len() > max {
        return Err(refuse(format!("{} bytes, over the limit of {max}", meta.len())));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(refuse(format!("over the limit of {max} bytes")));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_under_the_cap_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        fs::write(&p, b"12345").unwrap();
        assert_eq!(read_regular(&p, 5).unwrap(), b"12345");
        let e = read_regular(&p, 4).unwrap_err();
        assert!(e.to_string().contains("over the limit"), "{e}");
        assert!(read_regular(dir.path(), 5).unwrap_err().to_string().contains("directory"));
    }

    /// Two `agar judge` processes on one run: one reads a transcript while the other
    /// replaces it by rename. The reader gets one version or the other, never an error.
    #[test]
    fn a_file_replaced_by_rename_while_it_is_read_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        fs::write(&p, b"0").unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (dir, p, done) = (dir.path().to_path_buf(), p.clone(), done.clone());
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let tmp = dir.join(format!(".a.json.tmp-{i}"));
                    fs::write(&tmp, i.to_string()).unwrap();
                    fs::rename(&tmp, &p).unwrap();
                }
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            })
        };
        let mut reads = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let bytes = read_regular(&p, 16).unwrap_or_else(|e| panic!("read {reads}: {e}"));
            assert!(std::str::from_utf8(&bytes).unwrap().parse::<u32>().is_ok());
            reads += 1;
        }
        writer.join().unwrap();
        assert!(reads > 0);
    }

    #[cfg(unix)]
    #[test]
    fn links_fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_regular(&zero, MAX_FILE_BYTES).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!is_regular(&zero));
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        // Opening a fifo for reading would block until a writer came.
        let e = read_regular(&fifo, MAX_FILE_BYTES).unwrap_err();
        assert!(e.to_string().contains("a fifo"), "{e}");
    }
}
