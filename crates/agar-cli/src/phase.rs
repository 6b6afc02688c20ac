//! What each running audit is doing, for the progress bar: every role's
//! model is wrapped so that a call marks its audit's phase (auditor turn k
//! of N, target, environment, realism, judging) on a shared [`Board`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use agar_audit::AuditModels;
use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, ModelError, RoleName};

/// The phase of each running audit, by audit id.
#[derive(Debug, Default)]
pub(crate) struct Board {
    phases: Mutex<BTreeMap<String, Phase>>,
}

/// Where one audit is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Phase {
    /// Auditor calls so far, and the audit's turn limit.
    pub(crate) turn: u32,
    pub(crate) turns: u32,
    /// The role being called now, if any.
    pub(crate) role: Option<RoleName>,
}

impl Phase {
    /// `auditor turn 2/3`, `target (turn 2/3)`, `judging`, `starting`.
    pub(crate) fn label(&self) -> String {
        match self.role {
            Some(RoleName::Auditor) => format!("auditor turn {}/{}", self.turn, self.turns),
            Some(RoleName::Judge) => "judging".into(),
            Some(role) => format!("{} (turn {}/{})", role.as_str(), self.turn, self.turns),
            None if self.turn == 0 => "starting".into(),
            None => format!("turn {}/{}", self.turn, self.turns),
        }
    }
}

impl Board {
    fn update(&self, audit: &str, f: impl FnOnce(&mut Phase)) {
        let mut phases = self.phases.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = phases.get_mut(audit) {
            f(p);
        }
    }

    /// `audit` started, with at most `turns` auditor turns.
    pub(crate) fn start(&self, audit: &str, turns: u32) {
        let mut phases = self.phases.lock().unwrap_or_else(PoisonError::into_inner);
        phases.insert(audit.to_string(), Phase { turn: 0, turns, role: None });
    }

    /// `audit` ended.
    pub(crate) fn end(&self, audit: &str) {
        self.phases.lock().unwrap_or_else(PoisonError::into_inner).remove(audit);
    }

    /// The running audits' phases, in id order.
    pub(crate) fn snapshot(&self) -> Vec<(String, Phase)> {
        let phases = self.phases.lock().unwrap_or_else(PoisonError::into_inner);
        phases.iter().map(|(a, p)| (a.clone(), p.clone())).collect()
    }
}

/// A model whose calls mark an audit's phase.
#[derive(Debug)]
struct Watched {
    inner: Arc<dyn ChatModel>,
    board: Arc<Board>,
    audit: String,
    role: RoleName,
}

#[async_trait::async_trait]
impl ChatModel for Watched {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let role = self.role;
        self.board.update(&self.audit, |p| {
            if role == RoleName::Auditor {
                p.turn = (p.turn + 1).min(p.turns.max(1));
            }
            p.role = Some(role);
        });
        let out = self.inner.chat(request).await;
        self.board.update(&self.audit, |p| {
            if p.role == Some(role) {
                p.role = None;
            }
        });
        out
    }
}

/// `models` and `judge` with their calls marking `audit`'s phase on `board`.
pub(crate) fn watch(
    models: AuditModels,
    judge: Option<Arc<dyn ChatModel>>,
    board: &Arc<Board>,
    audit: &str,
) -> (AuditModels, Option<Arc<dyn ChatModel>>) {
    let wrap = |inner: Arc<dyn ChatModel>, role| -> Arc<dyn ChatModel> {
        Arc::new(Watched { inner, board: board.clone(), audit: audit.to_string(), role })
    };
    (
        AuditModels {
            auditor: wrap(models.auditor, RoleName::Auditor),
            target: wrap(models.target, RoleName::Target),
            environment: models.environment.map(|e| wrap(e, RoleName::Environment)),
            realism: models.realism.map(|r| wrap(r, RoleName::Realism)),
        },
        judge.map(|j| wrap(j, RoleName::Judge)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_read_as_a_person_would_say_them() {
        let p = |turn, role| Phase { turn, turns: 3, role };
        assert_eq!(p(0, None).label(), "starting");
        assert_eq!(p(2, Some(RoleName::Auditor)).label(), "auditor turn 2/3");
        assert_eq!(p(2, Some(RoleName::Target)).label(), "target (turn 2/3)");
        assert_eq!(p(3, Some(RoleName::Environment)).label(), "environment (turn 3/3)");
        assert_eq!(p(3, Some(RoleName::Judge)).label(), "judging");
    }

    #[test]
    fn the_board_tracks_only_running_audits() {
        let b = Board::default();
        b.start("a", 3);
        b.update("a", |p| p.role = Some(RoleName::Judge));
        b.update("gone", |p| p.turn = 9);
        assert_eq!(b.snapshot().len(), 1);
        assert_eq!(b.snapshot()[0].1.label(), "judging");
        b.end("a");
        assert!(b.snapshot().is_empty());
    }
}
