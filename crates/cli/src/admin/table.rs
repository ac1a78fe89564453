//! mqadmin-style text tables: a `#`-prefixed header row and left-aligned columns, so a script
//! can split rows on whitespace (cells never contain spaces: empty ones print as `-`).

use std::fmt::Write as _;

pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| {
                    if c.is_empty() {
                        "-".to_owned()
                    } else {
                        c.replace(char::is_whitespace, "_")
                    }
                })
                .collect(),
        );
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len() + 1).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| format!("#{h}")).collect();
        line(&mut out, &header, &widths);
        for row in &self.rows {
            line(&mut out, row, &widths);
        }
        out
    }
}

fn line(out: &mut String, cells: &[String], widths: &[usize]) {
    let last = cells.len().saturating_sub(1);
    for (i, cell) in cells.iter().enumerate() {
        if i == last {
            out.push_str(cell);
        } else {
            let w = widths.get(i).copied().unwrap_or(0);
            let _ = write!(out, "{cell:<w$}  ");
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_rows_should_align_columns_and_keep_cells_whitespace_free() {
        let mut t = Table::new(&["Topic", "QID"]);
        t.row(vec!["TopicTest".into(), "0".into()]);
        t.row(vec!["a b".into(), String::new()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#Topic     #QID");
        assert_eq!(lines[1], "TopicTest  0");
        assert_eq!(lines[2], "a_b        -");
        assert!(lines.iter().all(|l| l.split_whitespace().count() == 2));
    }
}
