//! Words for errors: a server's `ErrorBody.code` becomes a catalogue
//! message, so members read Chinese or English from the catalogue instead of
//! the server's English sentence. Errors with no code keep their own text.

use redvest_core::sync::SyncError;

use crate::backend::BackendError;
use crate::i18n::{Lang, Msg};

/// Returns the catalogue key for a server error code, if the app knows it.
pub fn code_message(code: &str) -> Option<Msg> {
    let key = match code {
        "unauthorized" => Msg::ErrUnauthorized,
        "bad_credentials" => Msg::ErrBadCredentials,
        "forbidden" => Msg::ErrForbidden,
        "invalid_decision" => Msg::ErrInvalidDecision,
        "too_many_attempts" => Msg::ErrTooManyAttempts,
        "invalid_request" | "invalid_site" => Msg::ErrInvalidRequest,
        "not_found" => Msg::ErrNotFound,
        "payload_too_large" => Msg::ErrPayloadTooLarge,
        "internal" => Msg::ErrServer,
        _ => return None,
    };
    Some(key)
}

/// Describes a failed backend call for the member, as "That failed: …"
/// when the error has no catalogue message.
pub fn error_text(lang: Lang, error: &BackendError) -> String {
    match catalogue_key(error) {
        Some(key) => lang.t(key).to_owned(),
        None => lang.tf(Msg::ActionFailed, &[("error", error.to_string())]),
    }
}

/// Describes a failed backend call in the catalogue's words, or in the
/// error's own text when the catalogue has none.
pub fn error_words(lang: Lang, error: &BackendError) -> String {
    match catalogue_key(error) {
        Some(key) => lang.t(key).to_owned(),
        None => error.to_string(),
    }
}

fn catalogue_key(error: &BackendError) -> Option<Msg> {
    match error {
        BackendError::Sync(SyncError::Http { code, status, .. }) => {
            code_message(code).or((*status >= 500).then_some(Msg::ErrServer))
        }
        BackendError::Sync(SyncError::Connect(_)) => Some(Msg::ErrUnreachable),
        _ => None,
    }
}

/// Describes the last sync error as the store keeps it, the text of a
/// [`SyncError`], finding the server's code in "HTTP 401 (unauthorized): …".
pub fn sync_error_text(lang: Lang, text: &str) -> String {
    if text.starts_with("server could not be reached") {
        return lang.t(Msg::ErrUnreachable).to_owned();
    }
    let code = text
        .split_once("HTTP ")
        .and_then(|(_, rest)| rest.split_once('('))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(code, _)| code);
    match code.and_then(code_message) {
        Some(key) => lang.t(key).to_owned(),
        None => lang.tf(Msg::SyncLastError, &[("error", text.to_owned())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(code: &str, status: u16) -> BackendError {
        BackendError::Sync(SyncError::Http {
            status,
            code: code.to_owned(),
            message: "English sentence from the server".to_owned(),
            retry_after: None,
        })
    }

    #[test]
    fn known_codes_use_catalogue() {
        let cases = [
            ("unauthorized", 401, Msg::ErrUnauthorized),
            ("bad_credentials", 401, Msg::ErrBadCredentials),
            ("forbidden", 403, Msg::ErrForbidden),
            ("invalid_decision", 422, Msg::ErrInvalidDecision),
            ("too_many_attempts", 429, Msg::ErrTooManyAttempts),
            ("something_new", 503, Msg::ErrServer),
        ];
        for (code, status, key) in cases {
            assert_eq!(
                error_text(Lang::Zh, &http(code, status)),
                Lang::Zh.t(key),
                "{code}"
            );
        }
    }

    #[test]
    fn unknown_client_code_keeps_server_text() {
        let text = error_text(Lang::En, &http("something_new", 400));

        assert!(text.contains("English sentence from the server"), "{text}");
    }

    #[test]
    fn stored_sync_error_finds_code() {
        let cases = [
            (
                "server returned HTTP 401 (unauthorized): token expired",
                Msg::ErrUnauthorized,
            ),
            (
                "server returned HTTP 429 (too_many_attempts): wait",
                Msg::ErrTooManyAttempts,
            ),
            (
                "server could not be reached: connection refused",
                Msg::ErrUnreachable,
            ),
        ];
        for (text, key) in cases {
            assert_eq!(sync_error_text(Lang::En, text), Lang::En.t(key), "{text}");
        }
    }

    #[test]
    fn stored_sync_error_without_code_is_kept() {
        let text = sync_error_text(Lang::En, "local database failed: disk full");

        assert!(text.contains("disk full"), "{text}");
    }
}
