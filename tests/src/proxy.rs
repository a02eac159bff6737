//! A UDP forwarder between clients and a relay that can be frozen: while frozen, no packet
//! passes either way, which is what a client sees of a relay stopped with SIGSTOP or of a path
//! that stopped carrying packets (the QUIC connection stays up, nothing answers). Thawed, the
//! same connections carry on.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the forwarding threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// A running forwarder; stops when dropped.
#[derive(Debug)]
pub struct FreezableProxy {
    /// Where clients connect instead of the relay.
    pub addr: SocketAddr,
    frozen: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl FreezableProxy {
    /// Forwards datagrams between clients and `upstream`.
    ///
    /// # Panics
    ///
    /// When no local socket can be bound.
    #[must_use]
    pub fn start(upstream: SocketAddr) -> Self {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("bind"));
        front.set_read_timeout(Some(POLL)).expect("timeout");
        let addr = front.local_addr().expect("address");
        let frozen = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (f, s) = (Arc::clone(&frozen), Arc::clone(&stop));
        std::thread::spawn(move || forward_front(&front, upstream, &f, &s));
        Self { addr, frozen, stop }
    }

    /// Stops every packet, both ways, until [`Self::thaw`].
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Lets packets through again.
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Client to relay: one upstream socket per client address, each with a thread carrying the
/// relay's answers back.
fn forward_front(
    front: &Arc<UdpSocket>,
    upstream: SocketAddr,
    frozen: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
) {
    let mut clients: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buffer = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, client)) = front.recv_from(&mut buffer) else {
            continue;
        };
        if frozen.load(Ordering::SeqCst) {
            continue;
        }
        let socket = clients.entry(client).or_insert_with(|| {
            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("bind"));
            socket.set_read_timeout(Some(POLL)).expect("timeout");
            let (back, front, f, s) = (
                Arc::clone(&socket),
                Arc::clone(front),
                Arc::clone(frozen),
                Arc::clone(stop),
            );
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 65_536];
                while !s.load(Ordering::SeqCst) {
                    if let Ok(len) = back.recv(&mut buffer)
                        && !f.load(Ordering::SeqCst)
                    {
                        let _ = front.send_to(&buffer[..len], client);
                    }
                }
            });
            socket
        });
        let _ = socket.send_to(&buffer[..len], upstream);
    }
}
