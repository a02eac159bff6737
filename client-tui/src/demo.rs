//! `vigil demo`: the whole system on this machine, in a temporary directory removed on exit.
//!
//! Two national teams (CERT-AT and CERT-CZ) are provisioned with the administrator's tool
//! exactly as `docs/operations.md` describes (org roots, a shared relay, partner trust,
//! enrollment bundles); the relay runs in this process on 127.0.0.1; an incident lead, a
//! Czech duty officer, an intern and you (a duty officer of CERT-AT) enroll. The lead opens a
//! `TLP:AMBER` / `EU RESTRICTED` incident channel and colleagues post a realistic thread:
//! indicators, a partner's sighting, a relabel, an invitation refused by policy, a handover
//! note. In a terminal you are in the TUI as the duty officer and can answer; otherwise the
//! same scenario runs headless and the transcript is printed.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;

use vigil_client::client::Client;
use vigil_client::engine::{Body, Engine, Event};
use vigil_common::now;

const ADMIN_PASSPHRASE: &str = "demo administrator passphrase";
const BUNDLE_PASSPHRASE: &str = "demo one-time bundle passphrase";
const STORE_PASSPHRASE: &str = "demo store passphrase (throwaway)";

/// A colleague's client counts as caught up after this long without a delivery.
const QUIET: Duration = Duration::from_millis(150);

/// How long a colleague looks for your messages between other things.
const GLANCE: Duration = Duration::from_millis(50);

/// In the TUI: the first post comes this long after the screen opens...
const FIRST_POST: Duration = Duration::from_secs(2);

/// ...and the next ones this long apart, time to read them.
const BETWEEN_POSTS: Duration = Duration::from_millis(3500);

/// The incident channel.
pub const CHANNEL: &str = "ransomware-linz-2026";

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

/// One step of the thread.
enum Step {
    /// `who` posts `text`.
    Post(&'static str, &'static str),
    /// The lead adds a caveat to the label (raising it: a new epoch).
    Relabel,
    /// The lead tries to invite the intern (refused: clearance).
    InviteIntern,
}

const SCRIPT: &[Step] = &[
    Step::Post(
        "lead@cert-at",
        "Good morning. Ransomware at a hospital network in Linz since 04:10 UTC; this channel \
         coordinates AT and CZ. TLP:AMBER: share with your own teams and affected clients only.",
    ),
    Step::Post(
        "lead@cert-at",
        "Indicators so far:\n  C2        203.0.113.47:443 (TLS, JA3 72a589da586844d7f0818ce684948eea)\n  \
         dropper   SHA-256 9f2c4e0b7a1d35e8c6b0f4a2d9e7c13b58a6f0e2d4c8b1a7e3f5d9c0b2a4e6f8\n  \
         domain    update-check.online-srv[.]example",
    ),
    Step::Post(
        "petra@cert-cz",
        "CERT-CZ here: the same C2 was contacted from two regional hospitals in Brno overnight. \
         We are blocking it at national level now and will share the loader sample by 10:00.",
    ),
    Step::Relabel,
    Step::Post(
        "lead@cert-at",
        "Added the caveat REL TO AT,CZ to the label: nothing from here goes to third countries.",
    ),
    Step::InviteIntern,
    Step::Post(
        "lead@cert-at",
        "I tried to add Lukas for the log work: Vigil refused, his clearance is UNCLASSIFIED. \
         Anna, can you take the proxy log review instead?",
    ),
    Step::Post(
        "petra@cert-cz",
        "Handover note for the day shift (CZ): sensors updated 07:40; two hosts isolated in \
         Brno; next call with the hospitals' IT at 11:00.",
    ),
];

fn keytool(args: &[&str], pass: &Path) -> Result<(), String> {
    vigil_keytool::run_args(pass, args).map(drop)
}

/// The provisioned demo: the relay and a client per person.
struct World {
    _dir: tempfile::TempDir,
    relay: vigil_server::Relay,
    clients: Vec<(String, Client)>,
}

