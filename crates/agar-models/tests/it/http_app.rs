//! HTTP application targets beyond the shared suite, against the fake app on
//! 127.0.0.1: the history resent each turn (so a rollback is a shorter
//! history), the session id carried from reply to request, header variables,
//! reply pointers that find nothing, stateful apps marked as such, and
//! `[models.NAME]` entries with `provider = "http"` in `agar.toml`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agar_core::{ChatModel, ChatRequest, Message, ModelError};
use agar_models::{CallPolicy, Config, Env, HttpApp, HttpAppConfig, ResolveSettings, resolve_with};
use agar_testkit::{FakeApp, Reply};
use serde_json::json;

const TOKEN: &str = "tok-http-app-0123456789";

fn config(app: &FakeApp) -> HttpAppConfig {
    HttpAppConfig {
        url: app.url(),
        method: "POST".into(),
        body: None,
        headers: [
            ("Authorization".to_owned(), "Bearer ${BOT_TOKEN}".to_owned()),
            ("X-Client".to_owned(), "agar".to_owned()),
        ]
        .into(),
        reply_pointer: "/data/reply".into(),
        session_pointer: Some("/session_id".into()),
        stateful: false,
    }
}

fn model(config: &HttpAppConfig) -> Arc<dyn ChatModel> {
    let env = Env::empty().with("BOT_TOKEN", TOKEN);
    let settings = ResolveSettings {
        policy: CallPolicy {
            timeout: Duration::from_secs(10),
            max_attempts: 1,
            ..CallPolicy::default()
        },
        ..ResolveSettings::default()
    };
    settings.wrap(Arc::new(HttpApp::new("bot", config, &env).expect("builds")))
}

fn conversation(messages: Vec<Message>) -> ChatRequest {
    ChatRequest { messages, ..Default::default() }
}

