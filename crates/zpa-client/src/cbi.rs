//! Cloud Browser Isolation operations: profiles (scoped to a Microtenant, see
//! [`Scope`]), and the regions, certificates, banners and ZPA-side profiles
//! that profiles refer to. CBI lists are bare arrays without paging or search;
//! the one name search here is mgmtconfig's list of the ZPA-side profiles.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::body::{encode_error, to_json};
use super::client::{Call, ZpaClient};
use super::error::ZpaError;
use super::scope::Scope;
use zpa_wire::cbi::{CbiBanner, CbiCertificate, CbiProfile, CbiRegion, ZpaProfile, ZpaProfileLink};
use zpa_wire::mgmt::MgmtIsolationProfile;
use zpa_wire::paths;

impl ZpaClient {
    fn cbi_call(&self, operation: &'static str, method: Method, path: String, scope: &Scope) -> Call {
        let (key, value) = scope.query_param();
        Call::new(operation, method, path).cbi().query(key, value)
    }

    /// A CBI list. Any 404 here means CBI is not licensed or mapped for the
    /// tenant, never that something was deleted (the "not mapped" answers are
    /// `CbiNotAvailable` on every CBI call already).
    async fn cbi_list<T: DeserializeOwned + Send + 'static>(&self, call: Call) -> Result<Vec<T>, ZpaError> {
        self.json_streamed(call).await.map_err(|error| match error {
            ZpaError::NotFound { what } => ZpaError::CbiNotAvailable { reason: what },
            other => other,
        })
    }

    pub async fn list_profiles(&self, scope: &Scope) -> Result<Vec<CbiProfile>, ZpaError> {
        self.list_profiles_as(scope).await
    }

    /// The same list, each profile decoded as `T`: for caches that hold
    /// thousands of them (CBI lists are not paged) in a compact form, so
    /// thousands of parsed profiles are never held at once.
    pub async fn list_profiles_as<T: DeserializeOwned + Send + 'static>(
        &self,
        scope: &Scope,
    ) -> Result<Vec<T>, ZpaError> {
        let path = paths::cbi_profiles(self.customer_id());
        self.cbi_list(self.cbi_call("profiles.list", Method::GET, path, scope)).await
    }

    pub async fn get_profile(&self, id: &str, scope: &Scope) -> Result<CbiProfile, ZpaError> {
        let path = paths::cbi_profile(self.customer_id(), id);
        self.json(self.cbi_call("profiles.get", Method::GET, path, scope)).await
    }

    /// Creates a profile and returns its id. The API answers with `{"id"}` (or
    /// the whole object); either way only the id is read.
    pub async fn create_profile(&self, profile: &CbiProfile, scope: &Scope) -> Result<String, ZpaError> {
        let path = paths::cbi_profiles(self.customer_id());
        let call = self.cbi_call("profiles.create", Method::POST, path, scope).json(to_json(profile)?);
        let answer: serde_json::Value = self.json(call).await?;
        // Accepted but without an id: the profile exists and we cannot name it,
        // so the caller must look before it creates again.
        answer.get("id").and_then(|id| id.as_str()).filter(|id| !id.is_empty()).map(str::to_owned).ok_or_else(|| {
            tracing::warn!("profiles.create: ZPA accepted the create but its answer carried no id");
            ZpaError::Indeterminate { operation: "profiles.create", method: "POST" }
        })
    }

    /// Replaces a profile. `profile` should be the last read with the desired
    /// fields applied, so fields this operator does not manage survive. The
    /// body is the SDKs' update shape (both reference forms, no server-only
    /// fields): see [`CbiProfile::update_body`].
    pub async fn update_profile(&self, id: &str, profile: &CbiProfile, scope: &Scope) -> Result<(), ZpaError> {
        let path = paths::cbi_profile(self.customer_id(), id);
        let body = profile.update_body(id).map_err(|e| encode_error(&e))?;
        self.unit(self.cbi_call("profiles.update", Method::PUT, path, scope).json(body)).await
    }

    pub async fn delete_profile(&self, id: &str, scope: &Scope) -> Result<(), ZpaError> {
        let path = paths::cbi_profile(self.customer_id(), id);
        self.unit(self.cbi_call("profiles.delete", Method::DELETE, path, scope)).await
    }

    pub async fn list_regions(&self) -> Result<Vec<CbiRegion>, ZpaError> {
        let path = paths::cbi_regions(self.customer_id());
        self.cbi_list(Call::new("regions.list", Method::GET, path).cbi()).await
    }

    pub async fn list_certificates(&self) -> Result<Vec<CbiCertificate>, ZpaError> {
        let path = paths::cbi_certificates(self.customer_id());
        self.cbi_list(Call::new("certificates.list", Method::GET, path).cbi()).await
    }

    pub async fn list_banners(&self) -> Result<Vec<CbiBanner>, ZpaError> {
        let path = paths::cbi_banners(self.customer_id());
        self.cbi_list(Call::new("banners.list", Method::GET, path).cbi()).await
    }

    /// The ZPA-side isolation profiles (numeric ids policy rules refer to) of
    /// every scope: no `scopeId` is sent.
    pub async fn list_zpa_profiles(&self, show_disabled: bool) -> Result<Vec<ZpaProfile>, ZpaError> {
        self.list_zpa_profiles_as(show_disabled, None).await
    }

    /// The same list, only the link from each ZPA-side id to its CBI profile.
    pub async fn list_zpa_profile_links(&self, show_disabled: bool) -> Result<Vec<ZpaProfileLink>, ZpaError> {
        self.list_zpa_profiles_as(show_disabled, None).await
    }

    /// The ZPA-side profiles of one scope (`scopeId`, documented on
    /// `/zpaprofiles` by the seed), the Default one mapped as every CBI call's.
    pub async fn list_zpa_profiles_in(&self, show_disabled: bool, scope: &Scope) -> Result<Vec<ZpaProfile>, ZpaError> {
        self.list_zpa_profiles_as(show_disabled, Some(scope)).await
    }

    /// The links of one scope's ZPA-side profiles.
    pub async fn list_zpa_profile_links_in(
        &self,
        show_disabled: bool,
        scope: &Scope,
    ) -> Result<Vec<ZpaProfileLink>, ZpaError> {
        self.list_zpa_profiles_as(show_disabled, Some(scope)).await
    }

    /// `scope` `None`: no scope parameter (every scope); `Some(scope)`: that
    /// scope as [`Scope::query_param`] puts it on the wire.
    async fn list_zpa_profiles_as<T: DeserializeOwned + Send + 'static>(
        &self,
        show_disabled: bool,
        scope: Option<&Scope>,
    ) -> Result<Vec<T>, ZpaError> {
        let path = paths::cbi_zpa_profiles(self.customer_id());
        let mut call = Call::new("zpaprofiles.list", Method::GET, path)
            .cbi()
            .query_opt("showDisabled", show_disabled.then_some("true"));
        if let Some((key, value)) = scope.map(Scope::query_param) {
            call = call.query(key, value);
        }
        self.cbi_list(call).await
    }

    /// The ZPA-side profiles of one scope called `name`, found by one search
    /// (`isolation/profiles?search=name+EQ+<name>&microtenantId=`, the mgmtconfig
    /// list, which pages and searches where CBI's lists do not: the research
    /// notes' "after creation", and the Go SDK's `GetByName`). Disabled ones
    /// included, as the index lists them.
    pub async fn find_zpa_profiles_named(
        &self,
        name: &str,
        scope: &Scope,
    ) -> Result<Vec<MgmtIsolationProfile>, ZpaError> {
        let query = [
            ("search", format!("name+EQ+{name}")),
            ("showDisabled", "true".to_owned()),
            ("microtenantId", scope.key().to_owned()),
        ];
        self.all_pages("isolationprofiles.search", paths::isolation_profiles(self.customer_id()), &query).await
    }
}
