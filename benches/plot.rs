//! Pictures from the JSON the other commands write, as SVG files (the `plotters` crate, SVG
//! backend only; a dev-dependency, never part of the daemon).
//!
//! `cargo bench --bench plot -- [--demo FILE] [--compare FILE] [--reap FILE] [--race FILE]
//! [--out DIR]`
//! (default `--out docs`) writes, for each input given:
//!
//! * `--demo`: `demo.svg` from `lmkd demo --json FILE` — the sandbox's memory and PSI over
//!   time, with a marker for every kill (app and adj);
//! * `--compare`: `compare.svg` from `cargo bench --bench compare -- --json FILE` — the same
//!   picture for one run of each mode (the run with the median PSI stall), stacked on one time
//!   axis;
//! * `--reap`: `reap.svg` from `cargo bench --bench reap -- --json FILE` — kill → memory back,
//!   every kill as a dot, per victim state and size, for the three kill methods (log scale;
//!   kills whose memory never came back sit on the timeout line).
//! * `--race`: `race.svg` from `cargo bench --bench race -- --json FILE` — per growth rate, the
//!   kernel OOM kills that came while a killable registered app was alive (mean per run), for
//!   the daemon with and without its predictive rule and for the kernel alone; one panel per
//!   variant (no page cache; a re-read file).
//!
//! No root needed; nothing is measured here.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

type Res<T> = Result<T, Box<dyn Error>>;

const MIB: f64 = 1048576.0;
const MEM: RGBColor = RGBColor(31, 119, 180);
const PSI_SOME: RGBColor = RGBColor(255, 127, 14);
const PSI_FULL: RGBColor = RGBColor(214, 39, 40);
const KILL: RGBColor = RGBColor(90, 90, 90);
const OOM: RGBColor = RGBColor(148, 0, 211);
const METHODS: [(&str, &str, RGBColor); 3] = [
    ("sigkill", "(a) SIGKILL + wait", RGBColor(127, 127, 127)),
    ("lmkd", "(b) lmkd pipeline", RGBColor(31, 119, 180)),
    ("mrelease", "(c) bare process_mrelease", RGBColor(44, 160, 44)),
];

// ---- A small JSON reader (the inputs are this project's own output). ----

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

static NULL: Json = Json::Null;

impl Json {
    fn parse(text: &str) -> Res<Json> {
        let mut p = Parser { b: text.as_bytes(), i: 0 };
        let v = p.value()?;
        p.ws();
        if p.i != p.b.len() {
            return Err(format!("trailing bytes at {}", p.i).into());
        }
        Ok(v)
    }

    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    fn at(&self, i: usize) -> &Json {
        match self {
            Json::Arr(a) => a.get(i).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => &[],
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => "",
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Res<()> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i).into())
        }
    }

    fn value(&mut self) -> Res<Json> {
        self.ws();
        let rest = &self.b[self.i..];
        match rest.first() {
            Some(b'{') => {
                self.i += 1;
                let mut kv = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(kv));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.eat(b':')?;
                    kv.push((k, self.value()?));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(kv));
                        }
                        _ => return Err(format!("bad object at {}", self.i).into()),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(a));
                }
                loop {
                    a.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(a));
                        }
                        _ => return Err(format!("bad array at {}", self.i).into()),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            _ if rest.starts_with(b"null") => {
                self.i += 4;
                Ok(Json::Null)
            }
            _ if rest.starts_with(b"true") => {
                self.i += 4;
                Ok(Json::Bool(true))
            }
            _ if rest.starts_with(b"false") => {
                self.i += 5;
                Ok(Json::Bool(false))
            }
            _ => {
                let n =
                    rest.iter().take_while(|c| c.is_ascii_digit() || b"+-.eE".contains(c)).count();
                let s = std::str::from_utf8(&rest[..n])?;
                self.i += n;
                Ok(Json::Num(s.parse().map_err(|_| format!("bad number at {}", self.i))?))
            }
        }
    }

    fn string(&mut self) -> Res<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'"' => return Ok(String::from_utf8(out)?),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or("bad escape")?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(
                                self.b.get(self.i..self.i + 4).ok_or("bad escape")?,
                            )?;
                            self.i += 4;
                            let c = char::from_u32(u32::from_str_radix(hex, 16)?).unwrap_or('?');
                            out.extend_from_slice(c.to_string().as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    }
}

