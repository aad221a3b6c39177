//! Microtenant operations (`/mgmtconfig/v1/admin/customers/{cid}/microtenants`).

use reqwest::Method;

use super::cbi::to_json;
use super::client::{Call, ZpaClient};
use super::error::ZpaError;
use super::pages::{more_pages, name_search, same_name};
use crate::wire::mgmt::{AuthDomains, Me, Microtenant, MicrotenantSummary, MicrotenantUpdate, PageBy, SearchRequest};
use crate::wire::{MAX_PAGE_SIZE, Page, paths};

impl ZpaClient {
    /// Every Microtenant (the Default one, id "0", included), optionally filtered
    /// by a ZPA search expression.
    pub async fn list_microtenants(&self, search: Option<&str>) -> Result<Vec<Microtenant>, ZpaError> {
        let query: Vec<(&'static str, String)> = search.map(|s| ("search", s.to_owned())).into_iter().collect();
        self.all_pages("microtenants.list", paths::microtenants(self.customer_id()), &query).await
    }

    /// `POST .../microtenants/search`, walking every page of the answer.
    pub async fn search_microtenants(&self, request: &SearchRequest) -> Result<Vec<Microtenant>, ZpaError> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let mut body = request.clone();
            body.page_by = Some(PageBy { page: Some(page), page_size: Some(u64::from(MAX_PAGE_SIZE)) });
            let call = Call::new("microtenants.search", Method::POST, paths::microtenants_search(self.customer_id()))
                .json(to_json(&body)?);
            let answer: Page<Microtenant> = self.json(call).await?;
            let received = answer.list.len();
            items.extend(answer.list);
            if !more_pages("microtenants.search", page, answer.total_pages, received, 1)? {
                return Ok(items);
            }
            page += 1;
        }
    }

    pub async fn get_microtenant(&self, id: &str) -> Result<Microtenant, ZpaError> {
        let path = paths::microtenant(self.customer_id(), id);
        self.json(Call::new("microtenants.get", Method::GET, path)).await
    }

    /// Creates a Microtenant. The answer may carry the generated admin `user`
    /// with its password: the only time ZPA ever shows it.
    ///
    /// Refused for a domain another Microtenant holds, the create is tried a
    /// few more times before it is `Invalid`: the holder may be a Microtenant
    /// deleted a moment ago whose domain the tenant has not released yet.
    pub async fn create_microtenant(&self, microtenant: &Microtenant) -> Result<Microtenant, ZpaError> {
        let path = paths::microtenants(self.customer_id());
        let call = Call::new("microtenants.create", Method::POST, path).domain_may_be_held();
        self.json(call.json(to_json(microtenant)?)).await
    }

    /// Updates a Microtenant. `microtenant` is what it should be (the last read
    /// with the desired fields over it); only the fields the API takes are
    /// sent, as the Terraform provider does: see [`MicrotenantUpdate`].
    pub async fn update_microtenant(&self, id: &str, microtenant: &Microtenant) -> Result<(), ZpaError> {
        let path = paths::microtenant(self.customer_id(), id);
        let body = to_json(&MicrotenantUpdate::new(id, microtenant))?;
        self.unit(Call::new("microtenants.update", Method::PUT, path).json(body)).await
    }

    pub async fn delete_microtenant(&self, id: &str) -> Result<(), ZpaError> {
        let path = paths::microtenant(self.customer_id(), id);
        self.unit(Call::new("microtenants.delete", Method::DELETE, path)).await
    }

    pub async fn microtenant_summary(&self) -> Result<Vec<MicrotenantSummary>, ZpaError> {
        let path = paths::microtenants_summary(self.customer_id());
        self.json(Call::new("microtenants.summary", Method::GET, path)).await
    }

    /// Microtenants named exactly `name`, ignoring case: a server-side search
    /// narrows the list, the exact match is made here.
    pub async fn find_microtenants_by_name(&self, name: &str) -> Result<Vec<Microtenant>, ZpaError> {
        let mut found = self.list_microtenants(name_search(name).as_deref()).await?;
        found.retain(|m| same_name(&m.name, name));
        Ok(found)
    }

    /// The session behind the credentials.
    pub async fn me(&self) -> Result<Me, ZpaError> {
        self.json(Call::new("me.get", Method::GET, paths::ME.to_owned())).await
    }

    /// The tenant's authentication domains (valid `criteriaAttributeValues`).
    pub async fn auth_domains(&self) -> Result<Vec<String>, ZpaError> {
        let path = paths::auth_domains(self.customer_id());
        let answer: AuthDomains = self.json(Call::new("authdomains.get", Method::GET, path)).await?;
        Ok(answer.auth_domains)
    }
}
