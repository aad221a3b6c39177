//! Kubeconfig files pointing clients at the stand-in.
//!
//! Mirrors what `kind`/`k3d` hand out for a local cluster, minus credentials: one cluster
//! (`server: http://127.0.0.1:PORT`, plain HTTP), one user without auth, one context with
//! namespace `default`, selected as `current-context`.

use std::path::Path;

/// The kubeconfig document for a server URL.
pub fn render(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kube-standin
  cluster:
    server: {url}
contexts:
- name: kube-standin
  context:
    cluster: kube-standin
    user: kube-standin
    namespace: default
current-context: kube-standin
preferences: {{}}
users:
- name: kube-standin
  user: {{}}
"
    )
}

/// Writes the kubeconfig, creating parent directories.
pub fn write(path: &Path, url: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, render(url))
}
