//! Generates a chat answer with a local GGUF: `cargo run -p agar-local --example generate -- MODEL.gguf "prompt" [max_tokens]`.

use agar_core::{ChatModel, ChatRequest, Message, Sampling};
use agar_local::{Engine, LocalModel, LocalSettings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(prompt)) = (args.get(1), args.get(2)) else {
        return Err("usage: generate MODEL.gguf PROMPT [MAX_TOKENS]".into());
    };
    let max: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(64);
    let engine = Engine::load(std::path::Path::new(path))?;
    eprintln!("loaded in {:?}", engine.info().load_time);
    let model = LocalModel::new("local:example", engine, LocalSettings::default())?;
    let req = ChatRequest {
        messages: vec![Message::user(prompt.clone())],
        sampling: Sampling { temperature: Some(0.0), max_tokens: Some(max), ..Sampling::default() },
        ..ChatRequest::default()
    };
    let started = std::time::Instant::now();
    let resp = model.chat(&req).await?;
    eprintln!("{:?} {:?} in {:?}", resp.usage, resp.finish_reason, started.elapsed());
    println!("{}", resp.content);
    Ok(())
}
