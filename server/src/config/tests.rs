//! Validation, precedence and the documented defaults of the configuration.

use super::*;

#[test]
fn defaults_are_valid() {
    let config = Config::from_options(Options::default()).expect("defaults");
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.kdf, KdfParams::DEFAULT);
    assert!(config.mail.smtp.is_none());
}

#[test]
fn bad_values_name_their_option() {
    let cases: Vec<(Options, &str)> = vec![
        (
            Options {
                pow_difficulty: Some(40),
                ..Default::default()
            },
            "pow-difficulty",
        ),
        (
            Options {
                kdf_memory_kib: Some(1024),
                ..Default::default()
            },
            "kdf-*",
        ),
        (
            Options {
                pow_difficulty: Some(16),
                pow_max_difficulty: Some(12),
                ..Default::default()
            },
            "pow-max-difficulty",
        ),
        (
            Options {
                pow_calm_rate: Some(0),
                ..Default::default()
            },
            "pow-calm-rate",
        ),
        (
            Options {
                created_at_window: Some(5),
                ..Default::default()
            },
            "created-at-window",
        ),
        (
            Options {
                database_url: Some("mysql://x".into()),
                ..Default::default()
            },
            "database-url",
        ),
        (
            Options {
                default_relays: Some(vec!["http://x".into()]),
                ..Default::default()
            },
            "default-relays",
        ),
        (
            Options {
                // Would smuggle a directive into the page's content security policy.
                dvm_relays: Some(vec!["wss://r.example; script-src *".into()]),
                ..Default::default()
            },
            "dvm-relays",
        ),
        (
            Options {
                client_transport: Some(RequestTransport::Relays),
                ..Default::default()
            },
            "client-transport",
        ),
        (
            Options {
                relay_proxy: Some("127.0.0.1:9050".parse().expect("addr")),
                ..Default::default()
            },
            "relay-proxy",
        ),
        (
            Options {
                smtp_username: Some("u".into()),
                ..Default::default()
            },
            "smtp-host",
        ),
        (
            Options {
                smtp_from: Some("not a mailbox".into()),
                ..Default::default()
            },
            "smtp-from",
        ),
        (
            Options {
                smtp_host: Some("smtp.example.org".into()),
                smtp_hello_name: Some("my-laptop.home; x".into()),
                ..Default::default()
            },
            "smtp-hello-name",
        ),
        (
            Options {
                smtp_host: Some("smtp.example.org".into()),
                smtp_tls: Some(SmtpTls::Tls),
                smtp_proxy: Some("127.0.0.1:9050".parse().expect("addr")),
                ..Default::default()
            },
            "smtp-proxy",
        ),
        (
            Options {
                smtp_proxy: Some("127.0.0.1:9050".parse().expect("addr")),
                ..Default::default()
            },
            "smtp-host",
        ),
    ];
    for (options, needle) in cases {
        let error = Config::from_options(options).expect_err(needle);
        assert!(error.0.contains(needle), "{needle}: {error}");
    }
}

/// SECURITY.md's bound, computed from the limits: the defaults stay under 1% a year, and a
/// looser budget is reported (the server warns at start-up).
#[test]
fn the_default_code_limits_keep_a_year_of_guessing_under_one_percent() {
    let defaults = Config::from_options(Options::default()).expect("defaults");
    let chance = defaults.codes.yearly_guess_chance();
    assert!((0.0090..0.0092).contains(&chance), "{chance}");
    let loose = Config::from_options(Options {
        code_guess_refill: Some(60),
        ..Default::default()
    })
    .expect("valid, if unwise");
    assert!(loose.codes.yearly_guess_chance() > 0.5);
}

/// Issue 25 §1: behind an onion, mail that would dial the provider directly is refused at
/// start-up with the reason and the two ways out.
#[test]
fn a_server_behind_an_onion_does_not_mail_directly() {
    let data = tempfile::tempdir().expect("data dir");
    let smtp = || Options {
        data_dir: Some(data.path().to_owned()),
        smtp_host: Some("smtp.example.org".into()),
        ..Default::default()
    };
    let relays = || Options {
        dvm_relays: Some(vec!["wss://relay.example".into()]),
        relay_proxy: Some("127.0.0.1:9050".parse().expect("addr")),
        ..smtp()
    };
    let onion_dir = || Options {
        onion_dir: Some(data.path().join("hs")),
        ..smtp()
    };
    for (why, options) in [("relay-proxy", relays()), ("onion dir", onion_dir())] {
        let error = Config::from_options(options).expect_err(why);
        for needle in [
            "onion service",
            "IP address",
            "smtp-proxy",
            "smtp-direct-behind-onion",
        ] {
            assert!(error.0.contains(needle), "{why}: {needle}: {error}");
        }
    }
    // The default onion dir counts once it exists (the operator set Tor up there).
    Config::from_options(smtp()).expect("no onion yet");
    std::fs::create_dir(data.path().join("onion")).expect("onion dir");
    Config::from_options(smtp()).expect_err("the onion dir exists");
    // Either way out is accepted.
    let proxied = Options {
        smtp_proxy: Some("127.0.0.1:9050".parse().expect("addr")),
        ..relays()
    };
    let config = Config::from_options(proxied).expect("mail through Tor");
    let smtp_config = config.mail.smtp.expect("smtp");
    assert_eq!(
        smtp_config.proxy,
        Some("127.0.0.1:9050".parse().expect("addr"))
    );
    assert_eq!(smtp_config.hello_name, "localhost");
    let direct = Options {
        smtp_direct_behind_onion: Some(true),
        ..onion_dir()
    };
    Config::from_options(direct).expect("direct mail, accepted knowingly");
    // No SMTP, no mail leaves: the console mailer is fine behind an onion.
    Config::from_options(Options {
        smtp_host: None,
        ..onion_dir()
    })
    .expect("console");
}

