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

mod provision;
mod splash;

use std::io::Write;
use std::time::Duration;
use vigil_protocol::channel::ChannelId;

use vigil_protocol::UserId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;

use crate::tui::TuiError;
use provision::{provision, take};
use vigil_client::client::{Client, ClientError};
use vigil_client::engine::{Body, Engine, EngineError, Event};
use vigil_common::now;

/// A colleague's client counts as caught up after this long without a delivery.
const QUIET: Duration = Duration::from_millis(150);

/// How long a colleague looks for your messages between other things.
const GLANCE: Duration = Duration::from_millis(50);

/// In the TUI: the first post comes this long after the screen opens...
const FIRST_POST: Duration = Duration::from_secs(2);

/// ...and the next ones this long apart, time to read them.
const BETWEEN_POSTS: Duration = Duration::from_millis(3500);

/// The incident channel's name.
pub const CHANNEL: &str = "ransomware-linz-2026";

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

/// Why the demo could not run; each names the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The temporary directory could not be made.
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    /// A passphrase file could not be written.
    #[error(transparent)]
    Files(#[from] vigil_common::Error),
    /// The demo gave `vigil-keytool` arguments it does not take (a bug).
    #[error("{0}")]
    KeytoolArguments(#[from] clap::Error),
    /// The administrator's tool refused a provisioning step.
    #[error(transparent)]
    Keytool(#[from] vigil_keytool::Error),
    /// The relay's configuration, as `relay init` wrote it, does not load.
    #[error(transparent)]
    RelayConfig(#[from] vigil_server::ConfigError),
    /// The relay did not start.
    #[error(transparent)]
    Relay(Box<vigil_server::StartError>),
    /// The relay's listening address is unknown.
    #[error("cannot read the relay's address: {0}")]
    RelayAddress(std::io::Error),
    /// A user id or label of the script is invalid (a bug).
    #[error(transparent)]
    Id(#[from] vigil_protocol::IdError),
    /// A label of the script is refused by the policy (a bug).
    #[error(transparent)]
    Label(#[from] vigil_protocol::label::LabelError),
    /// A member's engine refused or failed (enrolling, posting, relabelling).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A member's client could not reach the relay or was refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The script names someone who was not enrolled (a bug).
    #[error("no {0} in the demo")]
    Missing(String),
    /// The invitation the policy must refuse went through.
    #[error("the intern's invitation was not refused")]
    NotRefused,
    /// The transcript could not be written.
    #[error("cannot write: {0}")]
    Output(std::io::Error),
    /// The TUI's task panicked.
    #[error("the TUI failed: {0}")]
    TuiTask(tokio::task::JoinError),
    /// The TUI could not run.
    #[error(transparent)]
    Tui(#[from] TuiError),
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
    async fn open(mut lead: Client, mut petra: Client) -> Result<Self, DemoError> {
        let label = Label::new(
            "TLP:AMBER",
            "EU RESTRICTED",
            &[],
            ClassificationPolicy::eu(),
        )?;
        let (channel, _) = lead.engine_mut().create_channel(CHANNEL, label, now())?;
        for who in ["officer@cert-at", "petra@cert-cz"] {
            lead.invite(channel, &UserId::new(who)?).await?;
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

    async fn step(&mut self, step: &Step) -> Result<(), DemoError> {
        self.settle().await;
        match step {
            Step::Post(who, text) => {
                let client = if *who == "petra@cert-cz" {
                    &mut self.petra
                } else {
                    &mut self.lead
                };
                client.engine_mut().send_text(self.channel, text, now())?;
                client.flush_outbox().await?;
            }
            Step::Relabel => {
                let label = Label::new(
                    "TLP:AMBER",
                    "EU RESTRICTED",
                    &["REL TO AT,CZ"],
                    ClassificationPolicy::eu(),
                )?;
                self.lead.engine_mut().relabel(self.channel, label, now())?;
                self.lead.flush_outbox().await?;
            }
            Step::InviteIntern => {
                match self
                    .lead
                    .invite(self.channel, &UserId::new("intern@cert-at")?)
                    .await
                {
                    Ok(_) => return Err(DemoError::NotRefused),
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
pub async fn run(out: &mut dyn Write, interactive: bool) -> Result<(), DemoError> {
    let io = DemoError::Output;
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
    let splash = interactive.then(splash::show);
    let started = async {
        let mut world = provision().await?;
        let me = take(&mut world.clients, "officer@cert-at")?;
        let lead = take(&mut world.clients, "lead@cert-at")?;
        let petra = take(&mut world.clients, "petra@cert-cz")?;
        let colleagues = Colleagues::open(lead, petra).await?;
        Ok::<_, DemoError>((world, me, colleagues))
    };
    let started = started.await;
    splash::hide(splash.flatten(), started.is_ok());
    let (world, mut me, mut colleagues) = started?;
    let result = if interactive {
        interactive_run(me, &mut colleagues).await
    } else {
        for step in SCRIPT {
            colleagues.step(step).await?;
        }
        drain(&mut me).await;
        let channel = me.engine().find_channel(CHANNEL)?;
        me.engine_mut().send_text(
            channel,
            "Anna (CERT-AT duty): on it, proxy logs next. IOCs pushed to our sensors.",
            now(),
        )?;
        me.flush_outbox().await?;
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

fn transcript(engine: &Engine, channel: ChannelId, log: &[String]) -> Result<String, DemoError> {
    let summary = engine.channel(channel)?;
    let mut text = format!(
        "\nAs {} <{}>, channel {}:\n==== {} ====\n",
        engine.certificate().body().display_name,
        engine.user(),
        summary.name,
        summary.label
    );
    let entries = vigil_client::history::all_history(engine, channel, None)?;
    let mut marks = vigil_client::history::Marks::new(engine);
    for (_, entry) in &entries {
        text.push_str(&crate::export::text_line(entry, marks.of_entry(entry)));
        text.push('\n');
    }
    text.push_str(&format!("==== {} ====\n", summary.label));
    for line in log {
        text.push_str(&format!("(seen by the lead) {line}\n"));
    }
    text.push_str("\nThe demo's organisations, relay and stores were in a temporary directory, now removed.\n");
    Ok(text)
}

async fn interactive_run(me: Client, colleagues: &mut Colleagues) -> Result<(), DemoError> {
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
    Ok(tui.await.map_err(DemoError::TuiTask)??)
}
