//! Writes one bundle: every file, from one consistent database snapshot, streamed through a
//! [`Pipe`] as it is written.

use bearing_audit::ChainHead;
use bearing_evidence::{BundleInfo, BundleWriter, EvidenceError, SampleInfo, Sampled, Sampler, SamplingInfo};
use futures::TryStreamExt;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::exceptions::{self, Exceptions};
use super::period::{rfc3339, Period};
use super::repo::{self, Rows};
use super::sink::{Closed, Pipe, PipeWriter};
use crate::ssr::ServerCtx;

/// Rows drawn into each sample.
pub const SAMPLE_SIZE: usize = 25;

/// Why an export stopped. The bundle is unusable then: its reader sees the stream end early
/// (an HTTP client gets a broken body, the CLI an error), never a zip that looks complete.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("bundle: {0}")]
    Bundle(#[from] EvidenceError),
    #[error(transparent)]
    Closed(#[from] Closed),
    #[error(transparent)]
    App(#[from] crate::error::AppError),
}

/// What to export, checked and recorded by [`super::service`].
#[derive(Clone, Debug)]
pub struct Plan {
    pub period: Period,
    /// The actor who asked, as the audit log names them.
    pub requested_by: String,
    pub generated_at: OffsetDateTime,
}

/// What was exported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub rows: u64,
    pub audit_rows: u64,
    pub exceptions: u64,
}

/// A CSV file of the bundle and how it is sampled.
pub(super) struct Table {
    pub file: &'static str,
    /// The population's name, hashed into each sample rank.
    pub population: &'static str,
    pub header: &'static [&'static str],
    /// The column whose values are ranked for `samples/<population>.csv`; `None`: no sample.
    pub key: Option<&'static str>,
}

/// One file's line in `_meta/populations.json`.
struct Meta {
    file: &'static str,
    query: String,
    rows: u64,
}

struct DrawnSample {
    table: &'static Table,
    drawn: Vec<(Sampled, Vec<String>)>,
}

/// The bundle being written and what is gathered for its last files.
pub(super) struct Out {
    pub bundle: BundleWriter<PipeWriter>,
    pub pipe: Pipe,
    pub period: Period,
    seed: String,
    head: ChainHead,
    meta: Vec<Meta>,
    samples: Vec<DrawnSample>,
    pub exceptions: Exceptions,
    rows: u64,
}

impl Out {
    /// Adds a file written without [`Out::stream`] to `_meta/populations.json`.
    pub fn record(&mut self, file: &'static str, query: String, rows: u64) {
        self.meta.push(Meta { file, query, rows });
    }

    /// Writes a CSV file from a stream of rows, sampling it on the way when it has a key.
    /// `cells` turns a row into its cells and may flag exceptions.
    pub async fn stream<R>(
        &mut self,
        table: &'static Table,
        query: &str,
        mut rows: Rows<'_, R>,
        mut cells: impl FnMut(R, &mut Exceptions) -> Vec<String>,
    ) -> Result<u64, ExportError> {
        let key_index = table.key.and_then(|k| table.header.iter().position(|h| *h == k));
        let mut sampler = match key_index {
            Some(_) => Some(Sampler::new(
                &self.seed,
                &self.head.hash,
                table.population,
                SAMPLE_SIZE,
            )?),
            None => None,
        };
        let mut csv = self.bundle.csv(table.file, table.header)?;
        let mut n = 0u64;
        while let Some(row) = rows.try_next().await? {
            let row = cells(row, &mut self.exceptions);
            csv.row(&row)?;
            if let (Some(i), Some(s)) = (key_index, sampler.as_mut()) {
                s.offer(row.get(i).map(String::as_str).unwrap_or_default(), || row.clone());
            }
            n += 1;
            self.pipe.pump().await?;
        }
        csv.finish()?;
        self.rows += n;
        self.meta.push(Meta {
            file: table.file,
            query: query.trim().to_owned(),
            rows: n,
        });
        if let Some(s) = sampler {
            self.samples.push(DrawnSample {
                table,
                drawn: s.finish(),
            });
        }
        Ok(n)
    }

    /// [`Out::stream`] for rows already computed.
    pub async fn rows(
        &mut self,
        table: &'static Table,
        query: &str,
        rows: Vec<Vec<String>>,
    ) -> Result<u64, ExportError> {
        let stream: Rows<'_, Vec<String>> = Box::pin(futures::stream::iter(rows.into_iter().map(Ok)));
        self.stream(table, query, stream, |row, _| row).await
    }
}

