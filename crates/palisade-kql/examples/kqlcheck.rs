//! Reads a KQL query from stdin, then prints the output schema of each result or the error.
//! `cargo run -p palisade-kql --example kqlcheck < query.kql`

use std::io::Read;

fn main() {
    let mut q = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut q) {
        eprintln!("cannot read stdin: {e}");
        std::process::exit(2);
    }
    match palisade_kql::analyze(&q, &palisade_kql::Catalog::defender()) {
        Ok(b) => {
            for (i, t) in b.results.iter().enumerate() {
                let cols: Vec<String> = t
                    .schema
                    .columns
                    .iter()
                    .map(|c| format!("{}:{}", c.name, c.ty))
                    .collect();
                println!("result {i}: {}", cols.join(", "));
            }
        }
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
}
