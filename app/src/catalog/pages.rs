//! Catalog route components.

mod entity;
mod home;
mod list;

pub use entity::EntityPage;
pub use home::HomePage;
pub use list::{CatalogPage, SearchPage};
