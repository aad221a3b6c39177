//! The test harness's Kubernetes is the real one: kube-apiserver v1.37 on
//! etcd 3.7, RBAC enforced, ServiceAccount tokens from the TokenRequest API,
//! and kube-controller-manager's garbage collector and namespace controller.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use support::controlplane::{
    ControlPlane, KUBERNETES_VERSION, kubectl_with, tool, unique_name, write_token_kubeconfig,
};
use support::eventually;

#[tokio::test]
async fn the_api_server_is_kubernetes_1_37_on_etcd_3_7() {
    let plane = ControlPlane::shared();
    let client = plane.admin_client().await;
    let version = client.apiserver_version().await.expect("/version");
    assert_eq!(version.git_version, KUBERNETES_VERSION);
    let etcd = std::process::Command::new(tool("etcdctl"))
        .args(["--endpoints", &plane.etcd, "endpoint", "status", "--write-out", "json"])
        .output()
        .expect("etcdctl runs");
    let status: serde_json::Value = serde_json::from_slice(&etcd.stdout).expect("etcdctl JSON");
    let etcd_version = status[0]["Status"]["version"].as_str().unwrap_or_default().to_owned();
    assert!(etcd_version.starts_with("3.7."), "etcd version {etcd_version:?}");
    let kubectl = plane.kubectl_ok(&["version", "-o", "json"]);
    let kubectl: serde_json::Value = serde_json::from_str(&kubectl).expect("kubectl version JSON");
    assert_eq!(kubectl["clientVersion"]["gitVersion"], KUBERNETES_VERSION);
    assert_eq!(kubectl["serverVersion"]["gitVersion"], KUBERNETES_VERSION);
}

#[tokio::test]
async fn a_service_account_token_gets_only_what_rbac_grants() {
    let plane = ControlPlane::shared();
    let namespace = unique_name("rbac");
    plane.kubectl_ok(&["create", "namespace", &namespace]);
    plane.kubectl_ok(&["-n", &namespace, "create", "serviceaccount", "reader"]);
    plane.kubectl_ok(&[
        "-n",
        &namespace,
        "create",
        "role",
        "read-configmaps",
        "--verb=get,list",
        "--resource=configmaps",
    ]);
    plane.kubectl_ok(&[
        "-n",
        &namespace,
        "create",
        "rolebinding",
        "reader",
        "--role=read-configmaps",
        &format!("--serviceaccount={namespace}:reader"),
    ]);
    let token = plane.kubectl_ok(&["-n", &namespace, "create", "token", "reader", "--duration=10m"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("reader.kubeconfig");
    write_token_kubeconfig(plane, &kubeconfig, token.trim());

    let allowed = kubectl_with(&kubeconfig, &["-n", &namespace, "get", "configmaps"], None);
    assert!(allowed.status.success(), "{}", String::from_utf8_lossy(&allowed.stderr));
    let secrets = kubectl_with(&kubeconfig, &["-n", &namespace, "get", "secrets"], None);
    assert!(!secrets.status.success(), "a token without a grant listed Secrets");
    let refusal = String::from_utf8_lossy(&secrets.stderr);
    assert!(
        refusal
            .contains(&format!("User \"system:serviceaccount:{namespace}:reader\" cannot list resource \"secrets\"")),
        "{refusal}"
    );
    let can_i = kubectl_with(&kubeconfig, &["auth", "can-i", "create", "configmaps", "-n", &namespace], None);
    assert_eq!(String::from_utf8_lossy(&can_i.stdout).trim(), "no");
}

#[tokio::test]
async fn the_garbage_collector_deletes_what_an_owner_owned() {
    let plane = ControlPlane::shared();
    let client = plane.admin_client().await;
    let namespace = unique_name("gc");
    plane.kubectl_ok(&["create", "namespace", &namespace]);
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace);
    let owner = config_maps
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap())
        .await
        .expect("owner created");
    let uid = owner.metadata.uid.expect("a uid");
    let owned = json!({"metadata": {"name": "owned", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]}});
    config_maps.create(&PostParams::default(), &serde_json::from_value(owned).unwrap()).await.expect("owned created");
    config_maps.delete("owner", &DeleteParams::default()).await.expect("owner deleted");
    eventually("the owned ConfigMap to be collected", Duration::from_secs(60), || async {
        config_maps.get_opt("owned").await.expect("get works").is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_deleted_namespace_finishes_terminating() {
    let plane = ControlPlane::shared();
    let client = plane.admin_client().await;
    let namespace = unique_name("doomed");
    plane.kubectl_ok(&["create", "namespace", &namespace]);
    plane.kubectl_ok(&["-n", &namespace, "create", "configmap", "content", "--from-literal=a=b"]);
    let namespaces: Api<Namespace> = Api::all(client);
    namespaces.delete(&namespace, &DeleteParams::default()).await.expect("namespace deleted");
    eventually("the namespace to be gone", Duration::from_secs(60), || async {
        namespaces.get_opt(&namespace).await.expect("get works").is_none().then_some(())
    })
    .await;
}
