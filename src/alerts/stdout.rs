//! The stdout sink: JSON lines, or a readable coloured diff.

use anstyle::{AnsiColor, Style};
use tokio::io::AsyncWriteExt;

use super::{Alert, Delivery, Event, OutputFormat};

/// Writes one alert to stdout and flushes, so that pipes see it at once.
pub(super) async fn deliver(format: OutputFormat, alert: &Alert) -> Delivery {
    let text = match format {
        OutputFormat::Json => json_line(alert),
        OutputFormat::Human => human(alert, stdout_has_colour()),
    };
    let mut out = tokio::io::stdout();
    let written = async {
        out.write_all(text.as_bytes()).await?;
        out.flush().await
    };
    match written.await {
        Ok(()) => Delivery::Delivered,
        // stdout is gone (a closed pipe): keeping the alert queued would block
        // the queue for ever, so it goes to the failed list.
        Err(error) => Delivery::Reject {
            error: format!("cannot write to stdout: {error}"),
        },
    }
}

/// Whether colour reaches stdout (a terminal, and NO_COLOR unset); without it the
/// word diff keeps its `[-removed-]{+added+}` markup.
pub fn stdout_has_colour() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// The alert as one JSON line.
pub fn json_line(alert: &Alert) -> String {
    let mut line = serde_json::to_string(alert).expect("alerts serialise to JSON");
    line.push('\n');
    line
}

/// The alert as readable text, coloured when `color` is set.
pub fn human(alert: &Alert, color: bool) -> String {
    let bold = Style::new().bold();
    let (label, tint) = match alert.event {
        Event::New => ("NEW", AnsiColor::Cyan),
        Event::Updated => ("UPDATED", AnsiColor::Yellow),
        Event::Removed => ("REMOVED", AnsiColor::Red),
        Event::Moved => ("MOVED", AnsiColor::Magenta),
        Event::Source => ("SOURCE", AnsiColor::Blue),
    };
    let tag = Style::new().bold().fg_color(Some(tint.into()));
    let versions = match alert.previous_version {
        Some(prev) => format!("v{prev} → v{}", alert.version),
        None => format!("v{}", alert.version),
    };
    let mut out = format!(
        "{tag}{label}{tag:#} {bold}{}{bold:#}  [{}] {versions}\n",
        alert.title, alert.id
    );
    out.push_str(&format!("  {}\n", alert.url));
    if let Some(to) = &alert.moved_to {
        out.push_str(&format!("  → {to}\n"));
    }
    if let Some(source) = &alert.source {
        out.push_str(&format!(
            "  feed {} since {}\n",
            serde_json::to_value(source.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            source.since.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    if let Some(status) = alert.status {
        out.push_str(&format!("  answers HTTP {status}\n"));
    }
    if !alert.changes.is_empty() {
        let names: Vec<&str> = alert.changes.iter().map(|c| c.name()).collect();
        let reverts = alert
            .reverts_to
            .map(|v| format!(" (back to v{v})"))
            .unwrap_or_default();
        out.push_str(&format!("  {}{reverts}\n", names.join(", ")));
    }
    if alert.own_edit {
        out.push_str("  this outlet's own edit: no other copy of the story made it\n");
    }
    for copy in &alert.copies {
        out.push_str(&format!("  also in {} (v{})\n", copy.url, copy.version));
    }
    if let Some(diff) = &alert.diff {
        out.push_str(&format!(
            "  +{} −{} words\n",
            diff.added_words, diff.removed_words
        ));
        let body = if color {
            colour_markup(&diff.words)
        } else {
            diff.words.clone()
        };
        for line in body.lines() {
            out.push_str("  │ ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push('\n');
    if color {
        out
    } else {
        anstream::adapter::strip_str(&out).to_string()
    }
}

/// Turns `[-x-]` / `{+y+}` markup into ANSI colour.
fn colour_markup(markup: &str) -> String {
    let removed = Style::new()
        .fg_color(Some(AnsiColor::Red.into()))
        .strikethrough();
    let added = Style::new()
        .fg_color(Some(AnsiColor::Green.into()))
        .underline();
    markup
        .replace("[-", &removed.render().to_string())
        .replace("-]", &removed.render_reset().to_string())
        .replace("{+", &added.render().to_string())
        .replace("+}", &added.render_reset().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertDiff;

    fn alert() -> Alert {
        Alert {
            previous_version: Some(1),
            language: Some("en".into()),
            detected_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            diff: Some(AlertDiff {
                title_changed: false,
                added_words: 1,
                removed_words: 1,
                unified: "-a\n+b\n".into(),
                words: "met for [-58-]{+90+} minutes\n".into(),
            }),
            changes: vec![crate::changes::ChangeClass::NumbersChanged],
            ..Alert::new(
                Event::Updated,
                "abcdef0123".into(),
                "http://127.0.0.1/a".into(),
                2,
                "Talks".into(),
                "http://127.0.0.1/rss".into(),
            )
        }
    }

    #[test]
    fn json_line_has_the_contract_fields() {
        let line = json_line(&alert());
        assert!(line.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "updated");
        assert_eq!(value["version"], 2);
        assert_eq!(value["previous_version"], 1);
        assert_eq!(value["detected_at"], "1970-01-01T00:00:00Z");
        assert_eq!(value["diff"]["added_words"], 1);
        assert!(value["topics"].as_array().unwrap().is_empty());
    }

    #[test]
    fn human_text_shows_versions_and_the_word_diff() {
        let text = human(&alert(), false);
        assert!(text.contains("UPDATED"));
        assert!(text.contains("v1 → v2"));
        assert!(text.contains("  │ met for [-58-]{+90+} minutes"));
    }
}
