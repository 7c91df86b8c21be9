//! GPX import and GPX / GeoJSON export of patrol tracks.
//!
//! Import reads GPX 1.0 and 1.1 (`trk`/`trkseg`/`trkpt` and `rte`/`rtept`)
//! into WGS-84 fixes or a planned route, skips elements it does not know
//! (extensions, `ele`, waypoints, metadata) and names the line and element of
//! any bad value. Export writes the segments of a filtered track as GPX 1.1
//! (one `trkseg` per segment, so gaps stay gaps) or as a GeoJSON
//! MultiLineString. The track rules themselves live in `redvest_proto::track`.

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use redvest_proto::geo::Fix;
use redvest_proto::track::TrackPoint;
use serde_json::{json, Value};
use thiserror::Error;

/// Metres of accuracy radius per unit of HDOP when a file gives only HDOP.
///
/// NOTE: an estimate. HDOP scales the receiver's range error, about 5 m for
/// consumer GPS, so HDOP 1 reads as 5 m; real receivers vary.
pub const HDOP_TO_METRES: f64 = 5.0;

/// Provider name given to fixes read from a GPX file.
pub const GPX_PROVIDER: &str = "gpx";

/// Why a GPX file could not be read.
#[derive(Debug, Error)]
pub enum GpxError {
    #[error("invalid XML at line {line}: {source}")]
    Xml {
        line: usize,
        #[source]
        source: quick_xml::Error,
    },
    #[error("root element is <{root}> at line {line}, expected <gpx>; is this a GPX file?")]
    NotGpx { root: String, line: usize },
    #[error("<{element}> at line {line} has no {attribute} attribute")]
    MissingAttribute {
        element: String,
        attribute: &'static str,
        line: usize,
    },
    #[error("{field} {value:?} of <{element}> at line {line} is not a valid number in range")]
    InvalidNumber {
        element: String,
        field: String,
        value: String,
        line: usize,
    },
    #[error(
        "<time> {value:?} at line {line} is not an RFC 3339 time such as 2026-09-01T08:00:00Z"
    )]
    InvalidTime { value: String, line: usize },
    #[error("<{element}> at line {line} has no <time>; a track needs times, so import the file as a route")]
    MissingTime { element: String, line: usize },
    #[error("the file has no trkpt or rtept elements; there is nothing to import")]
    NoPoints,
}

/// One `trkpt` or `rtept` as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct GpxPoint {
    pub lat: f64,
    pub lon: f64,
    pub at: Option<DateTime<Utc>>,
    pub hdop: Option<f64>,
    /// Speed in m/s (the `speed` element of GPX 1.0).
    pub speed_mps: Option<f64>,
    /// Course in degrees (the `course` element of GPX 1.0).
    pub course_deg: Option<f64>,
    /// Line of the point's start tag, for messages.
    pub line: usize,
}

/// The tracks and routes of a GPX file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpxDocument {
    /// Tracks, each a list of segments, each a list of points.
    pub tracks: Vec<Vec<Vec<GpxPoint>>>,
    /// Routes, each a list of points.
    pub routes: Vec<Vec<GpxPoint>>,
}

/// Parses a GPX 1.0 or 1.1 document.
pub fn parse(xml: &str) -> Result<GpxDocument, GpxError> {
    let mut parser = Parser::new(xml);
    loop {
        let event = parser.next()?;
        match event {
            Event::Start(start) => parser.open(&start, false)?,
            Event::Empty(start) => parser.open(&start, true)?,
            Event::Text(text) => {
                let text = text.unescape().map_err(|source| parser.xml_error(source))?;
                parser.text(&text)?;
            }
            Event::End(_) => parser.close(),
            Event::Eof => return Ok(parser.document),
            _ => {}
        }
    }
}

/// Imports the tracks of a GPX file as segments of fixes (`trkseg` by
/// `trkseg`, then each route as one segment when the file has no track).
///
/// Accuracy is estimated from HDOP (see [`HDOP_TO_METRES`]); elevation is
/// ignored. Every point must carry a `<time>`.
pub fn import_fixes(xml: &str) -> Result<Vec<Vec<Fix>>, GpxError> {
    let document = parse(xml)?;
    let segments: Vec<&Vec<GpxPoint>> = if document.tracks.is_empty() {
        document.routes.iter().collect()
    } else {
        document.tracks.iter().flatten().collect()
    };
    if segments.iter().all(|segment| segment.is_empty()) {
        return Err(GpxError::NoPoints);
    }
    segments
        .into_iter()
        .filter(|segment| !segment.is_empty())
        .map(|segment| segment.iter().map(to_fix).collect())
        .collect()
}

/// Imports a planned route as `(lat, lon)` vertices: the first `rte`, or the
/// points of the first track when the file has no route.
pub fn import_route(xml: &str) -> Result<Vec<(f64, f64)>, GpxError> {
    let document = parse(xml)?;
    let points: Vec<&GpxPoint> = match document.routes.iter().find(|route| !route.is_empty()) {
        Some(route) => route.iter().collect(),
        None => document
            .tracks
            .first()
            .into_iter()
            .flatten()
            .flatten()
            .collect(),
    };
    if points.is_empty() {
        return Err(GpxError::NoPoints);
    }
    Ok(points.iter().map(|p| (p.lat, p.lon)).collect())
}

