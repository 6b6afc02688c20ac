//! What kind of file a path is when it is not a regular file, in words for
//! error messages: the scenario reader and the store refuse such files alike.

/// `a symbolic link`, `a directory`, `a fifo`, `a device`, `a socket`, or
/// `a special file` (classifies metadata already read: no IO here).
pub fn special_file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        return "a symbolic link";
    }
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a fifo";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_links_are_named() {
        let dir = std::env::temp_dir();
        let meta = std::fs::symlink_metadata(&dir).expect("the temp dir");
        assert_eq!(special_file_kind(&meta), "a directory");
        #[cfg(target_os = "linux")]
        {
            let null = std::fs::metadata("/dev/null").expect("/dev/null");
            assert_eq!(special_file_kind(&null), "a device");
        }
    }
}