// ---- The pictures. ----

/// One time series picture's data.
struct Series {
    title: String,
    limit_mib: f64,
    /// (t s, usage MiB, PSI some avg10 %, PSI full avg10 % or none).
    samples: Vec<(f64, f64, f64, Option<f64>)>,
    /// (t s, label, by the kernel).
    kills: Vec<(f64, String, bool)>,
    /// (t s, text).
    notes: Vec<(f64, String)>,
}

fn demo_series(j: &Json) -> Series {
    let limit_mib = j.get("limit_bytes").num().unwrap_or(0.0) / MIB;
    let mut s = Series {
        title: format!("lmkd demo: {limit_mib:.0} MiB sandbox"),
        limit_mib,
        samples: Vec::new(),
        kills: Vec::new(),
        notes: Vec::new(),
    };
    for e in j.get("events").arr() {
        let t = e.get("t_ms").num().unwrap_or(0.0) / 1000.0;
        match e.get("type").str() {
            "sample" => s.samples.push((
                t,
                e.get("usage_bytes").num().unwrap_or(0.0) / MIB,
                e.get("psi_some_avg10").num().unwrap_or(0.0),
                e.get("psi_full_avg10").num(),
            )),
            "kill" => {
                let r = e.get("record");
                let label = match r.get("adj").num() {
                    Some(a) => format!("{} ({a:.0})", e.get("app").str()),
                    None => e.get("app").str().to_owned(),
                };
                s.kills.push((t, label, false));
            }
            "note" => s.notes.push((t, e.get("text").str().to_owned())),
            _ => {}
        }
    }
    s
}

/// PSI `some` avg10 from cumulative totals is what the demo log has; the comparison log has
/// avg10 and totals, so it shows the stall rate over each 100 ms sample instead (sharper).
fn compare_series(j: &Json, run: &Json) -> Series {
    let limit_mib = j.get("limit_bytes").num().unwrap_or(0.0) / MIB;
    let mut s = Series {
        title: run.get("label").str().to_owned(),
        limit_mib,
        samples: Vec::new(),
        kills: Vec::new(),
        notes: Vec::new(),
    };
    let mut prev: Option<(f64, f64, f64)> = None;
    for row in run.get("samples").arr() {
        let t = row.at(0).num().unwrap_or(0.0) / 1000.0;
        let usage = row.at(1).num().unwrap_or(0.0) / MIB;
        let (some, full) = (row.at(3).num().unwrap_or(0.0), row.at(4).num().unwrap_or(0.0));
        if let Some((pt, ps, pf)) = prev {
            let dt = (t - pt) * 1e6;
            if dt > 0.0 {
                let rate = |a: f64, b: f64| ((a - b) / dt * 100.0).clamp(0.0, 100.0);
                s.samples.push((t, usage, rate(some, ps), Some(rate(full, pf))));
            }
        }
        prev = Some((t, some, full));
    }
    for d in run.get("deaths").arr() {
        let label = format!("{} ({})", d.get("app").str(), d.get("adj").num().unwrap_or(0.0));
        s.kills.push((
            d.get("t_ms").num().unwrap_or(0.0) / 1000.0,
            label,
            d.get("by").str() == "kernel",
        ));
    }
    if let Some(l) = run.get("leak_start_ms").num() {
        s.notes.push((l / 1000.0, "leak starts".into()));
    }
    s
}

