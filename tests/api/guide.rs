//! `docs/guide.md` runs as written: every request of the guide is sent, in order, to a real
//! server on a fresh database, and every response it shows is checked against the real one.
//!
//! # How the guide is read
//!
//! - A ```` ```sh ```` block that contains a `curl` or `sleep` command is run; other shell
//!   blocks (`cargo run`, …) are only shown. A run block holds, one per line (a trailing
//!   `\` continues a line, `#` starts a comment):
//!   - `NAME=value`: sets a shell variable, used later as `$NAME` or `${NAME}`. The value
//!     may be `$(date -u -d '+N minutes' +%FT%TZ)` (also `hour(s)`, `day(s)`, `second(s)`),
//!     which reads the server's clock;
//!   - `for i in $(seq N); do curl …; done`: a request sent N times, its responses not checked;
//!   - `sleep N`: moves the server's clock N seconds ahead (the test does not wait) and lets
//!     the scheduled-post publisher run;
//!   - at most one more `curl` command: the request whose response is shown next.
//! - The supported curl subset: `-i`, `-I` (HEAD), `-s`, `-o /dev/null`, `-X METHOD`,
//!   `-H 'Name: value'`, `-d`/`--data` (as curl: form-encoded unless a `Content-Type` is
//!   given) and `-F name=value` / `-F name=@file` (multipart; files are relative to the
//!   repository root). The URL starts with `http://127.0.0.1:8080`, replaced by the test
//!   server's address; the server believes it is reached there (`ROOST_PUBLIC_URL`), so
//!   URLs in responses read as in the guide.
//! - The block right after a checked request is ```` ```http ````: the status line, the
//!   headers worth showing, a blank line and the JSON body, if any. The status code must be
//!   the real one; each header shown must be in the real response with a matching value
//!   (headers not shown are not checked); the body must have the same keys, nesting, array
//!   lengths and values.
//!
//! - A request with `curl -N` opens the stream: its ```` ```http ```` block shows the
//!   status line and headers only, and the stream stays open while the guide goes on. A
//!   later ```` ```sse ```` block shows the events that the open stream received since it
//!   opened (or since the previous such block): each `id:`, `event:` and one-line JSON
//!   `data:`, compared as response bodies are (`: ping` comments are skipped).
//!
//! # Values that vary between runs
//!
//! Inside any JSON string or header value, these are recognised by their shape and stand
//! for whatever the server really answered there: RFC 3339 UTC timestamps
//! (`2026-11-28T20:14:46.123456Z`), UUIDs (ids, request ids), and any other run of at least
//! 20 characters from the base64url alphabet `A-Z a-z 0-9 - _` (tokens, cursors, media file
//! keys). Everything else — numbers, booleans, `null`, other text — must be equal.
//!
//! The guide must use such values consistently: each value shown stands for one real value
//! throughout the guide (the post id in a create response and in the feed are the same), and
//! two different values shown stand for two different real values. A value shown in an
//! earlier response may be used in a later request, directly or through a variable set to it
//! (`TOKEN=sn80f5Nk…`): the test sends the real value it stood for.
//!
//! # Keeping the guide current
//!
//! `ROOST_BLESS=1 cargo test --test api guide` rewrites every response block that does not
//! match with the real response (keeping the guide's values where they stand for the same
//! real ones, and formatting JSON to fit 90 columns); matching blocks are left as written.
//! A new request can be added with an empty ```` ```http ```` block after it, then blessed.
//! `ROOST_BLESS=all` rewrites every response block, and every varying value in the guide
//! (in variables and requests too), from one run: use it to refresh the whole guide.
//!
//! The server runs on a manual clock, moved by the real time elapsed before each request
//! (at least 1 ms, at most 100 ms), so timestamps look real while windows such as the
//! failed-login lock-out give exact `Retry-After` values.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::helpers::TestApp;
use crate::ordered_json::Json;

const GUIDE: &str = "docs/guide.md";
/// The server address the guide is written for.
const DOCUMENTED_BASE: &str = "http://127.0.0.1:8080";
/// Per-client request budgets would make a fast run of the guide depend on timing; the
/// failed-login rule the guide shows always applies.
const CONFIG: &[(&str, &str)] = &[
    ("ROOST_PUBLIC_URL", DOCUMENTED_BASE),
    ("ROOST_RATE_LIMITS", "off"),
];
/// Headers written by `ROOST_BLESS` when present, besides those the block already shows.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "location",
    "link",
    "www-authenticate",
    "retry-after",
    "allow",
    "cache-control",
];
/// Width JSON bodies are formatted to when blessed.
const JSON_WIDTH: usize = 90;

mod the_guide_runs_as_written {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run_guide(TestApp::sqlite_with(CONFIG).await, Bless::from_env()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        // Blessing writes the guide from the SQLite run alone.
        if Bless::from_env() != Bless::Off {
            return;
        }
        if let Some(app) = TestApp::postgres_with(CONFIG).await {
            run_guide(app, Bless::Off).await;
        }
    }
}

/// What `ROOST_BLESS` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bless {
    /// Check only.
    Off,
    /// Rewrite the response blocks that do not match.
    Mismatches,
    /// Rewrite every response block and every varying value from this run.
    All,
}

impl Bless {
    fn from_env() -> Self {
        match std::env::var("ROOST_BLESS").as_deref() {
            Ok("all") => Self::All,
            Ok("" | "0") | Err(_) => Self::Off,
            Ok(_) => Self::Mismatches,
        }
    }
}

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

