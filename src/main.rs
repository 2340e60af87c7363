fn main() -> std::process::ExitCode {
    loadscope::cli::main()
}