fn draw_series(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    s: &Series,
    t_max: f64,
    psi_label: &str,
) -> Res<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(&s.title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .right_y_label_area_size(56)
        .build_cartesian_2d(0f64..t_max, 0f64..s.limit_mib * 1.05)?
        .set_secondary_coord(0f64..t_max, 0f64..105f64);
    chart
        .configure_mesh()
        .x_desc("time, s")
        .y_desc("memory charged, MiB")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc(psi_label)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    // The limit.
    chart
        .draw_series(LineSeries::new(
            [(0.0, s.limit_mib), (t_max, s.limit_mib)],
            BLACK.mix(0.5).stroke_width(1),
        ))?
        .label("limit")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
    for (t, text) in &s.notes {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(*t, 0.0), (*t, s.limit_mib * 1.05)],
            BLACK.mix(0.3).stroke_width(1),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            text.clone(),
            (*t, s.limit_mib * 0.7),
            ("sans-serif", 12).into_font().color(&BLACK.mix(0.6)),
        )))?;
    }
    chart.draw_series(AreaSeries::new(s.samples.iter().map(|p| (p.0, p.1)), 0.0, MEM.mix(0.15)))?;
    chart
        .draw_series(LineSeries::new(s.samples.iter().map(|p| (p.0, p.1)), MEM.stroke_width(2)))?
        .label("memory charged (MiB)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MEM.stroke_width(2)));
    if s.samples.iter().any(|p| p.3.is_some()) {
        chart
            .draw_secondary_series(LineSeries::new(
                s.samples.iter().filter_map(|p| Some((p.0, p.3?))),
                PSI_FULL.stroke_width(1),
            ))?
            .label("PSI full (%)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PSI_FULL));
    }
    chart
        .draw_secondary_series(LineSeries::new(
            s.samples.iter().map(|p| (p.0, p.2)),
            PSI_SOME.stroke_width(2),
        ))?
        .label("PSI some (%)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PSI_SOME.stroke_width(2)));
    // Kill markers: a dashed-looking thin line, a triangle at the top, the label beside it
    // (labels cycle through four heights so that close neighbours do not overlap).
    let mut drew_lmkd = false;
    let mut drew_kernel = false;
    for (n, (t, label, kernel)) in s.kills.iter().enumerate() {
        let color = if *kernel { OOM } else { KILL };
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(*t, 0.0), (*t, s.limit_mib * 1.05)],
            color.mix(0.6).stroke_width(1),
        )))?;
        let marker = chart.draw_series(std::iter::once(TriangleMarker::new(
            (*t, s.limit_mib * 1.02),
            6,
            color.filled(),
        )))?;
        if !*kernel && !drew_lmkd {
            drew_lmkd = true;
            marker
                .label("kill by lmkd")
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 5, color.filled()));
        } else if *kernel && !drew_kernel {
            drew_kernel = true;
            marker
                .label("kernel OOM kill")
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 5, color.filled()));
        }
        let y = s.limit_mib * (0.92 - 0.08 * (n % 4) as f64);
        chart.draw_series(std::iter::once(Text::new(
            label.clone(),
            (*t, y),
            ("sans-serif", 11).into_font().color(&color),
        )))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

