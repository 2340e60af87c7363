//! The explorer (arrives with the terminal UI change).

use crate::cli::OpenArgs;
use anyhow::Result;

pub fn run(_open: &OpenArgs) -> Result<()> {
    anyhow::bail!("the explorer is not built yet; use `loadscope trace` or `loadscope compare`")
}
