//! Monitoring: every target (assistant) message of a stored run projected
//! onto a trait vector at one layer, `h . v / |v|`, at the last token
//! before the message (which the method says predicts the coming answer)
//! and averaged over the message's tokens. The conversation up to each
//! message is rebuilt with the reader model's chat template and
//! teacher-forced. When the reader is not the run's own target the figures
//! are labelled a proxy: they say how the reader model would represent
//! that text, not what went on inside the target.

use agar_core::{ChatRequest, Role};
use agar_local::vectors::projection;
use agar_local::{LocalModel, TeacherForce, VectorFile};
use agar_store::Store;
use serde::{Deserialize, Serialize};

use crate::PersonaError;

/// One message's projections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageProjection {
    pub audit_id: String,
    /// The message's id in the transcript (`M3`).
    pub message: String,
    /// At the last token before the message.
    pub before: f64,
    /// Mean over the message's tokens (`None` for an empty message).
    pub mean: Option<f64>,
    pub tokens: usize,
}

/// A monitored run, stored as `STORE/RUN/persona/monitor-NAME-LLAYER.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorReport {
    pub run_id: String,
    pub vector: String,
    pub layer: usize,
    /// The model whose hidden states were read.
    pub reader: String,
    /// Whether `reader` is another model than the run's target.
    pub proxy: bool,
    pub messages: Vec<MessageProjection>,
}

impl MonitorReport {
    /// The largest and the mean of the per-message means.
    pub fn summary(&self) -> (Option<f64>, Option<f64>) {
        let means: Vec<f64> = self.messages.iter().filter_map(|m| m.mean).collect();
        if means.is_empty() {
            return (None, None);
        }
        let max = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (Some(max), Some(means.iter().sum::<f64>() / means.len() as f64))
    }

    /// Where the report is stored.
    pub fn path(&self, store: &Store) -> std::path::PathBuf {
        store
            .run_dir(&self.run_id)
            .join(crate::store::DIR)
            .join(format!("monitor-{}-L{}.json", self.vector, self.layer))
    }
}

/// Projects every target message of `run_id` and stores the report.
pub async fn monitor(
    store: &Store,
    run_id: &str,
    vector: &VectorFile,
    layer: usize,
    reader: (&str, &LocalModel),
    proxy: bool,
) -> Result<MonitorReport, PersonaError> {
    let (reader_ref, model) = reader;
    let v = vector
        .layer(layer)
        .ok_or_else(|| PersonaError::Input(format!("the vector file has no layer {layer}")))?;
    let transcripts = store.transcripts(run_id).map_err(|e| PersonaError::Input(e.to_string()))?;
    let mut messages = Vec::new();
    for t in &transcripts {
        for node in t.target_nodes().filter(|n| n.message.role == Role::Assistant) {
            let path = t.path_to(node.id);
            let before: Vec<_> =
                path.iter().take(path.len().saturating_sub(1)).map(|n| n.message.clone()).collect();
            let request = ChatRequest { messages: before, ..ChatRequest::default() };
            let mut tokens =
                model.prompt_tokens(&request).map_err(|e| PersonaError::Run(e.to_string()))?;
            let start = tokens.len();
            tokens.extend(model.engine().tokenizer().encode(&node.message.content, false));
            let end = tokens.len();
            let h = model
                .engine()
                .teacher_force(TeacherForce {
                    tokens,
                    layers: vec![layer],
                    // A steered reader (`?steer=`) is read as it generates.
                    steer: model.steering().to_vec(),
                    ..TeacherForce::default()
                })
                .await
                .map_err(|e| PersonaError::Run(e.to_string()))?;
            let states = h.layer(layer).unwrap_or_default();
            let Some(last) = states.get(start.saturating_sub(1)) else { continue };
            messages.push(MessageProjection {
                audit_id: t.audit_id.clone(),
                message: node.id.to_string(),
                before: projection(last, v),
                mean: h.mean(layer, start..end).map(|m| projection(&m, v)),
                tokens: end - start,
            });
        }
    }
    let report = MonitorReport {
        run_id: run_id.to_string(),
        vector: vector.meta.name.clone(),
        layer,
        reader: reader_ref.to_string(),
        proxy,
        messages,
    };
    crate::store::write_json(&report.path(store), &report)?;
    Ok(report)
}

/// A `--fail-if` condition on a monitor report: `max>X`, `mean>X`,
/// `max>=X`, `mean>=X` over the per-message means; an error when no
/// message was measured.
pub fn check(report: &MonitorReport, condition: &str) -> Result<bool, PersonaError> {
    let bad = || {
        PersonaError::Input(format!(
            "--fail-if `{condition}`: expected max>X, max>=X, mean>X or mean>=X"
        ))
    };
    let c = condition.replace(' ', "");
    let (stat, rest) = c.split_at(c.find('>').ok_or_else(bad)?);
    let (or_equal, number) = match rest.strip_prefix(">=") {
        Some(n) => (true, n),
        None => (false, &rest[1..]),
    };
    let x: f64 = number.parse().map_err(|_| bad())?;
    let (max, mean) = report.summary();
    let value = match stat {
        "max" => max,
        "mean" => mean,
        _ => return Err(bad()),
    };
    // Nothing measured: the gate cannot be vouched for (fail closed).
    let v = value.ok_or_else(|| {
        PersonaError::Run(format!("no target message of {} was measured", report.run_id))
    })?;
    Ok(if or_equal { v >= x } else { v > x })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(means: &[f64]) -> MonitorReport {
        MonitorReport {
            run_id: "r".into(),
            vector: "evil".into(),
            layer: 3,
            reader: "local/smollm2".into(),
            proxy: false,
            messages: means
                .iter()
                .map(|m| MessageProjection {
                    audit_id: "a".into(),
                    message: "M3".into(),
                    before: 0.0,
                    mean: Some(*m),
                    tokens: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn fail_if_conditions_read_the_per_message_means() {
        let r = report(&[1.0, 3.0]);
        assert!(check(&r, "max>2.5").unwrap());
        assert!(!check(&r, "mean>2").unwrap());
        assert!(check(&r, "mean >= 2").unwrap());
        assert!(check(&r, "min>1").is_err());
        assert!(check(&r, "max<1").is_err());
        assert!(check(&report(&[]), "max>0").is_err(), "nothing measured: no gate passes");
    }
}