/// The README's configuration table: flag, environment variable and default, by flag.
fn readme_table() -> std::collections::HashMap<String, (String, String)> {
    let readme = include_str!("../../../README.md");
    readme
        .lines()
        .filter(|line| line.starts_with("| `--"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let unquote = |cell: &str| cell.trim_matches('`').to_owned();
            let flag = unquote(cells.get(1)?).trim_start_matches("--").to_owned();
            Some((flag, (unquote(cells.get(2)?), unquote(cells.get(3)?))))
        })
        .collect()
}

#[test]
fn the_readme_lists_every_option_with_its_real_default() {
    let table = readme_table();
    for doc in documented() {
        let key = doc.file_key();
        let expected = (doc.env.to_owned(), doc.default.clone());
        assert_eq!(table.get(&key), Some(&expected), "README row for --{key}");
        assert_eq!(doc.env, format!("SIGIL_{}", doc.key.to_uppercase()));
    }
    assert_eq!(
        table.len(),
        documented().len(),
        "README rows for unknown options"
    );
}

#[test]
fn the_example_file_shows_every_option_with_its_real_default() {
    let example = include_str!("../../../sigil.example.toml");
    for doc in documented().into_iter().filter(|doc| doc.key != "config") {
        let key = doc.file_key();
        let line = example
            .lines()
            .find_map(|line| line.strip_prefix(&format!("# {key} = ")))
            .unwrap_or_else(|| panic!("sigil.example.toml has no `# {key} = ` line"));
        let shown: toml::Value = toml::from_str(&format!("v = {line}"))
            .map(|table: toml::Table| table["v"].clone())
            .unwrap_or_else(|_| toml::Value::String(line.to_owned()));
        let shown = match shown {
            toml::Value::String(text) => text,
            toml::Value::Array(items) => items
                .iter()
                .filter_map(|item| item.as_str())
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        assert_eq!(shown, doc.default, "sigil.example.toml's default of {key}");
    }
}

#[test]
fn the_example_file_is_valid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sigil.example.toml");
    let config = Config::from_options(Options {
        config: Some(path),
        ..Default::default()
    })
    .expect("example config");
    assert_eq!(config.mail.smtp.as_ref().map(|s| s.port), Some(587));
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/sigil"));
    assert_eq!(config.relays.client_transport, RequestTransport::Http);
}

#[test]
fn the_relay_transport_is_read_from_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sigil.toml");
    let file = "dvm-relays = [\"ws://127.0.0.1:7777\"]\nclient-transport = \"relays\"\n\
                relay-proxy = \"127.0.0.1:9050\"\n";
    std::fs::write(&path, file).expect("write");
    let config = Config::from_options(Options {
        config: Some(path),
        ..Default::default()
    })
    .expect("config");
    assert_eq!(config.relays.client_transport, RequestTransport::Relays);
    assert_eq!(config.relays.proxy, "127.0.0.1:9050".parse().ok());
    assert_eq!(config.relays.dvm_relays, ["ws://127.0.0.1:7777"]);
}

#[test]
fn file_values_are_overridden_by_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sigil.toml");
    std::fs::write(&path, "pow-difficulty = 12\ncode-ttl = 120\n").expect("write");
    let options = Options {
        config: Some(path.clone()),
        pow_difficulty: Some(10),
        ..Default::default()
    };
    let config = Config::from_options(options).expect("config");
    assert_eq!(config.pow.difficulty, 10);
    assert_eq!(config.codes.ttl, Duration::from_secs(120));

    std::fs::write(&path, "no-such-option = 1\n").expect("write");
    let error = Config::from_options(Options {
        config: Some(path),
        ..Default::default()
    })
    .expect_err("unknown key");
    assert!(error.0.contains("no-such-option"), "{error}");
}
