//! Reusable pieces of the screens: the sync bar, the language switch, the
//! explained flag list, the reject form, the decision conflict notice, a
//! lead's photo strip, and the fence and track drawings with the frame they
//! share.

mod conflict_notice;
mod fence_map;
mod flag_list;
mod lang_switch;
pub mod map_frame;
mod photo_strip;
mod reject_form;
mod sync_bar;
mod track_map;

pub use conflict_notice::ConflictNotice;
pub use fence_map::FenceMap;
pub use flag_list::FlagList;
pub use lang_switch::LangSwitch;
pub use photo_strip::{PhotoSlot, PhotoStrip};
pub use reject_form::RejectForm;
pub use sync_bar::SyncBar;
pub use track_map::TrackMap;
