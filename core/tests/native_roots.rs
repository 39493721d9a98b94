//! The operating system's roots (feature `native-roots`), read at configuration
//! time. `.ci/run` runs this with `--features native-roots`.
#![cfg(feature = "native-roots")]

use std::time::Instant;

use sockette_core::{ClientConfig, Connection, Error};

#[test]
fn native_roots_load_or_say_why_not_and_an_empty_store_is_an_error() {
    match ClientConfig::new("wss://localhost/")
        .unwrap()
        .with_native_roots()
    {
        Ok(config) => {
            // The store's certificates must make a usable TLS configuration.
            let conn = Connection::client(config, Instant::now()).unwrap();
            assert!(conn.is_tls());
        }
        Err(Error::Config(why)) => assert!(why.contains("operating system"), "{why}"),
        Err(other) => panic!("{other}"),
    }

    // An empty store is an error that says so. (One test: the environment is
    // shared by the threads of the test binary.)
    let empty = std::env::temp_dir().join(format!("sockette-no-certs-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    // rustls-native-certs honours SSL_CERT_DIR / SSL_CERT_FILE.
    std::env::set_var("SSL_CERT_DIR", &empty);
    std::env::set_var("SSL_CERT_FILE", empty.join("none.pem"));
    let result = ClientConfig::new("wss://localhost/")
        .unwrap()
        .with_native_roots();
    std::env::remove_var("SSL_CERT_DIR");
    std::env::remove_var("SSL_CERT_FILE");
    let _ = std::fs::remove_dir_all(&empty);
    match result {
        Err(Error::Config(why)) => assert!(why.contains("operating system"), "{why}"),
        Ok(_) => panic!("an empty store must not pass silently"),
        Err(other) => panic!("{other}"),
    }
}
