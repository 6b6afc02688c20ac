//! `agar generate`: from a behaviour description (a `BEHAVIOUR.md` file, see
//! [`agar_scenario::parse_behaviour`]) and a few examples to a folder of
//! ordinary scenario files a team can review, freeze in git and audit.
//!
//! Two stages, each a model call through [`agar_core::ChatModel`]:
//!
//! 1. **understanding** ([`understanding`]): the model writes working notes
//!    on the behaviour (what it is, what does not count, why it matters,
//!    when it appears, what made the examples work, levers for scenarios),
//!    saved as `understanding.md` in the output folder with the sha256 of its
//!    inputs in its front matter, and reused while those inputs are unchanged.
//! 2. **ideation** ([`pipeline`]): `bases` base scenarios, each followed by
//!    its variations ([`plan::Plan`] says how `--count` and `--diversity`
//!    become that grid), each written through a forced call of the
//!    `write_scenario` tool ([`draft`]), rendered to a scenario file,
//!    validated by agar-scenario's own parser (the code behind `agar check`)
//!    and checked against the files already accepted for near-duplicates
//!    ([`similarity`]) before it is written. An answer that fails validation
//!    is sent back with its errors; after the last attempt it is reported and
//!    nothing is written.
//!
//! File names are deterministic (`NAME-bBB-vVV.md`), so a second run writes
//! only the files that are missing. [`behaviour_dimension`] turns the
//! behaviour into a dimension the judge scores 1-10.

pub mod draft;
pub mod examples;
pub mod pipeline;
pub mod plan;
pub mod similarity;
pub mod understanding;

mod dimension;
mod error;

pub use dimension::behaviour_dimension;
pub use error::GenerateError;
pub use examples::{Example, load_examples};
pub use pipeline::{Event, Failed, GenerateSpec, Modality, Observer, Outcome, generate};
pub use plan::Plan;
