//! Runs a KQL query from stdin against an event store and prints the result as JSON.
//! `cargo run -p palisade-hunting --example kqlrun -- [STORE_DIR] [TENANT] < query.kql`
//! (an empty temporary store when no directory is given: `print`, `datatable`, `range` work).
//! `KQLRUN_EXPLAIN=1` prints the bound query and its DataFusion plans instead of running it.

use std::io::Read;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let tmp = tempfile::tempdir()?;
    let dir = args
        .get(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let tenant = args.get(2).map(String::as_str).unwrap_or("bench");
    let mut q = String::new();
    std::io::stdin().read_to_string(&mut q)?;
    let store = Arc::new(palisade_events::EventStore::open(&dir)?);
    let engine = palisade_hunting::HuntingEngine::new(store);
    if std::env::var_os("KQLRUN_EXPLAIN").is_some_and(|v| v == "1") {
        println!("{}", engine.explain(tenant, &q, chrono::Utc::now())?);
        return Ok(());
    }
    match engine.run(tenant, &q, chrono::Utc::now()).await {
        Ok(r) => {
            let schema: Vec<String> = r
                .schema
                .columns
                .iter()
                .map(|c| format!("{}:{}", c.name, c.ty))
                .collect();
            println!("{}", schema.join(", "));
            for row in &r.rows {
                println!("{}", serde_json::Value::Object(row.clone()));
            }
        }
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
    Ok(())
}
