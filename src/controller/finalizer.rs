//! The operator's finalizer on a managed object, and the metadata writes
//! that carry it. It goes on with the first write that must precede a remote
//! object (the create-pending marker, or the first adoption), so it costs no
//! write of its own, and comes off after the cleanup. kube's `finalizer`
//! helper adds it in a write of its own before anything else happens.

use kube::api::{Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Map, Value, json};

use super::context::Context;
use super::kind::ControllerKind;
use crate::crd::FINALIZER;
use crate::reconcile::ReconcileError;

/// Whether `object` carries the operator's finalizer.
pub fn is_finalized<R: Resource>(object: &R) -> bool {
    object.meta().finalizers.as_ref().is_some_and(|f| f.iter().any(|name| name == FINALIZER))
}

/// A metadata merge patch to apply to one object as the cache showed it.
///
/// With [`Self::adding_finalizer`], the patch replaces the finalizer list, so
/// it carries the cached `resourceVersion` as a precondition: a list someone
/// changed meanwhile is refused (409) rather than overwritten.
#[derive(Debug, Default)]
pub struct MetadataPatch {
    resource_version: Option<String>,
    finalizers: Option<Vec<String>>,
    annotations: Map<String, Value>,
}

impl MetadataPatch {
    /// Succeeds only against the object at this `resourceVersion`.
    pub fn precondition<R: Resource>(mut self, object: &R) -> Self {
        self.resource_version = object.resource_version();
        self
    }

    /// Adds the operator's finalizer if `object` lacks it (with the precondition).
    pub fn adding_finalizer<R: Resource>(self, object: &R) -> Self {
        if is_finalized(object) {
            return self;
        }
        let mut finalizers = object.meta().finalizers.clone().unwrap_or_default();
        finalizers.push(FINALIZER.to_owned());
        Self { finalizers: Some(finalizers), ..self.precondition(object) }
    }

    /// Sets an annotation; `None` removes it.
    pub fn annotation(mut self, key: &str, value: Option<&str>) -> Self {
        self.annotations.insert(key.to_owned(), value.map_or(Value::Null, |v| Value::String(v.to_owned())));
        self
    }

    /// Whether the patch would change anything.
    pub fn is_empty(&self) -> bool {
        self.finalizers.is_none() && self.annotations.is_empty()
    }

    /// The JSON merge patch.
    pub fn to_json(&self) -> Value {
        let mut metadata = Map::new();
        if let Some(version) = &self.resource_version {
            metadata.insert("resourceVersion".into(), json!(version));
        }
        if let Some(finalizers) = &self.finalizers {
            metadata.insert("finalizers".into(), json!(finalizers));
        }
        if !self.annotations.is_empty() {
            metadata.insert("annotations".into(), Value::Object(self.annotations.clone()));
        }
        json!({ "metadata": metadata })
    }

    /// Sends the patch (nothing when it is empty) and returns the answer.
    pub async fn send<R: ControllerKind>(
        &self,
        object: &R,
        ctx: &Context,
        operation: &'static str,
    ) -> Result<Option<R>, ReconcileError> {
        if self.is_empty() {
            return Ok(None);
        }
        let params = PatchParams { field_manager: Some(ctx.settings.field_manager.clone()), ..PatchParams::default() };
        let patch = self.to_json();
        let answer = ctx
            .api_for(object)
            .patch(&object.name_any(), &params, &Patch::Merge(&patch))
            .await
            .map_err(ReconcileError::kubernetes(operation))?;
        Ok(Some(answer))
    }
}

/// The JSON patch that takes the operator's finalizer off `object`: a test of
/// the entry at its index, then its removal, so that a list changed meanwhile
/// fails the patch instead of losing someone else's finalizer.
pub fn removal(object: &impl Resource) -> Option<Value> {
    let finalizers = object.meta().finalizers.as_ref()?;
    let index = finalizers.iter().position(|name| name == FINALIZER)?;
    let path = format!("/metadata/finalizers/{index}");
    Some(json!([
        {"op": "test", "path": path, "value": FINALIZER},
        {"op": "remove", "path": path},
    ]))
}

/// Takes the finalizer off after the cleanup; the API server then deletes the object.
pub async fn remove<R: ControllerKind>(object: &R, ctx: &Context) -> Result<(), ReconcileError> {
    let Some(patch) = removal(object) else {
        return Ok(());
    };
    let patch: json_patch::Patch = serde_json::from_value(patch).map_err(|error| ReconcileError::Internal {
        message: format!("cannot build the finalizer removal: {error}"),
    })?;
    let params = PatchParams { field_manager: Some(ctx.settings.field_manager.clone()), ..PatchParams::default() };
    match ctx.api_for(object).patch(&object.name_any(), &params, &Patch::<()>::Json(patch)).await {
        Ok(_) => Ok(()),
        // Already gone: the finalizer was the last thing holding it.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => Err(ReconcileError::Kubernetes { operation: "remove finalizer", source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::IsolationProfile;
    use kube::api::ObjectMeta;

    fn profile(finalizers: &[&str]) -> IsolationProfile {
        let mut profile: IsolationProfile =
            serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "team", "resourceVersion": "41"},
                "spec": {"providerConfigRef": {"name": "zpa"}, "regions": ["Frankfurt"]}}))
            .unwrap_or_else(|error| panic!("test profile: {error}"));
        profile.metadata =
            ObjectMeta { finalizers: Some(finalizers.iter().map(|f| (*f).to_owned()).collect()), ..profile.metadata };
        profile
    }

    #[test]
    fn the_marker_and_the_finalizer_go_in_one_patch_held_to_the_cached_version() {
        let object = profile(&["other.example/keep"]);
        let patch = MetadataPatch::default().adding_finalizer(&object).annotation("a/marker", Some("m")).to_json();
        assert_eq!(
            patch,
            json!({"metadata": {
                "resourceVersion": "41",
                "finalizers": ["other.example/keep", FINALIZER],
                "annotations": {"a/marker": "m"},
            }})
        );
    }

    #[test]
    fn a_finalized_object_gets_no_finalizer_list_and_no_precondition_unless_asked() {
        let object = profile(&[FINALIZER]);
        let patch = MetadataPatch::default().adding_finalizer(&object).annotation("a/id", None);
        assert_eq!(patch.to_json(), json!({"metadata": {"annotations": {"a/id": null}}}));
        assert!(MetadataPatch::default().adding_finalizer(&object).is_empty(), "nothing to write");
        let held = MetadataPatch::default().precondition(&object).annotation("a/m", Some("v")).to_json();
        assert_eq!(held, json!({"metadata": {"resourceVersion": "41", "annotations": {"a/m": "v"}}}));
    }

    #[test]
    fn the_finalizer_comes_off_by_its_index_after_a_test() {
        let object = profile(&["other.example/keep", FINALIZER]);
        assert_eq!(
            removal(&object),
            Some(json!([
                {"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
                {"op": "remove", "path": "/metadata/finalizers/1"},
            ]))
        );
        assert_eq!(removal(&profile(&["other.example/keep"])), None, "not ours to remove");
    }
}
