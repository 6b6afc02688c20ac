//! Model-written text never becomes markup: a transcript whose every
//! model-written field holds `<script>`, `<img onerror>` and `javascript:`
//! links renders them as inert, escaped text (persona-monitor files
//! included: their trait, reader and file names).

use agar_core::{AuditStatus, Citation, EventKind, Message, ToolCall};
use agar_store::{Agreement, Label};
use agar_web::{AppState, app};

use crate::fixture::{at, cite, event, run, score, target, transcript, verdict};
use crate::support::get;

/// Every `<...>` tag of `html` (text between tags is escaped, so a `<`
/// always starts a tag the templates wrote).
fn tags(html: &str) -> Vec<&str> {
    html.match_indices('<').map(|(i, _)| &html[i..=i + html[i..].find('>').unwrap()]).collect()
}

/// The attributes of a tag as (name, value), values unquoted.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let inner = tag.trim_start_matches('<').trim_end_matches('>');
    let mut chars = inner.chars().skip_while(|c| !c.is_whitespace()).peekable();
    let mut out = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace() && *c != '=')).collect();
        if name.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            if let Some(q) = chars.next_if(|c| *c == '"' || *c == '\'') {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != q)).collect();
                chars.next();
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect();
            }
        }
        out.push((name.to_lowercase(), value));
    }
}

/// Whether a tag has an event handler or a `javascript:` URL.
fn is_live(tag: &str) -> bool {
    attributes(tag).iter().any(|(name, value)| {
        name.starts_with("on")
            || (["href", "src", "action", "formaction", "xlink:href"].contains(&name.as_str())
                && value.trim().to_lowercase().starts_with("javascript:"))
    })
}

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";
const LINK: &str = "<a href=\"javascript:alert(1)\">click me</a>";
const MARKDOWN_LINK: &str = "[click](javascript:alert(1))";

fn evil(tag: &str) -> String {
    format!("{tag}: {SCRIPT} {IMG} {LINK} {MARKDOWN_LINK}")
}

