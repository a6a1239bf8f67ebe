/// How far one input stream has been judged, as the state store keeps it beside the
/// state that reflects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// The next record's place: a file's lines read, a partition's next offset.
    pub next: u64,
    /// A fingerprint of the record just before `next`, so that a resumed source can tell
    /// the stream it left from another of the same name (a topic deleted and created
    /// again); 0 when the source keeps none.
    pub mark: u64,
}
