//! `vigil sql`: SQL over the archive with DataFusion.
//!
//! The archive's tables (`events`, `signals`, `decisions`) are registered as Hive-
//! partitioned Parquet listings with `date` as a partition column, so a filter on `date`
//! opens only those days' files. Results print as an aligned table for people, or as
//! CSV, JSON lines or Parquet for machines.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
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
    /// The query is wrong: the message names the position (exit code 2).
    #[error("{message}\n  in: {query}")]
    Query {
        /// DataFusion's message, with line and column where it has them.
        message: String,
        /// The query.
        query: String,
    },
    /// Writing the result failed (exit code 1).
    #[error("{0}")]
    Output(String),
}

impl SqlError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            SqlError::Archive(_) | SqlError::Query { .. } => 2,
            SqlError::Output(_) => 1,
        }
    }
}

/// A DataFusion session with the archive's tables registered (a table with no files yet
/// is registered empty, so queries over it return no rows instead of failing).
pub async fn open(archive: &Path) -> Result<SessionContext, SqlError> {
    if !archive.is_dir() {
        return Err(SqlError::Archive(format!(
            "archive `{}` does not exist (write one with `vigil replay --archive DIR`)",
            archive.display()
        )));
    }
    let context = SessionContext::new();
    for table in vigil_schemas::archive::TABLES {
        let folder = archive.join(table);
        let Some(schema) = vigil_schemas::archive::schema(table) else {
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
    Ok(context)
}

/// Runs one query.
pub async fn query(context: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, SqlError> {
    let error = |error: datafusion::error::DataFusionError| SqlError::Query {
        message: error.to_string(),
        query: sql.trim().to_string(),
    };
    let frame = context.sql(sql).await.map_err(error)?;
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