async fn run_guide(app: TestApp, bless: Bless) {
    let path = repository_path(GUIDE);
    let text = std::fs::read_to_string(&path).expect("docs/guide.md is readable");
    let lines: Vec<&str> = text.lines().collect();
    let blocks = fenced_blocks(&lines);
    let mut run = GuideRun::new(app);
    let mut rewrites: Vec<(usize, usize, String)> = Vec::new();
    let mut checked = 0;

    let mut index = 0;
    // A guide that cannot be run further stops the run; what was blessed so far is kept.
    'blocks: while index < blocks.len() {
        let block = &blocks[index];
        index += 1;
        let line = block.first_line;
        if block.lang == "sse" {
            let real = run.stream_events(&block.content).await;
            let mismatches = match parse_events(&block.content) {
                Ok(shown) => run.compare_events(&shown, &real),
                Err(error) => vec![error],
            };
            if mismatches.is_empty() && bless != Bless::All {
                continue;
            }
            checked += 1;
            if bless != Bless::Off {
                let rendered = run.render_events(&real);
                rewrites.push((line, block.last_line, rendered));
            } else {
                run.failures
                    .push(format!("{GUIDE}:{line}:\n  {}", mismatches.join("\n  ")));
            }
            continue;
        }
        if block.lang != "sh" {
            continue;
        }
        macro_rules! or_stop {
            ($result:expr) => {
                match $result {
                    Ok(value) => value,
                    Err(error) => {
                        run.failures.push(format!("{GUIDE}:{line}: {error}"));
                        break 'blocks;
                    }
                }
            };
        }
        let Some(commands) = or_stop!(parse_block(&block.content)) else {
            continue;
        };
        let mut request = None;
        for command in commands {
            match command {
                Command::Assign { name, value } => {
                    let value = or_stop!(run.assigned_value(&value));
                    run.variables.insert(name, value);
                }
                Command::Sleep(seconds) => run.sleep(seconds).await,
                Command::Repeat { times, curl } => {
                    for _ in 0..times {
                        let request = or_stop!(run.prepare(&curl));
                        run.send(request).await;
                    }
                }
                Command::Curl(curl) => request = Some(curl),
            }
        }
        let Some(curl) = request else { continue };
        let response_block = or_stop!(
            blocks
                .get(index)
                .filter(|next| next.lang == "http")
                .ok_or("a request must be followed by an ```http block")
        );
        index += 1;
        if !curl.include_headers {
            or_stop!(Err(
                "use `curl -i` (or `-I`) so that the status line is shown"
            ));
        }
        let prepared = or_stop!(run.prepare(&curl));
        let real = if curl.stream {
            run.open_stream(prepared).await
        } else {
            run.send(prepared).await
        };
        checked += 1;
        let response_line = response_block.first_line;
        let documented = match parse_response(&response_block.content) {
            Ok(documented) => Some(documented),
            Err(_) if bless != Bless::Off => None,
            Err(error) => {
                run.failures
                    .push(format!("{GUIDE}:{response_line}: {error}"));
                break 'blocks;
            }
        };
        let mismatches = match &documented {
            Some(documented) => run.compare(documented, &real),
            None => vec!["no response shown yet".to_owned()],
        };
        if mismatches.is_empty() && bless != Bless::All {
            continue;
        }
        if bless != Bless::Off {
            let shown: Vec<String> = documented
                .map(|documented| {
                    documented
                        .headers
                        .into_iter()
                        .map(|(name, _)| name)
                        .collect()
                })
                .unwrap_or_default();
            let rendered = run.render(&real, &shown, bless == Bless::Mismatches);
            rewrites.push((response_line, response_block.last_line, rendered));
        } else {
            run.failures.push(format!(
                "{GUIDE}:{response_line} (request at line {line}):\n  {}",
                mismatches.join("\n  ")
            ));
        }
    }

    assert!(checked > 0, "{GUIDE} shows no request");
    if !rewrites.is_empty() {
        let count = rewrites.len();
        let mut rewritten = apply_rewrites(&lines, rewrites);
        if bless == Bless::All {
            rewritten = run.to_real(&rewritten);
        }
        std::fs::write(&path, rewritten).expect("docs/guide.md written");
        eprintln!("rewrote {count} response block(s) of {GUIDE}");
    }
    assert!(
        run.failures.is_empty(),
        "{GUIDE} no longer matches the server ({} response(s) differ). Check the changes, then \
         rewrite the responses with `ROOST_BLESS=1 cargo test --test api guide`.\n\n{}",
        run.failures.len(),
        run.failures.join("\n\n")
    );
}

/// A fenced code block of the guide; line numbers are 1-based, of its first and last
/// content lines (`last_line` is `first_line - 1` for an empty block).
struct Block {
    lang: String,
    content: String,
    first_line: usize,
    last_line: usize,
}

fn fenced_blocks(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, usize, Vec<&str>)> = None;
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(rest) = trimmed.strip_prefix("```") {
                    let fence_len = 3 + rest.chars().take_while(|c| *c == '`').count();
                    let fence = "`".repeat(fence_len);
                    let lang = rest.trim_start_matches('`').trim().to_owned();
                    open = Some((fence, lang, index + 2, Vec::new()));
                }
            }
            Some((fence, lang, first_line, content)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_matches('`').is_empty() {
                    blocks.push(Block {
                        lang: std::mem::take(lang),
                        content: content.join("\n"),
                        first_line: *first_line,
                        last_line: index,
                    });
                    open = None;
                } else {
                    content.push(line);
                }
            }
        }
    }
    blocks
}

