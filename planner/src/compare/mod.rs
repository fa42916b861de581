//! Run-vs-run comparison for CI: pairing, verdicts, markdown report.
