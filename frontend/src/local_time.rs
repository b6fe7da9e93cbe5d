//! Times as people read them: `DD/MM/AAAA HH:MM` in the device's own time zone, never UTC.

fn format(d: &js_sys::Date) -> String {
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// Now, for a receipt.
pub fn now() -> String {
    format(&js_sys::Date::new_0())
}

/// An RFC 3339 instant from the server; the text itself if it is not one.
pub fn of(at: &str) -> String {
    let d = js_sys::Date::new(&at.into());
    if d.get_time().is_nan() {
        return at.to_owned();
    }
    format(&d)
}