/// Replaces the content of blocks, given as 1-based inclusive line ranges.
fn apply_rewrites(lines: &[&str], mut rewrites: Vec<(usize, usize, String)>) -> String {
    rewrites.sort_by_key(|(first, _, _)| *first);
    let mut out = String::new();
    let mut next = 1;
    for (first, last, content) in rewrites {
        for line in &lines[next - 1..first - 1] {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&content);
        out.push('\n');
        next = last + 1;
    }
    for line in &lines[next - 1..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Shell blocks

enum Command {
    Assign { name: String, value: String },
    Sleep(u64),
    Repeat { times: u32, curl: Curl },
    Curl(Curl),
}

/// A curl command line, its words still unexpanded (variables are read when it is sent).
#[derive(Clone)]
struct Curl {
    include_headers: bool,
    /// `-N`: the response is a stream, kept open.
    stream: bool,
    words: Vec<Word>,
}

/// One shell word: pieces of literal text and variable references, concatenated.
#[derive(Clone, Debug)]
struct Word(Vec<Piece>);

#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    Variable(String),
}

/// Parses a shell block; `None` when it is only shown, not run.
fn parse_block(content: &str) -> Result<Option<Vec<Command>>, String> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in content.lines() {
        if let Some(continued) = line.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
        } else {
            current.push_str(line);
            logical.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        logical.push(current);
    }
    let logical: Vec<String> = logical
        .into_iter()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let runs = logical.iter().any(|line| {
        line.starts_with("curl ") || line.starts_with("sleep ") || line.starts_with("for ")
    });
    if !runs {
        return Ok(None);
    }
    let mut commands = Vec::new();
    let mut curls = 0;
    for line in logical {
        if let Some(rest) = line.strip_prefix("sleep ") {
            let seconds = strip_comment(rest)
                .trim()
                .parse()
                .map_err(|_| format!("`sleep` takes whole seconds: {line}"))?;
            commands.push(Command::Sleep(seconds));
        } else if let Some(rest) = line.strip_prefix("for ") {
            commands.push(parse_loop(rest).ok_or_else(|| {
                format!("unsupported loop (use `for i in $(seq N); do curl …; done`): {line}")
            })??);
        } else if line.starts_with("curl ") {
            curls += 1;
            commands.push(Command::Curl(parse_curl(&line)?));
        } else if let Some((name, value)) = assignment(&line) {
            commands.push(Command::Assign { name, value });
        } else {
            return Err(format!("unsupported command in a run block: {line}"));
        }
    }
    if curls > 1 {
        return Err("a block runs at most one checked curl command".into());
    }
    Ok(Some(commands))
}

fn parse_loop(rest: &str) -> Option<Result<Command, String>> {
    let rest = rest.split_once(" in $(seq ")?.1;
    let (times, rest) = rest.split_once(");")?;
    let body = rest.trim().strip_prefix("do ")?;
    let body = strip_comment(body).trim().strip_suffix("done")?.trim();
    let body = body.strip_suffix(';')?.trim();
    let times = times.trim().parse().ok()?;
    Some(parse_curl(body).map(|curl| Command::Repeat { times, curl }))
}

/// `NAME=value` (a trailing comment dropped), with the value's raw text.
fn assignment(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once('=')?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then(|| (name.to_owned(), strip_comment(value).trim().to_owned()))
}

/// Drops an unquoted `# comment` (a `#` after white space, outside quotes).
fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (index, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return &text[..index],
            None => {}
        }
        previous = c;
    }
    text
}

/// Splits a command line into shell words: single quotes keep everything, double quotes
/// allow `$VAR` and `\"`, `\\`, `\$`; unquoted `#` after white space starts a comment.
fn shell_words(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let flush = |text: &mut String, pieces: &mut Vec<Piece>| {
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(text)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    flush(&mut text, &mut pieces);
                    words.push(Word(std::mem::take(&mut pieces)));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => text.push(c),
                        None => return Err(format!("unclosed ' in: {line}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$')) => text.push(c),
                            Some(c) => {
                                text.push('\\');
                                text.push(c);
                            }
                            None => return Err(format!("unclosed \" in: {line}")),
                        },
                        Some('$') => {
                            flush(&mut text, &mut pieces);
                            pieces.push(Piece::Variable(variable_name(&mut chars, line)?));
                        }
                        Some(c) => text.push(c),
                        None => return Err(format!("unclosed \" in: {line}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    text.push(c);
                }
            }
            '$' => {
                in_word = true;
                flush(&mut text, &mut pieces);
                pieces.push(Piece::Variable(variable_name(&mut chars, line)?));
            }
            c => {
                in_word = true;
                text.push(c);
            }
        }
    }
    if in_word {
        flush(&mut text, &mut pieces);
        words.push(Word(pieces));
    }
    Ok(words)
}

fn variable_name(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    line: &str,
) -> Result<String, String> {
    let braced = chars.peek() == Some(&'{');
    if braced {
        chars.next();
    }
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    if braced && chars.next() != Some('}') {
        return Err(format!("unclosed ${{ in: {line}"));
    }
    if name.is_empty() {
        return Err(format!("unsupported `$` use in: {line}"));
    }
    Ok(name)
}

