//! Walking mgmtconfig paged lists at the maximum page size.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::client::{Call, ZpaClient};
use super::error::ZpaError;
use crate::wire::{MAX_PAGE_SIZE, Page};

/// A safety stop: 10,000 pages of 500 is far beyond any tenant's limits.
const MAX_PAGES: u64 = 10_000;

impl ZpaClient {
    /// Every item of a paged list: page 1 at pagesize 500, then pages 2..=totalPages.
    pub(crate) async fn all_pages<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: String,
        query: &[(&'static str, String)],
    ) -> Result<Vec<T>, ZpaError> {
        let mut items = Vec::new();
        let mut page = 1u64;
        loop {
            let mut call = Call::new(operation, Method::GET, path.clone())
                .query("page", page.to_string())
                .query("pagesize", MAX_PAGE_SIZE.to_string());
            call.query.extend(query.iter().cloned());
            let answer: Page<T> = self.json(call).await?;
            let received = answer.list.len();
            items.extend(answer.list);
            // totalPages may be wrong (the API has sent totalCount 0 with items),
            // so also stop on a short page.
            if page >= answer.total_pages.min(MAX_PAGES) || received < MAX_PAGE_SIZE as usize {
                return Ok(items);
            }
            page += 1;
        }
    }
}

/// The ZPA search expression for an exact name, or `None` when the name has
/// characters the search cannot carry (the SDKs strip everything but
/// `[A-Za-z0-9 _/-.]`): then callers list and filter locally.
pub(crate) fn name_search(name: &str) -> Option<String> {
    let searchable = !name.trim().is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '/' | '-' | '.'));
    searchable.then(|| format!("name+EQ+{name}"))
}

/// ZPA name lookups are exact but case-insensitive.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_odd_characters_are_not_searched_server_side() {
        assert_eq!(name_search("team-a.prod").as_deref(), Some("name+EQ+team-a.prod"));
        assert_eq!(name_search("Two Words").as_deref(), Some("name+EQ+Two Words"));
        assert_eq!(name_search("a&b"), None);
        assert_eq!(name_search("  "), None);
        assert!(same_name("Team-A", "team-a"));
        assert!(!same_name("team a", "team  a"));
    }
}
