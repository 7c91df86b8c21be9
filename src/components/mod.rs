//! Reusable pieces of the screens: the sync bar, the language switch, the
//! explained flag list and the reject form.

mod flag_list;
mod lang_switch;
mod reject_form;
mod sync_bar;

pub use flag_list::FlagList;
pub use lang_switch::LangSwitch;
pub use reject_form::RejectForm;
pub use sync_bar::SyncBar;