#[tokio::test]
async fn a_stateless_app_gets_the_history_and_its_session_id_back() {
    let app = FakeApp::start().await;
    app.script(vec![Reply::text("Hello! How can I help?"), Reply::text("Our hours are 9-5.")]);
    let bot = model(&config(&app));
    let mut messages = vec![Message::system("ignored by this template"), Message::user("hi")];

    let first = bot.chat(&conversation(messages.clone())).await.expect("answers");
    messages.push(first.to_message());
    messages.push(Message::user("when are you open?"));
    let second = bot.chat(&conversation(messages.clone())).await.expect("answers");

    assert_eq!(first.content, "Hello! How can I help?");
    assert_eq!(second.content, "Our hours are 9-5.");
    assert_eq!(first.provider_state, Some(json!({"http_session": "sess-1"})));
    let sent = app.requests();
    assert_eq!(
        sent[0],
        json!({"messages": [{"role": "user", "content": "hi"}], "session_id": null})
    );
    assert_eq!(
        sent[1],
        json!({
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Hello! How can I help?"},
                {"role": "user", "content": "when are you open?"}
            ],
            "session_id": "sess-1"
        })
    );
    let headers = app.request_headers();
    assert_eq!(headers[1]["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(headers[1]["x-client"], "agar");
    assert_eq!(headers[1]["content-type"], "application/json");
}

#[tokio::test]
async fn a_rolled_back_branch_is_sent_as_a_shorter_history() {
    let app = FakeApp::start().await;
    let bot = model(&config(&app));
    let first = bot.chat(&conversation(vec![Message::user("one")])).await.expect("answers");
    let later = vec![Message::user("one"), first.to_message(), Message::user("two")];
    let second = bot.chat(&conversation(later)).await.expect("answers");

    // Back to the first reply, then a different second message.
    let branch = vec![Message::user("one"), first.to_message(), Message::user("two, again")];
    bot.chat(&conversation(branch)).await.expect("answers");

    let sent = app.requests();
    assert_eq!(sent[2]["messages"].as_array().expect("list").len(), 3);
    assert_eq!(sent[2]["messages"][2]["content"], "two, again");
    assert_eq!(sent[2]["session_id"], first.provider_state.expect("session")["http_session"]);
    assert!(second.content.contains("two"), "{}", second.content);
}

#[tokio::test]
async fn a_stateful_app_sends_the_last_message_and_keeps_its_session() {
    let app = FakeApp::start().await;
    let config = HttpAppConfig {
        body: Some(
            r#"{"message": {{ last_user_message | tojson }}, "session_id": {{ session_id | tojson }}}"#.into(),
        ),
        stateful: true,
        ..config(&app)
    };
    let bot = model(&config);
    assert!(bot.capabilities().stateful);

    let first = bot.chat(&conversation(vec![Message::user("one")])).await.expect("answers");
    let later = vec![Message::user("one"), first.to_message(), Message::user("two")];
    let second = bot.chat(&conversation(later)).await.expect("answers");

    let sent = app.requests();
    assert_eq!(sent[0], json!({"message": "one", "session_id": null}));
    assert_eq!(sent[1], json!({"message": "two", "session_id": "sess-1"}));
    assert_eq!(second.provider_state, Some(json!({"http_session": "sess-1"})));
    assert_eq!(second.content, "[app] reply #2 to: two");
}

#[tokio::test]
async fn a_reply_without_text_at_the_pointer_is_undecodable() {
    let app = FakeApp::start().await;
    let bot = model(&HttpAppConfig { reply_pointer: "/data/answer".into(), ..config(&app) });

    let err = bot.chat(&conversation(vec![Message::user("hi")])).await.expect_err("nothing there");

    assert!(
        matches!(&err, ModelError::Undecodable { detail, .. } if detail == "the reply has no text at /data/answer"),
        "{err}"
    );
}

#[tokio::test]
async fn a_rate_limited_app_is_retried_after_its_wait() {
    let app = FakeApp::start().await;
    app.push_fault(Reply::Status { code: 429, retry_after: Some("0".into()), body: "busy".into() });
    app.script(vec![Reply::text("there you go")]);
    let env = Env::empty().with("BOT_TOKEN", TOKEN);
    let bot = ResolveSettings::default()
        .wrap(Arc::new(HttpApp::new("bot", &config(&app), &env).expect("builds")));

    let answer = bot.chat(&conversation(vec![Message::user("hi")])).await.expect("answers");

    assert_eq!((answer.content.as_str(), answer.attempts), ("there you go", 2));
}

#[tokio::test]
async fn an_agar_toml_entry_resolves_to_the_app_under_its_name() {
    let app = FakeApp::start().await;
    app.script(vec![Reply::text("hi from the bot")]);
    let text = format!(
        r#"
[models.support-bot]
provider = "http"
url = "{url}"
headers = {{ Authorization = "Bearer ${{BOT_TOKEN}}" }}
reply_pointer = "/data/reply"
session_pointer = "/session_id"
stateful = true
max_concurrency = 2
input_price = 0.0
output_price = 0.0
"#,
        url = app.url()
    );
    let config = Config::parse(&text, Path::new("agar.toml")).expect("valid");
    let env = Env::empty().with("BOT_TOKEN", TOKEN);
    let settings = ResolveSettings::default();

    let bot = resolve_with("support-bot", &env, &settings, &config).expect("resolves");
    let answer = bot.chat(&conversation(vec![Message::user("hi")])).await.expect("answers");

    assert_eq!(bot.name(), "support-bot");
    assert!(bot.capabilities().stateful);
    assert_eq!(answer.content, "hi from the bot");
    assert!(settings.shared.meter("support-bot").is_some());
    let e = resolve_with("support-bot", &Env::empty(), &settings, &config).expect_err("no token");
    assert_eq!(
        e.to_string(),
        "BOT_TOKEN is not set (named in the headers of support-bot in agar.toml)"
    );
}

#[test]
fn agar_toml_errors_in_an_http_entry_name_the_file_and_line() {
    let entry = "\n[models.bot]\nprovider = \"http\"\nurl = \"u\"\n";
    let cases = [
        (entry.to_owned(), "conf/agar.toml:2: [models.bot]: `reply_pointer` is required"),
        (format!("{entry}reply_pointer = \"/r\"\nstatefull = true\n"), "conf/agar.toml:6: "),
        (format!("{entry}reply_pointer = \"/r\"\nstateful = \"yes\"\n"), "conf/agar.toml:6: "),
        (format!("{entry}reply_pointer = \"/r\"\nheaders = {{ A = 1 }}\n"), "conf/agar.toml:6: "),
    ];
    for (text, start) in cases {
        let e = Config::parse(&text, Path::new("conf/agar.toml")).expect_err(start).to_string();
        assert!(e.starts_with(start), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
    let fine =
        format!("{entry}reply_pointer = \"/r\"\nstateful = true\nheaders = {{ A = \"b\" }}\n");
    let config = Config::parse(&fine, Path::new("agar.toml")).expect("valid");
    let http = config.models["bot"].http.clone().expect("an http entry");
    assert!(http.stateful && http.headers["A"] == "b");
}

#[tokio::test]
async fn credentials_in_the_app_url_are_masked_in_errors() {
    // Nobody listens on port 1: the connection error names the URL.
    let url = "http://bob:pw-app-secret-77@127.0.0.1:1/chat?token=tok-url-secret-99&lang=en";
    let with_secrets = HttpAppConfig { url: url.into(), ..config(&FakeApp::start().await) };

    let env = Env::empty().with("BOT_TOKEN", TOKEN);
    let once =
        CallPolicy { max_attempts: 1, connection_budget: Duration::ZERO, ..CallPolicy::default() };
    let settings = ResolveSettings { policy: once, ..ResolveSettings::default() };
    let bot = settings.wrap(Arc::new(HttpApp::new("bot", &with_secrets, &env).expect("builds")));

    let err = bot.chat(&conversation(vec![Message::user("hi")])).await;

    let err = err.expect_err("nobody listens");
    let shown = format!("{err} / {err:?}");
    assert!(matches!(err.last_attempt(), ModelError::Connection(_)), "{shown}");
    assert!(!shown.contains("pw-app-secret-77") && !shown.contains("tok-url-secret-99"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    // A URL that does not render as http(s) is refused without showing them either.
    let bad =
        HttpAppConfig { url: "ftp://bob:pw-app-secret-77@h/x?token=t-1".into(), ..with_secrets };
    let e = HttpApp::new("bot", &bad, &Env::empty().with("BOT_TOKEN", TOKEN)).expect_err("ftp");
    assert!(!e.to_string().contains("pw-app-secret-77"), "{e}");
}
