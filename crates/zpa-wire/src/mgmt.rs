//! mgmtconfig objects: Microtenants, the session (`/me`) and the ZPA-side
//! isolation profile list.

use serde::{Deserialize, Serialize};

use super::{Extra, lenient};
use crate::secret::SecretString;

/// A Microtenant as the mgmtconfig API speaks it
/// (`/mgmtconfig/v1/admin/customers/{cid}/microtenants`); the custom
/// resource of the same name is the operator's `crd::Microtenant`.
/// The Default Microtenant has id `"0"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MgmtMicrotenant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Only `"AuthDomain"` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria_attribute: Option<String>,
    /// Omitted from responses when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria_attribute_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged_approvals_enabled: Option<bool>,
    /// Always `"OR"` in every sample; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub scope_order: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<String>,
    /// The generated admin: present in the create response only, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<MicrotenantUser>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `PUT .../microtenants/{id}`: exactly the fields the API takes,
/// as the Terraform provider sends them (`expandMicrotenant`: id, name,
/// description, enabled, criteriaAttribute, criteriaAttributeValues,
/// privilegedApprovalsEnabled); a recorded PUT with fewer fields got 204
/// (facts §9). Never the read-only `operator`, `scopeOrder`, timestamps,
/// `modifiedBy`, `roles` or the one-time `user`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MicrotenantUpdate {
    pub id: String,
    pub name: String,
    /// Left out when there is none, as the Go SDK does (`omitempty`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    pub criteria_attribute: String,
    /// Always sent, `[]` included, so removing the last domain is a change.
    pub criteria_attribute_values: Vec<String>,
    pub privileged_approvals_enabled: bool,
}

impl MicrotenantUpdate {
    /// The update of Microtenant `id` to `wanted`. Unset flags are `false`
    /// (the API omits false flags from its answers); the criteria attribute
    /// is `AuthDomain`, the only one there is.
    pub fn new(id: &str, wanted: &MgmtMicrotenant) -> Self {
        Self {
            id: id.to_owned(),
            name: wanted.name.clone(),
            description: wanted.description.clone(),
            enabled: wanted.enabled.unwrap_or(false),
            criteria_attribute: wanted.criteria_attribute.clone().unwrap_or_else(|| AUTH_DOMAIN.to_owned()),
            criteria_attribute_values: wanted.criteria_attribute_values.clone().unwrap_or_default(),
            privileged_approvals_enabled: wanted.privileged_approvals_enabled.unwrap_or(false),
        }
    }
}

/// The only Microtenant criteria attribute there is.
pub const AUTH_DOMAIN: &str = "AuthDomain";

/// The Microtenant admin generated on create. Its password is shown exactly once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MicrotenantUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_pwd_change: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_login_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_session: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microtenant_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET .../microtenants/summary`: a bare array of these.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MicrotenantSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `POST .../microtenants/search` body. The documented shape has `filterBy`
/// as a list; the Go SDK sends `filterBy: {filterGroups: [...]}`. Both parse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_by: Option<FilterBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_by: Option<PageBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<SortBy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterBy {
    List(Vec<Filter>),
    Groups(FilterGroups),
}

impl FilterBy {
    /// Every filter, whatever the shape.
    pub fn filters(&self) -> Vec<&Filter> {
        match self {
            FilterBy::List(filters) => filters.iter().collect(),
            FilterBy::Groups(groups) => groups.filter_groups.iter().flat_map(|g| g.filters.iter()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterGroups {
    #[serde(default)]
    pub filter_groups: Vec<FilterGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterGroup {
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// `{filterName, operator (EQ, LIKE, NQ), values[] | value}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub filter_name: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Filter {
    pub fn all_values(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.values.iter().flatten().map(String::as_str).collect();
        out.extend(self.value.as_deref());
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBy {
    #[serde(with = "lenient::opt_u64_as_string", default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(with = "lenient::opt_u64_as_string", default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SortBy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
}

/// `GET /mgmtconfig/v1/admin/me`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microtenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microtenant_name: Option<String>,
}

/// `GET /mgmtconfig/v1/admin/customers/{cid}/isolation/profiles` items: the
/// ZPA-side isolation profile (not the CBI profile the operator's
/// `IsolationProfile` manages, which is [`crate::cbi::CbiProfile`]). `isolationProfileId` is the CBI profile UUID.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MgmtIsolationProfile {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microtenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microtenant_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_response_password_is_redacted_in_debug() {
        let body = r##"{"id":"73186051597800513","name":"Example Microtenant","enabled":false,
            "criteriaAttribute":"AuthDomain","criteriaAttributeValues":["dummytest.com"],
            "user":{"id":"1","username":"mtAdmin_1@dummytest.com","password":"#<6I!7WE","roleId":"12"}}"##;
        let mt: MgmtMicrotenant = serde_json::from_str(body).unwrap();
        let user = mt.user.as_ref().unwrap();
        assert_eq!(user.password.as_ref().unwrap().expose(), "#<6I!7WE");
        assert!(!format!("{mt:?}").contains("#<6I!7WE"));
    }

    #[test]
    fn an_update_carries_exactly_the_writable_fields() {
        let read: MgmtMicrotenant = serde_json::from_value(serde_json::json!({"id": "7", "name": "a",
            "description": "d", "enabled": true, "operator": "OR", "criteriaAttribute": "AuthDomain",
            "criteriaAttributeValues": ["a.example.com"], "scopeOrder": "2", "creationTime": "1",
            "modifiedTime": "2", "modifiedBy": "3", "priority": "0", "roles": [], "futureField": 1}))
        .unwrap();
        let body = serde_json::to_value(MicrotenantUpdate::new("7", &read)).unwrap();
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "criteriaAttribute",
                "criteriaAttributeValues",
                "description",
                "enabled",
                "id",
                "name",
                "privilegedApprovalsEnabled"
            ]
        );
        let bare = serde_json::to_value(MicrotenantUpdate::new("8", &MgmtMicrotenant::default())).unwrap();
        assert_eq!(
            bare,
            serde_json::json!({"id": "8", "name": "", "enabled": false, "criteriaAttribute": "AuthDomain",
                "criteriaAttributeValues": [], "privilegedApprovalsEnabled": false})
        );
    }

    #[test]
    fn both_search_shapes_parse() {
        let docs: SearchRequest = serde_json::from_str(
            r#"{"pageBy":{"page":1,"pageSize":20},"filterBy":[{"filterName":"name","operator":"LIKE","values":["Test"]}]}"#,
        )
        .unwrap();
        let go: SearchRequest = serde_json::from_str(
            r#"{"filterBy":{"filterGroups":[{"filters":[{"filterName":"name","operator":"EQ","value":"X"}],"operator":"AND"}],"operator":"AND"},"pageBy":{"page":"1","pageSize":"500"}}"#,
        )
        .unwrap();
        assert_eq!(docs.filter_by.unwrap().filters()[0].all_values(), vec!["Test"]);
        assert_eq!(go.filter_by.unwrap().filters()[0].all_values(), vec!["X"]);
        assert_eq!(go.page_by.unwrap().page_size, Some(500));
    }
}

/// `GET .../authDomains`: `{"authDomains": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthDomains {
    #[serde(default)]
    pub auth_domains: Vec<String>,
}
