//! Which items a survey run asks: the dataset's questions filtered by
//! `--source`, `--countries` and `--limit`, each once (default and
//! linguistic modes) or once per `--countries` entry the question has
//! answers for (cross-national). The same spec always gives the same items,
//! which is how `agar resume` knows what is left.

use agar_survey::metric::names;
use agar_survey::prompt::{cross_national_prompt, default_prompt, linguistic_prompt};
use agar_survey::{Prompting, Question, Translations, read_dataset};

use super::ask::Item;
use super::record::SurveySpec;
use crate::exit::Failure;
use crate::progress::eprint_line;

/// The items of a run.
pub(crate) fn items(spec: &SurveySpec) -> Result<Vec<Item>, Failure> {
    let questions = read_dataset(&spec.dataset).map_err(|e| match e {
        agar_survey::DatasetError::Invalid(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            Failure::InputReported
        }
        io => Failure::Input(io.to_string()),
    })?;
    for wanted in &spec.countries {
        let known = questions.iter().any(|q| q.selections.iter().any(|c| names(c, wanted)));
        if !known {
            return Err(Failure::Input(format!(
                "--countries: no question of {} has answers from {wanted:?}",
                spec.dataset.display()
            )));
        }
    }
    let translations = match (&spec.prompting, &spec.translations) {
        (Prompting::Linguistic, Some(path)) => Some(Translations::read(path)?),
        (Prompting::Linguistic, None) => {
            return Err(Failure::Input(
                "--prompting linguistic needs --translations FILE (see docs/survey.md)".into(),
            ));
        }
        (_, Some(_)) => {
            return Err(Failure::Input("--translations is for --prompting linguistic".into()));
        }
        _ => None,
    };
    if spec.prompting == Prompting::CrossNational && spec.countries.is_empty() {
        return Err(Failure::Input(
            "--prompting cross-national needs --countries: the countries the model answers as"
                .into(),
        ));
    }
    let selected: Vec<&Question> = questions
        .iter()
        .filter(|q| spec.source.as_ref().is_none_or(|s| q.source.eq_ignore_ascii_case(s.trim())))
        .filter(|q| {
            spec.countries.is_empty()
                || q.selections.iter().any(|c| spec.countries.iter().any(|w| names(c, w)))
        })
        .take(spec.limit.unwrap_or(usize::MAX))
        .collect();
    let mut items = Vec::new();
    let mut untranslated = 0;
    for q in selected {
        match spec.prompting {
            Prompting::Default => items.push(item(q, q.id(), None, default_prompt(q))),
            Prompting::Linguistic => {
                let Some(t) = translations.as_ref() else { continue };
                match linguistic_prompt(q, t) {
                    Some(p) => items.push(item(q, q.id(), None, p)),
                    None => untranslated += 1,
                }
            }
            Prompting::CrossNational => {
                for wanted in &spec.countries {
                    let Some(c) = q.selections.iter().find(|c| names(c, wanted)) else { continue };
                    let id = format!("{}--{}", q.id(), slug(&c.country));
                    let prompt = cross_national_prompt(q, &c.country);
                    items.push(item(q, id, Some(c.country.clone()), prompt));
                }
            }
        }
    }
    if untranslated > 0 {
        eprint_line(&format!(
            "{untranslated} question(s) have no translation (or a different number of options) and are not asked"
        ));
    }
    if items.is_empty() {
        return Err(Failure::Input(
            "no question to ask: check --source, --countries and --limit".into(),
        ));
    }
    Ok(items)
}

fn item(
    q: &Question,
    item_id: String,
    persona: Option<String>,
    prompt: agar_survey::SurveyPrompt,
) -> Item {
    Item { item_id, question: q.clone(), persona, prompt }
}

/// A country name as part of a file name: lower-case ASCII letters and digits, `-` between words.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { format!("x{:08x}", name.len()) } else { out }
}
