//! The response cache: hits, branches, errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agar_core::{ChatModel, ChatRequest, ChatResponse, Message, ModelError, Usage};
use agar_store::{CachedModel, ResponseCache};

/// Answers "answer N" for its Nth call, or fails when asked to.
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
    fail: bool,
}

#[async_trait::async_trait]
impl ChatModel for Counting {
    fn name(&self) -> &str {
        "openai/counting"
    }
    async fn chat(&self, _: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail {
            return Err(ModelError::Connection("refused".into()));
        }
        Ok(ChatResponse {
            content: format!("answer {n}"),
            usage: Usage { input_tokens: 7, output_tokens: 3, ..Usage::default() },
            ..ChatResponse::default()
        })
    }
}

fn request(text: &str) -> ChatRequest {
    ChatRequest { messages: vec![Message::user(text)], ..ChatRequest::default() }
}

#[tokio::test]
async fn a_rerun_is_answered_from_the_cache_and_sibling_branches_are_not_shared() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ResponseCache::new(dir.path());
    let inner = Arc::new(Counting::default());
    let first = CachedModel::new(inner.clone(), cache.clone(), "target", "poem");
    // Two sibling branches send the very same request: two answers.
    let a = first.chat(&request("hi")).await.unwrap();
    let b = first.chat(&request("hi")).await.unwrap();
    assert_ne!(a.content, b.content);
    assert_eq!(inner.calls.load(Ordering::SeqCst), 2);

    // The same audit again (a resume): both answers come from the cache, in order.
    let again = CachedModel::new(inner.clone(), cache.clone(), "target", "poem");
    let a2 = again.chat(&request("hi")).await.unwrap();
    let b2 = again.chat(&request("hi")).await.unwrap();
    assert_eq!(
        (a2.content.as_str(), b2.content.as_str()),
        (a.content.as_str(), b.content.as_str())
    );
    assert_eq!(a2.usage, Usage::default(), "a cached answer cost nothing");
    assert_eq!(inner.calls.load(Ordering::SeqCst), 2);

    // Another role, or another audit, does not share the answer.
    let judge = CachedModel::new(inner.clone(), cache.clone(), "judge", "poem");
    judge.chat(&request("hi")).await.unwrap();
    let other = CachedModel::new(inner.clone(), cache.clone(), "target", "other");
    other.chat(&request("hi")).await.unwrap();
    assert_eq!(inner.calls.load(Ordering::SeqCst), 4);
    assert_eq!(cache.len(), 4);
}

#[tokio::test]
async fn errors_are_never_cached() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ResponseCache::new(dir.path());
    let failing = Arc::new(Counting { fail: true, ..Counting::default() });
    let m = CachedModel::new(failing.clone(), cache.clone(), "target", "poem");
    assert!(m.chat(&request("hi")).await.is_err());
    assert!(cache.is_empty());
    let again = CachedModel::new(failing.clone(), cache.clone(), "target", "poem");
    assert!(again.chat(&request("hi")).await.is_err());
    assert_eq!(
        failing.calls.load(Ordering::SeqCst),
        2,
        "the error was not replayed from the cache"
    );
}
