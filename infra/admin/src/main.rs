//! `paygate-admin`: parse, run, print. Any error is one line on stderr and a non-zero exit
//! status (2 for a request that can never succeed as given, 1 otherwise).

use std::{io::Write, process::ExitCode};

use clap::{Parser, error::ErrorKind};
use paygate_admin::{Cli, cli::error_summary, run};
use paygate_shared::SystemClock;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are answers (exit 0); no command at all is answered with the
        // help (exit 2). clap prints both as it should.
        Err(err)
            if !err.use_stderr()
                || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            err.exit()
        }
        Err(err) => return fail(&format!("{} (see --help)", error_summary(&err)), 2),
    };
    match run(cli, &SystemClock).await {
        Ok(output) => match writeln!(std::io::stdout().lock(), "{output}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("cannot write the result to stdout: {e}"), 1),
        },
        Err(err) => fail(&err.to_string(), err.exit_code()),
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("paygate-admin: error: {one_line}");
    ExitCode::from(code)
}
