//! The review chain as a pure state machine. Only the server applies it; a
//! phone may propose a decision offline, carrying the version it saw, and the
//! server keeps the first valid decision and records later conflicting ones.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a submission stands in the review chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Stored and accepted without review (an unflagged clock-in).
    Accepted,
    Submitted,
    Approved,
    Rejected,
    Escalated,
    Assigned,
    Resolved,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Accepted => "accepted",
            ReviewState::Submitted => "submitted",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
            ReviewState::Escalated => "escalated",
            ReviewState::Assigned => "assigned",
            ReviewState::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ReviewState::Accepted,
            ReviewState::Submitted,
            ReviewState::Approved,
            ReviewState::Rejected,
            ReviewState::Escalated,
            ReviewState::Assigned,
            ReviewState::Resolved,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// Tells whether nothing more can happen to the submission.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReviewState::Accepted
                | ReviewState::Approved
                | ReviewState::Rejected
                | ReviewState::Resolved
        )
    }
}

/// What a reviewer decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Approve,
    Reject {
        reason: String,
    },
    Escalate {
        reason: Option<String>,
    },
    Assign {
        member_id: Uuid,
        note: Option<String>,
    },
    Resolve {
        note: String,
        photo_sha256: Option<String>,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject { .. } => "reject",
            Action::Escalate { .. } => "escalate",
            Action::Assign { .. } => "assign",
            Action::Resolve { .. } => "resolve",
        }
    }

    /// Returns the free text a decision carries (reason or note), if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            Action::Approve => None,
            Action::Reject { reason } => Some(reason),
            Action::Escalate { reason } => reason.as_deref(),
            Action::Assign { note, .. } => note.as_deref(),
            Action::Resolve { note, .. } => Some(note),
        }
    }
}

/// The role a reviewer acts in for a given submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reviewer {
    /// The leader of the submitter's squad.
    SquadLeader,
    /// A brigade member over the submitter's squad.
    Brigade,
    /// The member a follow-up was assigned to.
    Assignee,
}

/// Why a decision cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a rejection needs a reason: type or pick one")]
    MissingReason,
    #[error("a resolution needs a note saying what was done")]
    MissingNote,
    #[error("cannot {action} a submission that is {from}")]
    NotAllowed {
        action: &'static str,
        from: &'static str,
    },
}

/// Computes the state a decision leads to, or why it may not be taken.
pub fn transition(
    from: ReviewState,
    action: &Action,
    by: Reviewer,
) -> Result<ReviewState, TransitionError> {
    use ReviewState as S;

    let not_allowed = || TransitionError::NotAllowed {
        action: action.name(),
        from: from.as_str(),
    };
    match action {
        Action::Reject { reason } if reason.trim().is_empty() => {
            return Err(TransitionError::MissingReason)
        }
        Action::Resolve { note, .. } if note.trim().is_empty() => {
            return Err(TransitionError::MissingNote)
        }
        _ => {}
    }

    match (from, action, by) {
        (S::Submitted, Action::Approve, Reviewer::SquadLeader | Reviewer::Brigade) => {
            Ok(S::Approved)
        }
        (S::Submitted, Action::Reject { .. }, Reviewer::SquadLeader | Reviewer::Brigade) => {
            Ok(S::Rejected)
        }
        (S::Submitted, Action::Escalate { .. }, Reviewer::SquadLeader) => Ok(S::Escalated),
        (S::Submitted, Action::Assign { .. }, Reviewer::SquadLeader | Reviewer::Brigade) => {
            Ok(S::Assigned)
        }
        (S::Escalated, Action::Approve, Reviewer::Brigade) => Ok(S::Approved),
        (S::Escalated, Action::Reject { .. }, Reviewer::Brigade) => Ok(S::Rejected),
        (S::Escalated, Action::Assign { .. }, Reviewer::Brigade) => Ok(S::Assigned),
        (S::Escalated, Action::Resolve { .. }, Reviewer::Brigade) => Ok(S::Resolved),
        (
            S::Assigned,
            Action::Resolve { .. },
            Reviewer::Assignee | Reviewer::Brigade | Reviewer::SquadLeader,
        ) => Ok(S::Resolved),
        _ => Err(not_allowed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_approves_submitted() {
        let next = transition(
            ReviewState::Submitted,
            &Action::Approve,
            Reviewer::SquadLeader,
        );

        assert_eq!(next, Ok(ReviewState::Approved));
    }

    #[test]
    fn reject_without_reason_fails() {
        let reject = Action::Reject {
            reason: "  ".into(),
        };

        assert_eq!(
            transition(ReviewState::Submitted, &reject, Reviewer::SquadLeader),
            Err(TransitionError::MissingReason)
        );
    }

    #[test]
    fn leader_cannot_act_on_escalated() {
        let next = transition(
            ReviewState::Escalated,
            &Action::Approve,
            Reviewer::SquadLeader,
        );

        assert!(matches!(next, Err(TransitionError::NotAllowed { .. })));
    }

    #[test]
    fn assignee_resolves_follow_up() {
        let resolve = Action::Resolve {
            note: "cleared the exit".into(),
            photo_sha256: None,
        };

        assert_eq!(
            transition(ReviewState::Assigned, &resolve, Reviewer::Assignee),
            Ok(ReviewState::Resolved)
        );
    }
}
