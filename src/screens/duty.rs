//! The duty screen: one large clock-on button naming the nearest site, its
//! distance and the fix accuracy; the open shift with a running timer; and
//! the local verdict's flags explained in words.

use std::time::Duration;

use dioxus::prelude::*;
use redvest_proto::geo::Fix;
use redvest_proto::wire::Site;
use redvest_proto::Stamp;

use crate::backend::ShiftView;
use crate::components::FlagList;
use crate::i18n::{format_duration, Msg};
use crate::state::use_app;

/// How often the screen reads the location source and the open shift.
const REFRESH: Duration = Duration::from_secs(1);

#[component]
pub fn Duty() -> Element {
    let app = use_app();
    let mut fix = use_signal(|| None::<Fix>);
    let mut nearest = use_signal(|| None::<(Site, f64)>);
    let mut shift = use_signal(|| None::<ShiftView>);
    let mut flags = use_signal(Vec::<String>::new);
    let mut error = use_signal(|| None::<String>);
    let mut now = use_signal(chrono::Utc::now);

    use_future(move || async move {
        loop {
            let backend = app.backend();
            let current = backend.current_fix().unwrap_or_else(|fix_error| {
                tracing::warn!(error = %fix_error, "no location");
                None
            });
            if let Some(current) = &current {
                nearest.set(backend.nearest_site(current).await.ok().flatten());
            }
            fix.set(current);
            shift.set(backend.open_shift().await.ok().flatten());
            now.set(chrono::Utc::now());
            tokio::time::sleep(REFRESH).await;
        }
    });

    let clock_on = move |_| async move {
        let Some((site, _)) = nearest() else { return };
        let requested_at = Stamp::now_local();
        let current = app.backend().current_fix().ok().flatten();
        match app.backend().clock_in(site.id, current, requested_at).await {
            Ok(receipt) => {
                flags.set(receipt.verdict.flags);
                error.set(None);
                shift.set(app.backend().open_shift().await.ok().flatten());
            }
            Err(clock_error) => error.set(Some(
                app.tf(Msg::ActionFailed, &[("error", clock_error.to_string())]),
            )),
        }
        app.refresh_sync().await;
    };

    let clock_off = move |_| async move {
        let current = app.backend().current_fix().ok().flatten();
        match app.backend().clock_out(current).await {
            Ok(_) => {
                shift.set(None);
                flags.set(Vec::new());
            }
            Err(clock_error) => error.set(Some(
                app.tf(Msg::ActionFailed, &[("error", clock_error.to_string())]),
            )),
        }
        app.refresh_sync().await;
    };

    let fix_line = match (fix(), nearest()) {
        (Some(fix), Some((_, distance))) => {
            let distance = ("distance", distance_text(&app, distance));
            match fix.accuracy_m {
                Some(metres) => app.tf(
                    Msg::DistanceAccuracy,
                    &[distance, ("accuracy", format!("{metres:.0}"))],
                ),
                None => app.tf(Msg::DistanceNoAccuracy, &[distance]),
            }
        }
        (None, _) => app.t(Msg::NoFixYet).to_owned(),
        (Some(_), None) => app.t(Msg::NoSites).to_owned(),
    };

    rsx! {
        section { class: "duty",
            if let Some(open) = shift() {
                p { class: "on-duty",
                    {app.tf(Msg::OnDutySince, &[("site", open.site_name.clone()), ("elapsed", format_duration((now() - open.clock_in_at).num_seconds()))])}
                }
                button { id: "clock-off", class: "huge", onclick: clock_off,
                    span { class: "label", {app.t(Msg::ClockOff)} }
                    span { class: "detail", {fix_line.clone()} }
                }
            } else {
                button { id: "clock-on", class: "huge primary", disabled: nearest().is_none(), onclick: clock_on,
                    span { class: "label", {app.t(Msg::ClockOn)} }
                    if let Some((site, _)) = nearest() {
                        span { class: "site", {app.tf(Msg::NearestSite, &[("site", site.name.clone())])} }
                    }
                    span { class: "detail", {fix_line.clone()} }
                }
            }
            FlagList { flags }
            TypedPosition {}
            if let Some(message) = error() {
                p { class: "error", role: "alert", {message} }
            }
        }
    }
}

/// Parses "latitude, longitude" as typed by a member.
pub fn parse_position(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.split_once([',', '，', ' '])?;
    Some((lat.trim().parse().ok()?, lon.trim().parse().ok()?))
}

/// A field for a typed position, used when the location source has none.
#[component]
fn TypedPosition() -> Element {
    let app = use_app();
    let mut text = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);

    let apply = move |_| {
        let typed = parse_position(&text.read());
        let result = typed.map(|(lat, lon)| app.backend().set_typed_position(lat, lon));
        match result {
            Some(Ok(())) => error.set(None),
            Some(Err(position_error)) => error.set(Some(position_error.to_string())),
            None => error.set(Some(app.t(Msg::InvalidTypedPosition).to_owned())),
        }
    };

    rsx! {
        div { class: "typed-position",
            label { {app.t(Msg::TypedPosition)}
                input { oninput: move |event| text.set(event.value()) }
            }
            button { class: "big", onclick: apply, {app.t(Msg::UseTypedPosition)} }
            if let Some(message) = error() {
                p { class: "error", role: "alert", {message} }
            }
        }
    }
}

/// Formats a distance in metres below 1 km and in kilometres above, so a
/// far-away fix reads in kilometres rather than as a long row of digits.
fn distance_text(app: &crate::state::AppState, metres: f64) -> String {
    if metres < 1000.0 {
        app.tf(Msg::Metres, &[("count", format!("{metres:.0}"))])
    } else {
        app.tf(
            Msg::Kilometres,
            &[("count", format!("{:.1}", metres / 1000.0))],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::parse_position;

    #[test]
    fn typed_position_parsing() {
        let cases = [
            ("36.6432, 117.9661", Some((36.6432, 117.9661))),
            ("36.6432，117.9661", Some((36.6432, 117.9661))),
            ("36.6432 117.9661", Some((36.6432, 117.9661))),
            ("36.6432", None),
            ("north, east", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_position(text), expected, "{text}");
        }
    }
}
