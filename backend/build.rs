// The migrations are embedded by `sqlx::migrate!`; without this, adding or editing one does
// not rebuild the crate and the binary keeps the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
