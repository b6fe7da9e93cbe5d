//! Entry point Trunk builds: mounts the app on `<body>`.

fn main() {
    pronto_frontend::start();
}
