//! Stopping on SIGINT (Ctrl-C) or SIGTERM, for the commands that run until told to stop.

/// Resolves at the first SIGINT or SIGTERM. Signals are caught from the call on, so a
/// signal that comes while a command is still connecting stops it cleanly too.
pub fn terminated() -> impl std::future::Future<Output = ()> {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let interrupt = tokio::signal::ctrl_c();
    async move {
        tokio::select! {
            _ = interrupt => {}
            _ = async {
                match terminate.as_mut() {
                    Some(signal) => { signal.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    }
}