fn parse_curl(line: &str) -> Result<Curl, String> {
    let words = shell_words(line)?;
    let include_headers = words.iter().any(
        |word| matches!(word.0.as_slice(), [Piece::Text(flag)] if flag == "-i" || flag == "-I"),
    );
    let stream = words
        .iter()
        .any(|word| matches!(word.0.as_slice(), [Piece::Text(flag)] if flag == "-N"));
    Ok(Curl {
        include_headers,
        stream,
        words: words.into_iter().skip(1).collect(),
    })
}

// ---------------------------------------------------------------------------------------
// Running requests

/// A request ready to send.
struct Prepared {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Body,
}

enum Body {
    None,
    Data(String),
    Form(Vec<(String, FormValue)>),
}

enum FormValue {
    Text(String),
    File(String),
}

/// A response as received.
struct Real {
    status: StatusCode,
    headers: HeaderMap,
    body: Option<Json>,
}

/// A response as the guide shows it.
struct Documented {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Option<Json>,
}

struct GuideRun {
    app: TestApp,
    variables: HashMap<String, String>,
    /// Each varying value shown in the guide, and the real value it stood for.
    real_of: HashMap<String, String>,
    /// The reverse of `real_of`.
    shown_of: HashMap<String, String>,
    last_request: Instant,
    failures: Vec<String>,
    /// The stream opened by `curl -N`, and what it sent that was not read yet.
    stream: Option<(reqwest::Response, String)>,
}

/// An event of the stream, as shown or as received.
struct StreamEvent {
    id: String,
    event: String,
    data: Json,
}

/// The events of an ```` ```sse ```` block.
fn parse_events(content: &str) -> Result<Vec<StreamEvent>, String> {
    let mut events = Vec::new();
    for chunk in content
        .split("\n\n")
        .filter(|chunk| !chunk.trim().is_empty())
    {
        if let Some(event) = parse_event(chunk)? {
            events.push(event);
        }
    }
    Ok(events)
}

/// One event (`None` for a comment alone).
fn parse_event(chunk: &str) -> Result<Option<StreamEvent>, String> {
    let (mut id, mut event, mut data) = (None, None, None);
    for line in chunk.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line
            .split_once(':')
            .ok_or(format!("not an event line: {line}"))?;
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => event = Some(value.to_owned()),
            "data" => {
                data = Some(
                    serde_json::from_str::<Json>(value)
                        .map_err(|error| format!("`data:` is not JSON ({error}): {value}"))?,
                )
            }
            other => return Err(format!("unknown event field {other}")),
        }
    }
    match (id, event, data) {
        (None, None, None) => Ok(None),
        (Some(id), Some(event), Some(data)) => Ok(Some(StreamEvent { id, event, data })),
        _ => Err(format!("an event needs id, event and data:\n{chunk}")),
    }
}

impl GuideRun {
    fn new(app: TestApp) -> Self {
        Self {
            app,
            variables: HashMap::new(),
            real_of: HashMap::new(),
            shown_of: HashMap::new(),
            last_request: Instant::now(),
            stream: None,
            failures: Vec::new(),
        }
    }

