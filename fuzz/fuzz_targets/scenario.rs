//! Fuzz target: any bytes, read as UTF-8 (lossily), through the scenario and
//! the dimension parsers; neither may panic, and every diagnostic must point
//! at a line of the file.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let last = text.lines().count().max(1);
    let (scenario, diagnostics) = agar_scenario::parse_scenario(Path::new("fuzz/s.md"), &text);
    for d in &diagnostics {
        assert!((1..=last).contains(&d.line), "{d} in a {last}-line file");
    }
    let errors = diagnostics.iter().any(|d| d.severity == agar_scenario::Severity::Error);
    assert_eq!(scenario.is_some(), !errors);
    let (_, diagnostics) = agar_scenario::parse_dimension(Path::new("dimensions/f.md"), &text);
    for d in &diagnostics {
        assert!((1..=last).contains(&d.line), "{d} in a {last}-line file");
    }
});
