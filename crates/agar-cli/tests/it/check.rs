//! `agar check` on good and broken files.

use crate::support::{agar, stderr, stdout, write};

#[tokio::test]
async fn three_broken_files_give_three_located_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s/a.md", "---\ntitle: [unclosed\n---\nbody\n");
    write(dir.path(), "s/b.md", "---\ntitle: ok\nmax_turns: many\n---\nbody\n");
    write(dir.path(), "s/c.md", "---\ntitle: no end\nbody that never closes the front matter\n");
    write(dir.path(), "s/good.md", "---\ntags: [x]\n---\nA fine scenario.\n");
    let out =
        agar().args(["check", dir.path().join("s").to_str().unwrap()]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let located: Vec<&str> = text
        .lines()
        .filter(|l| {
            let mut parts = l.splitn(3, ':');
            let (file, line) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            file.ends_with(".md") && line.parse::<usize>().is_ok()
        })
        .collect();
    assert!(located.len() >= 3, "{text}");
    for f in ["a.md", "b.md", "c.md"] {
        assert!(located.iter().any(|l| l.contains(f)), "no diagnostic for {f}:\n{text}");
    }
    assert!(!located.iter().any(|l| l.contains("good.md")), "{text}");
    assert!(text.contains("b.md:3:"), "max_turns is on line 3:\n{text}");
}

#[tokio::test]
async fn a_clean_folder_passes_with_warnings_shown() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.md", "---\ntags: [x]\nflavour: mint\n---\nA fine scenario.\n");
    let out = agar().args(["check", dir.path().to_str().unwrap()]).output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ok.md:3: warning"), "{}", stdout(&out));
}
