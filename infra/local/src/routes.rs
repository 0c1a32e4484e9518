//! The route table, taken from the template's `Type: Api` events: which function serves a
//! method and path, and what guards it (authorizer, API key).

use paygate_template::{Route, Template};

/// A matched route and the path parameters its `{placeholders}` captured.
#[derive(Debug, Clone)]
pub struct Matched<'a> {
    pub route: &'a Route,
    /// The route's index in the table given to [`find`].
    pub index: usize,
    pub params: Vec<(String, String)>,
}

/// Finds the route for `method` and `path` (the path without the stage). Literal segments win
/// over `{parameters}`, as in API Gateway; `ANY` matches every method.
pub fn find<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<Matched<'a>> {
    let mut best: Option<(usize, Matched<'a>)> = None;
    for (index, route) in routes.iter().enumerate() {
        if route.method != "ANY" && !route.method.eq_ignore_ascii_case(method) {
            continue;
        }
        let Some((literals, params)) = match_path(&route.path, path) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((score, m)) => {
                literals > *score || (literals == *score && m.route.method == "ANY")
            }
        };
        if better {
            best = Some((
                literals,
                Matched {
                    route,
                    index,
                    params,
                },
            ));
        }
    }
    best.map(|(_, m)| m)
}

/// Whether `path` fits `pattern`: the number of literal segments and the captured parameters.
fn match_path(pattern: &str, path: &str) -> Option<(usize, Vec<(String, String)>)> {
    let (pattern, path) = (pattern.trim_matches('/'), path.trim_matches('/'));
    // Segments are counted first, so that nothing is captured for a path of another length.
    if pattern.matches('/').count() != path.matches('/').count() {
        return None;
    }
    let (mut literals, mut params) = (0, Vec::new());
    for (want, got) in pattern.split('/').zip(path.split('/')) {
        if let Some(name) = want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            if got.is_empty() {
                return None;
            }
            params.push((name.to_owned(), percent_decode(got)));
        } else if want == got {
            literals += 1;
        } else {
            return None;
        }
    }
    Some((literals, params))
}

/// The routes of the template's API (routes on SAM's implicit API or another API are not
/// served).
pub fn of_api(template: &Template) -> Vec<Route> {
    let api = template.api().map(|a| a.logical_id.as_str());
    template
        .routes()
        .iter()
        .filter(|r| r.api.is_none() || r.api.as_deref() == api)
        .cloned()
        .collect()
}

/// `%XX` escapes decoded; invalid escapes and non-UTF-8 results are kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// The query string as (name, value) pairs, decoded, in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_and_parameters_are_captured() {
        let routes = of_api(&Template::bundled().unwrap());
        let m = find(&routes, "POST", "/payments/pay_1/confirm").unwrap();
        assert_eq!(m.route.path, "/payments/{payment_id}/confirm");
        assert_eq!(m.params, vec![("payment_id".into(), "pay_1".into())]);
        assert!(find(&routes, "DELETE", "/payments").is_none());
        assert!(find(&routes, "GET", "/nope").is_none());
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
    }
}
