//! The archive's read side: SQL over the Parquet archive with DataFusion, for `vigil sql`
//! and anything else that asks history a question.
//!
//! The archive's tables (`events`, `signals`, `decisions`, `sessions`) are registered as
//! Hive-partitioned Parquet listings with `date` as a partition column, so a filter on
//! `date` opens only those days' files; `sessions_latest` is a view of each session's
//! latest row. Two functions read the JSON evidence of signals: `json_get(text, path)`
//! (the value at a dotted path, as text) and `json_num(text, path)` (as a number).
//! Results print as an aligned table for people, or as CSV, JSON lines or Parquet for
//! machines. The interactive shell is the command line's, not this crate's.

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;
use std::path::Path;
use std::sync::Arc;

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An aligned table.
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON object per row.
    Json,
    /// A Parquet file (binary).
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            other => Err(format!(
                "unknown format `{other}`: use table, csv, json or parquet"
            )),
        }
    }
}

/// Why a query gave no result.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The archive could not be opened (exit code 2).
    #[error("{0}")]
    Archive(String),
    /// The query is wrong (exit code 2): the message, the query, and a caret under the
    /// position where DataFusion gives one.
    #[error("{message}\n{}", show_position(query, *position))]
    Query {
        /// DataFusion's message.
        message: String,
        /// The query.
        query: String,
        /// Line and column (1-based) of the fault, when known.
        position: Option<(usize, usize)>,
    },
    /// Statements of a script failed, each reported as it ran (exit code 2).
    #[error("{0} statement(s) failed")]
    Script(usize),
    /// The statement would change something: `vigil sql` only reads (exit code 2).
    #[error(
        "vigil sql only reads the archive: {0} is refused (no CREATE, DROP, INSERT, COPY, \
         and no SET of datafusion.runtime settings)"
    )]
    ReadOnly(String),
    /// Writing the result failed (exit code 1).
    #[error("{0}")]
    Output(String),
}

impl SqlError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            SqlError::Archive(_)
            | SqlError::Query { .. }
            | SqlError::Script(_)
            | SqlError::ReadOnly(_) => 2,
            SqlError::Output(_) => 1,
        }
    }
}

/// The query with a caret under `position` (line, column; 1-based) when known.
fn show_position(query: &str, position: Option<(usize, usize)>) -> String {
    let mut shown = String::new();
    for (index, line) in query.lines().enumerate() {
        shown.push_str("  | ");
        shown.push_str(line);
        shown.push('\n');
        if let Some((at_line, column)) = position {
            if at_line == index + 1 {
                let width = line
                    .chars()
                    .take(column.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect::<String>();
                shown.push_str(&format!("  | {width}^ line {at_line}, column {column}\n"));
            }
        }
    }
    shown.trim_end().to_string()
}

/// Where DataFusion places an error: a diagnostic's span, else the parser's
/// "at Line: L, Column: C".
fn error_position(error: &datafusion::error::DataFusionError) -> Option<(usize, usize)> {
    if let Some(span) = error.diagnostic().and_then(|diagnostic| diagnostic.span) {
        if span.start.line > 0 {
            return Some((span.start.line as usize, span.start.column as usize));
        }
    }
    let text = error.to_string();
    let at = text.rfind("Line: ")?;
    let rest = &text[at + "Line: ".len()..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The value at a dotted path (`a.b`, `list.0`) of a JSON text.
fn json_at(text: &str, path: &str) -> Option<serde_json::Value> {
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    for key in path.split('.').filter(|key| !key.is_empty()) {
        value = match value {
            serde_json::Value::Object(mut map) => map.remove(key)?,
            serde_json::Value::Array(mut items) => {
                let index: usize = key.parse().ok()?;
                (index < items.len()).then(|| items.swap_remove(index))?
            }
            _ => return None,
        };
    }
    (!value.is_null()).then_some(value)
}

/// Applies `extract` to each (JSON text, path) pair of two text columns.
fn json_function<T>(
    args: &[ColumnarValue],
    extract: impl Fn(serde_json::Value) -> Option<T>,
    build: impl FnOnce(Vec<Option<T>>) -> ArrayRef,
) -> datafusion::error::Result<ColumnarValue> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let texts = datafusion::common::cast::as_string_array(&arrays[0])?;
    let paths = datafusion::common::cast::as_string_array(&arrays[1])?;
    let values = (0..texts.len())
        .map(|row| {
            if texts.is_null(row) || paths.is_null(row) {
                return None;
            }
            json_at(texts.value(row), paths.value(row)).and_then(&extract)
        })
        .collect();
    Ok(ColumnarValue::Array(build(values)))
}

/// Registers `json_get(text, path)` and `json_num(text, path)`.
fn register_json_functions(context: &SessionContext) {
    let get = create_udf(
        "json_get",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            json_function(
                args,
                |value| match value {
                    serde_json::Value::String(text) => Some(text),
                    other => Some(other.to_string()),
                },
                |values| Arc::new(StringArray::from(values)) as ArrayRef,
            )
        }),
    );
    let number = create_udf(
        "json_num",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            json_function(
                args,
                |value| match value {
                    serde_json::Value::Number(number) => number.as_f64(),
                    serde_json::Value::String(text) => text.trim().parse().ok(),
                    _ => None,
                },
                |values| Arc::new(Float64Array::from(values)) as ArrayRef,
            )
        }),
    );
    context.register_udf(get);
    context.register_udf(number);
}

