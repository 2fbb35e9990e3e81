//! Reading files: walking directories, following `Location` entities, limits and encoding.
//!
//! An import reads only what it was pointed at. `Location` targets must stay inside the tree
//! being imported (the directories given, or the directory of each file given) so a catalog
//! file cannot make the server read `/etc/passwd`; URL targets are refused because an import
//! never touches the network; every file is identified by its canonical path so a file reached
//! twice (given twice, or through a directory and a Location) is read once.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::collect::Collector;
use super::{ImportSet, KnownIds, Limits, LocationSpec};
use crate::model::{Position, Problem};

/// The message for a file or body over the size limit `max`.
pub(crate) fn too_large(len: u64, max: u64) -> String {
    format!(
        "file too large: {len} bytes, limit {max}; split the file, or raise the limit with \
         --import-max-file-size (BEARING_IMPORT_MAX_FILE_SIZE)"
    )
}

/// One `Location` target edge, kept to find cycles once everything is read.
struct Edge {
    from: PathBuf,
    to: PathBuf,
    at: Position,
}

struct Importer {
    collector: Collector,
    /// The canonical current directory, to show readable relative names.
    cwd: Option<PathBuf>,
    /// Canonical directories a target may point into.
    roots: Vec<PathBuf>,
    edges: Vec<Edge>,
}

/// See [`super::import_paths`].
pub(crate) fn import_paths(paths: &[PathBuf], known: &KnownIds, limits: &Limits) -> Result<ImportSet, Vec<Problem>> {
    let cwd = std::env::current_dir().and_then(fs::canonicalize).ok();
    let mut imp = Importer {
        collector: Collector::new(limits),
        cwd,
        roots: Vec::new(),
        edges: Vec::new(),
    };
    let mut queue = VecDeque::new();
    for path in paths {
        let shown = Position {
            file: path.display().to_string(),
            line: 1,
            column: 1,
        };
        match fs::canonicalize(path) {
            Err(e) => imp
                .collector
                .error(shown, format!("cannot read `{}`: {e}", path.display())),
            Ok(canon) if canon.is_dir() => {
                imp.roots.push(canon.clone());
                imp.walk(&canon, &mut queue);
            }
            Ok(canon) => {
                imp.roots
                    .push(canon.parent().map(Path::to_path_buf).unwrap_or_else(|| canon.clone()));
                queue.push_back(canon);
            }
        }
    }
    let mut read = HashSet::new();
    while let Some(file) = queue.pop_front() {
        if !read.insert(file.clone()) {
            continue;
        }
        let label = imp.label(&file);
        let text = match read_text(&file, imp.collector.limits.max_file_bytes) {
            Ok(text) => text,
            Err((line, column, message)) => {
                imp.collector.error(
                    Position {
                        file: label,
                        line,
                        column,
                    },
                    message,
                );
                continue;
            }
        };
        let locations = imp.collector.add_source(&label, &file.to_string_lossy(), &text);
        let mut next = Vec::new();
        for location in locations {
            next.extend(imp.follow(&file, location));
        }
        // Depth-first: a Location's targets are read right after it, in the order written.
        for target in next.into_iter().rev() {
            queue.push_front(target);
        }
    }
    imp.report_cycles();
    imp.collector.finish(known)
}

impl Importer {
    /// The name shown in messages: relative to the current directory when inside it.
    fn label(&self, canon: &Path) -> String {
        match self.cwd.as_deref().and_then(|cwd| canon.strip_prefix(cwd).ok()) {
            Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
            _ => canon.display().to_string(),
        }
    }

    fn at(&self, path: &Path) -> Position {
        Position {
            file: self.label(path),
            line: 1,
            column: 1,
        }
    }

