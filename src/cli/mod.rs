//! The command line: the explorer, `trace`, `compare`, `sample`, `model`.
