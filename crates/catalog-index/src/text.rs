//! Free-text search over the entries with tantivy: an in-RAM index of the words of each entry's
//! name, title, description, tags, type and kind, queried word by word.
//!
//! A query word matches a field's word exactly (ranked by BM25), as a prefix (`pay` finds
//! `payments`), or within one typo (`ledgr`), two for words of eight letters or more. Every
//! query word must match somewhere; the name weighs most, then title and tags, then the rest,
//! and an exact name match outranks everything.

use std::sync::{Arc, Mutex};

use tantivy::collector::TopDocs;
use tantivy::indexer::LogMergePolicy;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, FAST, INDEXED, STRING, TEXT};
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::{Entry, IndexError};

/// Most query words used; the rest are ignored (the search box allows 200 characters).
const MAX_WORDS: usize = 8;
/// The writer's memory budget: tantivy's minimum, plenty for a catalog's short fields.
const WRITER_BUDGET: usize = 15_000_000;

/// The searchable fields with their weights.
#[derive(Clone, Copy)]
struct Fields {
    name: Field,
    title: Field,
    tags: Field,
    description: Field,
    other: Field,
    /// Every word of the fields above, for the prefix and typo automata: one automaton per
    /// query word over this field (and one over the name) instead of one per field (building a
    /// Levenshtein automaton is most of a fuzzy query's cost).
    all: Field,
    /// The whole name, lower case, for the exact-match boost.
    name_exact: Field,
    /// The entry's position, to map hits back.
    position: Field,
}

impl Fields {
    /// The document of `e`, at `position`.
    fn document<T>(&self, position: usize, e: &Entry<T>) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.name, &e.name);
        doc.add_text(self.name_exact, e.name.to_lowercase());
        if let Some(title) = &e.title {
            doc.add_text(self.title, title);
        }
        if let Some(description) = &e.description {
            doc.add_text(self.description, description);
        }
        for tag in &e.tags {
            doc.add_text(self.tags, tag);
        }
        doc.add_text(self.other, &e.kind);
        if let Some(t) = &e.entity_type {
            doc.add_text(self.other, t);
        }
        let words = [
            Some(&e.name),
            e.title.as_ref(),
            e.description.as_ref(),
            Some(&e.kind),
            e.entity_type.as_ref(),
        ];
        for text in words.into_iter().flatten().chain(&e.tags) {
            doc.add_text(self.all, text);
        }
        doc.add_u64(self.position, position as u64);
        doc
    }

    fn weighted(&self) -> [(Field, f32); 5] {
        [
            (self.name, 4.0),
            (self.title, 3.0),
            (self.tags, 2.0),
            (self.description, 1.0),
            (self.other, 1.0),
        ]
    }
}

/// The tantivy index and its one writer, shared by every [`TextIndex`] made from it by
/// [`TextIndex::with_changes`]: each keeps its own searcher (segments are immutable, so an older
/// searcher keeps answering as of its own commit while a newer one is made).
struct Shared {
    reader: IndexReader,
    /// The writer, and the version of the latest commit: only the [`TextIndex`] of that version
    /// may change the index in place (an older one would mix its changes into a newer state).
    writer: Mutex<(IndexWriter<TantivyDocument>, u64)>,
}

pub(crate) struct TextIndex {
    fields: Fields,
    analyzer: TextAnalyzer,
    searcher: Searcher,
    docs: usize,
    version: u64,
    shared: Arc<Shared>,
}

/// A version no [`TextIndex`] has: the shared writer failed mid-change and must not be used.
const BROKEN: u64 = u64::MAX;