fn to_fix(point: &GpxPoint) -> Result<Fix, GpxError> {
    let at = point.at.ok_or_else(|| GpxError::MissingTime {
        element: "trkpt".to_owned(),
        line: point.line,
    })?;
    let mut fix = Fix::new(
        point.lat,
        point.lon,
        point.hdop.map(|h| h * HDOP_TO_METRES),
        at,
        GPX_PROVIDER,
    );
    fix.speed_mps = point.speed_mps;
    fix.bearing_deg = point.course_deg;
    Ok(fix)
}

/// Writes segments as a GPX 1.1 document with one track named `name`.
///
/// Accuracy is written as HDOP (accuracy / [`HDOP_TO_METRES`]) so that
/// [`import_fixes`] reads the same accuracy back. GPX 1.1 has no speed or
/// course element, so speed and bearing are not written.
pub fn export_gpx(segments: &[Vec<TrackPoint>], name: &str) -> String {
    let mut out = String::from(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<gpx version=\"1.1\" creator=\"Redvest\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n",
        "  <trk>\n"
    ));
    out.push_str(&format!(
        "    <name>{}</name>\n",
        quick_xml::escape::escape(name)
    ));
    for segment in segments {
        out.push_str("    <trkseg>\n");
        for point in segment {
            write_trkpt(&mut out, point);
        }
        out.push_str("    </trkseg>\n");
    }
    out.push_str("  </trk>\n</gpx>\n");
    out
}

fn write_trkpt(out: &mut String, point: &TrackPoint) {
    out.push_str(&format!(
        "      <trkpt lat=\"{}\" lon=\"{}\">\n",
        point.lat, point.lon
    ));
    let time = point.at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    out.push_str(&format!("        <time>{time}</time>\n"));
    if let Some(accuracy_m) = point.accuracy_m {
        out.push_str(&format!(
            "        <hdop>{}</hdop>\n",
            accuracy_m / HDOP_TO_METRES
        ));
    }
    out.push_str("      </trkpt>\n");
}

/// Builds a GeoJSON Feature whose geometry is a MultiLineString of the
/// segments (positions `[lon, lat]`), with the fix times of each position
/// in the `coordTimes` property as popularised by the togeojson tool.
///
/// A segment of a single point is left out, because a GeoJSON LineString
/// needs at least two positions.
pub fn export_geojson(segments: &[Vec<TrackPoint>]) -> Value {
    let lines: Vec<&Vec<TrackPoint>> = segments.iter().filter(|s| s.len() >= 2).collect();
    let coordinates: Vec<Vec<[f64; 2]>> = lines
        .iter()
        .map(|segment| segment.iter().map(|p| [p.lon, p.lat]).collect())
        .collect();
    let times: Vec<Vec<String>> = lines
        .iter()
        .map(|segment| {
            segment
                .iter()
                .map(|p| p.at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                .collect()
        })
        .collect();
    json!({
        "type": "Feature",
        "geometry": { "type": "MultiLineString", "coordinates": coordinates },
        "properties": { "coordTimes": times },
    })
}

/// The point being read and whether it belongs to a route.
#[derive(Debug)]
struct OpenPoint {
    point: GpxPoint,
    in_route: bool,
}

struct Parser<'a> {
    xml: &'a str,
    reader: Reader<&'a [u8]>,
    document: GpxDocument,
    /// Local names of the open elements, outermost first.
    stack: Vec<String>,
    point: Option<OpenPoint>,
    seen_root: bool,
    /// Byte offset and line reached by the last line computation.
    line_cache: (usize, usize),
}

impl<'a> Parser<'a> {
    fn new(xml: &'a str) -> Self {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().trim_text(true);
        Self {
            xml,
            reader,
            document: GpxDocument::default(),
            stack: Vec::new(),
            point: None,
            seen_root: false,
            line_cache: (0, 1),
        }
    }

