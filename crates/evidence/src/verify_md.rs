//! `VERIFY.md`: the auditor's instructions, filled in for one bundle.
//!
//! Values from the export (user names, seeds, population names) are untrusted text inside
//! Markdown and shell commands, so each is put in a code span or shell-quoted, never pasted raw:
//! a seed with a backtick or a quote must not rewrite the instructions.

use bearing_audit::{format_timestamp, VerifyingKey};

use crate::info::{BundleInfo, SampleInfo, SamplingInfo};
use crate::sample::SAMPLE_REDRAW_PY;

const TEMPLATE: &str = include_str!("../assets/VERIFY.md.tmpl");

/// The text of `VERIFY.md`.
pub(crate) fn render(info: &BundleInfo, key: &VerifyingKey) -> String {
    let samples = match &info.sampling {
        Some(sampling) => samples_section(sampling),
        None => "This bundle has no samples.".to_owned(),
    };
    fill(
        TEMPLATE,
        &[
            ("GENERATED_AT", format_timestamp(info.generated_at)),
            ("PERIOD_START", format_timestamp(info.period_start)),
            ("PERIOD_END", format_timestamp(info.period_end)),
            ("REQUESTED_BY", code_span(&info.requested_by)),
            ("FINGERPRINT", key.fingerprint()),
            ("KEY_ID", key.key_id()),
            ("SAMPLES", samples),
        ],
    )
}

fn samples_section(sampling: &SamplingInfo) -> String {
    let head = hex::encode(sampling.chain_head.hash);
    let mut text = format!(
        "The files in `samples/` were drawn by a fixed rule, so you can draw them again. Every key of a\n\
         population gets the rank\n\n    \
         SHA-256( seed || 0x00 || chain head || 0x00 || population || 0x00 || key )\n\n\
         (seed, population name and key as UTF-8, the chain head as its 32 raw bytes), and the N keys\n\
         with the smallest ranks are drawn, smallest first; the whole population when it has N keys\n\
         or fewer. A key is the value Bearing holds, with the formula neutralisation undone.\n\n\
         - seed: {seed}\n\
         - chain head: `{seq}:{head}`\n  \
         (the seq and hash of the audit row whose hash was mixed in; when it is the newest row of\n  \
         this bundle, `python3 audit/verify_chain.py` prints it as the head)\n\n\
         Each command below prints the keys of one sample in order; they must be the key column of\n\
         its sample file, row for row.\n",
        seed = code_span(&sampling.seed),
        seq = sampling.chain_head.seq,
    );
    for sample in &sampling.samples {
        text.push_str(&sample_command(sampling, &head, sample));
    }
    text
}

fn sample_command(sampling: &SamplingInfo, head: &str, sample: &SampleInfo) -> String {
    let command = format!(
        "python3 -c {} {} {head} {} {} {} {}",
        shell_quote(SAMPLE_REDRAW_PY),
        shell_quote(&sampling.seed),
        shell_quote(&sample.population),
        shell_quote(&sample.population_file),
        shell_quote(&sample.key_column),
        sample.size,
    );
    format!(
        "\n### {} in {}\n\n{} keys of {}, column {}:\n\n{}",
        code_span(&sample.population),
        code_span(&sample.sample_file),
        sample.size,
        code_span(&sample.population_file),
        code_span(&sample.key_column),
        fenced("sh", &command),
    )
}

/// Replaces each `{{NAME}}` of `template` by its value, in one pass, so a value that happens to
/// contain `{{…}}` is left alone.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| {
            let name = &after[..end];
            values.iter().find(|(n, _)| *n == name).map(|(_, v)| (end, v))
        }) {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` as a Markdown code span, delimited by more backticks than it contains in a row, with
/// control characters (which could end the line and start new Markdown) shown as U+FFFD.
fn code_span(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    let ticks = "`".repeat(longest_run(&clean, '`') + 1);
    // A span that starts or ends with a backtick needs a space inside its delimiters.
    let pad = if clean.starts_with('`') || clean.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{clean}{pad}{ticks}")
}

/// A fenced code block that `code` cannot close early.
fn fenced(language: &str, code: &str) -> String {
    let fence = "`".repeat((longest_run(code, '`') + 1).max(3));
    format!("{fence}{language}\n{code}\n{fence}\n")
}

fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

/// One POSIX shell word whose value is exactly `text`: single quotes, with each `'` written as
/// `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_one_pass() {
        let values = [("A", "{{B}}".to_owned()), ("B", "b".to_owned())];
        assert_eq!(fill("x {{A}} {{B}} {{C}} {{", &values), "x {{B}} b {{C}} {{");
    }

    #[test]
    fn untrusted_text_stays_inside_its_span() {
        assert_eq!(code_span("alice"), "`alice`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\n# Run this"), "`a\u{fffd}# Run this`");
        assert_eq!(fenced("sh", "echo ```"), "````sh\necho ```\n````\n");
    }

    #[test]
    fn shell_quoting_keeps_the_value() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
