//! The network worker the TUI uses: connected members exchange messages as events, and a
//! member keeps typing while the relay is down; the worker reconnects and the outbox goes out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use vigil_client::client::Client;
use vigil_client::engine::{Body, Connection, Delivery, Event};
use vigil_protocol::UserId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_tests::federation::Federation;

/// Waits (up to 30 s) for an event that `want` accepts.
async fn until<T>(
    events: &mut UnboundedReceiver<Event>,
    mut want: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the event came in time")
            .expect("the worker is running");
        if let Some(found) = want(&event) {
            return found;
        }
    }
}

/// The text of a message from someone else.
fn text_of(event: &Event) -> Option<String> {
    match event {
        Event::Message { entry, .. } if entry.delivery.is_none() => match &entry.body {
            Body::Text(t) => Some(t.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Runs `f` on a plain thread (the relay fixture has its own runtime, which cannot be started
/// or stopped from inside this one).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

/// A runtime for the workers, beside the relay fixture's own.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A client of `user` enrolled from `bundle`, reaching the relay at `addr`.
fn client(
    fed: &Federation,
    user: &str,
    bundle: &std::path::Path,
    addr: std::net::SocketAddr,
) -> Client {
    let mut client = Client::new(fed.engine(user, bundle));
    client.set_relay_address(Some(addr.to_string()));
    client
}

/// Waits until both workers are online, then the lead creates `ops` (TLP:AMBER, EU
/// RESTRICTED) and invites the officer; returns the channel.
async fn online_in_ops(
    lead: &vigil_client::worker::Handle,
    events: [&mut UnboundedReceiver<Event>; 2],
) -> vigil_protocol::channel::ChannelId {
    for events in events {
        until(events, |e| {
            (*e == Event::Connection(Connection::Online)).then_some(())
        })
        .await;
    }
    let label = Label::new(
        "TLP:AMBER",
        "EU RESTRICTED",
        &[],
        ClassificationPolicy::eu(),
    )
    .unwrap();
    let channel = lead.create("ops".into(), label).await.unwrap();
    lead.invite(channel, UserId::new("officer@cert-at").unwrap())
        .await
        .unwrap();
    channel
}

#[test]
fn workers_exchange_messages_and_survive_a_relay_outage() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let addr = relay.addr;
    let lead_bundle = fed.issue("lead@cert-at", "EU SECRET");
    let officer_bundle = fed.issue("officer@cert-at", "EU SECRET");
    let runtime = runtime();
    let (lead_client, officer_client) = (
        client(&fed, "lead@cert-at", &lead_bundle, addr),
        client(&fed, "officer@cert-at", &officer_bundle, addr),
    );
    let relay = runtime.block_on(async {
        let (lead, mut lead_events, lead_task) = vigil_client::worker::spawn(lead_client);
        let (officer, mut officer_events, officer_task) =
            vigil_client::worker::spawn(officer_client);
        let channel = online_in_ops(&lead, [&mut lead_events, &mut officer_events]).await;
        until(&mut officer_events, |e| {
            matches!(e, Event::ChannelChanged { channel: c } if *c == channel).then_some(())
        })
        .await;
        lead.send(channel, "first".into()).await.unwrap();
        assert_eq!(until(&mut officer_events, text_of).await, "first");
        officer.send(channel, "reply".into()).await.unwrap();
        assert_eq!(until(&mut lead_events, text_of).await, "reply");

        // The relay goes down; the lead keeps typing.
        off_runtime(move || relay.stop());
        until(&mut lead_events, |e| {
            matches!(e, Event::Connection(Connection::Offline(_))).then_some(())
        })
        .await;
        let seq = lead
            .send(channel, "during the outage".into())
            .await
            .unwrap();
        let history = lead.history(channel, None, 1).await.unwrap();
        assert_eq!(history[0].0, seq);
        assert_eq!(history[0].1.delivery, Some(Delivery::Queued));

        // It comes back where it was; both workers reconnect by themselves.
        fed.listen_on(addr);
        let relay = off_runtime(|| fed.start_relay());
        assert_eq!(relay.addr, addr);
        until(&mut lead_events, |e| match e {
            Event::Delivery {
                seq: s,
                state: Delivery::Sent,
                ..
            } if *s == seq => Some(()),
            _ => None,
        })
        .await;
        assert_eq!(
            until(&mut officer_events, text_of).await,
            "during the outage"
        );
        let channels = officer.channels().await.unwrap();
        assert_eq!(channels.len(), 1);
        assert_eq!(channels[0].members.len(), 2);
        lead.shutdown().await;
        officer.shutdown().await;
        lead_task.await.unwrap();
        officer_task.await.unwrap();
        relay
    });
    relay.stop();
}

/// Defect 8 of issue 22: a relay that stops answering (the connection stays up, nothing comes
/// back) held every request of the worker, local ones included, until a 30 s timeout. Local
/// actions now never wait for it, and it is shown as not answering within seconds.
#[test]
fn a_frozen_relay_holds_up_no_local_action_and_shows_as_not_answering() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let proxy = vigil_tests::proxy::FreezableProxy::start(relay.addr);
    let lead_bundle = fed.issue("lead@cert-at", "EU SECRET");
    let officer_bundle = fed.issue("officer@cert-at", "EU SECRET");
    let runtime = runtime();
    let lead_client = client(&fed, "lead@cert-at", &lead_bundle, proxy.addr);
    let officer_client = client(&fed, "officer@cert-at", &officer_bundle, relay.addr);
    let officer_id = UserId::new("officer@cert-at").unwrap();
    runtime.block_on(async {
        let (lead, mut lead_events, _lead_task) = vigil_client::worker::spawn(lead_client);
        let (officer, mut officer_events, officer_task) =
            vigil_client::worker::spawn(officer_client);
        let channel = online_in_ops(&lead, [&mut lead_events, &mut officer_events]).await;

        // The relay freezes; a message goes into the outbox and its sending hangs.
        proxy.freeze();
        let frozen_at = std::time::Instant::now();
        lead.send(channel, "sent into the freeze".into())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let timed = |what: &str, started: std::time::Instant| {
            let took = started.elapsed();
            eprintln!("{what} answered in {took:?} while the relay is frozen");
            assert!(took < Duration::from_secs(2), "{what} took {took:?}");
        };
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let whois = lead.whois(officer_id.clone()).await.unwrap();
            assert_eq!(whois.certificate.body().user, officer_id);
            timed("whois", started);
            let started = std::time::Instant::now();
            let page = lead.history(channel, None, 10).await.unwrap();
            assert_eq!(page[0].1.delivery, Some(Delivery::Queued));
            timed("history", started);
            let started = std::time::Instant::now();
            lead.send(channel, "typed while frozen".into())
                .await
                .unwrap();
            lead.channels().await.unwrap();
            timed("send and channels", started);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Shown as not answering; and the outbox count is that of the messages shown queued
        // (it said 0 with six shown `(queued)`: it was only counted after a send went out).
        let mut outbox = None;
        let mut shown = None;
        while shown.is_none() || outbox != Some(4) {
            match until(&mut lead_events, |e| Some(e.clone())).await {
                Event::Outbox(n) => outbox = Some(n),
                Event::Connection(Connection::Degraded) => shown = Some(frozen_at.elapsed()),
                _ => {}
            }
        }
        let shown = shown.unwrap();
        eprintln!("shown as not answering {shown:?} after the freeze");
        assert!(shown < Duration::from_secs(10), "{shown:?}");
        let page = lead.history(channel, None, 10).await.unwrap();
        let queued = page
            .iter()
            .filter(|(_, e)| e.delivery == Some(Delivery::Queued))
            .count();
        assert_eq!(queued, 4);

        // It answers again: online, and everything queued arrives once.
        proxy.thaw();
        until(&mut lead_events, |e| {
            (*e == Event::Connection(Connection::Online)).then_some(())
        })
        .await;
        let mut got = Vec::new();
        while got.len() < 4 {
            got.push(until(&mut officer_events, text_of).await);
        }
        assert_eq!(got[0], "sent into the freeze");
        assert_eq!(got[1..], ["typed while frozen"; 3]);
        officer.shutdown().await;
        officer_task.await.unwrap();
        lead.shutdown().await;
    });
    drop(runtime);
    relay.stop();
}
