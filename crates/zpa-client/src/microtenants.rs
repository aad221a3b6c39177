//! Microtenant operations (`/mgmtconfig/v1/admin/customers/{cid}/microtenants`).

use reqwest::Method;

use super::body::to_json;
use super::client::{Call, ZpaClient};
use super::error::ZpaError;
use zpa_wire::mgmt::{Me, MgmtMicrotenant, MicrotenantUpdate};
use zpa_wire::paths;

impl ZpaClient {
    /// Every Microtenant (the Default one, id "0", included), optionally filtered
    /// by a ZPA search expression.
    pub async fn list_microtenants(&self, search: Option<&str>) -> Result<Vec<MgmtMicrotenant>, ZpaError> {
        let query: Vec<(&'static str, String)> = search.map(|s| ("search", s.to_owned())).into_iter().collect();
        self.all_pages("microtenants.list", paths::microtenants(self.customer_id()), &query).await
    }

    pub async fn get_microtenant(&self, id: &str) -> Result<MgmtMicrotenant, ZpaError> {
        let path = paths::microtenant(self.customer_id(), id);
        self.json(Call::new("microtenants.get", Method::GET, path)).await
    }

    /// Creates a Microtenant. The answer may carry the generated admin `user`
    /// with its password: the only time ZPA ever shows it.
    ///
    /// Refused for a domain another Microtenant holds, the create is tried a
    /// few more times before it is `Invalid`: the holder may be a Microtenant
    /// deleted a moment ago whose domain the tenant has not released yet.
    pub async fn create_microtenant(&self, microtenant: &MgmtMicrotenant) -> Result<MgmtMicrotenant, ZpaError> {
        let path = paths::microtenants(self.customer_id());
        let call = Call::new("microtenants.create", Method::POST, path).domain_may_be_held();
        self.json(call.json(to_json(microtenant)?)).await
    }

    /// Updates a Microtenant. `microtenant` is what it should be (the last read
    /// with the desired fields over it); only the fields the API takes are
    /// sent, as the Terraform provider does: see [`MicrotenantUpdate`].
    pub async fn update_microtenant(&self, id: &str, microtenant: &MgmtMicrotenant) -> Result<(), ZpaError> {
        let path = paths::microtenant(self.customer_id(), id);
        let body = to_json(&MicrotenantUpdate::new(id, microtenant))?;
        self.unit(Call::new("microtenants.update", Method::PUT, path).json(body)).await
    }

    pub async fn delete_microtenant(&self, id: &str) -> Result<(), ZpaError> {
        let path = paths::microtenant(self.customer_id(), id);
        self.unit(Call::new("microtenants.delete", Method::DELETE, path)).await
    }

    /// The session behind the credentials.
    pub async fn me(&self) -> Result<Me, ZpaError> {
        self.json(Call::new("me.get", Method::GET, paths::ME.to_owned())).await
    }
}