    /// Queues every `*.yaml`/`*.yml` under `dir`, sorted, skipping hidden entries,
    /// `node_modules` and symlinked directories (which could loop or leave the tree).
    fn walk(&mut self, root: &Path, queue: &mut VecDeque<PathBuf>) {
        let mut dirs = vec![root.to_path_buf()];
        let mut found = Vec::new();
        while let Some(dir) = dirs.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    let at = self.at(&dir);
                    self.collector.error(at, format!("cannot read directory: {e}"));
                    continue;
                }
            };
            let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
            entries.sort_by_key(|e| e.file_name());
            let mut subdirs = Vec::new();
            for entry in entries {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name == "node_modules" {
                    continue;
                }
                let Ok(file_type) = entry.file_type() else { continue };
                let path = entry.path();
                if file_type.is_dir() {
                    subdirs.push(path);
                } else if is_yaml_name(&name) && path.is_file() {
                    match fs::canonicalize(&path) {
                        // A symlink out of the tree is refused, as a Location target would be.
                        Ok(canon) if !canon.starts_with(root) => {
                            let at = self.at(&path);
                            self.collector.error(
                                at,
                                format!(
                                    "`{}` is a symlink to {}, outside the imported tree",
                                    path.display(),
                                    canon.display()
                                ),
                            );
                        }
                        Ok(canon) => found.push(canon),
                        Err(e) => {
                            let at = self.at(&path);
                            self.collector.error(at, format!("cannot read file: {e}"));
                        }
                    }
                }
            }
            // Reversed so the stack pops them in sorted order.
            dirs.extend(subdirs.into_iter().rev());
        }
        queue.extend(found);
    }

    /// Resolves a Location's targets to files to read, recording an edge for each.
    fn follow(&mut self, from: &Path, location: LocationSpec) -> Vec<PathBuf> {
        if let Some((kind, at)) = &location.location_type {
            match kind.to_ascii_lowercase().as_str() {
                "file" => {}
                "url" => {
                    self.collector.error(at.clone(), "Location type `url` reads from the network, and an import never reads the network; check the files out and use `type: file` with relative paths");
                    return Vec::new();
                }
                other => {
                    self.collector.error(
                        at.clone(),
                        format!(
                            "Location type `{other}` is not supported; an import follows only `type: file` targets"
                        ),
                    );
                    return Vec::new();
                }
            }
        }
        let base = from.parent().unwrap_or(from).to_path_buf();
        let mut files = Vec::new();
        for (target, at) in &location.targets {
            if is_url(target) {
                self.collector.error(at.clone(), format!("target `{target}` is a URL, and an import never reads the network; check the repository out and import it with `bearing import PATH`, or point the Location at a relative file"));
                continue;
            }
            let resolved: Vec<PathBuf> = if target.contains(['*', '?']) {
                // `./*.yaml` next to the Location matches the Location itself: not a cycle.
                self.glob(&base, target, at).into_iter().filter(|f| f != from).collect()
            } else {
                self.single(&base, target, at, location.optional).into_iter().collect()
            };
            for to in resolved {
                self.edges.push(Edge {
                    from: from.to_path_buf(),
                    to: to.clone(),
                    at: at.clone(),
                });
                files.push(to);
            }
        }
        files
    }

    fn single(&mut self, base: &Path, target: &str, at: &Position, optional: bool) -> Option<PathBuf> {
        let joined = base.join(target);
        let canon = match fs::canonicalize(&joined) {
            Ok(canon) => canon,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && optional => {
                self.collector.warn(
                    at.clone(),
                    format!("optional target `{target}` not found ({})", joined.display()),
                );
                return None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.collector.error(
                    at.clone(),
                    format!(
                        "target `{target}` not found: {} does not exist; fix the path or remove the target",
                        joined.display()
                    ),
                );
                return None;
            }
            Err(e) => {
                self.collector
                    .error(at.clone(), format!("cannot read target `{target}`: {e}"));
                return None;
            }
        };
        if canon.is_dir() {
            self.collector.error(
                at.clone(),
                format!(
                    "target `{target}` is a directory; use a glob such as `{}/*.yaml`",
                    target.trim_end_matches('/')
                ),
            );
            return None;
        }
        self.inside(&canon, target, at).then_some(canon)
    }

    /// `dir/*.yaml`-style targets: wildcards (`*`, `?`) in the last segment only.
    fn glob(&mut self, base: &Path, target: &str, at: &Position) -> Vec<PathBuf> {
        let (dir_part, pattern) = target.rsplit_once('/').unwrap_or((".", target));
        if dir_part.contains(['*', '?']) {
            self.collector.error(at.clone(), format!("target `{target}`: wildcards are only supported in the last path segment, e.g. `./components/*.yaml`"));
            return Vec::new();
        }
        let dir = match fs::canonicalize(base.join(if dir_part.is_empty() { "/" } else { dir_part })) {
            Ok(dir) if self.inside(&dir, target, at) => dir,
            Ok(_) => return Vec::new(),
            Err(e) => {
                self.collector.error(
                    at.clone(),
                    format!("target `{target}` not found: directory `{dir_part}`: {e}"),
                );
                return Vec::new();
            }
        };
        let mut names: Vec<String> = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) => {
                self.collector
                    .error(at.clone(), format!("cannot read directory of target `{target}`: {e}"));
                return Vec::new();
            }
        };
        names.sort();
        let mut files = Vec::new();
        for name in names
            .iter()
            .filter(|n| wildcard_match(pattern, n) && (pattern.starts_with('.') || !n.starts_with('.')))
        {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            if let Ok(canon) = fs::canonicalize(&path) {
                if self.inside(&canon, target, at) {
                    files.push(canon);
                }
            }
        }
        if files.is_empty() {
            self.collector
                .warn(at.clone(), format!("target `{target}` matches no files"));
        }
        files
    }

    /// Whether `canon` is inside the imported tree; records the error if not.
    fn inside(&mut self, canon: &Path, target: &str, at: &Position) -> bool {
        if self.roots.iter().any(|root| canon.starts_with(root)) {
            return true;
        }
        let roots: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
        self.collector.error(
            at.clone(),
            format!(
                "target `{target}` resolves to {}, outside the imported tree ({}); import a directory that contains both files",
                canon.display(),
                roots.join(", ")
            ),
        );
        false
    }

    /// Reports every Location cycle (A targets B targets A) once, at the target closing it.
    fn report_cycles(&mut self) {
        let mut graph: BTreeMap<&Path, Vec<(&Path, &Position)>> = BTreeMap::new();
        for e in &self.edges {
            graph.entry(&e.from).or_default().push((&e.to, &e.at));
        }
        let mut problems = Vec::new();
        let mut done: HashSet<&Path> = HashSet::new();
        for &start in graph.keys() {
            if done.contains(start) {
                continue;
            }
            // Iterative DFS: `path` holds the gray nodes with the index of their next edge.
            let mut path: Vec<(&Path, usize)> = vec![(start, 0)];
            while let Some((node, next)) = path.last().copied() {
                let edges = graph.get(node).map(Vec::as_slice).unwrap_or_default();
                let Some(&(to, at)) = edges.get(next) else {
                    done.insert(node);
                    path.pop();
                    continue;
                };
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                if let Some(i) = path.iter().position(|(p, _)| *p == to) {
                    let names: Vec<String> = path[i..]
                        .iter()
                        .map(|(p, _)| self.label(p))
                        .chain([self.label(to)])
                        .collect();
                    problems.push((
                        at.clone(),
                        format!("Location cycle: {}; remove one of these targets", names.join(" -> ")),
                    ));
                } else if !done.contains(to) {
                    path.push((to, 0));
                }
            }
        }
        for (at, message) in problems {
            self.collector.error(at, message);
        }
    }
}

