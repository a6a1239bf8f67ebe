//! `vigil sql`: the shell and scripts over the archive; the queries themselves are
//! [`vigil_history`]'s.

use crate::error::Error;
use datafusion::prelude::SessionContext;
use std::path::PathBuf;
use vigil_history::{query, write, Format, SqlError};

/// What to ask and of which archive.
#[derive(clap::Args)]
pub struct SqlArgs {
    /// The query.
    query: Option<String>,
    /// The archive folder.
    #[arg(long, default_value = "archive")]
    archive: PathBuf,
    /// Output: table, csv, json (one object per line) or parquet.
    #[arg(long, default_value = "table")]
    format: Format,
    /// Memory a query may use before it fails (operators that can spill do first):
    /// bytes, or with a K, M or G suffix (binary).
    #[arg(long, default_value = "2G", value_parser = parse_bytes)]
    memory_limit: usize,
}

/// Bytes as `1048576`, `512K`, `64M` or `2G` (binary multiples).
fn parse_bytes(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (number, shift) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 10),
        Some((at, 'm' | 'M')) => (&text[..at], 20),
        Some((at, 'g' | 'G')) => (&text[..at], 30),
        _ => (text, 0),
    };
    number
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|number| number.checked_mul(1 << shift))
        .filter(|bytes| *bytes >= 1 << 20)
        .ok_or_else(|| format!("`{text}` is not a size of at least 1M (bytes, or with K, M or G)"))
}

/// Runs `vigil sql`: one query, the shell on a terminal, else a script from standard input.
pub fn command(args: SqlArgs) -> Result<(), Error> {
    let runtime = super::runtime()?;
    let answered: Result<(), SqlError> = runtime.block_on(async {
        let context = vigil_history::open(&args.archive, args.memory_limit).await?;
        if let Some(sql) = &args.query {
            let batches = query(&context, sql).await?;
            return write(&batches, args.format, &mut std::io::stdout().lock());
        }
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return shell(&context, args.format).await;
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|error| SqlError::Output(error.to_string()))?;
        let failed = script(
            &context,
            &text,
            args.format,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        )
        .await?;
        match failed {
            0 => Ok(()),
            failed => Err(SqlError::Script(failed)),
        }
    });
    Ok(answered?)
}

/// Splits `text` into complete statements, each ended by a `;` outside quotes and
/// comments (the `;` left out; statements of only comments and blanks dropped), and the
/// unfinished rest. Block comments nest, as in DataFusion's dialect.
pub fn split_statements(text: &str) -> (Vec<String>, String) {
    let (statements, rest, _) = scan(text);
    (statements, rest)
}

/// [`split_statements`], and whether the rest holds any code.
fn scan(text: &str) -> (Vec<String>, String, bool) {
    #[derive(Clone, Copy, PartialEq)]
    enum In {
        Code,
        Quote(char),
        LineComment,
        BlockComment(u32),
    }
    let mut statements = Vec::new();
    let mut start = 0;
    let mut code = false;
    let mut state = In::Code;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, next)| next);
        state = match (state, c) {
            (In::Code, '-') if next == Some('-') => In::LineComment,
            (In::Code, '/') if next == Some('*') => {
                chars.next();
                In::BlockComment(1)
            }
            (In::Code, ';') => {
                let statement = text[start..at].trim();
                if code {
                    statements.push(statement.to_string());
                }
                start = at + 1;
                code = false;
                In::Code
            }
            (In::Code, c) => {
                code |= !c.is_whitespace();
                if c == '\'' || c == '"' {
                    In::Quote(c)
                } else {
                    In::Code
                }
            }
            (In::Quote(quote), c) if c == quote => In::Code,
            (In::LineComment, '\n') => In::Code,
            (In::BlockComment(depth), '/') if next == Some('*') => {
                chars.next();
                In::BlockComment(depth + 1)
            }
            (In::BlockComment(depth), '*') if next == Some('/') => {
                chars.next();
                if depth > 1 {
                    In::BlockComment(depth - 1)
                } else {
                    In::Code
                }
            }
            (state, _) => state,
        };
    }
    (statements, text[start..].to_string(), code)
}

