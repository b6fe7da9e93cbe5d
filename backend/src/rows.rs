//! Rows collected during a batch and written with multi-row INSERTs at its end: one statement
//! per few hundred rows instead of one per row.

use sqlx::AnyConnection;

use crate::AppError;

/// A value of one column.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(Option<String>),
    Int(i64),
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_owned()))
    }
}

impl From<Option<String>> for Cell {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

#[derive(Debug)]
pub struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    /// After the VALUES list, e.g. an `ON CONFLICT … DO UPDATE` clause.
    suffix: &'static str,
    rows: Vec<Vec<Cell>>,
}

/// Rows per statement. Far below both databases' parameter limits on purpose: measured with
/// `sync_bench`, SQLite (through sqlx) slows down sharply on statements with thousands of
/// parameters, while 100 rows already amortise the per-statement cost.
const ROWS_PER_STATEMENT: usize = 100;

impl Rows {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self::with_suffix(table, columns, "")
    }

    /// Rows written with `suffix` after their VALUES (an upsert). The rows of one flush must
    /// not repeat a conflict key: PostgreSQL refuses to update one row twice in a statement.
    pub fn with_suffix(
        table: &'static str,
        columns: &'static [&'static str],
        suffix: &'static str,
    ) -> Self {
        Self {
            table,
            columns,
            suffix,
            rows: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `column`-th text of the `row`-th collected row (tests look at what would be written).
    #[cfg(test)]
    pub fn text(&self, row: usize, column: usize) -> Option<&str> {
        match self.rows.get(row)?.get(column)? {
            Cell::Text(text) => text.as_deref(),
            Cell::Int(_) => None,
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// Writes every collected row, in order, and forgets them; says how many rows the
    /// statements wrote (fewer than collected when the suffix skips some, e.g. `ON CONFLICT DO
    /// NOTHING`).
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<u64, AppError> {
        let per_statement = ROWS_PER_STATEMENT;
        let rows = std::mem::take(&mut self.rows);
        // SQLite gets anonymous `?` placeholders: sqlx looks up the name of every numbered
        // one (`$n`), and SQLite finds a name by scanning the statement's list of names, so
        // a statement of n numbered placeholders costs n² — measured at an eighth of the
        // server's time in the replay benchmark. PostgreSQL needs `$n`.
        let anonymous = conn.backend_name() == "SQLite";
        let mut written = 0;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            // Owned, so each text cell moves into its bind instead of being copied.
            let chunk: Vec<Vec<Cell>> = rows.by_ref().take(per_statement).collect();
            let width = self.columns.len();
            let tuples: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let marks: Vec<String> = (1..=width)
                        .map(|c| {
                            if anonymous {
                                "?".to_owned()
                            } else {
                                format!("${}", r * width + c)
                            }
                        })
                        .collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {} {}",
                self.table,
                self.columns.join(", "),
                tuples.join(", "),
                self.suffix
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                for cell in row {
                    query = match cell {
                        Cell::Text(text) => query.bind(text),
                        Cell::Int(n) => query.bind(n),
                    };
                }
            }
            written += query.execute(&mut *conn).await?.rows_affected();
        }
        Ok(written)
    }
}
