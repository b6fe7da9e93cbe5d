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

/// The local hour of an RFC 3339 instant, as `YYYY-MM-DD HH` (sortable); `None` if unreadable.
pub fn hour_of(at: &str) -> Option<String> {
    let d = js_sys::Date::new(&at.into());
    if d.get_time().is_nan() {
        return None;
    }
    Some(format!(
        "{}-{:02}-{:02} {:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours()
    ))
}

/// The instant a local day starts, `days` after `day` (`YYYY-MM-DD`), as RFC 3339 — what a
/// date filter sends for "from this day" (0) or "up to the end of this day" (1).
pub fn day_start(day: &str, days: u32) -> Option<String> {
    let mut parts = day.trim().split('-').map(|p| p.parse::<u32>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let start = js_sys::Date::new_with_year_month_day(y, m as i32 - 1, (d + days) as i32);
    if start.get_time().is_nan() {
        return None;
    }
    start.to_iso_string().as_string()
}
