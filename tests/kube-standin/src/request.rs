//! Request parsing: URL paths into routes, query parameters, content negotiation.
//!
//! Mirrors the apiserver's `RequestInfoFactory`: `/api/v1/...` and `/apis/{group}/{version}/...`
//! with `namespaces/{ns}/{resource}[/{name}[/{subresource}]]`, cluster-scoped
//! `{resource}[/{name}[/{subresource}]]` (including `namespaces/{name}/status`), plus the
//! discovery, version and OpenAPI endpoints.

use std::collections::HashMap;

/// What a path addresses.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    Version,
    Healthz,
    /// `/api`
    CoreGroup,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    GroupVersion(String, String),
    Resource(ResourcePath),
    OpenApiV2,
    OpenApiV3Root,
    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`
    OpenApiV3(String, String),
    NotFound,
}

/// A resource URL.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn route(path: &str) -> Route {
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Healthz,
        ["api"] => Route::CoreGroup,
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group(group.to_string()),
        ["api", version] => Route::GroupVersion(String::new(), version.to_string()),
        ["apis", group, version] => Route::GroupVersion(group.to_string(), version.to_string()),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", "api", version] => Route::OpenApiV3(String::new(), version.to_string()),
        ["openapi", "v3", "apis", group, version] => Route::OpenApiV3(group.to_string(), version.to_string()),
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut namespace = None;
    let mut parts = rest;
    if parts.first() == Some(&"namespaces")
        && parts.len() > 2
        && !matches!(parts.get(2), Some(&"status") | Some(&"finalize"))
    {
        namespace = Some(parts[1].to_string());
        parts = &parts[2..];
    }
    let (resource, name, subresource) = match parts {
        [r] => (*r, None, None),
        [r, n] => (*r, Some(n.to_string()), None),
        [r, n, sub] => (*r, Some(n.to_string()), Some(sub.to_string())),
        _ => return Route::NotFound,
    };
    Route::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace,
        resource: resource.to_string(),
        name,
        subresource,
    })
}

/// Query parameters (first value wins).
#[derive(Clone, Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map = HashMap::new();
        if let Some(q) = raw {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Self(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Non-empty value.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True"))
    }
}

/// Whether the Accept header asks for a `meta.k8s.io/v1` Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|r| r.contains("as=Table") && r.contains("g=meta.k8s.io"))
}

/// Whether the Accept header asks for aggregated discovery (`apidiscovery.k8s.io/v2`).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|r| {
        r.contains("as=APIGroupDiscoveryList")
            && r.contains("g=apidiscovery.k8s.io")
            && r.split(';').any(|p| p.trim() == "v=v2")
    })
}

/// The media type without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route("/api/v1/namespaces/default/secrets/s1"),
            Route::Resource(ResourcePath {
                group: String::new(),
                version: "v1".into(),
                namespace: Some("default".into()),
                resource: "secrets".into(),
                name: Some("s1".into()),
                subresource: None,
            })
        );
        assert_eq!(
            route("/api/v1/namespaces/ns1/status"),
            Route::Resource(ResourcePath {
                group: String::new(),
                version: "v1".into(),
                namespace: None,
                resource: "namespaces".into(),
                name: Some("ns1".into()),
                subresource: Some("status".into()),
            })
        );
        assert!(
            matches!(route("/apis/g.io/v1/things"), Route::Resource(r) if r.namespace.is_none() && r.name.is_none())
        );
        assert_eq!(route("/apis/g.io"), Route::Group("g.io".into()));
        assert_eq!(route("/openapi/v3/apis/g.io/v1"), Route::OpenApiV3("g.io".into(), "v1".into()));
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
        assert!(wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        ));
        assert!(!wants_aggregated("application/json, */*"));
        assert_eq!(percent_decode("a%3Db"), "a=b");
    }
}
