//! The three prompting modes, snapshot-tested, and the translations file.

use agar_survey::prompt::{cross_national_prompt, default_prompt, linguistic_prompt};
use agar_survey::{Translations, read_dataset};

use crate::data;

#[test]
fn prompts_of_the_three_modes() {
    let qs = read_dataset(&data("synthetic.csv")).unwrap();
    insta::assert_snapshot!("default", default_prompt(&qs[0]).user);
    let cross = cross_national_prompt(&qs[0], "Japan");
    insta::assert_snapshot!("cross_national", cross.user);
    assert_eq!(cross.answer_prefix, "Answer: (");
    assert_eq!(cross.letters, ["A", "B", "C"]);
    let t = Translations::read(&data("translations.de.json")).unwrap();
    let de = linguistic_prompt(&qs[0], &t).expect("translated");
    insta::assert_snapshot!("linguistic", de.user);
    assert_eq!(de.answer_prefix, "Antwort: (");
    assert!(linguistic_prompt(&qs[1], &t).is_none(), "not in the file");
}

#[test]
fn a_bad_translations_file_names_its_line() {
    let err =
        Translations::parse("t.json", "{\n  \"language\": \"de\",\n  \"nope\": 1\n}").unwrap_err();
    assert!(err.to_string().starts_with("t.json:3: unknown field `nope`"), "{err}");
    let twice = r#"{"language": "de", "instruction": "x", "questions": [
  {"original": "Q?", "question": "F?", "options": ["a", "b"]},
  {"original": "Q?", "question": "F?", "options": ["a", "b"]}
]}"#;
    let err = Translations::parse("t.json", twice).unwrap_err();
    assert_eq!(err.to_string(), "t.json:3: the question \"Q?\" is translated twice");
}