/// The archive's schema as read: top-level text columns as string views, which DataFusion
/// scans and groups without copying each value (the files hold plain strings).
fn view_types(
    schema: &datafusion::arrow::datatypes::Schema,
) -> Arc<datafusion::arrow::datatypes::Schema> {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Utf8 => Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8View)),
            _ => field.clone(),
        })
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new(fields))
}

/// The session's settings: DataFusion's defaults but two partitions per core, changed by
/// any `DATAFUSION_*` environment variable (`DATAFUSION_EXECUTION_TARGET_PARTITIONS=8`,
/// ...); `SET` changes them in a script or the shell.
///
/// Two partitions per core because it measured faster: over the 10M-event bench archive
/// on 2 cores, 4 partitions against 2 took the count-distinct from 321/356/338 to
/// 301/305/307 ms and top-N from 176/185/185 to 154/160/170 ms, the timelines too; 8 was
/// no better than 2 (issue 6). Not profiled; the archive's files are many and uneven in
/// size (a day's last file is short), which smaller partitions spread better.
fn session_config() -> Result<datafusion::prelude::SessionConfig, SqlError> {
    let mut options = datafusion::config::ConfigOptions::from_env()
        .map_err(|error| SqlError::Archive(format!("DataFusion settings: {error}")))?;
    if std::env::var_os("DATAFUSION_EXECUTION_TARGET_PARTITIONS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        options.execution.target_partitions = 2 * cores;
    }
    Ok(datafusion::prelude::SessionConfig::from(options).with_information_schema(true))
}

/// Each session's latest row (by last event, then version).
const SESSIONS_LATEST: &str = "CREATE VIEW sessions_latest AS \
    SELECT time, identity, identity_type, session_id, version, change, device_id, \
    established_at, last_seen, ended_at, revoked_at, events, ips, countries, peak_risk, \
    actions, date FROM (SELECT *, row_number() OVER (PARTITION BY identity, session_id \
    ORDER BY last_seen DESC, version DESC) AS newest FROM sessions) WHERE newest = 1";

/// The memory a query may use by default before it fails with "resources exhausted"
/// (operators that can spill to disk do so first): 2 GiB, so a careless query over a
/// large archive cannot take the machine vigil runs on.
pub const DEFAULT_MEMORY_LIMIT: usize = 2 << 30;

/// A DataFusion session with the archive's tables registered (a table with no files yet
/// is registered empty, so queries over it return no rows instead of failing), the
/// `sessions_latest` view and the JSON functions; queries may use `memory_limit` bytes.
/// The session only reads: [`query`] refuses DDL, DML and COPY, and no table factory is
/// registered, so no statement reaches a file outside the archive.
pub async fn open(archive: &Path, memory_limit: usize) -> Result<SessionContext, SqlError> {
    if !archive.is_dir() {
        return Err(SqlError::Archive(format!(
            "archive `{}` does not exist (write one with `vigil replay --archive DIR`)",
            archive.display()
        )));
    }
    let mut config = session_config()?;
    config.options_mut().sql_parser.collect_spans = true;
    // Folders are listed afresh for every query. DataFusion's default list cache keeps a
    // table's first listing for the life of the session, so a shell left open would
    // miss the files a running `vigil run` adds and fail on those `vigil archive prune`
    // or `forget` replace or remove. File footers stay cached, checked against each
    // file's size and modification time.
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_cache_manager(
            datafusion::execution::cache::cache_manager::CacheManagerConfig::default()
                .with_list_files_cache_limit(0),
        )
        .with_memory_limit(memory_limit, 1.0)
        .build_arc()
        .map_err(|error| SqlError::Archive(format!("DataFusion runtime: {error}")))?;
    let context = SessionContext::new_with_config_rt(config, runtime);
    // `CREATE EXTERNAL TABLE ... LOCATION` would read any file the account can read.
    context.state_ref().write().table_factories_mut().clear();
    register_json_functions(&context);
    for table in vigil_schemas::archive::TABLES {
        let folder = archive.join(table);
        let Some(schema) = vigil_schemas::archive::schema(table).map(|schema| view_types(&schema))
        else {
            continue;
        };
        if !folder.is_dir() {
            let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
            fields.push(Arc::new(datafusion::arrow::datatypes::Field::new(
                "date",
                DataType::Utf8,
                false,
            )));
            let empty = datafusion::datasource::MemTable::try_new(
                Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
                vec![vec![]],
            )
            .map_err(|error| SqlError::Archive(error.to_string()))?;
            context
                .register_table(table, Arc::new(empty))
                .map_err(|error| SqlError::Archive(error.to_string()))?;
            continue;
        }
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![("date".to_string(), DataType::Utf8)]);
        let url = format!("{}/", folder.display());
        context
            .register_listing_table(table, &url, options, Some(schema), None)
            .await
            .map_err(|error| {
                SqlError::Archive(format!("cannot open `{}`: {error}", folder.display()))
            })?;
    }
    context
        .sql(SESSIONS_LATEST)
        .await
        .map_err(|error| SqlError::Archive(format!("the sessions_latest view: {error}")))?;
    Ok(context)
}

