//! Typed readers over YAML nodes that report problems where the value was written.
//!
//! Both formats read the same shapes (a string, a list of strings, a string map, links), and
//! every mistake must land at `file:line:column`, so the readers take a [`Ctx`] that knows the
//! file and collects errors and warnings instead of returning early: an import reports every
//! problem at once.

use std::collections::BTreeMap;

use super::yaml::{Node, NodeValue};
use crate::model::{check_link_url, Link, Position, Problem};

/// Problems kept per import, errors and warnings each. A hostile file can make one problem
/// per node (a million), and their messages would cost more memory than the file itself.
pub(crate) const MAX_PROBLEMS: usize = 1000;

/// Errors or warnings of an import: the first [`MAX_PROBLEMS`], and how many more there were.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
    more: usize,
}

impl Problems {
    /// Keeps `problem`, or only counts it once [`MAX_PROBLEMS`] are kept.
    pub(crate) fn push(&mut self, problem: Problem) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }

    /// True when nothing was pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems kept, sorted and without repeats, and a last one saying how many more
    /// were not kept.
    pub(crate) fn into_sorted(mut self) -> Vec<Problem> {
        self.list.sort();
        self.list.dedup();
        if let (Some(last), true) = (self.list.last(), self.more > 0) {
            let summary = Problem {
                position: last.position.clone(),
                message: format!(
                    "{} more problem(s) not shown; only the first {MAX_PROBLEMS} are reported",
                    self.more
                ),
            };
            self.list.push(summary);
        }
        self.list
    }
}

/// Where problems go while one file is checked.
pub(crate) struct Ctx<'a> {
    /// The file name shown in messages.
    pub(crate) file: &'a str,
    pub(crate) errors: &'a mut Problems,
    pub(crate) warnings: &'a mut Problems,
}

impl Ctx<'_> {
    /// The position of a node in this file.
    pub(crate) fn pos(&self, node: &Node) -> Position {
        self.pos_at(node.line, node.col)
    }

    /// A position in this file.
    pub(crate) fn pos_at(&self, line: usize, column: usize) -> Position {
        Position {
            file: self.file.to_owned(),
            line,
            column,
        }
    }

    /// Records an error at `node`.
    pub(crate) fn error(&mut self, node: &Node, message: impl Into<String>) {
        let position = self.pos(node);
        self.errors.push(Problem {
            position,
            message: message.into(),
        });
    }

    /// Records a warning at `node`.
    pub(crate) fn warn(&mut self, node: &Node, message: impl Into<String>) {
        let position = self.pos(node);
        self.warnings.push(Problem {
            position,
            message: message.into(),
        });
    }

    /// A string value; a null counts as absent, a list or mapping is an error naming `what`.
    pub(crate) fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            NodeValue::Scalar { .. } => node.as_str().map(str::to_owned),
            _ => {
                self.error(node, format!("`{what}` must be a string, found {}", node.shape()));
                None
            }
        }
    }

    /// The string under `key` of `map`, if present.
    pub(crate) fn field(&mut self, map: &Node, key: &str, what: &str) -> Option<String> {
        map.get(key).and_then(|n| self.string(n, what))
    }

    /// A list of strings with their nodes. A single string is accepted as a one-item list
    /// (lenient: Backstage requires a list, but the intent of `dependsOn: x` is clear).
    pub(crate) fn string_list<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(String, &'n Node)> {
        match &node.value {
            NodeValue::Seq(items) => items
                .iter()
                .filter_map(|item| match &item.value {
                    NodeValue::Scalar { .. } => item.as_str().map(|s| (s.to_owned(), item)),
                    _ => {
                        self.error(
                            item,
                            format!("each entry of `{what}` must be a string, found {}", item.shape()),
                        );
                        None
                    }
                })
                .collect(),
            NodeValue::Scalar { .. } => node.as_str().map(|s| vec![(s.to_owned(), node)]).unwrap_or_default(),
            NodeValue::Map(_) => {
                self.error(node, format!("`{what}` must be a list of strings, found a mapping"));
                Vec::new()
            }
        }
    }

    /// A mapping of strings to strings (labels, annotations). Scalars of any type are taken as
    /// their text (`replicas: 3` → "3"); lists and mappings are errors.
    pub(crate) fn string_map(&mut self, node: &Node, what: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(entries) = node.entries() else {
            if !node.is_null() {
                self.error(
                    node,
                    format!("`{what}` must be a mapping of strings, found {}", node.shape()),
                );
            }
            return out;
        };
        for (key, value) in entries {
            match &value.value {
                NodeValue::Scalar { text, .. } => {
                    out.insert(key.key_text().to_owned(), text.to_string());
                }
                _ => self.error(
                    value,
                    format!("`{what}.{}` must be a string, found {}", key.key_text(), value.shape()),
                ),
            }
        }
        out
    }

    /// A list of links. `fields` names the keys for (url, title, icon, type): Backstage uses
    /// `url/title/icon/type`, Compass `url/name/-/type`. A link whose URL is not http, https
    /// or mailto is dropped with a warning at the URL, so no API hands out a `javascript:` link.
    pub(crate) fn links(&mut self, node: &Node, what: &str, fields: [Option<&str>; 4]) -> Vec<Link> {
        let items: &[Node] = match &node.value {
            NodeValue::Seq(items) => items,
            _ if node.is_null() => return Vec::new(),
            _ => {
                self.error(
                    node,
                    format!("`{what}` must be a list of links, found {}", node.shape()),
                );
                return Vec::new();
            }
        };
        let [url_key, title_key, icon_key, type_key] = fields;
        let mut links = Vec::new();
        for item in items {
            if item.entries().is_none() {
                self.error(
                    item,
                    format!(
                        "each entry of `{what}` must be a mapping with a `url`, found {}",
                        item.shape()
                    ),
                );
                continue;
            }
            let read =
                |key: Option<&str>, ctx: &mut Self| key.and_then(|k| ctx.field(item, k, &format!("{what}[].{k}")));
            let url = read(url_key, self);
            let title = read(title_key, self);
            let icon = read(icon_key, self);
            let link_type = read(type_key, self);
            match url {
                Some(url) if !self.keep_url(url_key.and_then(|k| item.get(k)).unwrap_or(item), &url, what) => {}
                Some(url) => links.push(Link {
                    url,
                    title,
                    icon,
                    link_type,
                }),
                None => self.error(item, format!("link in `{what}` has no `url`; add `url: https://...`")),
            }
        }
        links
    }

    /// Whether a URL that something will render as a link may be kept (see
    /// [`check_link_url`]); warns at `at` when it is dropped.
    pub(crate) fn keep_url(&mut self, at: &Node, url: &str, what: &str) -> bool {
        let Err(why) = check_link_url(url) else { return true };
        self.warn(at, format!("`{what}` URL `{}` dropped: {why}", shorten(url)));
        false
    }
}

/// A user's text cut to a length that fits in a message.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}