    fn next(&mut self) -> Result<Event<'a>, GpxError> {
        self.reader.read_event().map_err(|source| {
            let offset = self.reader.error_position() as usize;
            GpxError::Xml {
                line: self.line_at(offset),
                source,
            }
        })
    }

    fn xml_error(&mut self, source: quick_xml::Error) -> GpxError {
        GpxError::Xml {
            line: self.current_line(),
            source,
        }
    }

    fn current_line(&mut self) -> usize {
        self.line_at(self.reader.buffer_position() as usize)
    }

    /// Returns the 1-based line of a byte offset. Offsets only grow while a
    /// document is read, so counting resumes from the last offset.
    fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.xml.len());
        let (from, line) = self.line_cache;
        if offset < from {
            return 1 + self.xml.as_bytes()[..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        }
        let line = line
            + self.xml.as_bytes()[from..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        self.line_cache = (offset, line);
        line
    }

    fn open(&mut self, start: &BytesStart<'_>, is_empty: bool) -> Result<(), GpxError> {
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        if !self.seen_root {
            self.seen_root = true;
            if name != "gpx" {
                let line = self.current_line();
                return Err(GpxError::NotGpx { root: name, line });
            }
        }
        match name.as_str() {
            "trk" => self.document.tracks.push(Vec::new()),
            "trkseg" => self.current_track().push(Vec::new()),
            "rte" => self.document.routes.push(Vec::new()),
            "trkpt" | "rtept" => self.start_point(start, &name)?,
            _ => {}
        }
        self.stack.push(name);
        if is_empty {
            self.close();
        }
        Ok(())
    }

    fn current_track(&mut self) -> &mut Vec<Vec<GpxPoint>> {
        if self.document.tracks.is_empty() {
            self.document.tracks.push(Vec::new());
        }
        self.document
            .tracks
            .last_mut()
            .expect("a track was just ensured")
    }

    fn start_point(&mut self, start: &BytesStart<'_>, name: &str) -> Result<(), GpxError> {
        let line = self.current_line();
        let lat = self.coordinate(start, name, "lat", 90.0, line)?;
        let lon = self.coordinate(start, name, "lon", 180.0, line)?;
        self.point = Some(OpenPoint {
            point: GpxPoint {
                lat,
                lon,
                at: None,
                hdop: None,
                speed_mps: None,
                course_deg: None,
                line,
            },
            in_route: name == "rtept",
        });
        Ok(())
    }

    fn coordinate(
        &self,
        start: &BytesStart<'_>,
        element: &str,
        attribute: &'static str,
        limit: f64,
        line: usize,
    ) -> Result<f64, GpxError> {
        let missing = || GpxError::MissingAttribute {
            element: element.to_owned(),
            attribute,
            line,
        };
        let value = start
            .try_get_attribute(attribute)
            .map_err(|source| GpxError::Xml {
                line,
                source: source.into(),
            })?
            .ok_or_else(missing)?;
        let text = value
            .unescape_value()
            .map_err(|source| GpxError::Xml { line, source })?;
        parse_number(&text, element, attribute, line).and_then(|number| {
            if number.abs() <= limit {
                Ok(number)
            } else {
                Err(invalid_number(element, attribute, &text, line))
            }
        })
    }

    fn text(&mut self, text: &str) -> Result<(), GpxError> {
        let line = self.current_line();
        let Some(open) = self.point.as_mut() else {
            return Ok(());
        };
        let parent = if open.in_route { "rtept" } else { "trkpt" };
        let [.., outer, element] = self.stack.as_slice() else {
            return Ok(());
        };
        if outer != parent {
            return Ok(());
        }
        let text = text.trim();
        match element.as_str() {
            "time" => open.point.at = Some(parse_time(text, line)?),
            "hdop" => open.point.hdop = Some(parse_non_negative(text, parent, "hdop", line)?),
            "speed" => {
                open.point.speed_mps = Some(parse_non_negative(text, parent, "speed", line)?)
            }
            "course" => open.point.course_deg = Some(parse_number(text, parent, "course", line)?),
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self) {
        let Some(name) = self.stack.pop() else {
            return;
        };
        let closes_point = self.point.as_ref().is_some_and(|open| {
            let expected = if open.in_route { "rtept" } else { "trkpt" };
            name == expected
        });
        if closes_point {
            self.finish_point();
        }
    }

    fn finish_point(&mut self) {
        let Some(open) = self.point.take() else {
            return;
        };
        if open.in_route {
            if self.document.routes.is_empty() {
                self.document.routes.push(Vec::new());
            }
            self.document
                .routes
                .last_mut()
                .expect("a route was just ensured")
                .push(open.point);
            return;
        }
        let track = self.current_track();
        if track.is_empty() {
            track.push(Vec::new());
        }
        track
            .last_mut()
            .expect("a segment was just ensured")
            .push(open.point);
    }
}

fn parse_time(text: &str, line: usize) -> Result<DateTime<Utc>, GpxError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|_| GpxError::InvalidTime {
            value: text.to_owned(),
            line,
        })
}

fn parse_number(text: &str, element: &str, field: &str, line: usize) -> Result<f64, GpxError> {
    match text.trim().parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err(invalid_number(element, field, text, line)),
    }
}

fn parse_non_negative(
    text: &str,
    element: &str,
    field: &str,
    line: usize,
) -> Result<f64, GpxError> {
    let number = parse_number(text, element, field, line)?;
    if number < 0.0 {
        return Err(invalid_number(element, field, text, line));
    }
    Ok(number)
}

fn invalid_number(element: &str, field: &str, value: &str, line: usize) -> GpxError {
    GpxError::InvalidNumber {
        element: element.to_owned(),
        field: field.to_owned(),
        value: value.to_owned(),
        line,
    }
}
