//! The house's import graph: every file of `src/` and of each crate is a node, every `use` of a
//! name another file of the same crate defines is an edge, and no edges may form a loop.
//!
//! Code under `#[cfg(test)]` is left out: it is the tests' graph, not the house's.
//!
//! A name is followed through re-exports (`pub use`, globs) to the file that defines it, so a
//! `mod.rs` that re-exports a name does not hide the edge to the file behind it. A re-export is
//! an edge of its own too: the file that re-exports depends on the file it re-exports from.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::visit::Visit;
use syn::{Item, UseTree};

/// One module: the file it lives in, what it defines, its child modules and its `use` lines.
#[derive(Default)]
struct Module {
    file: PathBuf,
    defines: BTreeSet<String>,
    children: BTreeMap<String, usize>,
    parent: Option<usize>,
    /// Each `use` leaf: the whole path as written (ending in `*` for a glob), and the name it
    /// brings into this module (its rename, if any; `*` for a glob).
    uses: Vec<(Vec<String>, String)>,
}

/// The module tree of one crate, read from its root file.
struct CrateTree {
    root: PathBuf,
    modules: Vec<Module>,
}

impl CrateTree {
    fn read(root_file: &Path) -> Result<CrateTree, String> {
        let mut tree = CrateTree { root: root_file.to_path_buf(), modules: Vec::new() };
        let dir = root_file.parent().ok_or("a crate root has a folder")?.to_path_buf();
        tree.read_file(root_file, &dir, None)?;
        Ok(tree)
    }

    /// Reads one file into a new module; `dir` is where its `mod x;` children live.
    fn read_file(&mut self, file: &Path, dir: &Path, parent: Option<usize>) -> Result<usize, String> {
        let text = fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let id = self.modules.len();
        self.modules.push(Module { file: file.to_path_buf(), parent, ..Module::default() });
        self.read_items(id, &parsed.items, dir)?;
        Ok(id)
    }

    fn read_items(&mut self, id: usize, items: &[Item], dir: &Path) -> Result<(), String> {
        for item in items.iter().filter(|item| !is_test_only(item)) {
            match item {
                Item::Mod(m) => {
                    let name = m.ident.to_string();
                    let child = match &m.content {
                        // An inline module is part of this file.
                        Some((_, inner)) => {
                            let child = self.modules.len();
                            let file = self.modules[id].file.clone();
                            self.modules.push(Module { file, parent: Some(id), ..Module::default() });
                            self.read_items(child, inner, &dir.join(&name))?;
                            child
                        }
                        None => {
                            let flat = dir.join(format!("{name}.rs"));
                            let nested = dir.join(&name).join("mod.rs");
                            let file = if flat.exists() { flat } else { nested };
                            self.read_file(&file, &dir.join(&name), Some(id))?
                        }
                    };
                    self.modules[id].children.insert(name, child);
                }
                Item::Use(u) => {
                    let mut leaves = Vec::new();
                    use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                    self.modules[id].uses.extend(leaves);
                }
                other => {
                    if let Some(name) = defined_name(other) {
                        self.modules[id].defines.insert(name);
                    }
                    // A path written out in code (`super::cbi::to_json(..)`) is an import too.
                    let mut paths = CodePaths(Vec::new());
                    paths.visit_item(other);
                    self.modules[id].uses.extend(paths.0.into_iter().map(|path| (path, String::new())));
                }
            }
        }
        Ok(())
    }

    /// The files that define what `path` names, seen from module `from`; empty when the
    /// path leaves the crate (another crate, `std`).
    fn resolve(&self, from: usize, path: &[String], depth: usize) -> BTreeSet<PathBuf> {
        let mut found = BTreeSet::new();
        if depth > 16 || path.is_empty() {
            return found;
        }
        let (start, rest) = match path[0].as_str() {
            "crate" => (0, &path[1..]),
            "self" => (from, &path[1..]),
            "super" => {
                let mut at = from;
                let mut rest = path;
                while rest.first().map(String::as_str) == Some("super") {
                    at = self.modules[at].parent.unwrap_or(0);
                    rest = &rest[1..];
                }
                (at, rest)
            }
            // A path of uniform form: a child module or an imported name of this module.
            _ => (from, path),
        };
        self.walk(start, rest, depth, &mut found);
        found
    }

