//! Sign-in and administration pages.

mod admin;
mod login;

pub use admin::AdminPage;
pub use login::LoginPage;
