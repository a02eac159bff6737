//! Provisioning the demo exactly as `docs/operations.md` tells an administrator: org roots,
//! a shared relay, partner trust and enrollment bundles with `vigil-keytool` (run in this
//! process), then the relay started on 127.0.0.1 and everyone enrolled.

use std::path::Path;

use vigil_client::client::Client;
use vigil_client::engine::Engine;
use vigil_common::now;

use super::DemoError;

const ADMIN_PASSPHRASE: &str = "demo administrator passphrase";
const BUNDLE_PASSPHRASE: &str = "demo one-time bundle passphrase";
const STORE_PASSPHRASE: &str = "demo store passphrase (throwaway)";

/// Who is in the demo: user id, display name, role, clearance.
const PEOPLE: [(&str, &str, &str, &str); 4] = [
    (
        "officer@cert-at",
        "Anna Huber",
        "duty-officer",
        "EU RESTRICTED",
    ),
    (
        "lead@cert-at",
        "Markus Gruber",
        "incident-lead",
        "EU SECRET",
    ),
    (
        "petra@cert-cz",
        "Petra Svobodová",
        "duty-officer",
        "VYHRAZENE",
    ),
    (
        "intern@cert-at",
        "Lukas Berger",
        "duty-officer",
        "UNCLASSIFIED",
    ),
];

/// Runs `vigil-keytool ARGS` in this process, as the administrator.
fn keytool(args: &[&str], pass: &Path) -> Result<(), DemoError> {
    let pass = pass.to_string_lossy();
    let argv = ["vigil-keytool", "--passphrase-file", &pass]
        .into_iter()
        .chain(args.iter().copied());
    let cli = <vigil_keytool::cli::Cli as clap::Parser>::try_parse_from(argv)?;
    vigil_keytool::run(cli, &mut std::io::sink())?;
    Ok(())
}

/// The provisioned demo: the relay and a client per person.
pub(super) struct World {
    _dir: tempfile::TempDir,
    pub(super) relay: vigil_server::Relay,
    pub(super) clients: Vec<(String, Client)>,
}

/// Paths in the demo's temporary directory, as the keytool's arguments want them.
struct Dir<'a>(&'a Path);

impl Dir<'_> {
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

/// Everything the demo needs, in a temporary directory removed when the [`World`] is dropped.
pub(super) async fn provision() -> Result<World, DemoError> {
    let dir = tempfile::tempdir().map_err(DemoError::TempDir)?;
    let admin = dir.path().join("admin-pass");
    vigil_common::fs::write_atomic(&admin, ADMIN_PASSPHRASE.as_bytes())?;
    vigil_common::fs::write_atomic(
        &dir.path().join("bundle-pass"),
        BUNDLE_PASSPHRASE.as_bytes(),
    )?;
    let paths = Dir(dir.path());
    organisations(&paths, &admin)?;
    for person in PEOPLE {
        issue(&paths, &admin, person)?;
    }
    let config = vigil_server::Config::load(&dir.path().join("relay/relay.toml"))?;
    let relay = vigil_server::Relay::start(&config)
        .await
        .map_err(|e| DemoError::Relay(Box::new(e)))?;
    let addr = relay.local_addr().map_err(DemoError::RelayAddress)?;
    let mut clients = Vec::new();
    for (user, ..) in PEOPLE {
        clients.push((user.to_owned(), enroll(dir.path(), user, addr).await?));
    }
    Ok(World {
        _dir: dir,
        relay,
        clients,
    })
}

/// The two organisations, the relay CERT-AT runs for both, and their trust in each other.
fn organisations(dir: &Dir<'_>, admin: &Path) -> Result<(), DemoError> {
    for (org, country, d) in [("CERT-AT", "AT", "at"), ("CERT-CZ", "CZ", "cz")] {
        let args = ["org", "init", "--org", org, "--country", country];
        keytool(&[&args[..], &["--dir", &dir.path(d)]].concat(), admin)?;
    }
    let (at, cz) = (dir.path("at"), dir.path("cz"));
    let relay = [
        "relay",
        "init",
        "--org-dir",
        at.as_str(),
        "--host",
        "localhost",
    ];
    let listen = ["--listen", "127.0.0.1:0", "--out", &dir.path("relay")];
    keytool(&[&relay[..], &listen[..]].concat(), admin)?;
    let config = dir.path("relay/relay.toml");
    keytool(
        &[
            "relay",
            "use",
            "--org-dir",
            cz.as_str(),
            "--config",
            &config,
        ],
        admin,
    )?;
    // Each team accepts from the other what the incident needs: CERT-AT (which runs the relay)
    // CERT-CZ's officers up to EU RESTRICTED, CERT-CZ the Austrian lead's EU SECRET.
    let (at, cz) = (at.as_str(), cz.as_str());
    for (org, partner, max) in [(at, cz, "EU RESTRICTED"), (cz, at, "EU SECRET")] {
        let args = ["trust", "add", "--org-dir", org, "--partner", partner];
        keytool(&[&args[..], &["--max-clearance", max]].concat(), admin)?;
    }
    Ok(())
}

/// The enrollment bundle of one person of [`PEOPLE`], from their organisation.
fn issue(
    dir: &Dir<'_>,
    admin: &Path,
    (user, name, role, clearance): (&str, &str, &str, &str),
) -> Result<(), DemoError> {
    let org = if user.ends_with("cert-cz") {
        "cz"
    } else {
        "at"
    };
    let who = ["--user", user, "--name", name, "--role", role];
    let (org_dir, bundle) = (dir.path(org), dir.path(&format!("{user}.bundle")));
    let pass = dir.path("bundle-pass");
    let files = [
        "--out",
        bundle.as_str(),
        "--bundle-passphrase-file",
        pass.as_str(),
    ];
    keytool(
        &[
            &["issue", "--org-dir", &org_dir][..],
            &who[..],
            &["--clearance", clearance],
            &files[..],
        ]
        .concat(),
        admin,
    )
}

/// `user` enrolled from their bundle and connected to the relay at `addr`.
async fn enroll(dir: &Path, user: &str, addr: std::net::SocketAddr) -> Result<Client, DemoError> {
    let bundle =
        vigil_client::engine::open_bundle(&dir.join(format!("{user}.bundle")), BUNDLE_PASSPHRASE)?;
    let home = dir.join("homes").join(user);
    let engine = Engine::enroll(&home, bundle, STORE_PASSPHRASE, now())?;
    let mut client = Client::new(engine);
    client.set_relay_address(Some(addr.to_string()));
    client.connect().await?;
    Ok(client)
}

/// Takes `user`'s client out of the world.
pub(super) fn take(clients: &mut Vec<(String, Client)>, user: &str) -> Result<Client, DemoError> {
    let i = clients
        .iter()
        .position(|(u, _)| u == user)
        .ok_or_else(|| DemoError::Missing(user.to_owned()))?;
    Ok(clients.remove(i).1)
}
