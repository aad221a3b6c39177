//! The mgmtconfig view of ZPA-side isolation profiles (paged, searchable).

use reqwest::Method;

use super::client::{Call, ZpaClient};
use super::error::ZpaError;
use super::pages::{name_search, same_name};
use crate::wire::mgmt::IsolationProfile;
use crate::wire::{Page, paths};

/// Query of `GET .../isolation/profiles`.
#[derive(Debug, Clone, Default)]
pub struct IsolationProfileQuery {
    pub search: Option<String>,
    pub show_disabled: bool,
}

impl IsolationProfileQuery {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(search) = &self.search {
            params.push(("search", search.clone()));
        }
        if self.show_disabled {
            params.push(("showDisabled", "true".to_owned()));
        }
        params
    }
}

impl ZpaClient {
    /// One page, exactly as asked (`page` is 1-based, `pagesize` at most 500).
    pub async fn isolation_profiles_page(
        &self,
        query: &IsolationProfileQuery,
        page: u32,
        pagesize: u32,
    ) -> Result<Page<IsolationProfile>, ZpaError> {
        let mut call = Call::new("isolationprofiles.list", Method::GET, paths::isolation_profiles(self.customer_id()))
            .query("page", page.to_string())
            .query("pagesize", pagesize.to_string());
        call.query.extend(query.params());
        self.json(call).await
    }

    /// Every page.
    pub async fn list_isolation_profiles(
        &self,
        query: &IsolationProfileQuery,
    ) -> Result<Vec<IsolationProfile>, ZpaError> {
        self.all_pages("isolationprofiles.list", paths::isolation_profiles(self.customer_id()), &query.params()).await
    }

    pub async fn find_isolation_profiles_by_name(&self, name: &str) -> Result<Vec<IsolationProfile>, ZpaError> {
        let query = IsolationProfileQuery { search: name_search(name), show_disabled: true };
        let mut found = self.list_isolation_profiles(&query).await?;
        found.retain(|p| same_name(&p.name, name));
        Ok(found)
    }
}
