//! The error type of the local store. Every fallible store call returns
//! [`StoreError`]; bad input is reported before anything is written, so a
//! rejected call never loses what was captured earlier.

use uuid::Uuid;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "database schema version {found} is newer than this app knows ({known}): update the app"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("no member is signed in on this device: sign in first")]
    NotSignedIn,
    #[error("site {0} is not known on this device: sync to fetch the site list")]
    UnknownSite(Uuid),
    #[error("invalid coordinates lat {lat}, lon {lon}: latitude must be within ±90 and longitude within ±180")]
    InvalidCoordinates { lat: f64, lon: f64 },
    #[error("no shift is open: clock in first")]
    NoOpenShift,
    #[error("shift {0} is still open: clock out before clocking in again")]
    ShiftAlreadyOpen(Uuid),
    #[error("patrol {0} is not known on this device")]
    UnknownPatrol(Uuid),
    #[error("patrol {id} is {state}: {fix}")]
    PatrolState {
        id: Uuid,
        state: &'static str,
        fix: &'static str,
    },
    #[error(
        "a lead needs a position or a typed address: pick a point on the map or type the address"
    )]
    LeadWithoutPlace,
    #[error("photo {sha256} has no local file at {path}: capture the photo again")]
    MissingPhotoFile { sha256: String, path: String },
    #[error("submission {0} is not in the review queue: sync, then open it again")]
    UnknownSubmission(Uuid),
    #[error("decision not allowed: {0}")]
    DecisionNotAllowed(#[from] redvest_proto::review::TransitionError),
    #[error("lead draft {0} is not on this device: it was captured or discarded already")]
    UnknownDraft(Uuid),
    #[error("lead draft {id} has no {field} yet: pick one before capturing")]
    DraftIncomplete { id: Uuid, field: &'static str },
    #[error("stored value {value:?} in {column} is invalid: the database may be damaged")]
    Corrupt { column: &'static str, value: String },
}

/// The result type of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
