//! Setting up a device: `vigil request` (keys made here, a certificate request for the
//! administrator) and `vigil enroll` (the store made from an enrollment bundle, the
//! certificate and prekeys published).

use std::io::{IsTerminal as _, Write};
use std::path::Path;

use vigil_client::client::{Client, ClientError};
use vigil_client::engine::Engine;
use vigil_common::now;
use vigil_protocol::{Text, UserId};
use zeroize::Zeroizing;

use super::{CliError, Context, Notes, UsageError};

/// `vigil request`: keys sealed in the home directory, the request written to `file`.
pub(super) fn request(
    context: &Context,
    user: &str,
    name: &str,
    file: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let user = UserId::new(user).map_err(|why| UsageError::Option {
        option: "--user",
        why,
    })?;
    let name = Text::new(name).map_err(|why| UsageError::Option {
        option: "--name",
        why,
    })?;
    let done =
        vigil_client::request::request(&context.home, user, name, file, &context.pass, now())?;
    crate::log::start(&context.home);
    // No user id in the log: the store blinds contacts' ids, the log is not sealed.
    tracing::info!("certificate request written");
    writeln!(out, "Wrote certificate request {}", file.display()).map_err(CliError::Output)?;
    writeln!(out, "Your identity key fingerprint: {}", done.fingerprint)
        .map_err(CliError::Output)?;
    writeln!(
        out,
        "Give the request to your administrator and read them the fingerprint; your keys stay \
         sealed in {}.",
        done.pending.display()
    )
    .map_err(CliError::Output)
}

/// The bundle's one-time passphrase: the first line of `file`, else a prompt. One shorter
/// than any bundle is sealed under is refused as too short, not tried.
fn bundle_passphrase(file: Option<&Path>) -> Result<Zeroizing<String>, CliError> {
    let given = if let Some(path) = file {
        let text = Zeroizing::new(vigil_common::fs::read_text(path)?);
        Zeroizing::new(text.lines().next().unwrap_or_default().to_owned())
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("One-time passphrase of the bundle: ")
            .map(Zeroizing::new)
            .map_err(CliError::Passphrase)?
    } else {
        return Err(UsageError::NoBundlePassphrase.into());
    };
    vigil_common::passphrase::check_length(&given)?;
    Ok(given)
}

/// `vigil enroll`: the store made from `bundle`, then published to the relay (or noted for
/// the next connection when it is unreachable, or `offline`: then the network is not touched).
/// A relay that refuses this device (the bundle was enrolled elsewhere) fails the command, and
/// the store just made is removed.
pub(super) async fn enroll(
    context: &Context,
    bundle: &Path,
    bundle_pass: Option<&Path>,
    offline: bool,
    out: &mut dyn Write,
    notes: &mut dyn Notes,
) -> Result<(), CliError> {
    let home = &context.home;
    let contents = vigil_client::engine::open_bundle(bundle, &bundle_passphrase(bundle_pass)?)?;
    if home.join("store-key.vigil").exists() {
        return Err(UsageError::AlreadyEnrolled(home.clone()).into());
    }
    let passphrase = context
        .pass
        .new_passphrase("your Vigil store on this device")?;
    let engine = Engine::enroll(home, contents, &passphrase, now())?;
    drop(passphrase);
    crate::log::start(home);
    let user = engine.user().clone();
    tracing::info!("enrolled");
    let fingerprint = engine.certificate().body().identity_key.fingerprint();
    writeln!(out, "Enrolled {user} in {}", home.display()).map_err(CliError::Output)?;
    writeln!(out, "Your identity key fingerprint: {fingerprint}").map_err(CliError::Output)?;
    if offline {
        writeln!(
            out,
            "Offline: the relay was not contacted. Your certificate and prekeys are published \
             the next time vigil runs without --offline."
        )
        .map_err(CliError::Output)?;
        return Ok(());
    }
    let mut client = Client::new(engine);
    client.set_relay_address(context.relay.clone());
    let result = match client.connect().await {
        Ok(()) => writeln!(out, "Published your certificate and prekeys to the relay.")
            .map_err(CliError::Output),
        Err(e @ ClientError::LoginRefused(_)) => Err(e.into()),
        Err(e) => {
            notes.note(&format!(
                "{e}; your prekeys will be published the next time vigil connects"
            ));
            Ok(())
        }
    };
    client.close().await;
    if result.is_err() {
        // Refused (e.g. the bundle is enrolled on another device): this store can never log
        // in, so it is not kept; enrolling again (a reissued bundle) starts afresh.
        drop(client);
        match vigil_client::store::remove_enrolled(home) {
            Ok(()) => notes.note(&format!("nothing was kept in {}", home.display())),
            Err(e) => notes.note(&format!("{e}; remove {} by hand", home.display())),
        }
    }
    result
}