/// Cell formats: every time RFC 3339 UTC, absent values empty.
pub(super) mod cell {
    use time::OffsetDateTime;

    pub fn time(t: OffsetDateTime) -> String {
        super::rfc3339(t)
    }

    pub fn opt_time(t: Option<OffsetDateTime>) -> String {
        t.map(time).unwrap_or_default()
    }

    pub fn opt(s: Option<String>) -> String {
        s.unwrap_or_default()
    }

    pub fn yes_no(b: bool) -> String {
        if b { "yes" } else { "no" }.to_owned()
    }

    /// SHA-256 (hex) of a JSON value's RFC 8785 form, the form `verify_chain.py` recomputes;
    /// empty when there is no value.
    pub fn json_sha256(v: Option<&serde_json::Value>) -> String {
        use sha2::{Digest, Sha256};
        match v.map(serde_jcs::to_vec) {
            Some(Ok(bytes)) => Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect(),
            _ => String::new(),
        }
    }
}

const ENTITIES: Table = Table {
    file: "populations/entities.csv",
    population: "entities",
    header: &[
        "ref",
        "kind",
        "type",
        "owner",
        "owner_since",
        "lifecycle",
        "tier",
        "source",
        "orphaned",
        "first_seen",
        "last_changed",
    ],
    key: Some("ref"),
};

const DEPLOYMENTS: Table = Table {
    file: "delivery/deployments.csv",
    population: "deployments",
    header: &[
        "event_id",
        "at",
        "component",
        "subject",
        "action",
        "environment",
        "artifact",
        "chain_id",
        "producer",
    ],
    key: Some("event_id"),
};

const EXCEPTIONS: Table = Table {
    file: "exceptions.csv",
    population: "exceptions",
    header: &exceptions::HEADER,
    key: None,
};

/// Writes the whole bundle for `plan` into `writer`, pumping it through `pipe`.
pub async fn run(ctx: &ServerCtx, plan: Plan, pipe: Pipe, writer: PipeWriter) -> Result<Summary, ExportError> {
    let mut conn = ctx.pool.acquire().await?;
    repo::begin_snapshot(&mut conn).await?;
    let result = write_all(ctx, &plan, pipe, writer, &mut conn).await;
    // The snapshot only read; ending it cannot lose anything.
    let _ = repo::end_snapshot(&mut conn).await;
    result
}

