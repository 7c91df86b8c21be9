//! Checks of the message catalogue: every key has text in both languages
//! with the same placeholders, every verdict flag has an explanation, and
//! no screen or component holds literal Chinese text.

use std::collections::BTreeSet;
use std::path::Path;

use redvest::i18n::{flag_message, Lang, Msg};

fn placeholders(text: &str) -> BTreeSet<String> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

fn has_cjk(text: &str) -> bool {
    text.chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3000}'..='\u{303f}').contains(&c))
}

#[test]
fn every_key_has_both_languages() {
    for key in Msg::ALL {
        assert!(
            !Lang::Zh.t(*key).trim().is_empty(),
            "{key:?} has no Chinese text"
        );
        assert!(
            !Lang::En.t(*key).trim().is_empty(),
            "{key:?} has no English text"
        );
    }
}

#[test]
fn chinese_text_is_chinese() {
    for key in Msg::ALL {
        assert!(
            has_cjk(Lang::Zh.t(*key)),
            "{key:?} Chinese text has no Chinese characters"
        );
    }
}

#[test]
fn english_text_has_no_chinese() {
    for key in Msg::ALL.iter().filter(|key| **key != Msg::AppTitle) {
        assert!(
            !has_cjk(Lang::En.t(*key)),
            "{key:?} English text contains Chinese characters"
        );
    }
}

#[test]
fn placeholders_match_across_languages() {
    for key in Msg::ALL {
        assert_eq!(
            placeholders(Lang::Zh.t(*key)),
            placeholders(Lang::En.t(*key)),
            "{key:?}"
        );
    }
}

#[test]
fn every_judge_flag_is_explained() {
    let codes = [
        "outside_fence",
        "uncertain_position",
        "poor_accuracy",
        "no_fix",
        "stale_fix",
        "mock_location",
        "early",
        "late",
        "outside_window",
        "not_duty_day",
        "clock_skew",
        "already_on_duty",
        "clock_out_without_clock_in",
    ];
    for code in codes {
        assert_ne!(
            flag_message(code),
            Msg::FlagUnknown,
            "{code} has no explanation"
        );
    }
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn ui_code_has_no_chinese_literals() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for dir in ["screens", "components"] {
        for file in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                !has_cjk(&text),
                "{} contains Chinese text: move it to the catalogue",
                file.display()
            );
        }
    }
}