    /// The value of an assignment: a clock reading, or text in which every varying value
    /// shown earlier becomes the real one.
    fn assigned_value(&self, raw: &str) -> Result<String, String> {
        if let Some(offset) = raw
            .strip_prefix("$(date -u -d '+")
            .and_then(|rest| rest.strip_suffix("' +%FT%TZ)"))
        {
            let (amount, unit) = offset
                .split_once(' ')
                .ok_or_else(|| format!("unsupported date offset: {raw}"))?;
            let amount: i64 = amount
                .parse()
                .map_err(|_| format!("unsupported date offset: {raw}"))?;
            let seconds = match unit.trim_end_matches('s') {
                "second" => 1,
                "minute" => 60,
                "hour" => 3600,
                "day" => 86_400,
                _ => return Err(format!("unsupported date unit: {raw}")),
            };
            let time = roost::clock::Clock::now(self.app.clock.as_ref())
                + chrono::TimeDelta::seconds(amount * seconds);
            return Ok(time.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        let words = shell_words(raw)?;
        let [word] = words.as_slice() else {
            return Err(format!("an assignment takes one word: {raw}"));
        };
        let value = self.expand(word)?;
        for segment in segments(&value) {
            if let Segment::Varying(shown, _) = segment
                && !self.real_of.contains_key(&shown)
            {
                return Err(format!("{shown} appears in no earlier response"));
            }
        }
        Ok(self.to_real(&value))
    }

    fn expand(&self, word: &Word) -> Result<String, String> {
        let mut text = String::new();
        for piece in &word.0 {
            match piece {
                Piece::Text(literal) => text.push_str(literal),
                Piece::Variable(name) => text.push_str(
                    self.variables
                        .get(name)
                        .ok_or_else(|| format!("${name} is not set by an earlier block"))?,
                ),
            }
        }
        Ok(text)
    }

    /// Replaces the varying values shown in the guide by the real values they stood for.
    fn to_real(&self, text: &str) -> String {
        segments(text)
            .into_iter()
            .map(|segment| match segment {
                Segment::Literal(literal) => literal,
                Segment::Varying(value, _) => self.real_of.get(&value).cloned().unwrap_or(value),
            })
            .collect()
    }

    /// Replaces real values by the values the guide shows for them, where known.
    fn to_shown(&self, text: &str) -> String {
        segments(text)
            .into_iter()
            .map(|segment| match segment {
                Segment::Literal(literal) => literal,
                Segment::Varying(value, _) => self.shown_of.get(&value).cloned().unwrap_or(value),
            })
            .collect()
    }

    fn prepare(&self, curl: &Curl) -> Result<Prepared, String> {
        let mut words = Vec::new();
        for word in &curl.words {
            words.push(self.to_real(&self.expand(word)?));
        }
        let mut method = None;
        let mut head = false;
        let mut url = None;
        let mut headers = Vec::new();
        let mut data = None;
        let mut form = Vec::new();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let mut argument = |flag: &str| {
                words
                    .next()
                    .ok_or_else(|| format!("curl {flag} needs an argument"))
            };
            match word.as_str() {
                "-i" | "-s" | "-sS" | "-N" => {}
                "-I" => head = true,
                "-o" => {
                    let target = argument("-o")?;
                    if target != "/dev/null" {
                        return Err("curl -o only takes /dev/null here".into());
                    }
                }
                "-X" => method = Some(argument("-X")?),
                "-H" => {
                    let header = argument("-H")?;
                    let (name, value) = header
                        .split_once(':')
                        .ok_or_else(|| format!("not a header: {header}"))?;
                    headers.push((name.trim().to_owned(), value.trim().to_owned()));
                }
                "-d" | "--data" | "--data-raw" => data = Some(argument("-d")?),
                "-F" => {
                    let field = argument("-F")?;
                    let (name, value) = field
                        .split_once('=')
                        .ok_or_else(|| format!("not a form field: {field}"))?;
                    let value = match value.strip_prefix('@') {
                        Some(file) => FormValue::File(file.to_owned()),
                        None => FormValue::Text(value.to_owned()),
                    };
                    form.push((name.to_owned(), value));
                }
                flag if flag.starts_with('-') => {
                    return Err(format!("unsupported curl option {flag}"));
                }
                _ => {
                    if url.replace(word).is_some() {
                        return Err("curl is given more than one URL".into());
                    }
                }
            }
        }
        let url = url.ok_or("curl is given no URL")?;
        let url = url
            .strip_prefix(DOCUMENTED_BASE)
            .map(|path| self.app.url(path))
            .ok_or_else(|| format!("URLs start with {DOCUMENTED_BASE}: {url}"))?;
        let body = match (data, form.is_empty()) {
            (Some(_), false) => return Err("curl -d and -F cannot be mixed".into()),
            (Some(data), true) => Body::Data(data),
            (None, false) => Body::Form(form),
            (None, true) => Body::None,
        };
        let method = match (method, head, &body) {
            (Some(method), _, _) => Method::from_bytes(method.as_bytes())
                .map_err(|_| format!("not a method: {method}"))?,
            (None, true, _) => Method::HEAD,
            (None, false, Body::None) => Method::GET,
            (None, false, _) => Method::POST,
        };
        Ok(Prepared {
            method,
            url,
            headers,
            body,
        })
    }

    /// Sends a request as curl would, after moving the server's clock by the real time
    /// elapsed (between 1 and 100 ms).
    async fn send(&mut self, request: Prepared) -> Real {
        let elapsed = self
            .last_request
            .elapsed()
            .clamp(Duration::from_millis(1), Duration::from_millis(100));
        // Whole microseconds, the precision of the server's own clock.
        self.app
            .advance(Duration::from_micros(elapsed.as_micros() as u64));
        self.last_request = Instant::now();

        let mut builder = self.app.client.request(request.method, &request.url);
        let mut has_content_type = false;
        for (name, value) in &request.headers {
            has_content_type |= name.eq_ignore_ascii_case("content-type");
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = match request.body {
            Body::None => builder,
            Body::Data(data) => {
                if !has_content_type {
                    builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                }
                builder.body(data)
            }
            Body::Form(fields) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in fields {
                    form = match value {
                        FormValue::Text(text) => form.text(name, text),
                        FormValue::File(file) => {
                            let bytes = std::fs::read(repository_path(&file))
                                .unwrap_or_else(|error| panic!("reading {file}: {error}"));
                            let part = reqwest::multipart::Part::bytes(bytes)
                                .file_name(
                                    Path::new(&file)
                                        .file_name()
                                        .map(|name| name.to_string_lossy().into_owned())
                                        .unwrap_or_default(),
                                )
                                .mime_str(mime_of(&file))
                                .expect("a valid MIME type");
                            form.part(name, part)
                        }
                    };
                }
                builder.multipart(form)
            }
        };
        let response = builder.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        let body = if bytes.is_empty() {
            None
        } else {
            Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                Json::String(format!(
                    "(not JSON) {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ))
            }))
        };
        Real {
            status,
            headers,
            body,
        }
    }