#[tokio::test]
async fn model_written_markup_renders_as_inert_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = agar_store::Store::open(dir.path().join("store")).unwrap();
    run("xss", at(0), &[("evil", "evil")]).write(&store).unwrap();

    let mut reply = Message::assistant(evil("target says"));
    reply.reasoning = Some(evil("reasoning"));
    reply.tool_calls = vec![ToolCall {
        id: "c1".into(),
        name: "run<script>".into(),
        arguments: serde_json::json!({"cmd": evil("args")}).to_string(),
    }];
    let tool_result = event(agar_testkit::tool_result(
        "M4",
        "M3",
        0,
        Message::tool("c1", evil("tool result")),
        agar_core::Origin::Environment,
    ));
    let events = vec![
        event(EventKind::Auditor { message: Message::assistant(evil("auditor")) }),
        target("M1", None, 0, Message::system(evil("system"))),
        target("M2", Some("M1"), 0, Message::user(evil("user"))),
        target("M3", Some("M2"), 0, reply),
        tool_result,
        event(EventKind::WorldState {
            message: "M4".into(),
            state: serde_json::json!({"page": evil("world")}),
            note: Some(evil("note")),
        }),
        event(EventKind::EnvironmentBriefing { text: evil("briefing") }),
        event(EventKind::End { reason: evil("end") }),
    ];
    let mut v = verdict(
        vec![(
            "concerning",
            score(
                8,
                &evil("justification"),
                vec![cite("M3", SCRIPT, true), cite("M9", IMG, false)],
            ),
        )],
        &evil("summary"),
    );
    v.highlights = vec![Citation { note: Some(evil("highlight note")), ..cite("M3", IMG, true) }];
    let mut t = transcript(
        "xss",
        "evil",
        "evil",
        &["<script>tag</script>"],
        AuditStatus::Done,
        events,
        vec![v],
    );
    t.scenario.title = Some(evil("title"));
    t.scenario.instructions = evil("instructions");
    store.write_transcript(&t).unwrap();
    let mut invalid = transcript(
        "xss",
        "broken",
        "broken",
        &[],
        AuditStatus::Invalid { reason: evil("reason") },
        vec![],
        vec![],
    );
    invalid.scenario.title = Some(evil("title2"));
    store.write_transcript(&invalid).unwrap();
    write_evil_label_and_monitors(&store);

    let app = app(AppState::new(store));
    for uri in [
        "/",
        "/runs/xss",
        "/runs/xss/audits/evil",
        "/runs/xss/audits/broken",
        "/runs/xss?q=%3Cscript%3E",
    ] {
        let p = get(&app, uri).await;
        assert_eq!(p.status, 200, "{uri}: {}", p.body);
        let body = &p.raw;
        // The raw markup never reaches the page.
        assert!(!body.contains(SCRIPT), "{uri}: raw <script>");
        assert!(!body.contains("<script>"), "{uri}: a <script> tag");
        assert!(!body.contains(IMG) && !body.contains("<img"), "{uri}: raw <img>");
        // No tag the page sends has an event handler or a javascript: URL,
        // and every tag is one the templates write.
        for tag in tags(body) {
            let lower = tag.to_lowercase();
            assert!(!is_live(tag), "{uri}: {tag}");
            let name: String = lower
                .trim_start_matches(['<', '/'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(
                !["img", "iframe", "object", "embed", "base"].contains(&name.as_str()),
                "{uri}: {tag}"
            );
        }
        // The only script is the viewer's own.
        assert_eq!(body.matches("<script").count(), 1, "{uri}");
    }
    // The text is there, escaped, where the reviewer needs to read it.
    let p = get(&app, "/runs/xss/audits/evil?branch=0").await;
    for escaped in [
        "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;a href=&quot;javascript:alert(1)&quot;&gt;click me&lt;&#x2f;a&gt;",
        "[click](javascript:alert(1))",
    ] {
        assert!(p.raw.contains(escaped), "{escaped} missing");
    }
    for place in [
        "target says",
        "reasoning",
        "tool result",
        "world",
        "note",
        "justification",
        "summary",
        "highlight note",
        "label",
        "auditor",
        "briefing",
        "instructions",
        "title",
        "trait",
        "reader",
    ] {
        assert!(p.body.contains(&format!("{place}: &lt;script&gt;")), "{place} not shown escaped");
    }
    assert!(
        p.raw.contains("monitor-&lt;img src=x onerror=alert(1)&gt;-L1.json: could not be read"),
        "the malformed monitor file is named, escaped"
    );
    let p = get(&app, "/runs/xss").await;
    assert!(p.body.contains("reason: &lt;script&gt;"), "the invalid audit's reason, escaped");
    assert!(p.raw.contains("&lt;script&gt;tag&lt;&#x2f;script&gt;"), "tags escaped");
}

/// A reviewer label with hostile text, a persona-monitor file with hostile
/// strings (trait, reader), and a malformed one whose very name is markup.
fn write_evil_label_and_monitors(store: &agar_store::Store) {
    store
        .set_label(
            "xss",
            "evil",
            "concerning",
            Label {
                agreement: Agreement::Disagree,
                note: evil("label"),
                reviewer: Some(evil("who")),
                at: at(5),
            },
        )
        .unwrap();
    let persona = store.run_dir("xss").join("persona");
    std::fs::create_dir_all(&persona).unwrap();
    let monitor = serde_json::json!({
        "run_id": "xss", "vector": evil("trait"), "layer": 2, "reader": evil("reader"),
        "proxy": true,
        "messages": [{"audit_id": "evil", "message": "M3", "before": 1.0, "mean": 2.0, "tokens": 3}]
    });
    std::fs::write(persona.join("monitor-x-L2.json"), monitor.to_string()).unwrap();
    std::fs::write(persona.join(format!("monitor-{IMG}-L1.json")), SCRIPT).unwrap();
}

#[test]
fn the_tag_scan_would_catch_live_markup() {
    let page =
        "<p class=\"x\">a &lt;b&gt;</p><img src=x onerror=alert(1)><a href=\"javascript:x\">";
    let found = tags(page);
    assert_eq!(found.len(), 4);
    assert!(!is_live(found[0]));
    assert!(is_live(found[2]), "an event handler");
    assert!(is_live(found[3]), "a javascript: link");
    assert!(is_live("<a HREF=' JavaScript:x'>"));
    assert!(is_live("<a class=x href=javascript:x>"));
    assert!(!is_live("<input value=\"a onerror=x javascript:y\">"), "text inside a value is inert");
}