fn plot_demo(input: &Path, out: &Path) -> Res<()> {
    let j = Json::parse(&fs::read_to_string(input)?)?;
    let s = demo_series(&j);
    // A little room after the last sample for the last kill's label.
    let t_max = s.samples.last().map_or(1.0, |p| p.0).max(1.0) * 1.1;
    let root = SVGBackend::new(out, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    draw_series(&root, &s, t_max, "PSI avg10, %")?;
    root.present()?;
    Ok(())
}

fn plot_compare(input: &Path, out: &Path) -> Res<()> {
    let j = Json::parse(&fs::read_to_string(input)?)?;
    let runs = j.get("runs").arr();
    let mut modes: Vec<&str> = Vec::new();
    for r in runs {
        if !modes.contains(&r.get("mode").str()) {
            modes.push(r.get("mode").str());
        }
    }
    // Per mode, the run with the median PSI stall.
    let mut picked: Vec<&Json> = Vec::new();
    for m in &modes {
        let mut rs: Vec<&Json> = runs.iter().filter(|r| r.get("mode").str() == *m).collect();
        rs.sort_by(|a, b| {
            let k = |r: &Json| r.get("stall_some_us").num().unwrap_or(0.0);
            k(a).partial_cmp(&k(b)).unwrap()
        });
        picked.push(rs[(rs.len() - 1) / 2]);
    }
    let mut series: Vec<Series> = picked.iter().map(|r| compare_series(&j, r)).collect();
    let t_max = series.iter().filter_map(|s| s.samples.last().map(|p| p.0)).fold(1.0, f64::max);
    let root = SVGBackend::new(out, (1000, 330 * series.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((series.len(), 1));
    for ((area, s), run) in areas.iter().zip(&mut series).zip(&picked) {
        let survived = run.get("foreground_survived") == &Json::Bool(true);
        s.title = format!(
            "{} — {} kills, PSI some stall {:.1} s, foreground app {}",
            s.title,
            s.kills.len(),
            run.get("stall_some_us").num().unwrap_or(0.0) / 1e6,
            if survived { "survived" } else { "died" }
        );
        draw_series(area, s, t_max, "PSI stall per 100 ms, %")?;
    }
    root.present()?;
    Ok(())
}

fn plot_reap(input: &Path, out: &Path) -> Res<()> {
    let j = Json::parse(&fs::read_to_string(input)?)?;
    let timeout = j.get("timeout_ms").num().unwrap_or(5000.0);
    let kills = j.get("kills").arr();
    // Categories: size × state, in the order they appear.
    let mut cats: Vec<(f64, String)> = Vec::new();
    for k in kills {
        let c = (k.get("size_mib").num().unwrap_or(0.0), k.get("state").str().to_owned());
        if !cats.contains(&c) {
            cats.push(c);
        }
    }
    let names: Vec<String> = cats.iter().map(|(s, st)| format!("{st}, {s:.0} MiB")).collect();
    let root = SVGBackend::new(out, (1000, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let y_max = timeout * 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption("kill → memory back, per victim state (every kill a dot)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5f64..(cats.len() as f64 - 0.5), (1f64..y_max).log_scale())?;
    let label_of = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(cats.len() * 2 + 1)
        .x_label_formatter(&label_of)
        .y_desc("ms (log scale)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(-0.5, timeout), (cats.len() as f64 - 0.5, timeout)],
            BLACK.mix(0.4),
        ))?
        .label(format!("timeout ({:.0} s): memory not back", timeout / 1000.0))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
    for (m, (key, label, color)) in METHODS.iter().enumerate() {
        let offset = (m as f64 - 1.0) * 0.25;
        let mut pts: Vec<(f64, f64)> = Vec::new();
        let mut medians: Vec<(f64, f64)> = Vec::new();
        for (ci, (size, state)) in cats.iter().enumerate() {
            let mut v: Vec<f64> = kills
                .iter()
                .filter(|k| {
                    k.get("method").str() == *key
                        && k.get("state").str() == state
                        && k.get("size_mib").num() == Some(*size)
                })
                .map(|k| k.get("ms").num().unwrap_or(timeout))
                .collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            for (n, &ms) in v.iter().enumerate() {
                // A small deterministic spread so that equal values stay visible.
                let jitter = ((n * 37) % 11) as f64 / 11.0 * 0.12 - 0.06;
                pts.push((ci as f64 + offset + jitter, ms.min(timeout)));
            }
            if !v.is_empty() {
                medians.push((ci as f64 + offset, v[v.len() / 2].min(timeout)));
            }
        }
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.mix(0.7).filled())))?
            .label(*label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        chart.draw_series(medians.iter().map(|&(x, y)| {
            PathElement::new(vec![(x - 0.1, y), (x + 0.1, y)], color.stroke_width(3))
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 12))
        .draw()?;
    root.present()?;
    Ok(())
}

const RACE_MODES: [(&str, &str, RGBColor); 3] = [
    ("on", "lmkd, predictive rule on", RGBColor(31, 119, 180)),
    ("off", "lmkd, off (AOSP's behaviour)", RGBColor(255, 127, 14)),
    ("kernel", "no daemon (kernel OOM killer)", RGBColor(127, 127, 127)),
];

fn plot_race(input: &Path, out: &Path) -> Res<()> {
    let j = Json::parse(&fs::read_to_string(input)?)?;
    let runs = j.get("runs").arr();
    let mut rates: Vec<f64> = runs.iter().filter_map(|r| r.get("rate").num()).collect();
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rates.dedup();
    let root = SVGBackend::new(out, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let variants = [("nocache", "(i) no page cache"), ("cache", "(ii) a re-read file")];
    // Mean lost races per run, by variant, mode and rate.
    let lost = |variant: &str, mode: &str, rate: f64| -> Option<f64> {
        let rs: Vec<&Json> = runs
            .iter()
            .filter(|r| {
                r.get("variant").str() == variant
                    && r.get("mode").str() == mode
                    && r.get("rate").num() == Some(rate)
            })
            .collect();
        if rs.is_empty() {
            return None;
        }
        let n: usize = rs
            .iter()
            .map(|r| {
                r.get("deaths")
                    .arr()
                    .iter()
                    .filter(|d| {
                        d.get("by").str() == "kernel"
                            && d.get("killable_left").num().unwrap_or(0.0) > 0.0
                    })
                    .count()
            })
            .sum();
        Some(n as f64 / rs.len() as f64)
    };
    let mut y_max = 1.0f64;
    for (v, _) in variants {
        for (m, _, _) in RACE_MODES {
            for &r in &rates {
                y_max = y_max.max(lost(v, m, r).unwrap_or(0.0));
            }
        }
    }
    y_max += 0.5;
    for (panel, (variant, title)) in panels.iter().zip(variants) {
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("kernel OOM kills with a killable app left — {title}"),
                ("sans-serif", 15),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.5f64..(rates.len() as f64 - 0.5), 0f64..y_max)?;
        let label_of = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                rates.get(i as usize).map(|r| format!("{r:.0} MiB/s")).unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(rates.len() * 2 + 1)
            .x_label_formatter(&label_of)
            .y_desc("per run (mean)")
            .draw()?;
        for (mode, label, color) in RACE_MODES {
            let pts: Vec<(f64, f64)> = rates
                .iter()
                .enumerate()
                .filter_map(|(i, &r)| lost(variant, mode, r).map(|v| (i as f64, v)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 12))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let out = PathBuf::from(arg("--out").unwrap_or_else(|| "docs".into()));
    let inputs = [
        ("--demo", "demo.svg"),
        ("--compare", "compare.svg"),
        ("--reap", "reap.svg"),
        ("--race", "race.svg"),
    ];
    if inputs.iter().all(|(flag, _)| arg(flag).is_none()) {
        println!(
            "plot: nothing to do; give --demo FILE, --compare FILE, --reap FILE and/or --race FILE (see benches/plot.rs)"
        );
        return Ok(());
    }
    fs::create_dir_all(&out)?;
    for (flag, name) in inputs {
        let Some(input) = arg(flag) else { continue };
        let path = out.join(name);
        let r = match flag {
            "--demo" => plot_demo(Path::new(&input), &path),
            "--compare" => plot_compare(Path::new(&input), &path),
            "--race" => plot_race(Path::new(&input), &path),
            _ => plot_reap(Path::new(&input), &path),
        };
        r.map_err(|e| format!("{flag} {input}: {e}"))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
