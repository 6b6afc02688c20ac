//! Concept-injection introspection audits (`agar introspect`): does a model
//! notice a concept written into its activations, and can it name it?
//!
//! - [`words`]: the shipped word lists (concepts, baselines, yes-bias
//!   questions) and list files with `path:line` diagnostics ([`WordList`]).
//! - [`prompt`]: what the subject reads (concept, trial and yes-bias
//!   prompts) and where the injection starts ([`INJECTION_POINT`]).
//! - [`subject`]: the [`Subject`] trait, a model agar can read and inject
//!   into ([`Injection`]); the CLI adapts agar-local's engine to it.
//! - [`concept`]: concept vectors, a word's last-token state minus the
//!   baseline mean ([`ConceptVectors`]).
//! - [`plan`]: layers as fractions of depth, strengths, and the trials a
//!   run asks ([`Design`], [`Trial`]): injected, control, yes-bias.
//! - [`mod@grade`]: the judge's three questions (claims a thought, names the
//!   concept, coherent), read strictly ([`Grades`]).
//! - [`record`], [`store`]: the run's files in an agar store.
//! - [`run`]: [`start`] and [`resume`].
//! - [`mod@table`]: rates per layer and strength with 95% Wilson intervals
//!   ([`Table`]).
//!
//! Data flow: word lists -> concept vectors (subject) -> trials (subject,
//! injected or not) -> grades (judge) -> stored trials -> table.

pub mod concept;
pub mod grade;
pub mod plan;
pub mod prompt;
pub mod record;
pub mod run;
pub mod store;
pub mod subject;
pub mod table;
pub mod words;

pub use concept::{ConceptVectors, concept_vectors};
pub use grade::{Claim, GradeError, Grades, grade};
pub use plan::{DEFAULT_LAYER_FRACTION, DEFAULT_STRENGTHS, Design, DesignError, Trial, TrialKind};
pub use prompt::INJECTION_POINT;
pub use record::{IntrospectSpec, KIND, TrialRecord, TrialStatus};
pub use run::{Observer, Quiet, Request, RunError, resume, spec_for, start};
pub use store::{RunStoreError, is_introspect};
pub use subject::{Injection, Reply, Sampling, Subject, SubjectError, injection_position};
pub use table::{Rate, Row, Table, render, table};
pub use words::{ListKind, WordList, WordsError};