/// Whether `text` holds no statement (blanks and comments only).
fn is_blank(text: &str) -> bool {
    let (statements, _, code) = scan(text);
    statements.is_empty() && !code
}

/// Runs one statement and prints its result (or its error, on `errors`); whether it
/// succeeded.
async fn run_statement(
    context: &SessionContext,
    statement: &str,
    format: Format,
    out: &mut dyn std::io::Write,
    errors: &mut dyn std::io::Write,
) -> Result<bool, SqlError> {
    match query(context, statement).await {
        Ok(batches) => {
            write(&batches, format, out)?;
            Ok(true)
        }
        Err(error @ SqlError::Query { .. }) => {
            writeln!(errors, "error: {error}")
                .map_err(|error| SqlError::Output(error.to_string()))?;
            Ok(false)
        }
        Err(other) => Err(other),
    }
}

/// Runs a script of `;`-ended statements (standard input that is not a terminal), every
/// one even after a failure; the number that failed. A last statement without `;` runs
/// too.
pub async fn script(
    context: &SessionContext,
    text: &str,
    format: Format,
    out: &mut dyn std::io::Write,
    errors: &mut dyn std::io::Write,
) -> Result<usize, SqlError> {
    let (mut statements, rest) = split_statements(text);
    if !is_blank(&rest) {
        statements.push(rest.trim().to_string());
    }
    let mut failed = 0;
    for statement in statements {
        if !run_statement(context, &statement, format, out, errors).await? {
            failed += 1;
        }
    }
    Ok(failed)
}

/// The interactive shell: statements end with `;` and may span lines, the arrow keys
/// walk the history (kept in `~/.vigil_sql_history`), Ctrl-C drops the statement being
/// typed, Ctrl-D or `\q` leaves. `SHOW TABLES` and `DESCRIBE table` list what there is.
pub async fn shell(context: &SessionContext, format: Format) -> Result<(), SqlError> {
    use rustyline::error::ReadlineError;
    let fail = |error: &dyn std::fmt::Display| SqlError::Output(error.to_string());
    let mut editor = rustyline::DefaultEditor::new().map_err(|error| fail(&error))?;
    let history = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".vigil_sql_history"));
    if let Some(history) = &history {
        // No history yet is fine.
        let _ = editor.load_history(history);
    }
    eprintln!(
        "vigil sql: tables events, signals, decisions, sessions; view sessions_latest.\n\
         End statements with `;`. \\q or Ctrl-D leaves."
    );
    let mut pending = String::new();
    loop {
        let prompt = if is_blank(&pending) {
            "vigil> "
        } else {
            "   ...> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if is_blank(&pending) && matches!(line.trim(), "\\q" | "quit" | "exit") {
                    break;
                }
                pending.push_str(&line);
                pending.push('\n');
                let (statements, rest) = split_statements(&pending);
                if statements.is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(pending.trim_end());
                pending = if is_blank(&rest) {
                    String::new()
                } else {
                    rest.trim_start().to_string()
                };
                for statement in statements {
                    let mut out = std::io::stdout().lock();
                    let mut errors = std::io::stderr().lock();
                    run_statement(context, &statement, format, &mut out, &mut errors).await?;
                }
            }
            Err(ReadlineError::Interrupted) => pending.clear(),
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(fail(&error)),
        }
    }
    if let Some(history) = &history {
        let _ = editor.save_history(history);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let text = "SELECT 'a;b'; -- c;d\n/* e; /* nested; */ f; */ SELECT \"x;\" ;\n/* only */;\n SELECT 3";
        let (statements, rest) = split_statements(text);
        assert_eq!(
            statements,
            [
                "SELECT 'a;b'",
                "-- c;d\n/* e; /* nested; */ f; */ SELECT \"x;\""
            ]
        );
        assert_eq!(rest.trim(), "SELECT 3");
        assert!(is_blank("  -- just a note\n/* and this */ "));
        assert!(!is_blank("SELECT 'unterminated"));
        assert!(!is_blank("SELECT 'it''s'"));
    }
}