async fn provision() -> Result<World, String> {
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let path = |p: &str| dir.path().join(p).to_string_lossy().into_owned();
    let admin = dir.path().join("admin-pass");
    let bundle_pass = dir.path().join("bundle-pass");
    std::fs::write(&admin, ADMIN_PASSPHRASE).map_err(|e| e.to_string())?;
    std::fs::write(&bundle_pass, BUNDLE_PASSPHRASE).map_err(|e| e.to_string())?;
    for (org, country, d) in [("CERT-AT", "AT", "at"), ("CERT-CZ", "CZ", "cz")] {
        let dir = path(d);
        let args = [
            "org",
            "init",
            "--org",
            org,
            "--country",
            country,
            "--dir",
            &dir,
        ];
        keytool(&args, &admin)?;
    }
    keytool(
        &[
            "relay",
            "init",
            "--org-dir",
            &path("at"),
            "--host",
            "localhost",
            "--listen",
            "127.0.0.1:0",
            "--out",
            &path("relay"),
        ],
        &admin,
    )?;
    let config = path("relay/relay.toml");
    keytool(
        &[
            "relay",
            "use",
            "--org-dir",
            &path("cz"),
            "--config",
            &config,
        ],
        &admin,
    )?;
    // Each team accepts from the other what the incident needs: CERT-AT (which runs the relay)
    // CERT-CZ's officers up to EU RESTRICTED, CERT-CZ the Austrian lead's EU SECRET.
    for (org, partner, max) in [("at", "cz", "EU RESTRICTED"), ("cz", "at", "EU SECRET")] {
        let (org, partner) = (path(org), path(partner));
        let args = ["trust", "add", "--org-dir", &org, "--partner", &partner];
        keytool(&[&args[..], &["--max-clearance", max]].concat(), &admin)?;
    }
    for (user, name, role, clearance) in PEOPLE {
        let org = if user.ends_with("cert-cz") {
            "cz"
        } else {
            "at"
        };
        keytool(
            &[
                "issue",
                "--org-dir",
                &path(org),
                "--user",
                user,
                "--name",
                name,
                "--role",
                role,
                "--clearance",
                clearance,
                "--out",
                &path(&format!("{user}.bundle")),
                "--bundle-passphrase-file",
                &path("bundle-pass"),
            ],
            &admin,
        )?;
    }
    let config = vigil_server::Config::load(Path::new(&config)).map_err(|e| e.to_string())?;
    let relay = vigil_server::Relay::start(&config).await?;
    let addr = relay.local_addr().map_err(|e| e.to_string())?;
    let mut clients = Vec::new();
    for (user, ..) in PEOPLE {
        let bundle = vigil_client::engine::open_bundle(
            &dir.path().join(format!("{user}.bundle")),
            BUNDLE_PASSPHRASE,
        )
        .map_err(|e| e.to_string())?;
        let home = dir.path().join("homes").join(user);
        let engine =
            Engine::enroll(&home, bundle, STORE_PASSPHRASE, now()).map_err(|e| e.to_string())?;
        let mut client = Client::new(engine);
        client.set_relay_address(Some(addr.to_string()));
        client.connect().await.map_err(|e| e.to_string())?;
        clients.push((user.to_owned(), client));
    }
    Ok(World {
        _dir: dir,
        relay,
        clients,
    })
}

fn take(clients: &mut Vec<(String, Client)>, user: &str) -> Result<Client, String> {
    let i = clients
        .iter()
        .position(|(u, _)| u == user)
        .ok_or_else(|| format!("no {user} in the demo"))?;
    Ok(clients.remove(i).1)
}

fn user(id: &str) -> Result<UserId, String> {
    UserId::new(id).map_err(|e| e.to_string())
}

/// Processes what the relay pushes until it has been quiet for a moment, and sends the outbox.
async fn drain(client: &mut Client) {
    while let Ok(true) = client.pump(QUIET).await {}
    let _ = client.flush_outbox().await;
}

/// The colleagues: the lead and the Czech officer, posting the script.
struct Colleagues {
    lead: Client,
    petra: Client,
    channel: ChannelId,
    /// What happened that only the lead saw (the refused invitation), for the transcript.
    log: Vec<String>,
}

impl Colleagues {
    async fn open(mut lead: Client, mut petra: Client) -> Result<Self, String> {
        let label = Label::new(
            "TLP:AMBER",
            "EU RESTRICTED",
            &[],
            ClassificationPolicy::eu(),
        )
        .map_err(|e| e.to_string())?;
        let (channel, _) = lead
            .engine_mut()
            .create_channel(CHANNEL, label, now())
            .map_err(|e| e.to_string())?;
        for who in ["officer@cert-at", "petra@cert-cz"] {
            lead.invite(channel, &user(who)?)
                .await
                .map_err(|e| e.to_string())?;
        }
        drain(&mut petra).await;
        Ok(Self {
            lead,
            petra,
            channel,
            log: Vec::new(),
        })
    }

    /// Lets both process what arrived (and send what that caused).
    async fn settle(&mut self) {
        drain(&mut self.lead).await;
        drain(&mut self.petra).await;
    }

    async fn step(&mut self, step: &Step) -> Result<(), String> {
        self.settle().await;
        match step {
            Step::Post(who, text) => {
                let client = if *who == "petra@cert-cz" {
                    &mut self.petra
                } else {
                    &mut self.lead
                };
                client
                    .engine_mut()
                    .send_text(self.channel, text, now())
                    .map_err(|e| e.to_string())?;
                client.flush_outbox().await.map_err(|e| e.to_string())?;
            }
            Step::Relabel => {
                let label = Label::new(
                    "TLP:AMBER",
                    "EU RESTRICTED",
                    &["REL TO AT,CZ"],
                    ClassificationPolicy::eu(),
                )
                .map_err(|e| e.to_string())?;
                self.lead
                    .engine_mut()
                    .relabel(self.channel, label, now())
                    .map_err(|e| e.to_string())?;
                self.lead.flush_outbox().await.map_err(|e| e.to_string())?;
            }
            Step::InviteIntern => {
                match self
                    .lead
                    .invite(self.channel, &user("intern@cert-at")?)
                    .await
                {
                    Ok(_) => return Err("the intern's invitation was not refused".into()),
                    Err(e) => self
                        .log
                        .push(format!("lead@cert-at invited intern@cert-at: refused: {e}")),
                }
            }
        }
        self.settle().await;
        Ok(())
    }