impl TextIndex {
    /// Indexes the live `slots`, each under its position in the slice.
    pub fn build<T>(slots: &[Option<Arc<Entry<T>>>]) -> Result<Self, IndexError> {
        let mut schema = Schema::builder();
        let fields = Fields {
            name: schema.add_text_field("name", TEXT),
            title: schema.add_text_field("title", TEXT),
            tags: schema.add_text_field("tags", TEXT),
            description: schema.add_text_field("description", TEXT),
            other: schema.add_text_field("other", TEXT),
            all: schema.add_text_field("all", TEXT),
            name_exact: schema.add_text_field("name_exact", STRING),
            // Indexed too, so a changed entry's document can be deleted by its position.
            position: schema.add_u64_field("position", FAST | INDEXED),
        };
        let index = Index::create_in_ram(schema.build());
        let analyzer = index
            .tokenizers()
            .get("default")
            .ok_or_else(|| tantivy::TantivyError::InvalidArgument("no default tokenizer".into()))?;
        // One thread: the server builds this beside live traffic on few cores.
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, WRITER_BUDGET)?;
        // Segments that lost a third of their documents to changes are rewritten (in the
        // background), so term statistics and the dead documents' postings do not pile up.
        let mut policy = LogMergePolicy::default();
        policy.set_del_docs_ratio_before_merge(0.3);
        writer.set_merge_policy(Box::new(policy));
        for (i, slot) in slots.iter().enumerate() {
            if let Some(e) = slot {
                writer.add_document(fields.document(i, e))?;
            }
        }
        writer.commit()?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        Ok(TextIndex {
            fields,
            analyzer,
            docs: usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX),
            searcher,
            version: 0,
            shared: Arc::new(Shared {
                reader,
                writer: Mutex::new((writer, 0)),
            }),
        })
    }

    /// The text index after the documents at `removed` positions are dropped and `added`
    /// (position, entry) indexed: a delete by term, a few added documents and a commit, on the
    /// shared index, if this is its latest version; otherwise (an older version, or a writer
    /// that failed before) a new index of every live slot, which is slower but as correct.
    pub fn with_changes<T>(
        &self,
        removed: &[u32],
        added: &[(u32, &Entry<T>)],
        slots: &[Option<Arc<Entry<T>>>],
    ) -> Result<Self, IndexError> {
        let mut guard = self
            .shared
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (writer, head) = &mut *guard;
        if *head != self.version {
            drop(guard);
            return TextIndex::build(slots);
        }
        let applied = (|| -> Result<Searcher, IndexError> {
            for &position in removed {
                writer.delete_term(Term::from_field_u64(self.fields.position, u64::from(position)));
            }
            for (position, entry) in added {
                writer.add_document(self.fields.document(*position as usize, entry))?;
            }
            writer.commit()?;
            self.shared.reader.reload()?;
            Ok(self.shared.reader.searcher())
        })();
        match applied {
            Ok(searcher) => {
                *head += 1;
                Ok(TextIndex {
                    fields: self.fields,
                    analyzer: self.analyzer.clone(),
                    docs: usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX),
                    searcher,
                    version: *head,
                    shared: self.shared.clone(),
                })
            }
            Err(err) => {
                // Operations may be queued uncommitted: nobody may commit through this writer
                // again (the next change rebuilds).
                *head = BROKEN;
                Err(err)
            }
        }
    }

    /// Every entry matching `text`, as (position, score), in no particular order. Text with no
    /// word matches nothing.
    pub fn search(&self, text: &str) -> Result<Vec<(u32, f32)>, IndexError> {
        let words = self.words(text);
        if words.is_empty() || self.docs == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            words.iter().map(|w| (Occur::Must, self.word_query(w))).collect();
        let exact = TermQuery::new(
            Term::from_field_text(self.fields.name_exact, text.trim().to_lowercase().as_str()),
            IndexRecordOption::Basic,
        );
        clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(exact), 20.0))));
        let query = BooleanQuery::new(clauses);
        let hits = self
            .searcher
            .search(&query, &TopDocs::with_limit(self.docs).order_by_score())?;
        let mut out = Vec::with_capacity(hits.len());
        let mut columns: Vec<Option<tantivy::columnar::Column<u64>>> =
            vec![None; self.searcher.segment_readers().len()];
        for (score, address) in hits {
            let segment = address.segment_ord as usize;
            let column = match &mut columns[segment] {
                Some(c) => c,
                slot => slot.insert(
                    self.searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64("position")?,
                ),
            };
            if let Some(position) = column.first(address.doc_id) {
                out.push((super::position(position as usize), score));
            }
        }
        Ok(out)
    }

    /// The query's words as the index tokenized the entries' (split on anything not a letter
    /// or digit, lower case), at most [`MAX_WORDS`], without repeats.
    fn words(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut words: Vec<String> = Vec::new();
        while stream.advance() {
            let word = &stream.token().text;
            if !words.contains(word) {
                words.push(word.clone());
            }
            if words.len() == MAX_WORDS {
                break;
            }
        }
        words
    }

    /// One word: exact in each field (BM25, weighted by field), as a prefix of a name word (the
    /// name weighs most) or of any word, or within the typos its length allows of any word.
    fn word_query(&self, word: &str) -> Box<dyn Query> {
        let letters = word.chars().count();
        let typos: u8 = match letters {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        let boosted = |query: Box<dyn Query>, weight: f32| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(BoostQuery::new(query, weight)))
        };
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, weight) in self.fields.weighted() {
            let exact = TermQuery::new(Term::from_field_text(field, word), IndexRecordOption::WithFreqs);
            alternatives.push(boosted(Box::new(exact), weight * 2.0));
        }
        // A prefix or a typo of a name word outranks one of any other word: automata match
        // with a constant score, so without the name's own the name would not count.
        let name = Term::from_field_text(self.fields.name, word);
        let any = Term::from_field_text(self.fields.all, word);
        alternatives.push(boosted(
            Box::new(FuzzyTermQuery::new_prefix(name.clone(), 0, true)),
            4.0,
        ));
        alternatives.push(boosted(Box::new(FuzzyTermQuery::new_prefix(any.clone(), 0, true)), 1.0));
        if typos > 0 {
            alternatives.push(boosted(Box::new(FuzzyTermQuery::new(name, typos, true)), 2.0));
            alternatives.push(boosted(Box::new(FuzzyTermQuery::new(any, typos, true)), 0.5));
        }
        Box::new(BooleanQuery::new(alternatives))
    }
}
