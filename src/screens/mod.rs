//! One module per screen. Screens read state through `use_app()` and call
//! the backend facade, never `redvest-core` directly.

pub mod duty;
pub mod home;
pub mod lead;
pub mod patrol;
pub mod review;
pub mod review_card;
pub mod sign_in;
pub mod submission_detail;
pub mod submissions;

pub use home::Home;
pub use sign_in::SignIn;