    /// Sends the request of `curl -N` and keeps its body open as the stream.
    async fn open_stream(&mut self, request: Prepared) -> Real {
        let mut builder = self.app.client.request(request.method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder.send().await.expect("stream opened");
        let real = Real {
            status: response.status(),
            headers: response.headers().clone(),
            body: None,
        };
        self.stream = Some((response, String::new()));
        real
    }

    /// The events the open stream received since the last call: as many as `shown` has
    /// (waiting up to 5 s for them), and any that arrived already beyond those.
    async fn stream_events(&mut self, shown: &str) -> Vec<StreamEvent> {
        let wanted = parse_events(shown).map_or(1, |events| events.len().max(1));
        let Some((response, buffer)) = self.stream.as_mut() else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let chunk: String = buffer.drain(..end + 2).collect();
                if let Ok(Some(event)) = parse_event(chunk.trim_end()) {
                    events.push(event);
                }
            }
            // A short wait for stragglers once enough arrived: none should come.
            let until = if events.len() >= wanted {
                (tokio::time::Instant::now() + Duration::from_millis(200)).min(deadline)
            } else {
                deadline
            };
            match tokio::time::timeout_at(until, response.chunk()).await {
                Ok(Ok(Some(bytes))) => buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return events,
            }
        }
    }

    /// Every difference between the events shown and those received.
    fn compare_events(&mut self, shown: &[StreamEvent], real: &[StreamEvent]) -> Vec<String> {
        let mut out = Vec::new();
        if shown.len() != real.len() {
            out.push(format!(
                "{} event(s) shown, {} received: {}",
                shown.len(),
                real.len(),
                real.iter()
                    .map(|event| event.event.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return out;
        }
        for (index, (shown, real)) in shown.iter().zip(real).enumerate() {
            if shown.event != real.event {
                out.push(format!(
                    "event {index}: `{}` shown, `{}` received",
                    shown.event, real.event
                ));
                continue;
            }
            let id = (
                Json::String(shown.id.clone()),
                Json::String(real.id.clone()),
            );
            self.compare_json(&format!("event {index} id"), &id.0, &id.1, &mut out);
            self.compare_json(
                &format!("event {index} data"),
                &shown.data,
                &real.data,
                &mut out,
            );
        }
        out
    }

    /// Events as an ```` ```sse ```` block shows them.
    fn render_events(&mut self, real: &[StreamEvent]) -> String {
        let mut out = String::new();
        for event in real {
            let id = self.shown(&event.id);
            let data = self.shown_json(&event.data);
            let _ = write!(
                out,
                "id: {id}\nevent: {}\ndata: {}\n\n",
                event.event,
                compact(&data)
            );
        }
        out.trim_end().to_owned()
    }

    /// Moves the clock ahead and lets the publisher catch up, as if the reader had waited.
    async fn sleep(&mut self, seconds: u64) {
        self.app.advance(Duration::from_secs(seconds));
        self.app.publish_due().await;
    }

    /// Every difference between the documented and the real response; records the real
    /// values that the documented varying values stand for.
    fn compare(&mut self, documented: &Documented, real: &Real) -> Vec<String> {
        let mut mismatches = Vec::new();
        if documented.status != real.status.as_u16() {
            mismatches.push(format!(
                "status: shown {}, real {}",
                documented.status, real.status
            ));
        }
        let reason = real.status.canonical_reason().unwrap_or_default();
        if documented.status == real.status.as_u16() && documented.reason != reason {
            mismatches.push(format!(
                "status line: shown {:?}, real {reason:?}",
                documented.reason
            ));
        }
        for (name, shown) in &documented.headers {
            match header_value(&real.headers, name) {
                None => mismatches.push(format!("header {name}: shown, but not sent")),
                Some(value) => {
                    if let Err(error) = self.match_text(shown, &value) {
                        mismatches.push(format!("header {name}: {error}"));
                    }
                }
            }
        }
        match (&documented.body, &real.body) {
            (None, None) => {}
            (Some(_), None) => mismatches.push("body: shown, but the response has none".into()),
            (None, Some(body)) => mismatches.push(format!("body: not shown, but sent: {body}")),
            (Some(shown), Some(real)) => self.compare_json("body", shown, real, &mut mismatches),
        }
        mismatches
    }

    fn compare_json(&mut self, path: &str, shown: &Json, real: &Json, out: &mut Vec<String>) {
        match (shown, real) {
            (Json::Object(shown), Json::Object(real)) => {
                let has = |members: &[(String, Json)], key: &str| {
                    members.iter().any(|(name, _)| name == key)
                };
                for (key, _) in shown.iter().filter(|(key, _)| !has(real, key)) {
                    out.push(format!("{path}.{key}: shown, but not sent"));
                }
                for (key, _) in real.iter().filter(|(key, _)| !has(shown, key)) {
                    out.push(format!("{path}.{key}: sent, but not shown"));
                }
                for (key, value) in shown {
                    if let Some((_, real_value)) = real.iter().find(|(name, _)| name == key) {
                        self.compare_json(&format!("{path}.{key}"), value, real_value, out);
                    }
                }
            }
            (Json::Array(shown), Json::Array(real)) => {
                if shown.len() != real.len() {
                    out.push(format!(
                        "{path}: shown {} items, real {}",
                        shown.len(),
                        real.len()
                    ));
                }
                for (index, (shown, real)) in shown.iter().zip(real).enumerate() {
                    self.compare_json(&format!("{path}[{index}]"), shown, real, out);
                }
            }
            (Json::String(shown), Json::String(real)) => {
                if let Err(error) = self.match_text(shown, real) {
                    out.push(format!("{path}: {error}"));
                }
            }
            (shown, real) if shown == real => {}
            (shown, real) => out.push(format!("{path}: shown {shown}, real {real}")),
        }
    }

    /// Matches a shown text against the real one: literal parts equal, each varying value
    /// standing for a real value of its kind, consistently with the rest of the guide.
    fn match_text(&mut self, shown: &str, real: &str) -> Result<(), String> {
        let mismatch = || format!("shown {shown:?}, real {real:?}");
        let mut rest = real;
        let mut bindings = Vec::new();
        for segment in segments(shown) {
            match segment {
                Segment::Literal(literal) => {
                    rest = rest.strip_prefix(literal.as_str()).ok_or_else(mismatch)?;
                }
                Segment::Varying(value, kind) => {
                    let length = kind.real_length(rest).ok_or_else(mismatch)?;
                    bindings.push((value, rest[..length].to_owned()));
                    rest = &rest[length..];
                }
            }
        }
        if !rest.is_empty() {
            return Err(mismatch());
        }
        for (shown_value, real_value) in bindings {
            if let Some(bound) = self.real_of.get(&shown_value)
                && *bound != real_value
            {
                return Err(format!(
                    "{shown_value} stands for {bound} earlier in the guide, but here for {real_value}"
                ));
            }
            if let Some(bound) = self.shown_of.get(&real_value)
                && *bound != shown_value
            {
                return Err(format!(
                    "{shown_value} is shown here for what the guide showed as {bound} earlier"
                ));
            }
            self.real_of.insert(shown_value.clone(), real_value.clone());
            self.shown_of.insert(real_value, shown_value);
        }
        Ok(())
    }

    /// The response block for a real response, in the guide's values where known if
    /// `keep_shown_values`, else in the real values.
    fn render(&mut self, real: &Real, shown_headers: &[String], keep_shown_values: bool) -> String {
        let mut out = format!(
            "HTTP/1.1 {} {}\n",
            real.status.as_u16(),
            real.status.canonical_reason().unwrap_or_default()
        );
        let mut names: Vec<String> = shown_headers.to_vec();
        for name in SHOWN_HEADERS {
            if !names.iter().any(|shown| shown.eq_ignore_ascii_case(name)) {
                names.push((*name).to_owned());
            }
        }
        for name in names {
            if let Some(value) = header_value(&real.headers, &name) {
                let value = if keep_shown_values {
                    self.shown(&value)
                } else {
                    value
                };
                let _ = writeln!(out, "{}: {value}", name.to_ascii_lowercase());
            }
        }
        if let Some(body) = &real.body {
            let body = if keep_shown_values {
                self.shown_json(body)
            } else {
                body.clone()
            };
            out.push('\n');
            out.push_str(&format_json(&body, 0, 0, JSON_WIDTH));
        }
        out.trim_end().to_owned()
    }

    /// A real text in the guide's values; values new to the guide are shown as they are
    /// and from now on stand for themselves.
    fn shown(&mut self, real: &str) -> String {
        for segment in segments(real) {
            if let Segment::Varying(value, _) = segment
                && !self.shown_of.contains_key(&value)
                && !self.real_of.contains_key(&value)
            {
                self.shown_of.insert(value.clone(), value.clone());
                self.real_of.insert(value.clone(), value);
            }
        }
        self.to_shown(real)
    }

    fn shown_json(&mut self, real: &Json) -> Json {
        match real {
            Json::String(text) => Json::String(self.shown(text)),
            Json::Array(items) => Json::Array(items.iter().map(|v| self.shown_json(v)).collect()),
            Json::Object(members) => Json::Object(
                members
                    .iter()
                    .map(|(key, value)| (key.clone(), self.shown_json(value)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok()?;
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

fn mime_of(file: &str) -> &'static str {
    match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

fn parse_response(content: &str) -> Result<Documented, String> {
    let mut lines = content.lines();
    let status_line = lines
        .next()
        .filter(|line| !line.trim().is_empty())
        .ok_or("the response block is empty")?;
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .ok_or_else(|| format!("not a status line: {status_line}"))?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = code
        .parse()
        .map_err(|_| format!("not a status line: {status_line}"))?;
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("not a header: {line}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let body_text: Vec<&str> = lines.collect();
    let body_text = body_text.join("\n");
    let body = if body_text.trim().is_empty() {
        None
    } else {
        Some(
            serde_json::from_str(&body_text)
                .map_err(|error| format!("the body shown is not JSON: {error}"))?,
        )
    };
    Ok(Documented {
        status,
        reason: reason.trim().to_owned(),
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------------------
// Varying values

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Timestamp,
    Uuid,
    Opaque,
}

enum Segment {
    Literal(String),
    Varying(String, Kind),
}

const MIN_OPAQUE: usize = 20;

fn is_opaque_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

impl Kind {
    /// Length of a value of this kind at the start of `text`, if there is one.
    fn real_length(self, text: &str) -> Option<usize> {
        let bytes = text.as_bytes();
        match self {
            Kind::Timestamp => timestamp_length(bytes),
            Kind::Uuid => uuid_length(bytes),
            Kind::Opaque => {
                let length = bytes.iter().take_while(|c| is_opaque_char(**c)).count();
                (length > 0).then_some(length)
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
fn timestamp_length(bytes: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    if bytes.len() < SHAPE.len() + 1 {
        return None;
    }
    for (byte, shape) in bytes.iter().zip(SHAPE) {
        let fits = match shape {
            b'd' => byte.is_ascii_digit(),
            other => byte == other,
        };
        if !fits {
            return None;
        }
    }
    let mut length = SHAPE.len();
    if bytes[length] == b'.' {
        let digits = bytes[length + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        length += 1 + digits;
    }
    (bytes.get(length) == Some(&b'Z')).then_some(length + 1)
}

/// `8-4-4-4-12` lowercase hex digits.
fn uuid_length(bytes: &[u8]) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut at = 0;
    for (index, group) in GROUPS.iter().enumerate() {
        if index > 0 {
            if bytes.get(at) != Some(&b'-') {
                return None;
            }
            at += 1;
        }
        let hex = bytes.get(at..at + group)?;
        if !hex
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        {
            return None;
        }
        at += group;
    }
    Some(at)
}

/// Splits a text into literal parts and varying values. A value must start and end at a
/// boundary of base64url characters, so that no value is cut out of a longer word.
fn segments(text: &str) -> Vec<Segment> {
    let bytes = text.as_bytes();
    let mut segments = Vec::new();
    let mut literal_start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let at_boundary = at == 0 || !is_opaque_char(bytes[at - 1]);
        let found = if at_boundary {
            let ends_at_boundary =
                |length: usize| bytes.get(at + length).is_none_or(|c| !is_opaque_char(*c));
            if let Some(length) = timestamp_length(&bytes[at..]) {
                Some((length, Kind::Timestamp))
            } else if let Some(length) =
                uuid_length(&bytes[at..]).filter(|length| ends_at_boundary(*length))
            {
                Some((length, Kind::Uuid))
            } else {
                let length = bytes[at..]
                    .iter()
                    .take_while(|c| is_opaque_char(**c))
                    .count();
                (length >= MIN_OPAQUE).then_some((length, Kind::Opaque))
            }
        } else {
            None
        };
        match found {
            Some((length, kind)) => {
                if literal_start < at {
                    segments.push(Segment::Literal(text[literal_start..at].to_owned()));
                }
                segments.push(Segment::Varying(text[at..at + length].to_owned(), kind));
                at += length;
                literal_start = at;
            }
            None => at += 1,
        }
    }
    if literal_start < bytes.len() {
        segments.push(Segment::Literal(text[literal_start..].to_owned()));
    }
    segments
}

// ---------------------------------------------------------------------------------------
// JSON formatting for blessed responses

/// Formats `value`, which starts at `column` of a line indented by `indent`: on one line
/// when it fits in `width`, otherwise one member or item per line, two spaces deeper.
fn format_json(value: &Json, indent: usize, column: usize, width: usize) -> String {
    let flat = value.to_string();
    if column + flat.len() <= width {
        return flat;
    }
    let inner = " ".repeat(indent + 2);
    let closing = " ".repeat(indent);
    // A comma follows every member or item but the last; keep room for it.
    let (lines, open, close): (Vec<String>, char, char) = match value {
        Json::Object(members) if !members.is_empty() => (
            members
                .iter()
                .map(|(key, member)| {
                    let prefix = format!("{inner}{}: ", Json::String(key.clone()));
                    let formatted = format_json(member, indent + 2, prefix.len(), width - 1);
                    format!("{prefix}{formatted}")
                })
                .collect(),
            '{',
            '}',
        ),
        Json::Array(items) if !items.is_empty() => (
            items
                .iter()
                .map(|item| {
                    let formatted = format_json(item, indent + 2, indent + 2, width - 1);
                    format!("{inner}{formatted}")
                })
                .collect(),
            '[',
            ']',
        ),
        _ => return flat,
    };
    format!("{open}\n{}\n{closing}{close}", lines.join(",\n"))
}

#[test]
fn varying_values_are_recognised_by_their_shape() {
    let kinds = |text: &str| -> Vec<(String, Kind)> {
        segments(text)
            .into_iter()
            .filter_map(|segment| match segment {
                Segment::Varying(value, kind) => Some((value, kind)),
                Segment::Literal(_) => None,
            })
            .collect()
    };
    assert_eq!(
        kinds("http://127.0.0.1:8080/media/66ff34746f14c6b234983fb585abeb8f.jpg"),
        vec![("66ff34746f14c6b234983fb585abeb8f".to_owned(), Kind::Opaque)]
    );
    assert_eq!(
        kinds("/api/v1/posts/01a224a9-23b2-738a-84b4-d7d8818b530a/like"),
        vec![(
            "01a224a9-23b2-738a-84b4-d7d8818b530a".to_owned(),
            Kind::Uuid
        )]
    );
    assert_eq!(
        kinds("2026-11-29T00:16:34.225850Z and 2026-11-29T00:16:34Z"),
        vec![
            ("2026-11-29T00:16:34.225850Z".to_owned(), Kind::Timestamp),
            ("2026-11-29T00:16:34Z".to_owned(), Kind::Timestamp)
        ]
    );
    assert!(kinds("First light on the river #birds 5d1c7a52-first-post").is_empty());
}

#[test]
fn shell_words_follow_quoting_rules() {
    let words = shell_words(r#"curl -H "Authorization: Bearer $TOKEN" -d '{"a": "$b"}'x"y\"" # c"#)
        .unwrap();
    assert_eq!(words.len(), 5);
    assert!(matches!(
        words[2].0.as_slice(),
        [Piece::Text(text), Piece::Variable(name)] if text == "Authorization: Bearer " && name == "TOKEN"
    ));
    assert!(matches!(
        words[4].0.as_slice(),
        [Piece::Text(text)] if text == r#"{"a": "$b"}xy""#
    ));
}

/// JSON on one line, as a stream's `data:` carries it.
fn compact(json: &Json) -> String {
    serde_json::to_string(json).expect("JSON serialises")
}