async fn write_all(
    ctx: &ServerCtx,
    plan: &Plan,
    pipe: Pipe,
    writer: PipeWriter,
    conn: &mut PgConnection,
) -> Result<Summary, ExportError> {
    let (from, to) = (plan.period.from, plan.period.to);
    let head = match repo::head_before(&mut *conn, to).await? {
        Some((seq, hash)) => ChainHead {
            seq,
            hash: hash.try_into().unwrap_or([0; 32]),
        },
        None => ChainHead {
            seq: 0,
            hash: bearing_audit::GENESIS,
        },
    };
    let mut out = Out {
        bundle: BundleWriter::dated(writer, plan.generated_at),
        pipe,
        period: plan.period.clone(),
        seed: plan.period.seed(),
        head,
        meta: Vec::new(),
        samples: Vec::new(),
        exceptions: Exceptions::default(),
        rows: 0,
    };

    let entities = sqlx::query_as::<_, repo::EntityRow>(repo::ENTITIES)
        .bind(from)
        .bind(to)
        .fetch(&mut *conn);
    out.stream(&ENTITIES, repo::ENTITIES, entities, |e, _| {
        vec![
            e.r#ref,
            e.kind,
            cell::opt(e.r#type),
            cell::opt(e.owner_ref),
            cell::opt_time(e.owner_since),
            cell::opt(e.lifecycle),
            cell::opt(e.tier),
            cell::opt(e.source),
            cell::yes_no(e.orphaned),
            cell::opt_time(e.first_seen),
            cell::time(e.last_changed),
        ]
    })
    .await?;

    super::people::write(&mut out, conn, &ctx.auth).await?;
    super::change_files::write(&mut out, conn).await?;
    super::mesh_files::write(&mut out, conn).await?;

    let deployments = sqlx::query_as::<_, repo::DeploymentRow>(repo::DEPLOYMENTS)
        .bind(from)
        .bind(to)
        .fetch(&mut *conn);
    out.stream(&DEPLOYMENTS, repo::DEPLOYMENTS, deployments, |d, _| {
        vec![
            d.event_id.to_string(),
            cell::time(d.at),
            cell::opt(d.component),
            d.subject,
            d.action,
            cell::opt(d.environment),
            cell::opt(d.artifact),
            cell::opt(d.chain_id),
            d.producer,
        ]
    })
    .await?;

    super::review_files::write(&mut out, ctx).await?;
    let audit_rows = super::audit_files::write(&mut out, conn).await?;
    finish(out, ctx, plan, audit_rows).await
}

/// The files that summarise the others: exceptions, samples, controls, the population
/// metadata and the report; then the signed checksums.
async fn finish(mut out: Out, ctx: &ServerCtx, plan: &Plan, audit_rows: u64) -> Result<Summary, ExportError> {
    let (from, to) = (plan.period.from, plan.period.to);
    let counts = out.exceptions.counts().clone();
    let total_exceptions = out.exceptions.total();
    let exceptions = std::mem::take(&mut out.exceptions).into_rows();
    let report_exceptions: Vec<[String; 5]> = exceptions.iter().take(200).cloned().collect();
    out.rows(
        &EXCEPTIONS,
        "found while the other files were written; see controls.csv",
        exceptions.into_iter().map(Vec::from).collect(),
    )
    .await?;

    let mut sample_infos = Vec::new();
    for sample in std::mem::take(&mut out.samples) {
        let t = sample.table;
        let path = format!("samples/{}.csv", t.population);
        let header: Vec<&str> = std::iter::once("rank").chain(t.header.iter().copied()).collect();
        let mut csv = out.bundle.csv(&path, &header)?;
        for (drawn, row) in &sample.drawn {
            let rank: String = drawn.rank.iter().map(|b| format!("{b:02x}")).collect();
            csv.row(std::iter::once(rank.as_str()).chain(row.iter().map(String::as_str)))?;
        }
        csv.finish()?;
        sample_infos.push(SampleInfo {
            population: t.population.to_owned(),
            population_file: t.file.to_owned(),
            key_column: t.key.unwrap_or_default().to_owned(),
            size: SAMPLE_SIZE,
            sample_file: path,
        });
        out.pipe.pump().await?;
    }

    bearing_evidence::write_controls(&mut out.bundle, &counts)?;

    let head = out.head.to_string();
    let populations: Vec<serde_json::Value> = out
        .meta
        .iter()
        .map(|m| {
            json!({
                "file": m.file, "query": m.query, "parameters": {"$1": rfc3339(from), "$2": rfc3339(to)},
                "rows": m.rows, "chain_head": head, "as_of": rfc3339(to),
            })
        })
        .collect();
    let meta = json!({
        "period": {"from": rfc3339(from), "to": rfc3339(to)},
        "generated_at": rfc3339(plan.generated_at),
        "requested_by": plan.requested_by,
        "chain_head": head,
        "isolation": "every query ran in one REPEATABLE READ READ ONLY transaction: one snapshot of the database",
        "not_covered": [
            "users_and_roles.csv: active_sessions_at_end counts the sessions still stored at export that were signed in before the period's end and expire after it; sessions that ended between the period's end and the export are deleted and not counted",
            "mesh/*.csv: one snapshot per day (mesh_daily_services, mesh_daily_edges); changes within a day are not seen",
            "api_tokens.csv: only the latest use is stored; a token used after the period's end shows no last use",
        ],
        "populations": populations,
    });
    let meta_bytes = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    out.bundle.file("_meta/populations.json", &meta_bytes)?;

    let files: Vec<(&str, u64)> = out.meta.iter().map(|m| (m.file, m.rows)).collect();
    let html = super::report::render(&super::report::Report {
        plan,
        head: &head,
        files: &files,
        counts: &counts,
        exceptions: &report_exceptions,
        total_exceptions,
    });
    out.bundle.file("report.html", html.as_bytes())?;

    let summary = Summary {
        files: out.meta.len() + out.samples.len(),
        rows: out.rows,
        audit_rows,
        exceptions: total_exceptions,
    };
    let info = BundleInfo {
        generated_at: plan.generated_at,
        period_start: from,
        period_end: to,
        requested_by: plan.requested_by.clone(),
        sampling: Some(SamplingInfo {
            seed: out.seed.clone(),
            chain_head: out.head,
            samples: sample_infos,
        }),
    };
    let Out { bundle, pipe, .. } = out;
    bundle.finish(&ctx.audit.key, &info)?;
    pipe.flush().await?;
    Ok(summary)
}
