//! Walking mgmtconfig paged lists at the maximum page size.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::client::{Call, ZpaClient};
use super::error::ZpaError;
use zpa_wire::{MAX_PAGE_SIZE, Page};

/// A safety stop: 200 pages of 500 (100,000 objects) is far beyond any
/// tenant's limits (500 Microtenants per tenant). A list that claims more is
/// refused rather than cut short: a silently partial list would make present
/// objects look absent.
pub const MAX_PAGES: u64 = 200;

/// Whether to fetch page `page + 1`: an error past [`MAX_PAGES`].
pub fn more_pages(
    operation: &'static str,
    page: u64,
    total_pages: u64,
    received: usize,
    full_page: usize,
) -> Result<bool, ZpaError> {
    // totalPages may be wrong (the API has sent totalCount 0 with items),
    // so also stop on a short page.
    let more = page < total_pages && received >= full_page && received > 0;
    if more && page >= MAX_PAGES {
        return Err(ZpaError::InvalidResponse {
            operation,
            detail: format!("the list claims {total_pages} pages; at most {MAX_PAGES} are read"),
        });
    }
    Ok(more)
}

impl ZpaClient {
    /// Every item of a paged mgmtconfig list (`GET`): page 1 at pagesize 500,
    /// then pages 2..=totalPages, refused past [`MAX_PAGES`].
    pub async fn all_pages<T: DeserializeOwned>(
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
            if !more_pages(operation, page, answer.total_pages, received, MAX_PAGE_SIZE as usize)? {
                return Ok(items);
            }
            page += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_stops_on_the_last_or_a_short_page_and_refuses_endless_lists() {
        assert!(more_pages("x", 1, 3, 500, 500).unwrap());
        assert!(!more_pages("x", 3, 3, 500, 500).unwrap(), "last page");
        assert!(!more_pages("x", 1, 3, 499, 500).unwrap(), "short page");
        assert!(!more_pages("x", 1, u64::MAX, 0, 0).unwrap(), "an empty page ends even a zero page size");
        assert!(!more_pages("x", MAX_PAGES, MAX_PAGES, 500, 500).unwrap(), "exactly the cap is fine");
        let endless = more_pages("x", MAX_PAGES, u64::MAX, 500, 500).unwrap_err();
        assert_eq!(endless.reason(), "InvalidResponse");
    }
}
