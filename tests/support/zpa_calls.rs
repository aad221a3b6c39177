//! ZPA calls that only tests make: name lookups, the Microtenant search and
//! summary, auth domains and the mgmtconfig isolation profiles. The operator
//! needs none of them, so the client has no typed operation for them; they go
//! through its generic calls (`get_json`, `post_json`, `all_pages`), which
//! share the limiter, sign-in, retries and answer checks of every operation.
//!
//! `use support::zpa_calls::TestCalls;` makes them methods of `ZpaClient`.

use zpa_operator::wire::cbi::CbiProfile;
use zpa_operator::wire::mgmt::{
    AuthDomains, MgmtIsolationProfile, MgmtMicrotenant, MicrotenantSummary, PageBy, SearchRequest,
};
use zpa_operator::wire::{MAX_PAGE_SIZE, Page, paths};
use zpa_operator::zpa::{Scope, ZpaClient, ZpaError, more_pages};

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

/// The ZPA search expression for an exact name, or `None` when the name has
/// characters the search cannot carry (the SDKs strip everything but
/// `[A-Za-z0-9 _/-.]`): then the list is filtered locally.
pub fn name_search(name: &str) -> Option<String> {
    let searchable = !name.trim().is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '/' | '-' | '.'));
    searchable.then(|| format!("name+EQ+{name}"))
}

/// ZPA name lookups are exact but case-insensitive.
pub fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[allow(async_fn_in_trait)]
pub trait TestCalls {
    /// Profiles in `scope` whose name matches exactly, ignoring case.
    async fn find_profiles_by_name(&self, name: &str, scope: &Scope) -> Result<Vec<CbiProfile>, ZpaError>;
    /// Microtenants named exactly `name`, ignoring case: a server-side search
    /// narrows the list, the exact match is made here.
    async fn find_microtenants_by_name(&self, name: &str) -> Result<Vec<MgmtMicrotenant>, ZpaError>;
    /// `POST .../microtenants/search`, walking every page of the answer.
    async fn search_microtenants(&self, request: &SearchRequest) -> Result<Vec<MgmtMicrotenant>, ZpaError>;
    async fn microtenant_summary(&self) -> Result<Vec<MicrotenantSummary>, ZpaError>;
    /// The tenant's authentication domains (valid `criteriaAttributeValues`).
    async fn auth_domains(&self) -> Result<Vec<String>, ZpaError>;
    /// One page of the mgmtconfig isolation profiles, exactly as asked.
    async fn isolation_profiles_page(
        &self,
        query: &IsolationProfileQuery,
        page: u32,
        pagesize: u32,
    ) -> Result<Page<MgmtIsolationProfile>, ZpaError>;
    /// Every page.
    async fn list_isolation_profiles(
        &self,
        query: &IsolationProfileQuery,
    ) -> Result<Vec<MgmtIsolationProfile>, ZpaError>;
    async fn find_isolation_profiles_by_name(&self, name: &str) -> Result<Vec<MgmtIsolationProfile>, ZpaError>;
}

impl TestCalls for ZpaClient {
    async fn find_profiles_by_name(&self, name: &str, scope: &Scope) -> Result<Vec<CbiProfile>, ZpaError> {
        let mut all = self.list_profiles(scope).await?;
        all.retain(|p| same_name(&p.name, name));
        Ok(all)
    }

    async fn find_microtenants_by_name(&self, name: &str) -> Result<Vec<MgmtMicrotenant>, ZpaError> {
        let mut found = self.list_microtenants(name_search(name).as_deref()).await?;
        found.retain(|m| same_name(&m.name, name));
        Ok(found)
    }

    async fn search_microtenants(&self, request: &SearchRequest) -> Result<Vec<MgmtMicrotenant>, ZpaError> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let mut body = request.clone();
            body.page_by = Some(PageBy { page: Some(page), page_size: Some(u64::from(MAX_PAGE_SIZE)) });
            let path = paths::microtenants_search(self.customer_id());
            let answer: Page<MgmtMicrotenant> = self.post_json("microtenants.search", path, &body).await?;
            let received = answer.list.len();
            items.extend(answer.list);
            if !more_pages("microtenants.search", page, answer.total_pages, received, 1)? {
                return Ok(items);
            }
            page += 1;
        }
    }

    async fn microtenant_summary(&self) -> Result<Vec<MicrotenantSummary>, ZpaError> {
        self.get_json("microtenants.summary", paths::microtenants_summary(self.customer_id()), &[]).await
    }

    async fn auth_domains(&self) -> Result<Vec<String>, ZpaError> {
        let answer: AuthDomains =
            self.get_json("authdomains.get", paths::auth_domains(self.customer_id()), &[]).await?;
        Ok(answer.auth_domains)
    }

    async fn isolation_profiles_page(
        &self,
        query: &IsolationProfileQuery,
        page: u32,
        pagesize: u32,
    ) -> Result<Page<MgmtIsolationProfile>, ZpaError> {
        let mut params = vec![("page", page.to_string()), ("pagesize", pagesize.to_string())];
        params.extend(query.params());
        self.get_json("isolationprofiles.list", paths::isolation_profiles(self.customer_id()), &params).await
    }

    async fn list_isolation_profiles(
        &self,
        query: &IsolationProfileQuery,
    ) -> Result<Vec<MgmtIsolationProfile>, ZpaError> {
        self.all_pages("isolationprofiles.list", paths::isolation_profiles(self.customer_id()), &query.params()).await
    }

    async fn find_isolation_profiles_by_name(&self, name: &str) -> Result<Vec<MgmtIsolationProfile>, ZpaError> {
        let query = IsolationProfileQuery { search: name_search(name), show_disabled: true };
        let mut found = self.list_isolation_profiles(&query).await?;
        found.retain(|p| same_name(&p.name, name));
        Ok(found)
    }
}
