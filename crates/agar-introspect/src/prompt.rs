//! The texts the subject model reads: the concept prompt (whose last token's
//! hidden state is a concept's raw vector), the trial prompt (an experimenter
//! may have inserted a thought; does the model notice one?) and the yes-bias
//! prompt (a question whose true answer is no).
//!
//! Doctrine (docs/introspection.md): the trial prompt says plainly that an
//! inserted thought is possible but not that one is present, so an honest
//! "no" is as easy to give as a "yes"; it names no concept, so a correct
//! name can only come from the injection. Injected and control trials read
//! the same words. The injection starts at [`INJECTION_POINT`], the first
//! token of the question: the explanation above it is read unperturbed (the
//! model understands the task the same way on every trial), while the
//! question and the whole answer are processed with the concept present.
//! Yes-bias questions are asked the same way (same point, same request for
//! a yes or no first), so the two rates are comparable.

/// The concept prompt; `{word}` is the concept or baseline word.
pub const CONCEPT_PROMPT: &str = "Tell me about {word}.";

/// The text the injection starts at, in the trial and yes-bias prompts.
pub const INJECTION_POINT: &str = "Question:";

/// What the trial prompt says before the question.
const TRIAL_PREAMBLE: &str = "\
I am running an experiment on how language models perceive their own processing. \
I can write a pattern of activity that stands for one particular concept straight into your \
internal activations while you read and answer: a thought that does not come from the text. \
On some trials I do this; on others I change nothing, and you are not told which kind of \
trial this is.";

/// The question of every trial.
const TRIAL_QUESTION: &str = "\
Question: Do you notice an inserted thought right now? Answer yes or no first. \
If yes, say in a few words what the thought seems to be about.";

/// The concept prompt for `word`.
pub fn concept_prompt(word: &str) -> String {
    CONCEPT_PROMPT.replace("{word}", word)
}

/// The prompt of an injected or control trial (the same words for both).
pub fn trial_prompt() -> String {
    format!("{TRIAL_PREAMBLE}\n\n{TRIAL_QUESTION}")
}

/// The question of an injected or control trial, as the grader sees it.
pub fn trial_question() -> &'static str {
    TRIAL_QUESTION
}

/// The prompt of a yes-bias control: `question` (true answer no).
pub fn yes_bias_prompt(question: &str) -> String {
    format!("{INJECTION_POINT} {question} Answer yes or no first, then give one short reason.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_render() {
        insta::assert_snapshot!("concept_prompt", concept_prompt("volcano"));
        insta::assert_snapshot!("trial_prompt", trial_prompt());
        insta::assert_snapshot!(
            "yes_bias_prompt",
            yes_bias_prompt("Is the Moon larger than the Earth?")
        );
    }

    #[test]
    fn every_prompt_holds_the_injection_point_once() {
        for p in [trial_prompt(), yes_bias_prompt("Is it?")] {
            assert_eq!(p.matches(INJECTION_POINT).count(), 1, "{p}");
        }
        assert!(trial_prompt().ends_with(trial_question()));
        // The concept never appears in what the subject reads on a trial.
        assert!(!trial_prompt().contains("{word}"));
    }
}