    fn walk(&self, at: usize, path: &[String], depth: usize, found: &mut BTreeSet<PathBuf>) {
        let module = &self.modules[at];
        let Some(first) = path.first() else {
            found.insert(module.file.clone());
            return;
        };
        if first == "*" {
            found.insert(module.file.clone());
            return;
        }
        if let Some(&child) = module.children.get(first) {
            return self.walk(child, &path[1..], depth, found);
        }
        if module.defines.contains(first) {
            found.insert(module.file.clone());
            return;
        }
        // Brought in by a `use` of this module: follow it to where it is defined.
        for (full, visible) in &module.uses {
            if visible == first {
                let mut through = full.clone();
                through.extend(path[1..].iter().cloned());
                found.extend(self.resolve(at, &through, depth + 1));
            }
        }
        if !found.is_empty() {
            return;
        }
        for (full, visible) in &module.uses {
            if visible == "*" {
                let mut through = full[..full.len() - 1].to_vec();
                through.extend(path.iter().cloned());
                found.extend(self.resolve(at, &through, depth + 1));
            }
        }
    }

    /// Every file-to-file edge of this crate, with the names each carries.
    fn edges(&self) -> BTreeMap<(PathBuf, PathBuf), BTreeSet<String>> {
        let mut edges: BTreeMap<(PathBuf, PathBuf), BTreeSet<String>> = BTreeMap::new();
        for (id, module) in self.modules.iter().enumerate() {
            for (full, _) in &module.uses {
                let name = full.last().cloned().unwrap_or_default();
                for file in self.resolve(id, full, 0) {
                    if file != module.file {
                        edges.entry((module.file.clone(), file)).or_default().insert(name.clone());
                    }
                }
            }
        }
        edges
    }

    fn display(&self, file: &Path) -> String {
        let base = self.root.parent().unwrap_or(Path::new(""));
        file.strip_prefix(base).unwrap_or(file).display().to_string()
    }

    /// Each loop (a strongly connected set of two files or more), described by its edges.
    fn loops(&self) -> Vec<String> {
        let edges = self.edges();
        let mut next: BTreeMap<&PathBuf, BTreeSet<&PathBuf>> = BTreeMap::new();
        for (from, to) in edges.keys() {
            next.entry(from).or_default().insert(to);
        }
        let reaches = |a: &PathBuf, b: &PathBuf| -> bool {
            let mut seen = BTreeSet::new();
            let mut todo = vec![a];
            while let Some(x) = todo.pop() {
                if x == b {
                    return true;
                }
                if seen.insert(x) {
                    todo.extend(next.get(x).into_iter().flatten().copied());
                }
            }
            false
        };
        let files: BTreeSet<&PathBuf> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
        let mut assigned = BTreeSet::new();
        let mut loops = Vec::new();
        for &file in &files {
            if assigned.contains(file) {
                continue;
            }
            let group: BTreeSet<&PathBuf> =
                files.iter().copied().filter(|&other| reaches(file, other) && reaches(other, file)).collect();
            assigned.extend(group.iter().copied());
            if group.len() < 2 {
                continue;
            }
            let inner: Vec<String> = edges
                .iter()
                .filter(|((a, b), _)| group.contains(a) && group.contains(b))
                .map(|((a, b), names)| {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    format!("{} -> {} ({})", self.display(a), self.display(b), names.join(", "))
                })
                .collect();
            loops.push(format!("a loop of {} files: {}", group.len(), inner.join("; ")));
        }
        loops
    }
}

/// The paths into this crate (`crate::`, `super::`, `self::`) written in an item's code.
struct CodePaths(Vec<Vec<String>>);

impl<'ast> Visit<'ast> for CodePaths {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 && matches!(segments[0].as_str(), "crate" | "super" | "self") {
            self.0.push(segments);
        }
        syn::visit::visit_path(self, path);
    }
}

/// The leaves of a `use` tree: (the whole path, the name it brings in). `self` in a group names
/// the module before it: `use super::cached::{self, Cached}` brings in `cached`.
fn use_leaves(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let leaf = |prefix: &[String], name: String, visible: Option<String>| {
        let full = if name == "self" { prefix.to_vec() } else { [prefix, &[name]].concat() };
        let visible = visible.or_else(|| full.last().cloned()).unwrap_or_default();
        (full, visible)
    };
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => out.push(leaf(prefix, n.ident.to_string(), None)),
        UseTree::Rename(r) => out.push(leaf(prefix, r.ident.to_string(), Some(r.rename.to_string()))),
        UseTree::Glob(_) => out.push(([prefix.as_slice(), &["*".to_string()]].concat(), "*".to_string())),
        UseTree::Group(g) => {
            for tree in &g.items {
                use_leaves(tree, prefix, out);
            }
        }
    }
}