    /// Answers the duty officer's messages (a colleague who reads the channel).
    async fn answer(&mut self) {
        let _ = self.lead.pump(GLANCE).await;
        let asked = self.lead.take_events().into_iter().any(|e| {
            matches!(&e, Event::Message { entry, .. }
                if entry.sender.as_str() == "officer@cert-at" && matches!(entry.body, Body::Text(_)))
        });
        if asked {
            let _ = self.lead.engine_mut().send_text(
                self.channel,
                "Thanks Anna, noted. Keep the updates coming here.",
                now(),
            );
            let _ = self.lead.flush_outbox().await;
        }
        let _ = self.petra.pump(GLANCE).await;
        let _ = self.petra.take_events();
    }

    async fn close(mut self) {
        self.lead.close().await;
        self.petra.close().await;
    }
}

/// Runs the demo: the TUI when `interactive`, else the scenario headless with its transcript
/// on `out`.
///
/// # Errors
///
/// One line when something could not be set up.
pub async fn run(out: &mut dyn Write, interactive: bool) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write: {e}");
    if !interactive {
        writeln!(
            out,
            "Vigil demo (headless: standard output is not a terminal)"
        )
        .map_err(io)?;
        writeln!(
            out,
            "Provisioning CERT-AT and CERT-CZ with vigil-keytool, starting the relay on 127.0.0.1..."
        )
        .map_err(io)?;
    }
    let mut world = provision().await?;
    let mut me = take(&mut world.clients, "officer@cert-at")?;
    let lead = take(&mut world.clients, "lead@cert-at")?;
    let petra = take(&mut world.clients, "petra@cert-cz")?;
    let mut colleagues = Colleagues::open(lead, petra).await?;
    let result = if interactive {
        interactive_run(me, &mut colleagues).await
    } else {
        for step in SCRIPT {
            colleagues.step(step).await?;
        }
        drain(&mut me).await;
        let channel = me
            .engine()
            .find_channel(CHANNEL)
            .map_err(|e| e.to_string())?;
        me.engine_mut()
            .send_text(
                channel,
                "Anna (CERT-AT duty): on it, proxy logs next. IOCs pushed to our sensors.",
                now(),
            )
            .map_err(|e| e.to_string())?;
        me.flush_outbox().await.map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        colleagues.answer().await;
        colleagues.settle().await;
        drain(&mut me).await;
        let transcript = transcript(me.engine(), channel, &colleagues.log);
        me.close().await;
        transcript.and_then(|t| out.write_all(t.as_bytes()).map_err(io))
    };
    colleagues.close().await;
    for (_, mut client) in world.clients {
        client.close().await;
    }
    world.relay.shutdown().await;
    result
}

fn transcript(engine: &Engine, channel: ChannelId, log: &[String]) -> Result<String, String> {
    let summary = engine.channel(channel).map_err(|e| e.to_string())?;
    let mut text = format!(
        "\nAs {} <{}>, channel {}:\n==== {} ====\n",
        engine.certificate().body().display_name,
        engine.user(),
        summary.name,
        summary.label
    );
    let entries =
        vigil_client::history::all_history(engine, channel, None).map_err(|e| e.to_string())?;
    let mut marks = vigil_client::history::Marks::new(engine);
    for (_, entry) in &entries {
        text.push_str(&crate::export::text_line(entry, marks.of(&entry.sender)));
        text.push('\n');
    }
    text.push_str(&format!("==== {} ====\n", summary.label));
    for line in log {
        text.push_str(&format!("(seen by the lead) {line}\n"));
    }
    text.push_str("\nThe demo's organisations, relay and stores were in a temporary directory, now removed.\n");
    Ok(text)
}

async fn interactive_run(me: Client, colleagues: &mut Colleagues) -> Result<(), String> {
    let config = crate::config::Config::default();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let tui = tokio::spawn(async move {
        let result = crate::tui::run(me, &config).await;
        let _ = stop_tx.send(true);
        result
    });
    let mut script = SCRIPT.iter();
    let mut next = tokio::time::Instant::now() + FIRST_POST;
    loop {
        tokio::select! {
            _ = stop_rx.changed() => break,
            () = tokio::time::sleep_until(next) => {
                if let Some(step) = script.next() {
                    colleagues.step(step).await?;
                }
                next = tokio::time::Instant::now() + BETWEEN_POSTS;
            }
            () = colleagues.answer() => {}
        }
    }
    tui.await.map_err(|e| format!("the TUI failed: {e}"))?
}
