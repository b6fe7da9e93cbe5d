//! Times as people read them: `DD/MM/AAAA HH:MM` in the store's time zone (its profile says
//! which), never UTC — a manager in Mexico City reads the hour on the shop's clock, whatever
//! zone the laptop is set to. Before anyone signs in, the device's own zone.

use std::cell::RefCell;

use wasm_bindgen::{JsCast, JsValue};

thread_local! {
    static ZONE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The signed-in store's IANA time zone: every time shown from now on is in it.
pub fn set_zone(zone: &str) {
    ZONE.with(|z| *z.borrow_mut() = Some(zone.to_owned()));
}

/// Year, month, day, hour and minute of `ms` (epoch milliseconds) on the store's clock.
fn parts(ms: f64) -> Option<[u32; 5]> {
    let date = js_sys::Date::new(&JsValue::from_f64(ms));
    if date.get_time().is_nan() {
        return None;
    }
    let zone = ZONE.with(|z| z.borrow().clone());
    if let Some(text) = zone.and_then(|zone| in_zone(&date, &zone)) {
        // `sv-SE` writes `2026-12-01 06:44:00`: fixed positions, whatever the browser's locale.
        let numbers: Vec<u32> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        if let [y, mo, d, h, mi, ..] = numbers[..] {
            return Some([y, mo, d, h % 24, mi]);
        }
    }
    Some([
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes(),
    ])
}

/// `date.toLocaleString("sv-SE", {timeZone})`, or `None` for a zone the browser does not know
/// (the call throws; it is caught here rather than taking the page down).
fn in_zone(date: &js_sys::Date, zone: &str) -> Option<String> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"timeZone".into(), &zone.into()).ok()?;
    js_sys::Reflect::set(&options, &"hourCycle".into(), &"h23".into()).ok()?;
    let method: js_sys::Function = js_sys::Reflect::get(date, &"toLocaleString".into())
        .ok()?
        .dyn_into()
        .ok()?;
    method
        .call2(date, &"sv-SE".into(), &options)
        .ok()?
        .as_string()
}

fn format(ms: f64) -> Option<String> {
    let [y, mo, d, h, mi] = parts(ms)?;
    Some(format!("{d:02}/{mo:02}/{y} {h:02}:{mi:02}"))
}

/// Now, for a receipt.
pub fn now() -> String {
    format(js_sys::Date::now()).unwrap_or_default()
}

/// `HH:MM` of epoch milliseconds.
pub fn clock(ms: f64) -> String {
    parts(ms).map_or_else(String::new, |[.., h, mi]| format!("{h:02}:{mi:02}"))
}

fn epoch_ms(at: &str) -> f64 {
    js_sys::Date::parse(at)
}

/// An RFC 3339 instant from the server; the text itself if it is not one.
pub fn of(at: &str) -> String {
    format(epoch_ms(at)).unwrap_or_else(|| at.to_owned())
}

/// The local hour of an RFC 3339 instant, as `YYYY-MM-DD HH` (sortable); `None` if unreadable.
pub fn hour_of(at: &str) -> Option<String> {
    let [y, mo, d, h, _] = parts(epoch_ms(at))?;
    Some(format!("{y}-{mo:02}-{d:02} {h:02}"))
}

/// The instant a local day starts, `days` after `day` (`YYYY-MM-DD`), as RFC 3339 — what a
/// date filter sends for "from this day" (0) or "up to the end of this day" (1).
pub fn day_start(day: &str, days: u32) -> Option<String> {
    let mut numbers = day.trim().split('-').map(|p| p.parse::<u32>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) =
        (numbers.next(), numbers.next(), numbers.next())
    else {
        return None;
    };
    let midnight_utc = js_sys::Date::utc(f64::from(y), f64::from(m) - 1.0)
        + f64::from(d + days - 1) * 86_400_000.0;
    // The zone's offset at that moment, read off its clock; twice, for a day whose offset
    // changes overnight.
    let mut start = midnight_utc;
    for _ in 0..2 {
        let [py, pmo, pd, ph, pmi] = parts(start)?;
        let wall = js_sys::Date::utc(f64::from(py), f64::from(pmo) - 1.0)
            + f64::from(pd - 1) * 86_400_000.0
            + f64::from(ph) * 3_600_000.0
            + f64::from(pmi) * 60_000.0;
        start -= wall - midnight_utc;
    }
    js_sys::Date::new(&JsValue::from_f64(start))
        .to_iso_string()
        .as_string()
}