/// An item under `#[cfg(test)]`: a test's imports are the test's, not the file's (a store's
/// tests may build their customer with the seed that stands above the store).
fn is_test_only(item: &Item) -> bool {
    let attrs = match item {
        Item::Mod(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Const(i) => &i.attrs,
        _ => return false,
    };
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg") && matches!(&attr.meta, syn::Meta::List(list) if list.tokens.to_string() == "test")
    })
}

fn defined_name(item: &Item) -> Option<String> {
    let ident = match item {
        Item::Const(i) => &i.ident,
        Item::Enum(i) => &i.ident,
        Item::Fn(i) => &i.sig.ident,
        Item::Static(i) => &i.ident,
        Item::Struct(i) => &i.ident,
        Item::Trait(i) => &i.ident,
        Item::TraitAlias(i) => &i.ident,
        Item::Type(i) => &i.ident,
        Item::Union(i) => &i.ident,
        Item::Macro(i) => i.ident.as_ref()?,
        _ => return None,
    };
    Some(ident.to_string())
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The crate roots of the workspace: the operator's library and each crate's.
fn crate_roots() -> Vec<PathBuf> {
    let mut roots = vec![workspace().join("src/lib.rs")];
    let crates = workspace().join("crates");
    let mut names: Vec<PathBuf> = fs::read_dir(&crates)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("src/lib.rs"))
        .filter(|root| root.exists())
        .collect();
    names.sort();
    roots.extend(names);
    roots
}

#[test]
fn no_file_of_any_crate_imports_in_a_loop() {
    let roots = crate_roots();
    assert!(roots.len() >= 4, "the operator and its three crates are read: {roots:?}");
    let mut loops = Vec::new();
    for root in &roots {
        let tree = CrateTree::read(root).unwrap_or_else(|e| panic!("reading {}: {e}", root.display()));
        assert!(tree.modules.len() > 3, "{} has its modules", root.display());
        loops.extend(tree.loops());
    }
    assert!(loops.is_empty(), "files that import each other:\n{}", loops.join("\n"));
}

/// The reader finds a loop hidden behind a `mod.rs` re-export, follows `self`, renames and
/// globs, and sees none in a tree whose files point one way.
#[test]
fn the_reader_finds_a_loop_behind_a_reexport_and_none_in_a_tree_that_points_one_way() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap_or(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    write("lib.rs", "pub mod remote;\npub mod common;\npub use common::*;\n");
    write("common.rs", "pub struct Shared;\n");
    write("remote/mod.rs", "mod kinds;\nmod converge;\npub use kinds::Created;\n");
    write("remote/kinds.rs", "use super::converge::{self as step};\npub struct Created;\n");
    write(
        "remote/converge.rs",
        "use crate::remote::Created as Made;\npub fn run() -> crate::Shared { crate::Shared }\n",
    );
    let tree = CrateTree::read(&dir.path().join("lib.rs")).unwrap_or_else(|e| panic!("{e}"));
    let loops = tree.loops();
    assert_eq!(loops.len(), 1, "{loops:?}");
    assert!(
        loops[0].contains("remote/converge.rs -> remote/kinds.rs (Created)")
            && loops[0].contains("remote/kinds.rs -> remote/converge.rs (converge)"),
        "{loops:?}"
    );
    let edges = tree.edges();
    let shared = edges.keys().any(|(a, b)| a.ends_with("converge.rs") && b.ends_with("common.rs"));
    assert!(shared, "a glob re-export is followed to the defining file: {edges:?}");

    // The same tree with the step's input moved where both sides can use it; a test module's
    // import back is the test's, not the file's.
    write(
        "remote/kinds.rs",
        "pub struct Created;\n#[cfg(test)]\nmod tests {\n    use super::super::converge::run;\n}\n",
    );
    let tree = CrateTree::read(&dir.path().join("lib.rs")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tree.loops(), Vec::<String>::new());
}

/// Each file says first what it is for, so a newcomer reading the tree needs no other map.
#[test]
fn every_source_file_starts_by_saying_what_it_is_for() {
    let mut silent = Vec::new();
    let mut todo = vec![workspace().join("src"), workspace().join("crates"), workspace().join("tests")];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if !text.starts_with("//!") {
                    silent.push(path.strip_prefix(workspace()).unwrap_or(&path).display().to_string());
                }
            }
        }
    }
    silent.sort();
    assert!(silent.is_empty(), "files whose first line is not a `//!` comment saying what they are for: {silent:?}");
}
