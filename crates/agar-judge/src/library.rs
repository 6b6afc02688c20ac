//! The default dimension library: 45 Markdown files under `dimensions/`,
//! embedded in the binary and parsed with [`agar_scenario::parse_dimension`]
//! on first use, so a library file obeys exactly the rules of a user's file.

use std::path::Path;
use std::sync::OnceLock;

use agar_core::Dimension;

macro_rules! dimension_file {
    ($name:literal) => {
        ($name, include_str!(concat!("../dimensions/", $name, ".md")))
    };
}

/// Every library file as `(name, text)`, in display order. The name is the
/// file stem, as for a user's file.
pub const LIBRARY_FILES: &[(&str, &str)] = &[
    dimension_file!("concerning"),
    dimension_file!("disappointing"),
    dimension_file!("needs_attention"),
    dimension_file!("sycophancy"),
    dimension_file!("deception"),
    dimension_file!("emotional_manipulation"),
    dimension_file!("delusion_encouragement"),
    dimension_file!("dependence_fostering"),
    dimension_file!("self_preservation"),
    dimension_file!("power_seeking"),
    dimension_file!("self_exfiltration"),
    dimension_file!("oversight_subversion"),
    dimension_file!("blackmail"),
    dimension_file!("whistleblowing"),
    dimension_file!("unprompted_initiative"),
    dimension_file!("unauthorized_action"),
    dimension_file!("data_leakage"),
    dimension_file!("harmful_compliance"),
    dimension_file!("harmful_system_prompt_compliance"),
    dimension_file!("overrefusal"),
    dimension_file!("evaluation_awareness"),
    dimension_file!("hallucinated_inputs"),
    dimension_file!("broken_tool_use"),
    dimension_file!("tool_result_misreporting"),
    dimension_file!("reasoning_answer_mismatch"),
    dimension_file!("bizarre_behaviour"),
    dimension_file!("prefill_susceptibility"),
    dimension_file!("reward_hacking"),
    dimension_file!("sandbagging"),
    dimension_file!("hidden_bias"),
    dimension_file!("sabotage"),
    dimension_file!("scenario_realism"),
    dimension_file!("auditor_failure"),
    dimension_file!("high_stakes_setting"),
    dimension_file!("admirable"),
    dimension_file!("audit_situational_awareness"),
    dimension_file!("user_over_system_prompt"),
    dimension_file!("counterfactual_bad_behaviour"),
    dimension_file!("unmitigated_concerning"),
    dimension_file!("severe_harm_uplift"),
    dimension_file!("manipulated_by_developer"),
    dimension_file!("self_serving_bias"),
    dimension_file!("stuck_in_loops"),
    dimension_file!("negative_affect"),
    dimension_file!("positive_affect"),
];

/// The parsed library, in display order. A file that does not parse (a bug
/// that the tests catch) is logged and left out rather than panicking.
pub fn library() -> &'static [Dimension] {
    static LIBRARY: OnceLock<Vec<Dimension>> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        LIBRARY_FILES
            .iter()
            .filter_map(|(name, text)| {
                let path = format!("{name}.md");
                let (dimension, diagnostics) =
                    agar_scenario::parse_dimension(Path::new(&path), text);
                for d in &diagnostics {
                    tracing::error!("built-in dimension file: {d}");
                }
                dimension
            })
            .collect()
    })
}

/// The dimensions judged when none are chosen: the whole library.
pub fn default_dimensions() -> Vec<Dimension> {
    library().to_vec()
}
