use clap::Parser;

fn main() {
    let cli = fitbench::cli::Cli::parse();
    if let Err(e) = fitbench::cli::run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