/// Why a plan would change something, if it would: DDL, DML and COPY, and a `SET` of a
/// runtime setting (the memory limit is one).
fn writes(plan: &datafusion::logical_expr::LogicalPlan) -> Option<String> {
    use datafusion::logical_expr::{LogicalPlan, Statement};
    let read_only = datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false);
    if let Err(error) = read_only.verify_plan(plan) {
        let message = error.strip_backtrace();
        let what = message
            .rsplit_once("not supported: ")
            .map_or(message.as_str(), |(_, what)| what);
        return Some(what.to_string());
    }
    match plan {
        LogicalPlan::Statement(Statement::SetVariable(set))
            if set
                .variable
                .to_ascii_lowercase()
                .starts_with("datafusion.runtime.") =>
        {
            Some(format!("SET {}", set.variable))
        }
        _ => None,
    }
}

/// Runs one query; a statement that would change anything is refused before it runs.
pub async fn query(context: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, SqlError> {
    let error = |error: datafusion::error::DataFusionError| SqlError::Query {
        position: error_position(&error),
        message: error.to_string(),
        query: sql.to_string(),
    };
    let plan = context
        .state()
        .create_logical_plan(sql)
        .await
        .map_err(error)?;
    if let Some(what) = writes(&plan) {
        return Err(SqlError::ReadOnly(what));
    }
    let frame = context.execute_logical_plan(plan).await.map_err(error)?;
    frame.collect().await.map_err(error)
}

/// Writes results in `format`.
pub fn write(
    batches: &[RecordBatch],
    format: Format,
    out: &mut dyn std::io::Write,
) -> Result<(), SqlError> {
    let fail = |error: &dyn std::fmt::Display| SqlError::Output(error.to_string());
    match format {
        Format::Table => {
            let table = datafusion::arrow::util::pretty::pretty_format_batches(batches)
                .map_err(|error| fail(&error))?;
            writeln!(out, "{table}").map_err(|error| fail(&error))?;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            writeln!(out, "{rows} row{}", if rows == 1 { "" } else { "s" })
                .map_err(|error| fail(&error))?;
        }
        Format::Csv => {
            let mut writer = datafusion::arrow::csv::Writer::new(out);
            for batch in batches {
                writer.write(batch).map_err(|error| fail(&error))?;
            }
        }
        Format::Json => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(out);
            for batch in batches {
                writer.write(batch).map_err(|error| fail(&error))?;
            }
            writer.finish().map_err(|error| fail(&error))?;
        }
        Format::Parquet => {
            let Some(first) = batches.first() else {
                return Ok(());
            };
            let mut buffer = Vec::new();
            let mut writer =
                datafusion::parquet::arrow::ArrowWriter::try_new(&mut buffer, first.schema(), None)
                    .map_err(|error| fail(&error))?;
            for batch in batches {
                writer.write(batch).map_err(|error| fail(&error))?;
            }
            writer.close().map_err(|error| fail(&error))?;
            out.write_all(&buffer).map_err(|error| fail(&error))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_reach_nested_values() {
        let text =
            r#"{"from":"Paris, FR","speed_kmh":1200.5,"changes":["device","country"],"n":null}"#;
        assert_eq!(json_at(text, "from"), Some(serde_json::json!("Paris, FR")));
        assert_eq!(
            json_at(text, "changes.1"),
            Some(serde_json::json!("country"))
        );
        assert_eq!(json_at(text, "speed_kmh"), Some(serde_json::json!(1200.5)));
        assert_eq!(json_at(text, "n"), None);
        assert_eq!(json_at(text, "changes.9"), None);
        assert_eq!(json_at("not json", "a"), None);
    }

    /// One archive run over `events`, each an access by `identity` at the given hour.
    fn write_run(dir: &Path, identity: &str, hours: &[i64]) {
        let mut archive = vigil_sinks::archive::Archive::open(dir).unwrap();
        for hour in hours {
            let detail = vigil_schemas::Detail::Access(vigil_schemas::AccessDetail {
                resource: "https://wiki.example.com/".into(),
                action: None,
                bytes: None,
                status: None,
                tool: None,
                on_behalf_of: None,
            });
            let event = vigil_schemas::Event::new(
                vigil_schemas::Timestamp(1_767_225_600_000_000 + hour * 3_600_000_000),
                Some(identity),
                detail,
            );
            let envelope = vigil_schemas::Envelope {
                event: Box::new(event),
                origin: vigil_schemas::Origin::File {
                    file: Arc::from("test.jsonl"),
                    line: *hour as u64,
                },
                tags: vigil_schemas::IpTags::default(),
            };
            archive.event(&envelope).unwrap();
        }
        archive.finish().unwrap();
    }

    #[test]
    fn an_open_session_sees_files_added_and_removed_after_it_opened() {
        let dir = tempfile::tempdir().unwrap();
        write_run(dir.path(), "ana@example.com", &[1, 2]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let context = runtime
            .block_on(open(dir.path(), DEFAULT_MEMORY_LIMIT))
            .unwrap();
        let count = || -> i64 {
            let batches = runtime
                .block_on(query(&context, "SELECT count(*) FROM events"))
                .unwrap();
            datafusion::common::cast::as_int64_array(batches[0].column(0))
                .unwrap()
                .value(0)
        };
        assert_eq!(count(), 2);
        // A second writer adds a day and a file to the day already listed.
        write_run(dir.path(), "bo@example.com", &[3, 30]);
        assert_eq!(count(), 4);
        // A day pruned away.
        std::fs::remove_dir_all(dir.path().join("events/date=2026-01-02")).unwrap();
        assert_eq!(count(), 3);
    }

    #[test]
    fn the_session_only_reads() {
        let dir = tempfile::tempdir().unwrap();
        write_run(dir.path(), "ana@example.com", &[1, 2]);
        let secret = dir.path().join("secret.csv");
        std::fs::write(&secret, "key\nprivate-key-bytes\n").unwrap();
        let written = dir.path().join("out.csv");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // A small memory limit: a query that needs more fails instead of taking the machine.
        let context = runtime.block_on(open(dir.path(), 1 << 20)).unwrap();
        let refused = [
            format!(
                "CREATE EXTERNAL TABLE stolen STORED AS CSV LOCATION '{}'",
                secret.display()
            ),
            format!("COPY (SELECT * FROM events) TO '{}'", written.display()),
            "INSERT INTO events SELECT * FROM events".to_string(),
            "CREATE TABLE forged AS SELECT * FROM events".to_string(),
            "CREATE VIEW v AS SELECT 1".to_string(),
            "DROP VIEW sessions_latest".to_string(),
            "SET datafusion.runtime.memory_limit = '100G'".to_string(),
        ];
        for sql in &refused {
            match runtime.block_on(query(&context, sql)) {
                Err(error @ SqlError::ReadOnly(_)) => {
                    assert!(
                        error.to_string().starts_with("vigil sql only reads"),
                        "{error}"
                    );
                    assert_eq!(error.exit_code(), 2);
                }
                other => panic!("{sql}: {:?}", other.map(|batches| batches.len())),
            }
        }
        assert!(!written.exists());
        // Reads and settings still work.
        runtime
            .block_on(query(
                &context,
                "SET datafusion.execution.target_partitions = 2",
            ))
            .unwrap();
        let batches = runtime
            .block_on(query(&context, "SELECT count(*) FROM sessions_latest"))
            .unwrap();
        assert_eq!(batches[0].num_rows(), 1);
        let exhausted = runtime.block_on(query(
            &context,
            "SELECT v, count(*) FROM (SELECT repeat('x', 1000) || CAST(value AS VARCHAR) AS v \
             FROM generate_series(1, 200000)) GROUP BY v ORDER BY v",
        ));
        match exhausted {
            Err(SqlError::Query { message, .. }) => {
                assert!(message.contains("esources exhausted"), "{message}")
            }
            other => panic!("{:?}", other.map(|batches| batches.len())),
        }
    }

    #[test]
    fn the_caret_sits_under_the_position() {
        let shown = show_position("SELECT a,\n  nonsense\nFROM t", Some((2, 3)));
        assert_eq!(
            shown,
            "  | SELECT a,\n  |   nonsense\n  |   ^ line 2, column 3\n  | FROM t"
        );
    }
}