/// Reads a file of at most `max` bytes, enforcing UTF-8. Errors carry a line and column.
fn read_text(path: &Path, max: u64) -> Result<String, (usize, usize, String)> {
    let io = |e: std::io::Error| (1, 1, format!("cannot read file: {e}"));
    let meta = fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        // A FIFO or device would block or never end; only regular files are catalog files.
        return Err((1, 1, "not a regular file; import files and directories only".into()));
    }
    let len = meta.len();
    if len > max {
        return Err((1, 1, too_large(len, max)));
    }
    let mut bytes = Vec::new();
    // `take` guards against a file that grows between the size check and the read.
    fs::File::open(path)
        .map_err(io)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err((1, 1, too_large(bytes.len() as u64, max)));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let byte = e.as_bytes().get(valid).copied().unwrap_or_default();
        (
            line,
            column,
            format!("not UTF-8: invalid byte 0x{byte:02x}; save the file as UTF-8"),
        )
    })
}

fn is_yaml_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// `scheme://...` (any scheme) or Backstage's `url:` prefix.
fn is_url(target: &str) -> bool {
    let t = target.trim();
    if t.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("url:")) {
        return true;
    }
    t.split_once("://").is_some_and(|(scheme, _)| {
        scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Shell-style matching of `*` (any run) and `?` (one character) against a file name.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_wildcards() {
        assert!(wildcard_match("*.yaml", "a.yaml"));
        assert!(wildcard_match("*-api.y?ml", "petstore-api.yaml"));
        assert!(!wildcard_match("*.yaml", "a.yml"));
        assert!(wildcard_match("*", "anything"));
        assert!(!wildcard_match("a*b", "ac"));
    }

    #[test]
    fn recognises_urls() {
        for url in [
            "https://github.com/x/y/blob/main/catalog-info.yaml",
            "http://x",
            "s3://bucket/k",
            "url:https://x",
            "git+ssh://h/r",
        ] {
            assert!(is_url(url), "{url}");
        }
        for path in ["./a.yaml", "../b/c.yaml", "/abs/d.yaml", "weird:name.yaml"] {
            assert!(!is_url(path), "{path}");
        }
    }
}
