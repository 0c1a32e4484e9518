//! Rewrites one generated section of a Markdown file, between `<!-- NAME:begin -->` and
//! `<!-- NAME:end -->`, leaving everything else as it is.

/// `text` with the section `name` replaced by `body` (appended at the end when absent).
pub fn replace_section(text: &str, name: &str, body: &str) -> String {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let block = format!("{begin}\n{}\n{end}", body.trim_end());
    if let Some(start) = text.find(&begin)
        && let Some(stop) = text[start..].find(&end)
    {
        let stop = start + stop + end.len();
        return format!("{}{block}{}", &text[..start], &text[stop..]);
    }
    let separator = if text.is_empty() || text.ends_with("\n\n") {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    format!("{text}{separator}{block}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_its_own_section() {
        let text = "# P\n\n<!-- a:begin -->\nold\n<!-- a:end -->\nkept\n";
        assert_eq!(
            replace_section(text, "a", "new\n"),
            "# P\n\n<!-- a:begin -->\nnew\n<!-- a:end -->\nkept\n"
        );
        assert_eq!(
            replace_section("# P\n", "b", "x"),
            "# P\n\n<!-- b:begin -->\nx\n<!-- b:end -->\n"
        );
    }
}
